"""Product lines through ConvertLead across the suite, through gRPC only (issue 13): the deal registered from a
conversion holds its customer for them, and a conversion colliding with another rep's deal waits for arbitration
(an event cannot be refused), its rep told so by notify."""

import uuid

import grpc
import pytest

from shangji.leads.v1 import leads_pb2
from shangji.opportunities.v1 import opportunities_pb2 as pb
from shangji_kit.testing.wait import eventually


def test_a_conversion_for_a_held_product_line_waits_for_arbitration_and_its_rep_is_told(new_rep):
    holder, rep = new_rep("张伟"), new_rep()
    company = f"华南精密制造{uuid.uuid4().hex[:6]}有限公司"
    held = holder.opportunities.RegisterOpportunity(pb.RegisterOpportunityRequest(opportunity=pb.Opportunity(
        customer_company=company, product_lines=["ERP"])))

    lead = rep.new_lead(company=company)
    rep.leads.ConvertLead(leads_pb2.ConvertLeadRequest(name=lead.name, product_lines=["erp", "MES"]))
    deal = eventually(lambda: next((o for o in rep.opportunities_list() if o.lead == lead.name), None),
                      what="the deal registered from the conversion")
    assert (deal.registration_state, list(deal.product_lines)) == (pb.Opportunity.PENDING_ARBITRATION, ["erp", "MES"])
    assert deal.collides_with == ""  # the rep may not see the holder's deal
    assert held.registration_state == pb.Opportunity.ACTIVE
    told = eventually(lambda: next((n for n in rep.inbox() if n.subject == deal.name
                                    and n.notice_type == "registration_queued"), None),
                      what="notify telling the rep the registration is queued")
    assert told.recipient == rep.user.name


def test_a_converted_deal_holds_its_customer_for_its_product_lines(new_rep):
    rep, other = new_rep(), new_rep("王芳")
    company = f"华东智联物流{uuid.uuid4().hex[:6]}有限公司"
    lead = rep.new_lead(company=company)
    rep.leads.ConvertLead(leads_pb2.ConvertLeadRequest(name=lead.name, product_lines=["WMS"]))
    deal = eventually(lambda: next((o for o in rep.opportunities_list() if o.lead == lead.name), None),
                      what="the deal registered from the conversion")
    assert (deal.registration_state, list(deal.product_lines)) == (pb.Opportunity.ACTIVE, ["WMS"])
    with pytest.raises(grpc.RpcError) as exc:
        other.opportunities.RegisterOpportunity(pb.RegisterOpportunityRequest(opportunity=pb.Opportunity(
            customer_company=company, product_lines=["wms"])))
    assert exc.value.code() == grpc.StatusCode.FAILED_PRECONDITION
