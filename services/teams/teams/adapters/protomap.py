"""The one module that converts between teams' protos and its domain objects."""

from __future__ import annotations

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from shangji.teams.v1 import events_pb2, teams_pb2
from teams.domain import model


def _ts(value) -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


def user_to_proto(user: model.User) -> teams_pb2.User:
    return teams_pb2.User(
        name=user.name, id=user.id, display_name=user.display_name, email=user.email, phone=user.phone,
        department=user.department, active=user.active, create_time=_ts(user.create_time),
        update_time=_ts(user.update_time), etag=user.etag)


def event_to_proto(event: object) -> tuple[Message, str]:
    """A domain event as (proto message, subject resource name) for the outbox."""
    if isinstance(event, model.UserCreated):
        return events_pb2.UserCreated(user=user_to_proto(event.user)), event.user.name
    raise TypeError(f"no proto for event {type(event).__name__}")
