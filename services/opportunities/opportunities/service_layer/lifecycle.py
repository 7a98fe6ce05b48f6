"""A deal's life under the visibility rules: reading and listing deals, changing their fields, and moving them
through their pipeline (advance, win, lose, reopen) with its stage history."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from opportunities.domain import audit, deal_list, model, reporting
from opportunities.service_layer.alerts import raise_big_deal
from opportunities.service_layer.deals import (
    Clock,
    editable_deal,
    pipeline_of,
    save_deal,
    shown_all,
    shown_to,
    shown_to_user,
    utc_now,
    visible_deal,
)
from opportunities.service_layer.registration import check_added_lines
from opportunities.service_layer.unit_of_work import OpportunitiesUnitOfWork
from shangji_kit import company_time, fieldmask
from shangji_kit.caller import as_user_id
from shangji_kit.errors import NotFound
from shangji_kit.list_query import ListQuery, list_query
from shangji_kit.paging import Page


@dataclass(frozen=True)
class OpportunityPage:
    opportunities: list[model.Opportunity]
    next_page_token: str


@dataclass(frozen=True)
class UpdateOpportunity:
    opportunity_id: str
    title: str
    update_mask: tuple[str, ...]
    etag: str = ""
    amount: str = ""
    currency: str = ""
    expected_close_date: str = ""
    probability: int = 0
    probability_note: str = ""
    checklist: tuple[str, ...] = ()
    product_lines: tuple[str, ...] = ()
    customer_id: str | None = None
    difficulty: str = ""
    quote_lines: tuple[tuple[str, str, str, str], ...] = ()

UPDATABLE_FIELDS = ("title", "amount", "currency", "expected_close_date", "probability", "probability_note",
                    "checklist", "product_lines", "customer", "difficulty", "quote_lines")


def get_opportunity(opportunity_id: str, caller_id: str, uow: OpportunitiesUnitOfWork) -> model.Opportunity:
    """One deal the caller may see; NOT_FOUND alike for a missing deal and for one they may not see."""
    with uow.reading():
        opportunity, viewer = visible_deal(uow, opportunity_id, caller_id)
        return shown_to(uow, viewer, opportunity)


def list_opportunities(caller_id: str, page_size: int, page_token: str, uow: OpportunitiesUnitOfWork,
                       filter_text: str = "", order_by: str = "", *, clock: Clock = utc_now) -> OpportunityPage:
    """The opportunities the caller may see that pass the filter (README, "Lists"), in the order asked (newest
    first by default, most relevant first with a search), one page at a time."""
    query = deal_list_query(filter_text, order_by, page_token, page_size)
    user_id = as_user_id(caller_id)
    if user_id is None:
        return OpportunityPage([], "")
    with uow.reading():
        viewer = uow.org.viewer(user_id)
        page = uow.deals.list_visible(viewer, query, company_time.today(clock()))
        shown = shown_all(uow, viewer, page.items)
    return OpportunityPage(shown, page.next_page_token)


def deal_list_query(filter_text: str, order_by: str, page_token: str, page_size: int) -> ListQuery:
    """INVALID_ARGUMENT on ``filter``, ``order_by`` or ``page_size`` before anything is read."""
    return list_query(filter_text, order_by, page_token, page_size, filter_fields=deal_list.FILTER_FIELDS,
                      order_fields=deal_list.ORDER_FIELDS, default_order=deal_list.DEFAULT_ORDER)


def update_opportunity(cmd: UpdateOpportunity, caller_id: str, uow: OpportunitiesUnitOfWork,
                       *, clock: Clock = utc_now) -> model.Opportunity:
    """Change the fields in the mask. NOT_FOUND when the caller may not see the deal, PERMISSION_DENIED
    when they see it but may not change it, ABORTED when the etag or the version moved on. Product lines it adds
    are checked for collisions as at registration and refused on one (FAILED_PRECONDITION REGISTRATION_COLLISION)
    in either collision mode (``registration.check_added_lines`` says why)."""
    mask = fieldmask.check(cmd.update_mask, UPDATABLE_FIELDS)
    title, changes = model.parse_changes(
        mask, title=cmd.title, amount=cmd.amount, currency=cmd.currency, expected_close_date=cmd.expected_close_date,
        probability=cmd.probability, probability_note=cmd.probability_note, checklist=cmd.checklist,
        product_lines=cmd.product_lines, customer_id=cmd.customer_id, difficulty=cmd.difficulty,
        quote_lines=list(cmd.quote_lines))
    now = clock()
    with uow:
        opportunity, user_id = editable_deal(uow, cmd.opportunity_id, caller_id, cmd.etag)
        # A deal names only a customer its editor may see, as at registration.
        if changes.get("customer_id") and not uow.customers.visible(changes["customer_id"], uow.org.viewer(user_id)):
            raise NotFound(f"customers/{changes['customer_id']}")
        expected = opportunity.version
        before, lines_before = set(opportunity.checklist), opportunity.product_lines
        if title is not None:
            opportunity.retitle(title, now, "opportunity.title")
        if changes:
            opportunity.change(changes, pipeline_of(uow, opportunity), company_time.today(now), now)
        if "product_lines" in changes:
            check_added_lines(uow, opportunity, lines_before, now)
        if "checklist" in changes:
            after = set(opportunity.checklist)
            uow.deals.record_checklist(opportunity.id, sorted(after - before), user_id, now)
            uow.deals.forget_checklist(opportunity.id, sorted(before - after))
        save_deal(uow, opportunity, expected, cause=audit.Cause(audit.UPDATE, user_id))
        raise_big_deal(uow, opportunity, now)
        shown = shown_to_user(uow, user_id, opportunity)
        uow.commit()
        return shown


@dataclass(frozen=True)
class AdvanceStage:
    opportunity_id: str
    etag: str = ""
    target_stage: str = ""
    reason: str = ""


@dataclass(frozen=True)
class WinOpportunity:
    opportunity_id: str
    etag: str = ""
    amount: str = ""
    win_date: str = ""
    reason: str = ""
    competitors_beaten: tuple[str, ...] = ()


@dataclass(frozen=True)
class LoseOpportunity:
    opportunity_id: str
    reason: str
    etag: str = ""
    competitor: str = ""


@dataclass(frozen=True)
class ReopenOpportunity:
    opportunity_id: str
    reason: str
    etag: str = ""


def _change_stage(opportunity_id: str, etag: str, caller_id: str, uow: OpportunitiesUnitOfWork, clock: Clock,
                  act: Callable[[model.Opportunity, model.Pipeline, str, datetime], None], kind: str, reason: str
                  ) -> model.Opportunity:
    now = clock()
    with uow:
        opportunity, user_id = editable_deal(uow, opportunity_id, caller_id, etag)
        expected = opportunity.version
        pipeline = pipeline_of(uow, opportunity)
        # One query, made only when a gate about to be checked reads the deal's collections.
        opportunity.collections_loader = lambda: uow.deals.collections(opportunity.id)
        act(opportunity, pipeline, user_id, now)
        save_deal(uow, opportunity, expected, pipeline, cause=audit.Cause(kind, user_id, reason.strip()))
        # Only a deal that collided costs a query here (AdvanceStage's hot path reads nothing more).
        shown = shown_to_user(uow, user_id, opportunity)
        uow.commit()
        return shown


def advance_stage(cmd: AdvanceStage, caller_id: str, uow: OpportunitiesUnitOfWork, *,
                  clock: Clock = utc_now) -> model.Opportunity:
    """Move a deal through its pipeline's gates (model.Opportunity.advance), as one who may change it."""
    return _change_stage(cmd.opportunity_id, cmd.etag, caller_id, uow, clock,
                         lambda o, p, user_id, now: o.advance(p, cmd.target_stage.strip(), cmd.reason, user_id, now),
                         audit.STAGE, cmd.reason)


def win_opportunity(cmd: WinOpportunity, caller_id: str, uow: OpportunitiesUnitOfWork, *,
                    clock: Clock = utc_now) -> model.Opportunity:
    amount = model.parse_amount(cmd.amount, "amount")
    win_date = model.parse_date(cmd.win_date, "win_date")
    reason, beaten = reporting.win_reason(cmd.reason, cmd.competitors_beaten)

    def act(o: model.Opportunity, p: model.Pipeline, user_id: str, now: datetime) -> None:
        o.win(p, amount, win_date or company_time.today(now), company_time.today(now), user_id, now)
        uow.deals.record_win_reason(o.id, reason, beaten, now)

    return _change_stage(cmd.opportunity_id, cmd.etag, caller_id, uow, clock, act, audit.WIN, reason)


def lose_opportunity(cmd: LoseOpportunity, caller_id: str, uow: OpportunitiesUnitOfWork, *,
                     clock: Clock = utc_now) -> model.Opportunity:
    return _change_stage(cmd.opportunity_id, cmd.etag, caller_id, uow, clock,
                         lambda o, p, user_id, now: o.lose(p, cmd.reason, cmd.competitor, user_id, now),
                         audit.LOSE, cmd.reason)


def reopen_opportunity(cmd: ReopenOpportunity, caller_id: str, uow: OpportunitiesUnitOfWork, *,
                       clock: Clock = utc_now) -> model.Opportunity:
    """A won or lost deal back in the open stage it was closed from."""
    def act(o: model.Opportunity, p: model.Pipeline, user_id: str, now: datetime) -> None:
        o.reopen(p, model.stage_to_reopen(p, uow.deals.stays(o.id)), cmd.reason, user_id, now)

    return _change_stage(cmd.opportunity_id, cmd.etag, caller_id, uow, clock, act, audit.REOPEN, cmd.reason)


@dataclass(frozen=True)
class StageHistory:
    pipeline: model.Pipeline
    stays: list[model.StageStay]
    now: datetime


def list_stage_history(opportunity_id: str, caller_id: str, uow: OpportunitiesUnitOfWork,
                       *, clock: Clock = utc_now) -> StageHistory:
    """A visible deal's stays in its stages, oldest first."""
    opportunity = get_opportunity(opportunity_id, caller_id, uow)
    with uow:
        return StageHistory(pipeline_of(uow, opportunity), uow.deals.stays(opportunity.id), clock())


CHANGES_ORDER = "change_time desc"


def list_opportunity_changes(opportunity_id: str, caller_id: str, page_size: int, page_token: str,
                             uow: OpportunitiesUnitOfWork) -> Page[audit.Change]:
    """A visible deal's audit trail, newest first, one keyset page at a time (NOT_FOUND as for Get)."""
    query = list_query("", "", page_token, page_size, filter_fields=(), order_fields=("change_time",),
                       default_order=CHANGES_ORDER)
    with uow:
        visible_deal(uow, opportunity_id, caller_id)
        return uow.changes.of_deal(opportunity_id, query)
