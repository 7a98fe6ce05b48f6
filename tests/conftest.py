"""Cross-service tests drive only gRPC, as a gateway client would."""

import uuid
from dataclasses import dataclass

import grpc
import pytest

from shangji.leads.v1 import leads_pb2, leads_pb2_grpc
from shangji.notify.v1 import notify_pb2, notify_pb2_grpc
from shangji.opportunities.v1 import opportunities_pb2, opportunities_pb2_grpc
from shangji.teams.v1 import teams_pb2, teams_pb2_grpc
from shangji_kit.rpc.client import Caller


@dataclass
class Rep:
    """A sales rep with their own clients of every service."""

    user: teams_pb2.User
    teams: Caller
    leads: Caller
    opportunities: Caller
    notify: Caller

    def new_lead(self, **kw) -> leads_pb2.Lead:
        fields = {"company": f"华南精密制造 {uuid.uuid4().hex[:6]}", "contact_name": "王经理",
                  "phone": "+86 139 0013 9000", "email": "Wang@Example.cn", "region": "华南", "source": "展会"}
        fields.update(kw)
        return self.leads.CreateLead(leads_pb2.CreateLeadRequest(lead=leads_pb2.Lead(**fields)))

    def opportunities_list(self) -> list:
        return list(self.opportunities.ListOpportunities(
            opportunities_pb2.ListOpportunitiesRequest(page_size=200)).opportunities)

    def inbox(self) -> list:
        return list(self.notify.ListNotifications(notify_pb2.ListNotificationsRequest(page_size=200)).notifications)


@pytest.fixture(scope="session")
def channels(suite):
    opened = {s: grpc.insecure_channel(suite.target(s)) for s in ("teams", "leads", "opportunities", "notify")}
    yield opened
    for ch in opened.values():
        ch.close()


@pytest.fixture
def admin(channels, token_for) -> Caller:
    """teams as a bootstrap administrator (a token carrying the admin role)."""
    return Caller(teams_pb2_grpc.TeamsServiceStub(channels["teams"]), token_for(str(uuid.uuid4()), ["admin"]))


@pytest.fixture
def new_rep(channels, token_for, admin):
    def make(name: str = "李娜", department: str = "", roles: tuple[str, ...] = ()) -> Rep:
        user = admin.CreateUser(teams_pb2.CreateUserRequest(user=teams_pb2.User(
            display_name=name, email=f"{uuid.uuid4().hex[:10]}@shangji.example", phone="13800138000",
            department=department, roles=list(roles))))
        token = token_for(user.id)
        return Rep(user=user,
                   teams=Caller(teams_pb2_grpc.TeamsServiceStub(channels["teams"]), token),
                   leads=Caller(leads_pb2_grpc.LeadsServiceStub(channels["leads"]), token),
                   opportunities=Caller(opportunities_pb2_grpc.OpportunitiesServiceStub(channels["opportunities"]),
                                        token),
                   notify=Caller(notify_pb2_grpc.NotifyServiceStub(channels["notify"]), token))

    return make
