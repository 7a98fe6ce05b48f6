"""Fixtures of notify's integration tests: its real database, OpportunityRegistered and
OpportunityTeamMemberAdded envelopes."""

import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from google.protobuf import json_format
from nameko.testing.services import worker_factory

from notify import bootstrap
from notify.entrypoints.worker import NotifyWorker
from shangji.opportunities.v1 import events_pb2, opportunities_pb2
from shangji.teams.v1 import events_pb2 as teams_events
from shangji.teams.v1 import teams_pb2
from shangji_kit import envelope
from shangji_kit.settings import Settings


@pytest.fixture
def worker(shangji_env):
    """The nameko worker's handlers, wired to the session's real database."""
    return worker_factory(NotifyWorker, uow=bootstrap.uow_factory(Settings.for_service("notify")))


def _scalar(sql: str, **params) -> object:
    eng = sa.create_engine(Settings.for_service("notify").database_url, poolclass=sa.pool.NullPool)
    with eng.connect() as conn:
        value = conn.execute(sa.text(sql), params).scalar_one()
    eng.dispose()
    return value


@pytest.fixture
def scalar(shangji_env):
    """``scalar(sql, **params)``: one value read from the notify database."""
    return _scalar


def _opportunity_registered(*, owner: str, registrant: str | None = None, event_id: str | None = None,
                            title: str = "智能仓储系统二期") -> dict:
    deal_id = str(uuid.uuid4())
    now = datetime.now(UTC)
    deal = opportunities_pb2.Opportunity(
        name=f"opportunities/{deal_id}", id=deal_id, title=title, customer_company="华东精密机械有限公司",
        contact_name="王经理", owner=f"users/{owner}", registrant=f"users/{registrant or owner}",
        pipeline=f"pipelines/{uuid.uuid4()}", stage="discover", stage_display_name="发现机会",
        lead=f"leads/{uuid.uuid4()}", etag="1")
    deal.create_time.FromDatetime(now)
    deal.update_time.FromDatetime(now)
    return envelope.build(
        service="opportunities", id=event_id or str(uuid.uuid4()),
        type="shangji.opportunities.v1.OpportunityRegistered", subject=deal.name, time=now,
        dataschema="proto:shangji.opportunities.v1.OpportunityRegistered",
        data=json_format.MessageToDict(events_pb2.OpportunityRegistered(opportunity=deal)), correlation_id=None)


@pytest.fixture
def opportunity_registered():
    """``opportunity_registered(owner=..., registrant=...)``: an envelope as opportunities' relay publishes it."""
    return _opportunity_registered


def _team_member_added(*, member: str, added_by: str, role: str = "solution_manager",
                       opportunity: str | None = None, event_id: str | None = None) -> dict:
    opportunity = opportunity or f"opportunities/{uuid.uuid4()}"
    now = datetime.now(UTC)
    added = teams_events.OpportunityTeamMemberAdded(
        opportunity=opportunity, added_by=f"users/{added_by}",
        member=teams_pb2.OpportunityTeamMember(user=f"users/{member}", role=role, can_edit=True))
    added.member.add_time.FromDatetime(now)
    return envelope.build(
        service="teams", id=event_id or str(uuid.uuid4()), type="shangji.teams.v1.OpportunityTeamMemberAdded",
        subject=f"{opportunity}/team", time=now, dataschema="proto:shangji.teams.v1.OpportunityTeamMemberAdded",
        data=json_format.MessageToDict(added), correlation_id=None)


@pytest.fixture
def team_member_added():
    """``team_member_added(member=..., added_by=..., role=...)``: an envelope as teams' relay publishes it."""
    return _team_member_added
