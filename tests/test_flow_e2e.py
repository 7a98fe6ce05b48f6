"""The first flow across the suite, through gRPC only: lead → conversion → opportunity → inbox."""

import grpc
import pytest

from shangji.leads.v1 import leads_pb2
from shangji.notify.v1 import notify_pb2
from shangji.opportunities.v1 import opportunities_pb2
from shangji_kit.rpc.status import details_of
from shangji_kit.testing.wait import eventually


def test_a_converted_lead_becomes_an_opportunity_and_a_notification(new_rep):
    rep = new_rep()
    lead = rep.new_lead()
    assert lead.owner == rep.user.name and lead.phone == "+8613900139000" and lead.email == "wang@example.cn"

    converted = rep.leads.ConvertLead(leads_pb2.ConvertLeadRequest(name=lead.name, etag=lead.etag,
                                                                   opportunity_title="产线改造项目"))
    assert converted.state == leads_pb2.Lead.CONVERTED

    [opp] = eventually(rep.opportunities_list, what="opportunity registered")
    assert (opp.title, opp.customer_company, opp.owner, opp.lead) == ("产线改造项目", lead.company, rep.user.name,
                                                                      lead.name)
    assert (opp.stage, opp.contact_phone, opp.region) == ("discover", "+8613900139000", "华南")
    assert rep.opportunities.GetOpportunity(opportunities_pb2.GetOpportunityRequest(name=opp.name)) == opp

    [note] = eventually(rep.inbox, what="notification in the owner's inbox")
    assert note.subject == opp.name and not note.read and "产线改造项目" in note.title
    read = rep.notify.MarkNotificationRead(notify_pb2.MarkNotificationReadRequest(name=note.name))
    assert read.read
    unread = rep.notify.ListNotifications(notify_pb2.ListNotificationsRequest(unread_only=True))
    assert list(unread.notifications) == [] and unread.unread_count == 0


def test_another_rep_sees_neither_the_deal_nor_the_notification(new_rep):
    owner, other = new_rep("张伟"), new_rep("刘洋")
    lead = owner.new_lead()
    owner.leads.ConvertLead(leads_pb2.ConvertLeadRequest(name=lead.name))
    [opp] = eventually(owner.opportunities_list, what="opportunity registered")
    [note] = eventually(owner.inbox, what="notification")
    assert other.opportunities_list() == [] and other.inbox() == []
    for call, req in ((other.opportunities.GetOpportunity, opportunities_pb2.GetOpportunityRequest(name=opp.name)),
                      (other.leads.GetLead, leads_pb2.GetLeadRequest(name=lead.name)),
                      (other.notify.MarkNotificationRead, notify_pb2.MarkNotificationReadRequest(name=note.name))):
        with pytest.raises(grpc.RpcError) as exc:
            call(req)
        assert exc.value.code() == grpc.StatusCode.NOT_FOUND


def test_bad_input_through_the_suite_names_the_field_and_changes_nothing(new_rep):
    rep = new_rep()
    with pytest.raises(grpc.RpcError) as exc:
        rep.leads.CreateLead(leads_pb2.CreateLeadRequest(lead=leads_pb2.Lead(company="", contact_name="X",
                                                                             email="x@y.cn")))
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert details_of(exc.value)["fields"] == ["lead.company"]
    with pytest.raises(grpc.RpcError) as exc:
        rep.leads.CreateLead(leads_pb2.CreateLeadRequest(lead=leads_pb2.Lead(company="ACME", contact_name="X",
                                                                             phone="12-34")))
    assert details_of(exc.value)["fields"] == ["lead.phone"]
    with pytest.raises(grpc.RpcError) as exc:
        rep.leads.ConvertLead(leads_pb2.ConvertLeadRequest(name="leads/00000000-0000-0000-0000-000000000000"))
    assert exc.value.code() == grpc.StatusCode.NOT_FOUND
    assert rep.opportunities_list() == []
