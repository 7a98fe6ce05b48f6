"""A rep in the console, in headless Chromium: only their deals on the board, a drag that advances one, a drag the
stage gate refuses with its reasons shown, and a lead claimed from the pool; each checked against the APIs."""

import uuid
from datetime import UTC, datetime, timedelta

import grpc

from shangji.leads.v1 import leads_pb2
from shangji.opportunities.v1 import opportunities_pb2 as pb
from shangji_kit.testing.wait import eventually

from .conftest import sign_in

SOON = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()


def register(who, title: str, **fields) -> pb.Opportunity:
    """A deal registered by ``who`` (retried while opportunities has not yet heard of the new user)."""
    def attempt():
        try:
            return who.opportunities.RegisterOpportunity(pb.RegisterOpportunityRequest(opportunity=pb.Opportunity(
                title=title, customer_company=f"深圳华创精密{uuid.uuid4().hex[:6]}", product_lines=["MES"],
                **fields)))
        except grpc.RpcError as exc:
            assert exc.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.FAILED_PRECONDITION,
                                  grpc.StatusCode.PERMISSION_DENIED), exc.details()
            return None

    return eventually(attempt, timeout=30, what=f"{title} registered")


def card(page, title: str):
    return page.get_by_test_id("deal-card").filter(has_text=title)


def column(page, stage: str):
    return page.locator(f'[data-testid="stage-column"][data-stage="{stage}"]').first


def test_a_rep_sees_only_their_deals_advances_one_by_drag_and_is_refused_at_a_gate(page, console, person, artefacts):
    rep, other = person("李娜"), person("张伟")
    ready = register(rep, "MES 一期", expected_close_date=SOON, contact_name="王经理")
    ready = rep.opportunities.CompleteChecklistItem(pb.CompleteChecklistItemRequest(
        name=ready.name, item="need_confirmed", etag=ready.etag))
    blocked = register(rep, "WMS 改造")
    register(other, "别人的商机")
    assert (ready.stage, blocked.stage) == ("discover", "discover")

    sign_in(page, console, rep)
    card(page, "MES 一期").wait_for()
    assert card(page, "WMS 改造").count() == 1
    assert card(page, "别人的商机").count() == 0
    assert page.get_by_test_id("deal-card").count() == 2

    card(page, "MES 一期").drag_to(column(page, "validate"))
    page.locator("#flash").filter(has_text="MES 一期").wait_for()
    assert "已推进到" in page.locator("#flash").inner_text(), page.locator("#flash").inner_text()
    column(page, "validate").get_by_test_id("deal-card").filter(has_text="MES 一期").wait_for()
    assert rep.opportunities.GetOpportunity(pb.GetOpportunityRequest(name=ready.name)).stage == "validate"

    card(page, "WMS 改造").drag_to(column(page, "validate"))
    refusal = page.locator("#flash")
    refusal.filter(has_text="阶段门未通过").wait_for()
    reasons = refusal.locator("li").all_inner_texts()
    assert "expected_close_date is required" in reasons
    assert any("need_confirmed" in r for r in reasons)
    assert rep.opportunities.GetOpportunity(pb.GetOpportunityRequest(name=blocked.name)).stage == "discover"
    assert column(page, "discover").get_by_test_id("deal-card").filter(has_text="WMS 改造").count() == 1
    page.screenshot(path=str(artefacts / "board.png"), full_page=True)

    page.get_by_role("button", name="English").click()
    page.get_by_role("link", name="Board").wait_for()
    page.get_by_role("button", name="中文").click()
    page.get_by_role("link", name="看板").wait_for()


def test_a_rep_claims_a_lead_from_the_pool_and_returns_it(page, console, person):
    rep, capturer = person("王芳"), person("赵强")
    company = f"华东汽车零部件{uuid.uuid4().hex[:6]}"
    lead = capturer.leads.CreateLead(leads_pb2.CreateLeadRequest(to_pool=True, lead=leads_pb2.Lead(
        # A phone of its own: the session's leads database holds other tests' leads, and one with the same
        # phone would absorb this lead as a duplicate instead of putting it in the pool.
        company=company, contact_name="周经理", phone=f"+86 139 {uuid.uuid4().int % 10**8:08d}", region="华东",
        source="展会")))
    assert not lead.owner
    # Leads learns from teams' events that the new rep is a sales user (until then the pool is not theirs to
    # see, and the page, once drawn, does not redraw itself): wait for that before the browser asks.
    def pool_shows_it() -> bool:
        try:
            listed = rep.leads.ListLeads(leads_pb2.ListLeadsRequest(in_pool=True, page_size=100)).leads
        except grpc.RpcError:
            return False
        return any(found.name == lead.name for found in listed)

    eventually(pool_shows_it, timeout=60, what="the pool as the new rep sees it")

    sign_in(page, console, rep)
    page.goto(console + "/#/pool")
    pool = page.get_by_test_id("pool")
    pool.locator("tr").filter(has_text=company).get_by_test_id("claim").click()
    page.locator("#flash").filter(has_text=f"已领取: {company}").wait_for()
    assert rep.leads.GetLead(leads_pb2.GetLeadRequest(name=lead.name)).owner == rep.user.name
    held = page.get_by_test_id("my-leads").locator("tr").filter(has_text=company)
    held.wait_for()
    assert pool.locator("tr").filter(has_text=company).count() == 0

    held.locator("select").select_option("no_need")
    held.get_by_test_id("return").click()
    page.locator("#flash").filter(has_text=f"已退回公海: {company}").wait_for()
    assert rep.leads.GetLead(leads_pb2.GetLeadRequest(name=lead.name)).owner == ""
    pool.locator("tr").filter(has_text=company).wait_for()


def test_a_deal_page_shows_its_records_and_the_board_fits_a_phone(page, console, person, artefacts):
    rep = person("陈静")
    deal = register(rep, "视觉检测项目", expected_close_date=SOON)
    rep.opportunities.AddDecisionChainContact(pb.AddDecisionChainContactRequest(
        parent=deal.name, contact=pb.DealContact(display_name="周总", title="总经理", buying_role="decision_maker",
                                                 attitude="supportive")))
    rep.opportunities.AddRequirement(pb.AddRequirementRequest(parent=deal.name, requirement=pb.Requirement(
        text="节拍 30 秒以内")))
    rep.opportunities.AddDocumentVersion(pb.AddDocumentVersionRequest(parent=deal.name, document=pb.DocumentVersion(
        document="技术方案", uri="s3://docs/vision-1.pdf")))

    sign_in(page, console, rep)
    page.goto(f"{console}/#/deal/{deal.id}")
    page.get_by_test_id("deal").filter(has_text="视觉检测项目").wait_for()
    assert "周总" in page.get_by_test_id("chain").inner_text()
    assert "节拍 30 秒以内" in page.get_by_test_id("requirements").inner_text()
    assert "技术方案" in page.get_by_test_id("documents").inner_text()
    page.get_by_test_id("history").filter(has_text="发现机会").wait_for()

    page.set_viewport_size({"width": 390, "height": 844})  # a phone: nothing runs off the side
    page.goto(console + "/#/board")
    card(page, "视觉检测项目").wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(artefacts / "board-phone.png"), full_page=True)
