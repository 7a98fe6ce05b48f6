"""The console in a real browser: Debian's chromium driven by Playwright, the console backend in this process
(on a free port, dialing the session's suite), seeding through gRPC as other clients would."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from playwright.sync_api import sync_playwright

from shangji.leads.v1 import leads_pb2_grpc
from shangji.opportunities.v1 import opportunities_pb2_grpc
from shangji.teams.v1 import teams_pb2, teams_pb2_grpc
from shangji_kit import settings
from shangji_kit.rpc.client import Caller
from shangji_kit.testing.processes import free_port
from web.adapters.service_gateway import ServiceGateway
from web.entrypoints.http_api import serve

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ARTEFACTS = Path(__file__).resolve().parents[2] / "test-artefacts"


@pytest.fixture(scope="session")
def console(suite):
    gateway = ServiceGateway({s: suite.target(s) for s in settings.SERVICES}, deadline=15.0)
    server = serve("127.0.0.1", free_port(), gateway)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    gateway.close()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make browser` installs it", pytrace=False)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(20_000)
    opened = context.new_page()
    yield opened
    context.close()


@pytest.fixture(scope="session")
def artefacts():
    ARTEFACTS.mkdir(exist_ok=True)
    return ARTEFACTS


def pytest_terminal_summary(terminalreporter):
    if ARTEFACTS.exists() and any(ARTEFACTS.iterdir()):
        terminalreporter.write_line(f"web console screenshots: {ARTEFACTS}")


@dataclass
class Person:
    user: teams_pb2.User
    token: str
    opportunities: Caller
    leads: Caller
    teams: Caller


@pytest.fixture(scope="session")
def channels(suite):
    opened = {s: grpc.insecure_channel(suite.target(s)) for s in ("teams", "leads", "opportunities")}
    yield opened
    for channel in opened.values():
        channel.close()


@pytest.fixture
def person(channels, token_for):
    """A new user with ``roles`` in ``department``, with their own gRPC clients."""
    admin = Caller(teams_pb2_grpc.TeamsServiceStub(channels["teams"]), token_for(str(uuid.uuid4()), ["admin"]))

    def make(name: str, roles: tuple[str, ...] = ("sales_rep",), department: str = "", manager: str = "") -> Person:
        user = admin.CreateUser(teams_pb2.CreateUserRequest(user=teams_pb2.User(
            display_name=name, email=f"{uuid.uuid4().hex[:10]}@shangji.example", phone="13800138000",
            department=department, manager=manager, roles=list(roles))))
        token = token_for(user.id)
        return Person(user, token,
                      Caller(opportunities_pb2_grpc.OpportunitiesServiceStub(channels["opportunities"]), token),
                      Caller(leads_pb2_grpc.LeadsServiceStub(channels["leads"]), token),
                      Caller(teams_pb2_grpc.TeamsServiceStub(channels["teams"]), token))

    make.admin = admin
    return make


def sign_in(page, console: str, who: Person) -> None:
    page.goto(console + "/")
    page.get_by_test_id("sign-in-user").fill(who.user.name)
    page.get_by_role("button", name="登录").click()
    page.locator("#who").filter(has_text=who.user.display_name).wait_for()
