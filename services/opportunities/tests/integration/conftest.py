"""Fixtures of opportunities' integration tests: its real database, the worker's handlers, the front in-process,
LeadConverted envelopes and teams' organisation events."""

import uuid
from datetime import UTC, datetime

import grpc
import pytest
from nameko.testing.services import worker_factory

from opportunities import bootstrap
from opportunities.entrypoints import grpc_api
from opportunities.entrypoints.worker import OpportunitiesWorker
from shangji.leads.v1 import events_pb2 as lead_events
from shangji.leads.v1 import leads_pb2
from shangji.opportunities.v1 import opportunities_pb2_grpc
from shangji.teams.v1 import events_pb2 as teams_events
from shangji.teams.v1 import teams_pb2
from shangji_kit.rpc.client import Caller
from shangji_kit.settings import Settings
from shangji_kit.testing import envelopes
from shangji_kit.testing.org import OrgBuilder, later, teams_event
from shangji_kit.testing.org import ts as _ts
from shangji_kit.testing.processes import running_front
from shangji_kit.testing.service_db import ServiceDb

DB = ServiceDb("opportunities")


@pytest.fixture
def worker(shangji_env):
    """The nameko worker's handlers, wired to the session's real database."""
    settings = Settings.for_service("opportunities")
    return worker_factory(OpportunitiesWorker, uow=bootstrap.uow_factory(settings),
                          reports_uow=bootstrap.reports_uow_factory(settings))


@pytest.fixture
def scalar(shangji_env):
    """``scalar(sql, **params)``: one value read from the opportunities database."""
    return DB.scalar


def _lead_converted(*, owner: str, lead_id: str | None = None, event_id: str | None = None,
                   converted_by: str | None = None, title: str = "", company: str = "华东精密机械有限公司",
                   product_lines: tuple[str, ...] = ()) -> dict:
    """A CloudEvents envelope as leads' relay publishes it."""
    lead_id = lead_id or str(uuid.uuid4())
    now = datetime.now(UTC)
    lead = leads_pb2.Lead(
        name=f"leads/{lead_id}", id=lead_id, company=company, contact_name="王经理", phone="+8613800138000",
        email="wang@example.com", region="上海", source="展会", owner=f"users/{owner}",
        state=leads_pb2.Lead.CONVERTED)
    lead.convert_time.FromDatetime(now)
    event = lead_events.LeadConverted(lead=lead, converted_by=f"users/{converted_by or owner}",
                                      opportunity_title=title, product_lines=list(product_lines))
    event.convert_time.FromDatetime(now)
    return envelopes.published("leads", event, subject=lead.name, event_id=event_id, time=now)


@pytest.fixture
def lead_converted():
    """``lead_converted(owner=..., lead_id=..., event_id=...)``: an envelope as leads' relay publishes it."""
    return _lead_converted


@pytest.fixture
def execute(shangji_env):
    """``execute(sql, **params)``: one statement run and committed on the opportunities database."""
    return DB.execute


@pytest.fixture
def register(worker, lead_converted, scalar):
    """``register(owner)``: a deal registered the way the worker does it, for a customer of its own; returns its
    resource name."""
    def make(owner: str) -> str:
        # A company of its own: deals of different tests must not collide (撞单) when they name product lines.
        body = lead_converted(owner=owner, company=f"华东精密机械{uuid.uuid4().hex[:8]}有限公司")
        worker.on_lead_converted(body)
        deal_id = scalar("SELECT id FROM opportunities WHERE lead_id = :lead", lead=body["data"]["lead"]["id"])
        return f"opportunities/{deal_id}"

    return make


@pytest.fixture(scope="module")
def front(shangji_env):
    with running_front("opportunities", grpc_api.register) as f:
        yield f


@pytest.fixture
def as_user(front, token_for):
    """``as_user(user_id)``: the opportunities API called with that user's token."""
    channel = grpc.insecure_channel(f"127.0.0.1:{front.bound_port}")
    yield lambda user_id: Caller(opportunities_pb2_grpc.OpportunitiesServiceStub(channel), token_for(user_id))
    channel.close()


def customer_event(customer_id: str, owner_id: str, *, kind: str = "CustomerCreated", at: datetime | None = None,
                   event_id: str | None = None) -> dict:
    """leads' CustomerCreated / CustomerUpdated for a customer owned by ``owner_id``, as leads' relay publishes it."""
    customer = leads_pb2.Customer(name=f"customers/{customer_id}", id=customer_id, display_name="华东精密机械",
                                  owner=f"users/{owner_id}")
    customer.update_time.FromDatetime(at or later())
    message = getattr(lead_events, kind)(customer=customer)
    return envelopes.published("leads", message, subject=customer.name, event_id=event_id)


@pytest.fixture
def customer_events():
    """``customer_events(customer_id, owner_id, kind=..., at=...)``: leads' customer event envelope."""
    return customer_event


@pytest.fixture
def own_customer(worker):
    """``own_customer(owner_id)``: a new leads customer owned by ``owner_id``, told to the worker; its id."""
    def make(owner_id: str) -> str:
        customer_id = str(uuid.uuid4())
        worker.on_customer_created(customer_event(customer_id, owner_id))
        return customer_id

    return make


# --- teams' events: the kit's builders for the organisation, ours for opportunity teams and handovers ----------

class Org(OrgBuilder):
    """Teams' organisation (the kit's ``OrgBuilder``) and opportunity teams, told to the worker as teams would tell
    them (one event per change). Builders (``*_event``) return the envelope; the other methods also hand it over."""

    # opportunity teams
    def member_added_event(self, opportunity: str, user_id: str, *, can_edit: bool = False,
                           role: str = "presales") -> dict:
        member = teams_pb2.OpportunityTeamMember(user=f"users/{user_id}", role=role, can_edit=can_edit,
                                                 add_time=_ts(later()))
        return teams_event(teams_events.OpportunityTeamMemberAdded(opportunity=opportunity, member=member,
                                                                   added_by=f"users/{uuid.uuid4()}"),
                           subject=f"{opportunity}/team")

    def add_member(self, opportunity: str, user_id: str, **kw) -> None:
        self.worker.on_team_member_added(self.member_added_event(opportunity, user_id, **kw))

    def member_removed_event(self, opportunity: str, user_id: str) -> dict:
        return teams_event(teams_events.OpportunityTeamMemberRemoved(
            opportunity=opportunity, user=f"users/{user_id}", removed_by=f"users/{uuid.uuid4()}"),
            subject=f"{opportunity}/team")

    def remove_member(self, opportunity: str, user_id: str) -> None:
        self.worker.on_team_member_removed(self.member_removed_event(opportunity, user_id))

    # handover
    def transfer_event(self, from_user: str, to_user: str, transfer_id: str | None = None) -> dict:
        event = teams_events.OwnershipTransferred(
            transfer_id=transfer_id or str(uuid.uuid4()), from_user=f"users/{from_user}", to_user=f"users/{to_user}",
            requested_by=f"users/{uuid.uuid4()}", transfer_time=_ts(later()))
        return teams_event(event, subject=f"users/{from_user}")


@pytest.fixture
def org(worker) -> Org:
    return Org(worker)
