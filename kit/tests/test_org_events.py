"""teams' organisation events as every projection-keeping service reads them (shangji_kit.org_events)."""

import uuid
from datetime import UTC, datetime

import pytest
from google.protobuf import json_format

from shangji.teams.v1 import events_pb2, teams_pb2
from shangji_kit import envelope, org_events
from shangji_kit.envelope import Envelope
from shangji_kit.errors import InvalidArgument

T = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
USER, ROOT, DEPT = (str(uuid.uuid4()) for _ in range(3))


def env_of(message) -> Envelope:
    type_ = message.DESCRIPTOR.full_name
    return Envelope.parse(envelope.build(service="teams", id="e", type=type_, subject="s", time=T,
                                         dataschema=f"proto:{type_}", data=json_format.MessageToDict(message),
                                         correlation_id=None))


def user(**kw) -> teams_pb2.User:
    u = teams_pb2.User(name=f"users/{USER}", id=USER, department=f"departments/{DEPT}", roles=["sales_rep"],
                       active=True, **kw)
    u.update_time.FromDatetime(T)
    return u


def test_a_deactivation_is_inactive_whatever_its_flag_says():
    created = org_events.user_from_event(env_of(events_pb2.UserCreated(user=user())))
    gone = org_events.user_from_event(env_of(events_pb2.UserDeactivated(user=user())))
    assert (created.user_id, created.department_id, created.roles, created.active) == (USER, DEPT, ("sales_rep",), True)
    assert gone.active is False and gone.update_time == T


def test_another_event_type_or_a_path_that_does_not_end_at_the_department_is_refused():
    with pytest.raises(InvalidArgument) as exc:
        org_events.user_from_event(env_of(events_pb2.DepartmentChanged()))
    assert exc.value.violations[0].field == "type"
    dept = teams_pb2.Department(name=f"departments/{DEPT}", id=DEPT, parent=f"departments/{ROOT}", path=f"/{ROOT}/")
    dept.update_time.FromDatetime(T)
    with pytest.raises(InvalidArgument) as exc:
        org_events.department_from_event(env_of(events_pb2.DepartmentChanged(department=dept)))
    assert exc.value.violations[0].field == "department.path"
    dept.path = f"/{ROOT}/{DEPT}/"
    read = org_events.department_from_event(env_of(events_pb2.DepartmentChanged(department=dept)))
    assert (read.id, read.parent_id, read.path, read.head_id) == (DEPT, ROOT, f"/{ROOT}/{DEPT}/", None)
