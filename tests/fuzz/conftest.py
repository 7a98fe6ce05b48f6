"""The world the fuzz suite and the authorisation matrix call into: the suite's fronts with their workers
paused (so a rejected call's row counts are exact), an admin and two reps, and a few real records."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

import grpc
import pytest
import sqlalchemy as sa

from shangji.leads.v1 import leads_pb2, leads_pb2_grpc
from shangji.opportunities.v1 import opportunities_pb2 as opp
from shangji.opportunities.v1 import opportunities_pb2_grpc
from shangji.teams.v1 import teams_pb2, teams_pb2_grpc
from shangji_kit import settings
from shangji_kit.auth import mint_dev_token
from shangji_kit.rpc.client import Caller
from shangji_kit.testing.requests import RowCounts

PROJECTIONS = ("leads", "opportunities", "samples", "erp_bridge")


@dataclass
class World:
    channels: dict[str, grpc.Channel]
    admin: str                 # token of an active user with the admin role (in teams and every projection)
    owner: str                 # token of the rep who owns the records
    outsider: str              # token of a rep in another department
    records: list[str]         # names of the owner's records


def _projected(user_id: str, roles: list[str]) -> bool:
    for service in PROJECTIONS:
        engine = sa.create_engine(settings.database_url(service), poolclass=sa.pool.NullPool)
        with engine.connect() as conn:
            row = conn.execute(sa.text("SELECT roles FROM org_users WHERE user_id = :u AND active"),
                               {"u": user_id}).first()
        engine.dispose()
        if row is None or not set(roles) <= set(row.roles):
            return False
    return True


@pytest.fixture(scope="session")
def world(suite, shangji_env) -> World:
    channels = {s: grpc.insecure_channel(suite.target(s)) for s in settings.SERVICES}
    bootstrap = Caller(teams_pb2_grpc.TeamsServiceStub(channels["teams"]),
                       mint_dev_token(str(uuid.uuid4()), roles=("admin",)))

    def department(name: str) -> str:
        return bootstrap.CreateDepartment(teams_pb2.CreateDepartmentRequest(
            department=teams_pb2.Department(display_name=f"{name} {uuid.uuid4().hex[:6]}"))).name

    def user(roles: list[str], dept: str = "") -> str:
        return bootstrap.CreateUser(teams_pb2.CreateUserRequest(user=teams_pb2.User(
            display_name="模糊测试", email=f"{uuid.uuid4().hex[:10]}@fuzz.example", department=dept,
            roles=roles))).id

    people = {"admin": (user(["admin"]), ["admin"]),
              "owner": (user(["sales_rep"], department("华东")), ["sales_rep"]),
              "outsider": (user(["sales_rep"], department("华北")), ["sales_rep"])}
    deadline = time.monotonic() + 60
    while not all(_projected(uid, roles) for uid, roles in people.values()):
        assert time.monotonic() < deadline, "teams' user events did not reach the projections"
        time.sleep(0.2)
    tokens = {k: mint_dev_token(uid) for k, (uid, _) in people.items()}
    leads = Caller(leads_pb2_grpc.LeadsServiceStub(channels["leads"]), tokens["owner"])
    deals = Caller(opportunities_pb2_grpc.OpportunitiesServiceStub(channels["opportunities"]), tokens["owner"])
    records = [
        leads.CreateLead(leads_pb2.CreateLeadRequest(lead=leads_pb2.Lead(
            company=f"模糊精密 {uuid.uuid4().hex[:6]}", contact_name="王伟", phone="13800138000"))).name,
        leads.CreateCustomer(leads_pb2.CreateCustomerRequest(customer=leads_pb2.Customer(
            display_name=f"模糊客户 {uuid.uuid4().hex[:6]}"))).name,
        deals.RegisterOpportunity(opp.RegisterOpportunityRequest(opportunity=opp.Opportunity(
            customer_company=f"模糊客户 {uuid.uuid4().hex[:6]}", product_lines=["cnc"]))).name,
    ]
    yield World(channels, tokens["admin"], tokens["owner"], tokens["outsider"], records)
    for ch in channels.values():
        ch.close()


@pytest.fixture(scope="module")
def workers_paused(world, suite):
    """No worker writes while a module runs: a rejected call's row counts are then exact."""
    for service in settings.SERVICES:
        suite.process(service, "worker").terminate(30)
    yield
    for service in settings.SERVICES:
        suite.process(service, "worker").start()
    for service in settings.SERVICES:  # a loaded machine starts a dozen processes slowly
        worker = suite.process(service, "worker")
        try:
            worker.wait_started(timeout=180)
        except (RuntimeError, TimeoutError):  # once more: a worker racing its predecessor's broker cleanup
            worker.kill()
            worker.launch()


@pytest.fixture(scope="module")
def counts(world, workers_paused):
    """Each service's row counts, read before and after a call: a refused call (or an export) writes nothing."""
    made = {service: RowCounts(service) for service in settings.SERVICES}
    yield made
    for c in made.values():
        c.close()
