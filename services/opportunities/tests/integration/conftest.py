"""Fixtures of opportunities' integration tests: its real database and LeadConverted envelopes."""

import uuid
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from google.protobuf import json_format
from nameko.testing.services import worker_factory

from opportunities import bootstrap
from opportunities.entrypoints.worker import OpportunitiesWorker
from shangji.leads.v1 import events_pb2 as lead_events
from shangji.leads.v1 import leads_pb2
from shangji_kit import envelope
from shangji_kit.settings import Settings


def engine() -> sa.Engine:
    return sa.create_engine(Settings.for_service("opportunities").database_url, poolclass=sa.pool.NullPool)


@pytest.fixture
def worker(shangji_env):
    """The nameko worker's handlers, wired to the session's real database."""
    return worker_factory(OpportunitiesWorker, uow=bootstrap.uow_factory(Settings.for_service("opportunities")))


def _scalar(sql: str, **params) -> object:
    eng = engine()
    with eng.connect() as conn:
        value = conn.execute(sa.text(sql), params).scalar_one()
    eng.dispose()
    return value


@pytest.fixture
def scalar(shangji_env):
    """``scalar(sql, **params)``: one value read from the opportunities database."""
    return _scalar


def _lead_converted(*, owner: str, lead_id: str | None = None, event_id: str | None = None,
                   converted_by: str | None = None, title: str = "", company: str = "华东精密机械有限公司") -> dict:
    """A CloudEvents envelope as leads' relay publishes it."""
    lead_id = lead_id or str(uuid.uuid4())
    now = datetime.now(UTC)
    lead = leads_pb2.Lead(
        name=f"leads/{lead_id}", id=lead_id, company=company, contact_name="王经理", phone="+8613800138000",
        email="wang@example.com", region="上海", source="展会", owner=f"users/{owner}",
        state=leads_pb2.Lead.CONVERTED)
    lead.convert_time.FromDatetime(now)
    event = lead_events.LeadConverted(lead=lead, converted_by=f"users/{converted_by or owner}",
                                      opportunity_title=title)
    event.convert_time.FromDatetime(now)
    return envelope.build(service="leads", id=event_id or str(uuid.uuid4()), type="shangji.leads.v1.LeadConverted",
                          subject=lead.name, time=now, dataschema="proto:shangji.leads.v1.LeadConverted",
                          data=json_format.MessageToDict(event), correlation_id=None)


@pytest.fixture
def lead_converted():
    """``lead_converted(owner=..., lead_id=..., event_id=...)``: an envelope as leads' relay publishes it."""
    return _lead_converted
