"""Reading OpportunityRegistered and OpportunityTeamMemberAdded envelopes into notice commands: no I/O."""

from datetime import UTC, datetime

import pytest
from google.protobuf import json_format

from notify.entrypoints import inbound as protomap
from shangji.opportunities.v1 import events_pb2, opportunities_pb2
from shangji.teams.v1 import events_pb2 as teams_events
from shangji.teams.v1 import teams_pb2
from shangji_kit import envelope
from shangji_kit.envelope import Envelope
from shangji_kit.errors import InvalidArgument

OWNER, REGISTRANT, DEAL = ("11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222",
                           "33333333-3333-4333-8333-333333333333")


def env_of(deal: opportunities_pb2.Opportunity) -> Envelope:
    return Envelope.parse(envelope.build(
        service="opportunities", id="e1", type="shangji.opportunities.v1.OpportunityRegistered",
        subject=deal.name, time=datetime(2026, 11, 25, tzinfo=UTC),
        dataschema="proto:shangji.opportunities.v1.OpportunityRegistered",
        data=json_format.MessageToDict(events_pb2.OpportunityRegistered(opportunity=deal)), correlation_id=None))


def deal(**kw) -> opportunities_pb2.Opportunity:
    fields = {"name": f"opportunities/{DEAL}", "id": DEAL, "title": "智能仓储系统", "customer_company": "华东精密",
              "owner": f"users/{OWNER}", "registrant": f"users/{REGISTRANT}", "stage": "discover",
              "stage_display_name": "发现机会"}
    fields.update(kw)
    return opportunities_pb2.Opportunity(**fields)


def test_the_command_is_addressed_to_the_owner_about_the_deal():
    cmd = protomap.registration_from_event(env_of(deal()))
    assert (cmd.kind, cmd.recipients, cmd.subject) == ("opportunity_registered", [OWNER], f"opportunities/{DEAL}")
    assert (cmd.facts["registrant"], cmd.facts["title"], cmd.facts["customer_company"],
            cmd.facts["stage_display_name"]) == (f"users/{REGISTRANT}", "智能仓储系统", "华东精密", "发现机会")


def test_a_deal_without_an_owner_is_rejected():
    with pytest.raises(InvalidArgument) as exc:
        protomap.registration_from_event(env_of(deal(owner="")))
    assert exc.value.violations[0].field == "opportunity.owner"


def team_env(**kw) -> Envelope:
    fields = {"opportunity": f"opportunities/{DEAL}", "added_by": f"users/{REGISTRANT}",
              "member": teams_pb2.OpportunityTeamMember(user=f"users/{OWNER}", role="presales")}
    fields.update(kw)
    return Envelope.parse(envelope.build(
        service="teams", id="e2", type="shangji.teams.v1.OpportunityTeamMemberAdded",
        subject=f"opportunities/{DEAL}/team", time=datetime(2026, 11, 25, tzinfo=UTC),
        dataschema="proto:shangji.teams.v1.OpportunityTeamMemberAdded",
        data=json_format.MessageToDict(teams_events.OpportunityTeamMemberAdded(**fields)), correlation_id=None))


def test_the_team_command_is_addressed_to_the_added_member_about_the_deal():
    cmd = protomap.team_member_from_event(team_env())
    assert (cmd.kind, cmd.recipients, cmd.subject) == ("team_member_added", [OWNER], f"opportunities/{DEAL}")
    assert (cmd.facts["role"], cmd.facts["added_by"]) == ("presales", f"users/{REGISTRANT}")


def test_a_team_event_without_a_member_is_rejected():
    with pytest.raises(InvalidArgument) as exc:
        protomap.team_member_from_event(team_env(member=teams_pb2.OpportunityTeamMember(role="presales")))
    assert exc.value.violations[0].field == "member.user"


def test_an_event_of_another_type_is_rejected():
    env = team_env()
    wrong = Envelope(id=env.id, source=env.source, type="shangji.teams.v1.OpportunityTeamMemberRemoved",
                     subject=env.subject, time=env.time, data=env.data, correlation_id=None)
    with pytest.raises(InvalidArgument) as exc:
        protomap.team_member_from_event(wrong)
    assert exc.value.violations[0].field == "type"
