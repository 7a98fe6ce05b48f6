"""The proto mapping: events carry full states with update_time, subjects name the resource. No I/O."""

import uuid
from datetime import UTC, datetime

import pytest

from shangji.opportunities.v1 import events_pb2 as opportunity_events
from shangji.opportunities.v1 import opportunities_pb2
from shangji_kit.envelope import Envelope
from shangji_kit.errors import InvalidArgument
from shangji_kit.testing import envelopes
from teams.adapters import protomap
from teams.domain import model
from teams.domain import opportunity_teams as ot
from teams.entrypoints import inbound

NOW = datetime(2026, 11, 25, 8, 30, tzinfo=UTC)


def user(id: str, **kw) -> model.User:
    values = {"display_name": "李娜", "email": "lina@example.com", "department": "d1", "manager": "m1",
              "roles": ("sales_rep",), "capacity": 3}
    values.update(kw)
    return model.new_user(id=id, values=values, now=NOW)


def test_user_events_carry_the_whole_user_with_its_update_time():
    u = user("u1")
    message, subject = protomap.event_to_proto(u.events[0])
    assert subject == "users/u1"
    assert (message.user.department, message.user.manager, list(message.user.roles)) == (
        "departments/d1", "users/m1", ["sales_rep"])
    assert message.user.update_time.ToDatetime(tzinfo=UTC) == NOW
    u.events.clear()
    u.update({"capacity": 4}, NOW)
    message, _ = protomap.event_to_proto(u.events[0])
    assert list(message.changed_fields) == ["capacity"] and message.user.etag == "2"


def test_deactivation_maps_to_two_events_about_the_user():
    u, s = user("u1"), user("u2")
    u.events.clear()
    u.deactivate(s, transfer_id="t1", requested_by="a1", now=NOW)
    (deactivated, subject1), (transferred, subject2) = map(protomap.event_to_proto, u.events)
    assert (subject1, subject2) == ("users/u1", "users/u1")
    assert (deactivated.successor, deactivated.user.active) == ("users/u2", False)
    assert (transferred.transfer_id, transferred.from_user, transferred.to_user, transferred.requested_by) == (
        "t1", "users/u1", "users/u2", "users/a1")


def test_an_empty_reference_is_an_empty_name():
    message = protomap.user_to_proto(user("u1", department=None, manager=None))
    assert (message.department, message.manager) == ("", "")
    d = model.new_department(id="d1", values={"display_name": "销售中心"}, parent=None, now=NOW)
    message, subject = protomap.event_to_proto(d.events[0])
    assert (subject, message.department.parent, message.department.head, message.department.path) == (
        "departments/d1", "", "", "/d1/")


def test_team_events_name_the_team():
    t = ot.OpportunityTeam(opportunity_id="o1", owner_id="u0")
    t.add(user("u1"), "presales", True, by="u0", now=NOW)
    t.remove("u1", by="u0")
    (added, s1), (removed, s2) = map(protomap.event_to_proto, t.events)
    assert s1 == s2 == "opportunities/o1/team"
    assert (added.opportunity, added.member.user, added.member.display_name, added.added_by) == (
        "opportunities/o1", "users/u1", "李娜", "users/u0")
    assert not added.member.email  # events carry no contact details
    assert (removed.user, removed.removed_by) == ("users/u1", "users/u0")


def _envelope(**opportunity) -> Envelope:
    deal = opportunities_pb2.Opportunity(**opportunity)
    return envelopes.parsed("opportunities", opportunity_events.OpportunityRegistered(opportunity=deal),
                            subject=deal.name, time=NOW)


def test_an_opportunity_registered_event_gives_the_owner():
    deal, owner = str(uuid.uuid4()), str(uuid.uuid4())
    cmd = inbound.opportunity_owner_from_event(_envelope(name=f"opportunities/{deal}", owner=f"users/{owner}"))
    assert (cmd.opportunity_id, cmd.owner_id) == (deal, owner)
    with pytest.raises(InvalidArgument):
        inbound.opportunity_owner_from_event(_envelope(name=f"opportunities/{deal}", owner="someone"))
