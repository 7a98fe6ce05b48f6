"""Reading a LeadConverted envelope into the registration command: no I/O."""

from datetime import UTC, datetime

import pytest
from google.protobuf import json_format

from opportunities.adapters import protomap
from opportunities.domain import model
from shangji.leads.v1 import events_pb2, leads_pb2
from shangji_kit import envelope
from shangji_kit.envelope import Envelope
from shangji_kit.errors import InvalidArgument

OWNER, CONVERTER, LEAD = ("11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222",
                          "33333333-3333-4333-8333-333333333333")


def env_of(event: events_pb2.LeadConverted) -> Envelope:
    return Envelope.parse(envelope.build(
        service="leads", id="e1", type="shangji.leads.v1.LeadConverted", subject=f"leads/{LEAD}",
        time=datetime(2026, 11, 25, tzinfo=UTC), dataschema="proto:shangji.leads.v1.LeadConverted",
        data=json_format.MessageToDict(event), correlation_id=None))


def converted(**kw) -> events_pb2.LeadConverted:
    lead = leads_pb2.Lead(name=f"leads/{LEAD}", id=LEAD, company="华东精密", contact_name="王经理",
                          phone="+8613800138000", email="wang@example.com", region="上海", source="展会",
                          owner=f"users/{OWNER}")
    fields = {"lead": lead, "converted_by": f"users/{CONVERTER}", "opportunity_title": "智能仓储系统"}
    fields.update(kw)
    return events_pb2.LeadConverted(**fields)


def test_the_command_carries_owner_registrant_lead_and_contact():
    cmd = protomap.registration_from_event(env_of(converted()))
    assert (cmd.owner_id, cmd.registrant_id, cmd.lead_id) == (OWNER, CONVERTER, LEAD)
    assert (cmd.title, cmd.customer_company, cmd.contact_name) == ("智能仓储系统", "华东精密", "王经理")
    assert (cmd.contact_phone, cmd.contact_email, cmd.region, cmd.source) == \
        ("+8613800138000", "wang@example.com", "上海", "展会")


def test_without_a_title_the_company_names_the_deal():
    assert protomap.registration_from_event(env_of(converted(opportunity_title=" "))).title == "华东精密"


def test_an_owner_that_is_not_a_user_name_is_rejected():
    event = converted()
    event.lead.owner = "people/1"
    with pytest.raises(InvalidArgument) as exc:
        protomap.registration_from_event(env_of(event))
    assert exc.value.violations[0].field == "lead.owner"


def test_a_registered_deal_maps_to_its_event_with_resource_names():
    deal = model.Opportunity(
        id="o1", title="T", customer_company="C", contact_name="", contact_phone="", contact_email="", region="",
        source="", owner_id=OWNER, registrant_id=CONVERTER, pipeline_id="p1", stage_key="discover",
        stage_display_name="发现机会", lead_id=LEAD, create_time=datetime(2026, 11, 25, tzinfo=UTC),
        update_time=datetime(2026, 11, 25, tzinfo=UTC))
    message, subject = protomap.event_to_proto(model.OpportunityRegistered(deal))
    assert subject == "opportunities/o1"
    o = message.opportunity
    assert (o.owner, o.registrant, o.lead, o.pipeline) == (f"users/{OWNER}", f"users/{CONVERTER}", f"leads/{LEAD}",
                                                           "pipelines/p1")
