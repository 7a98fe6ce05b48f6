"""Opportunities use cases: a command in, state and events out, one transaction each."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

from opportunities.domain import alerts, decision_chain, model, registration, routing, work
from opportunities.domain.pipeline import pipeline_from_dict
from shangji_kit import names, paging, visibility
from shangji_kit.errors import (
    Aborted,
    AlreadyExists,
    FailedPrecondition,
    FieldViolation,
    InvalidArgument,
    NotFound,
    PermissionDenied,
)
from shangji_kit.inbox import Delivery

if TYPE_CHECKING:  # the unit of work imports protomap, which builds this module's commands
    from opportunities.service_layer.unit_of_work import OpportunitiesUnitOfWork

T = TypeVar("T")

LEAD_CONVERTED_CONSUMER = "opportunities.on_lead_converted"
LEAD_CONVERTED_TYPE = "shangji.leads.v1.LeadConverted"


@dataclass(frozen=True)
class RegisterFromConversion:
    lead_id: str
    owner_id: str
    registrant_id: str
    title: str
    customer_company: str
    contact_name: str = ""
    contact_phone: str = ""
    contact_email: str = ""
    region: str = ""
    source: str = ""
    # LeadConverted carries none today; a conversion with product lines is checked for collisions like any other.
    product_lines: tuple[str, ...] = ()
    customer_id: str | None = None
    # The customer's decision chain at conversion, copied onto the deal.
    decision_chain: tuple[decision_chain.DealContact, ...] = ()
    # The lead became a customer only: no deal.
    without_opportunity: bool = False


@dataclass(frozen=True)
class OpportunityPage:
    opportunities: list[model.Opportunity]
    next_page_token: str


def register_from_conversion(cmd: RegisterFromConversion, event_id: str,
                             uow: OpportunitiesUnitOfWork) -> model.Opportunity | None:
    """The deal a converted lead yields; None when this event or this lead was already handled."""
    now = datetime.now(UTC)
    with uow:
        if not uow.claim_event(LEAD_CONVERTED_CONSUMER, event_id, LEAD_CONVERTED_TYPE):
            return None
        if cmd.without_opportunity:
            uow.commit()  # the inbox row: this conversion is handled, and it asks for no deal
            return None
        pipeline = uow.pipelines.default()
        if pipeline is None:
            raise FailedPrecondition("no default pipeline is configured", reason="NO_DEFAULT_PIPELINE")
        opportunity = model.register(
            id=str(uuid.uuid4()), lead_id=cmd.lead_id, title=cmd.title, customer_company=cmd.customer_company,
            contact_name=cmd.contact_name, contact_phone=cmd.contact_phone, contact_email=cmd.contact_email,
            region=cmd.region, source=cmd.source, owner_id=cmd.owner_id, registrant_id=cmd.registrant_id,
            pipeline=pipeline, now=now, product_lines=cmd.product_lines, customer_id=cmd.customer_id)
        # An event cannot be refused: a collision queues the deal for arbitration whatever the company's mode.
        _check_collision(uow, opportunity, uow.settings.registration(), now, refuse=False)
        registered = uow.opportunities.add(opportunity)
        if registered:
            uow.history.enter(opportunity.id, opportunity.stage_key, now, cmd.registrant_id)
            _copy_chain(uow, opportunity, list(cmd.decision_chain), now)
            uow.publish(opportunity.events)
            _tasks_on_entry(uow, opportunity, pipeline.first_open_stage(), now)
        # Commit even when the lead already had its deal (another event id for the same conversion):
        # the inbox row must stick so this delivery is not handled again.
        uow.commit()
        return opportunity if registered else None


def _check_collision(uow: OpportunitiesUnitOfWork, opportunity: model.Opportunity,
                     settings: registration.RegistrationSettings, now: datetime, *, refuse: bool) -> None:
    """Refuse (FAILED_PRECONDITION REGISTRATION_COLLISION) or queue a registration that collides (撞单)."""
    if not opportunity.product_lines or opportunity.owner_id is None:
        return  # holds nothing, collides with nothing (registration.find_collision); unassigned: no owner yet
    uow.opportunities.lock_customer(opportunity.customer_key)
    collision = registration.find_collision(opportunity.owner_id, opportunity.product_lines,
                                            uow.opportunities.holdings(opportunity.customer_key), settings, now)
    if collision is None:
        return
    if refuse:
        raise collision.error(opportunity.customer_company, uow.alerts.managers_of(opportunity.owner_id))
    model.queue_for_arbitration(opportunity, collision)


@dataclass(frozen=True)
class RegisterOpportunity:
    customer_company: str
    product_lines: tuple[str, ...]
    title: str = ""
    amount: str = ""
    currency: str = ""
    expected_close_date: str = ""
    region: str = ""
    source: str = ""
    contact_name: str = ""
    contact_phone: str = ""
    contact_email: str = ""
    # Resource names as given ("pipelines/{id}", "customers/{id}"): checked with every other field, so a bad name
    # is reported beside the other bad fields.
    pipeline: str = ""
    # The routing rules pick the owner (None: the assignment queue) instead of the caller.
    route: bool = False
    customer: str = ""
    difficulty: str = ""
    quote_lines: tuple[tuple[str, str, str, str], ...] = ()


def _checked(violations: list[FieldViolation], parse: Callable[..., T], *args: object) -> T | None:
    """``parse(*args)``, or None with its violations added to ``violations`` (to report every bad field at once)."""
    try:
        return parse(*args)
    except InvalidArgument as exc:
        violations.extend(exc.violations)
        return None


def register_opportunity(cmd: RegisterOpportunity, caller_id: str, uow: OpportunitiesUnitOfWork
                         ) -> model.Opportunity:
    """A deal registered directly by the caller, who owns it. A collision with another rep's protected deal is
    refused (collision_mode refuse) or stored PENDING_ARBITRATION (queue). INVALID_ARGUMENT lists every bad field;
    a customer the caller may not see is NOT_FOUND (its decision chain is not copied)."""
    user_id = caller_user_id(caller_id)
    if user_id is None:
        raise PermissionDenied("only users (a users/{id} token subject) register deals", reason="NOT_A_USER")
    now = datetime.now(UTC)
    p = "opportunity."
    bad: list[FieldViolation] = []
    amount = _checked(bad, model.parse_amount, cmd.amount, f"{p}amount")
    close = _checked(bad, model.parse_date, cmd.expected_close_date, f"{p}expected_close_date")
    difficulty = _checked(bad, model.parse_difficulty, cmd.difficulty, f"{p}difficulty")
    quote_lines = _checked(bad, model.parse_quote_lines, list(cmd.quote_lines), f"{p}quote_lines") or ()
    pipeline_id = _checked(bad, names.parse, cmd.pipeline, "pipelines", f"{p}pipeline") if cmd.pipeline else None
    customer_id = _checked(bad, names.parse, cmd.customer, "customers", f"{p}customer") if cmd.customer else None
    violations = model.registration_violations(
        title=cmd.title, customer_company=cmd.customer_company, product_lines=cmd.product_lines,
        currency=cmd.currency, expected_close_date=close, today=now.date(), require_product_lines=True,
        field_prefix=p) + bad
    with uow:
        pipeline = None
        if pipeline_id is not None:
            pipeline = uow.pipelines.get(pipeline_id)
            if pipeline is None:
                violations.append(FieldViolation(f"{p}pipeline", f"no pipeline pipelines/{pipeline_id}"))
        if violations:
            raise InvalidArgument(violations)
        if not cmd.pipeline:
            pipeline = uow.pipelines.default()
            if pipeline is None:
                raise FailedPrecondition("no default pipeline is configured", reason="NO_DEFAULT_PIPELINE")
        viewer = uow.org.viewer(user_id)
        if customer_id is not None and not uow.customers.visible(customer_id, viewer):
            raise NotFound(f"customers/{customer_id}")
        owner_id: str | None = user_id
        if cmd.route:
            owner_id = routing.route(uow.routing.rules(), cmd.region, cmd.product_lines, amount).owner_id
        opportunity = model.register(
            id=str(uuid.uuid4()), title=cmd.title, customer_company=cmd.customer_company, owner_id=owner_id,
            registrant_id=user_id, pipeline=pipeline, now=now, contact_name=cmd.contact_name,
            contact_phone=cmd.contact_phone, contact_email=cmd.contact_email, region=cmd.region, source=cmd.source,
            product_lines=cmd.product_lines, amount=amount, currency=cmd.currency, expected_close_date=close,
            require_product_lines=True, field_prefix=p, customer_id=customer_id,
            difficulty=difficulty, quote_lines=quote_lines)
        settings = uow.settings.registration()
        _check_collision(uow, opportunity, settings, now, refuse=settings.collision_mode == registration.REFUSE)
        uow.opportunities.add(opportunity)
        uow.history.enter(opportunity.id, opportunity.stage_key, now, user_id)
        if customer_id:
            _copy_chain(uow, opportunity, uow.chains.customer_chain(customer_id), now)
        uow.publish(opportunity.events)
        _tasks_on_entry(uow, opportunity, pipeline.first_open_stage(), now)
        _raise_big_deal(uow, opportunity, now)
        shown = shown_to(uow, viewer, opportunity)
        uow.commit()
        return shown


def _copy_chain(uow: OpportunitiesUnitOfWork, opportunity: model.Opportunity,
                contacts: list[decision_chain.DealContact], now: datetime) -> None:
    """The customer's decision chain becomes the deal's own (kept per deal from now on)."""
    uow.chains.add(decision_chain.copied(contacts, opportunity.id, new_id, now))


def _tasks_on_entry(uow: OpportunitiesUnitOfWork, opportunity: model.Opportunity, stage: model.Stage,
                    now: datetime) -> None:
    """The stage's tasks_on_entry for the deal that just entered it, each announced (TaskCreated)."""
    if not stage.tasks_on_entry:
        return
    made = work.tasks_on_entry(stage, opportunity.id, opportunity.owner_id, uow.work.team_roles(opportunity.id),
                               new_id, now)
    uow.work.add_tasks(made)
    uow.publish([work.TaskCreated(t, opportunity.title) for t in made])


def new_id() -> str:
    return str(uuid.uuid4())


def routing_rules_from_list(data: object) -> list[routing.RoutingRule]:
    """The CLI's YAML list as rules, positions 1..n in file order; INVALID_ARGUMENT naming each bad entry."""
    if not isinstance(data, list):
        raise InvalidArgument.field("rules", "must be a list of rules")
    rules, violations = [], []
    allowed = {"region", "product_line", "amount_min", "amount_max", "owner"}
    for i, raw in enumerate(data):
        try:
            if not isinstance(raw, dict) or set(raw) - allowed:
                raise InvalidArgument.field(f"rules[{i}]", f"a mapping of {', '.join(sorted(allowed))}")
            owner = str(raw.get("owner", ""))
            owner_id = caller_user_id(owner.removeprefix("users/")) if owner.startswith("users/") else None
            if owner_id is None:
                raise InvalidArgument.field(f"rules[{i}].owner", "required: users/{id}")
            bounds = {k: model.parse_amount(str(raw[k]), f"rules[{i}].{k}") if raw.get(k) is not None else None
                      for k in ("amount_min", "amount_max")}
            rules.append(routing.RoutingRule(position=i, owner_id=owner_id, region=str(raw.get("region") or ""),
                                             product_line=str(raw.get("product_line") or ""), **bounds))
        except InvalidArgument as exc:
            violations.extend(exc.violations)
    if violations:
        raise InvalidArgument(violations)
    return rules


def replace_routing_rules(rules: list[routing.RoutingRule], uow: OpportunitiesUnitOfWork) -> None:
    with uow:
        uow.routing.replace(rules)
        uow.commit()


@dataclass(frozen=True)
class Assignment:
    """One (deal, assignee) pair as given: resource names, checked after the caller (who may assign at all)."""

    name: str
    assignee: str


ASSIGN_MAX = 200


def assign_opportunities(assignments: list[Assignment], caller_id: str, uow: OpportunitiesUnitOfWork
                         ) -> list[model.Opportunity]:
    """Give queued (UNASSIGNED) deals their owners, all or none. sales ops and admins assign to anyone; an active
    manager to themself and the people below them. The caller is checked before the assignments."""
    user_id = caller_user_id(caller_id)
    now = datetime.now(UTC)
    with uow:
        viewer = uow.org.viewer(user_id) if user_id else None
        if viewer is None or viewer.deactivated or not (viewer.sees_everything or viewer.headed_paths):
            raise PermissionDenied("only sales ops, admins and managers assign deals", reason="NOT_AN_ASSIGNER")
        pairs = _checked_assignments(assignments)
        deals: list[tuple[model.Opportunity, int]] = []
        not_queued = []
        for i, a in enumerate(pairs):
            if not viewer.sees_everything and a.assignee_id != user_id and not uow.org.manages(viewer, a.assignee_id):
                raise PermissionDenied(f"users/{a.assignee_id} is not below you", reason="ASSIGNEE_NOT_MANAGED",
                                       metadata={"assignee": f"users/{a.assignee_id}", "index": str(i)})
            if uow.org.is_active(a.assignee_id) is False:
                raise FailedPrecondition(f"users/{a.assignee_id} is deactivated", reason="ASSIGNEE_INACTIVE",
                                         metadata={"assignee": f"users/{a.assignee_id}", "index": str(i)})
            opportunity = uow.opportunities.get_visible(a.opportunity_id, viewer)
            if opportunity is None:
                raise NotFound(f"opportunities/{a.opportunity_id}")
            if opportunity.registration_state != registration.UNASSIGNED:
                not_queued.append(opportunity)
            deals.append((opportunity, opportunity.version))
        if not_queued:
            raise FailedPrecondition(f"{len(not_queued)} of the deals are not in the assignment queue; "
                                     f"nothing assigned",
                                     reason="NOT_UNASSIGNED",
                                     violations=[("REGISTRATION", f"{o.name} is {o.registration_state}")
                                                 for o in not_queued])
        for (opportunity, expected), a in zip(deals, pairs, strict=True):
            opportunity.assign(a.assignee_id, now)
            save_deal(uow, opportunity, expected)
            # Registered without an owner, the deal got no tasks on entering its first stage: it gets them now.
            stage = pipeline_of(uow, opportunity).find(opportunity.stage_key)
            if stage is not None:
                _tasks_on_entry(uow, opportunity, stage, now)
        shown = shown_all(uow, viewer, [o for o, _ in deals])
        uow.commit()
        return shown


@dataclass(frozen=True)
class _Pair:
    opportunity_id: str
    assignee_id: str


def _checked_assignments(assignments: list[Assignment]) -> list[_Pair]:
    if not assignments:
        raise InvalidArgument.field("assignments", "required: at least one (name, assignee) pair")
    if len(assignments) > ASSIGN_MAX:
        raise InvalidArgument.field("assignments", f"at most {ASSIGN_MAX} per call, got {len(assignments)}")
    pairs: list[_Pair] = []
    seen: set[str] = set()
    for i, a in enumerate(assignments):
        pair = _Pair(opportunity_id=names.parse(a.name, "opportunities", f"assignments[{i}].name"),
                     assignee_id=names.parse(a.assignee, "users", f"assignments[{i}].assignee"))
        if pair.opportunity_id in seen:
            raise InvalidArgument.field(f"assignments[{i}].name", f"opportunities/{pair.opportunity_id} appears twice")
        seen.add(pair.opportunity_id)
        pairs.append(pair)
    return pairs


@dataclass(frozen=True)
class ArbitrateRegistration:
    opportunity_id: str
    decision: str
    note: str = ""
    etag: str = ""


def arbitrate_registration(cmd: ArbitrateRegistration, caller_id: str, uow: OpportunitiesUnitOfWork
                           ) -> model.Opportunity:
    """Approve or reject a queued registration: sales ops (and admins), or an active manager above the registering
    owner or above the holder it collided with. NOT_FOUND for a caller who may neither arbitrate nor see it."""
    decision = registration.check_decision(cmd.decision)
    user_id = caller_user_id(caller_id)
    now = datetime.now(UTC)
    with uow:
        viewer = uow.org.viewer(user_id) if user_id else None
        opportunity = uow.opportunities.get(cmd.opportunity_id) if viewer else None
        if opportunity is None:
            raise NotFound(f"opportunities/{cmd.opportunity_id}")
        holder = uow.opportunities.get(opportunity.collides_with) if opportunity.collides_with else None
        may = not viewer.deactivated and (
            viewer.sees_everything or uow.org.manages(viewer, opportunity.owner_id)
            or (holder is not None and uow.org.manages(viewer, holder.owner_id)))
        if not may:
            if uow.opportunities.get_visible(opportunity.id, viewer) is None:
                raise NotFound(f"opportunities/{cmd.opportunity_id}")
            raise PermissionDenied(f"only sales ops and the managers above either rep arbitrate {opportunity.name}",
                                   reason="NOT_AN_ARBITER", metadata={"resource": opportunity.name})
        if cmd.etag and cmd.etag != opportunity.etag:
            raise Aborted(f"{opportunity.name} changed since it was read (etag {opportunity.etag}); re-read it",
                          metadata={"resource": opportunity.name, "etag": opportunity.etag})
        expected = opportunity.version
        opportunity.arbitrate(decision, cmd.note, user_id, now)
        save_deal(uow, opportunity, expected)
        shown = shown_to(uow, viewer, opportunity)
        uow.commit()
        return shown


# --- reading and changing deals under the visibility rules ----------------------------------------

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
    user_id = caller_user_id(caller_id)
    with uow:
        opportunity = None
        if user_id is not None:
            viewer, active = viewer_of(uow, user_id)
            opportunity = uow.opportunities.get_visible(opportunity_id, viewer)
        if opportunity is None:
            raise NotFound(f"opportunities/{opportunity_id}")
        return shown_to(uow, viewer, opportunity)


def list_opportunities(caller_id: str, page_size: int, page_token: str,
                       uow: OpportunitiesUnitOfWork) -> OpportunityPage:
    """The opportunities the caller may see, newest first, one page at a time."""
    limit = paging.page_size(page_size)
    after = paging.decode_token(page_token)
    user_id = caller_user_id(caller_id)
    if user_id is None:
        return OpportunityPage([], "")
    with uow:
        viewer, active = viewer_of(uow, user_id)
        # One row beyond the page tells whether another page exists, so the last page carries no token.
        rows = uow.opportunities.list_visible(viewer, limit + 1, after)
        page = shown_all(uow, viewer, rows[:limit])
    token = paging.encode_token(page[-1].create_time, page[-1].id) if len(rows) > limit else ""
    return OpportunityPage(page, token)


def update_opportunity(cmd: UpdateOpportunity, caller_id: str, uow: OpportunitiesUnitOfWork) -> model.Opportunity:
    """Change the fields in the mask. NOT_FOUND when the caller may not see the deal, PERMISSION_DENIED
    when they see it but may not change it, ABORTED when the etag or the version moved on."""
    if not cmd.update_mask:
        raise InvalidArgument.field("update_mask",
                                    f"required: name the fields to change ({', '.join(UPDATABLE_FIELDS)})")
    unknown = [p for p in cmd.update_mask if p not in UPDATABLE_FIELDS]
    if unknown:
        raise InvalidArgument.field("update_mask", f"cannot update {', '.join(unknown)}; updatable: "
                                                   f"{', '.join(UPDATABLE_FIELDS)}")
    mask = set(cmd.update_mask)
    title = model.clean_title(cmd.title, "opportunity.title") if "title" in mask else None
    changes: dict[str, object] = {}
    if "amount" in mask:
        changes["amount"] = model.parse_amount(cmd.amount, "opportunity.amount")
    if "currency" in mask:
        changes["currency"] = cmd.currency
    if "expected_close_date" in mask:
        changes["expected_close_date"] = model.parse_date(cmd.expected_close_date, "opportunity.expected_close_date")
    if "probability" in mask:
        changes["probability"] = cmd.probability
    if "probability_note" in mask or "probability" in mask:
        changes["probability_note"] = cmd.probability_note
    if "checklist" in mask:
        changes["checklist"] = tuple(cmd.checklist)
    if "product_lines" in mask:
        changes["product_lines"] = tuple(cmd.product_lines)
    if "customer" in mask:
        changes["customer_id"] = cmd.customer_id
    if "difficulty" in mask:
        changes["difficulty"] = model.parse_difficulty(cmd.difficulty, "opportunity.difficulty")
    if "quote_lines" in mask:
        changes["quote_lines"] = model.parse_quote_lines(list(cmd.quote_lines), "opportunity.quote_lines")
    now = datetime.now(UTC)
    with uow:
        opportunity, user_id = editable_deal(uow, cmd.opportunity_id, caller_id, cmd.etag)
        expected = opportunity.version
        before = set(opportunity.checklist)
        if title is not None:
            opportunity.retitle(title, now, "opportunity.title")
        if changes:
            opportunity.change(changes, pipeline_of(uow, opportunity), now.date(), now)
        if "checklist" in changes:
            after = set(opportunity.checklist)
            uow.work.record_checklist(opportunity.id, sorted(after - before), user_id, now)
            uow.work.forget_checklist(opportunity.id, sorted(before - after))
        save_deal(uow, opportunity, expected)
        _raise_big_deal(uow, opportunity, now)
        shown = shown_to(uow, uow.org.viewer(user_id), opportunity) if opportunity.collides_with else opportunity
        uow.commit()
        return shown


def _raise_big_deal(uow: OpportunitiesUnitOfWork, opportunity: model.Opportunity, now: datetime) -> None:
    """OpportunityBigDeal, once per deal and threshold, when the amount is above the company's threshold."""
    threshold = uow.settings.big_deal_threshold()
    if threshold is None or opportunity.amount is None or opportunity.amount <= threshold:
        return
    alert = alerts.big_deal_alert(opportunity, threshold, uow.alerts.managers_of(opportunity.owner_id or ""), now)
    if alert is not None and uow.alerts.record(alert):
        uow.publish([alert])


def scan_alerts(now: datetime, uow: OpportunitiesUnitOfWork) -> list[alerts.Alert]:
    """Raise every time-driven alert due at ``now`` (close date approaching or passed, stalled), each once per
    deal and condition: the alerts_sent row and the event commit together, and a concurrent scan's claim of the
    same row makes the other skip it. Returns the alerts raised."""
    today = alerts.today_of(now)
    raised: list[alerts.Alert] = []
    with uow:
        pipelines: dict[tuple[str, int], model.Pipeline | None] = {}

        def max_days(o: model.Opportunity) -> int | None:
            key = (o.pipeline_id, o.pipeline_version)
            if key not in pipelines:
                pipelines[key] = uow.pipelines.get(*key)
            pipeline = pipelines[key]
            stage = next((s for s in pipeline.stages if s.key == o.stage_key), None) if pipeline else None
            return stage.max_days if stage else None

        # A stage's max_days is at least 1 (pipeline_from_dict), so a deal in its stage for under a day is no
        # stall candidate, whatever its pipeline version says.
        candidates = uow.alerts.candidates(today + timedelta(days=alerts.APPROACHING_DAYS),
                                           now - timedelta(days=1))
        sent = uow.alerts.sent([o.id for o in candidates])
        for o in candidates:
            for alert in alerts.scan(o, max_days(o), now):
                if (o.id, alert.kind, alert.condition_key) in sent:
                    continue
                if uow.alerts.record(alert):
                    raised.append(alert)
        uow.publish(list(raised))
        uow.commit()
    return raised


def shown_to(uow: OpportunitiesUnitOfWork, viewer: visibility.Viewer, opportunity: model.Opportunity
             ) -> model.Opportunity:
    """The deal as ``viewer`` is shown it: the deal a registration collided with is named only to someone who may
    see that deal (a rep whose registration was queued learns that it collided, not which deal it hit)."""
    return shown_all(uow, viewer, [opportunity])[0]


def shown_all(uow: OpportunitiesUnitOfWork, viewer: visibility.Viewer, deals: list[model.Opportunity]
              ) -> list[model.Opportunity]:
    """``shown_to`` for many deals: one query, and none when no deal collided."""
    held = {o.collides_with for o in deals if o.collides_with}
    if not held:
        return deals
    seen = uow.opportunities.visible_ids(sorted(held), viewer)
    return [replace(o, collides_with=None) if o.collides_with and o.collides_with not in seen else o
            for o in deals]


def editable_deal(uow: OpportunitiesUnitOfWork, opportunity_id: str, caller_id: str, etag: str
              ) -> tuple[model.Opportunity, str]:
    """The deal and the caller's user id, when the caller may change it and holds its current etag (if given)."""
    user_id = caller_user_id(caller_id)
    opportunity = None
    active = False
    if user_id is not None:
        viewer, active = viewer_of(uow, user_id)
        opportunity = uow.opportunities.get_visible(opportunity_id, viewer)
    if opportunity is None:
        raise NotFound(f"opportunities/{opportunity_id}")
    member = uow.teams.get(opportunity.id, user_id) if active else None
    editor = model.Editor(user_id=user_id, active=active, team_can_edit=member.can_edit if member else None,
                          manages_owner=uow.org.manages(viewer, opportunity.owner_id))
    if not model.may_edit(editor, opportunity):
        raise PermissionDenied(f"you may see {opportunity.name} but not change it",
                               reason="NOT_AN_EDITOR", metadata={"resource": opportunity.name})
    opportunity.require_registered()
    if etag and etag != opportunity.etag:
        raise Aborted(f"{opportunity.name} changed since it was read (etag {opportunity.etag}); re-read it",
                      metadata={"resource": opportunity.name, "etag": opportunity.etag})
    return opportunity, user_id


def save_deal(uow: OpportunitiesUnitOfWork, opportunity: model.Opportunity, expected_version: int,
          pipeline: model.Pipeline | None = None) -> None:
    """Write the deal back, its stage moves into the history and its events into the outbox."""
    # Optimistic concurrency: a change committed since our read (an edit, a move, a handover) moved the version on.
    if not uow.opportunities.update(opportunity, expected_version):
        raise Aborted(f"{opportunity.name} changed concurrently; re-read it", reason="CONCURRENT_UPDATE",
                      metadata={"resource": opportunity.name})
    entered = []
    for event in opportunity.events:
        if isinstance(event, model.StageMove):
            uow.history.enter(opportunity.id, event.to_stage, event.change_time, event.actor_id, event.reason)
            if isinstance(event, (model.OpportunityStageChanged, model.OpportunityReopened)):
                entered.append((event.to_stage, event.change_time))
    uow.publish(opportunity.events)
    if entered:
        pipeline = pipeline or pipeline_of(uow, opportunity)
        for stage_key, time in entered:
            stage = pipeline.find(stage_key)
            if stage is not None:
                _tasks_on_entry(uow, opportunity, stage, time)


def pipeline_of(uow: OpportunitiesUnitOfWork, opportunity: model.Opportunity) -> model.Pipeline:
    pipeline = uow.pipelines.get(opportunity.pipeline_id, opportunity.pipeline_version)
    if pipeline is None:  # the foreign key keeps this from happening
        raise FailedPrecondition(f"{opportunity.name}: pipeline version {opportunity.pipeline_version} is missing",
                                 reason="PIPELINE_MISSING")
    return pipeline


# --- the lifecycle: advance, win, lose, reopen ----------------------------------------------------------

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


def _change_stage(opportunity_id: str, etag: str, caller_id: str, uow: OpportunitiesUnitOfWork,
                  act: Callable[[model.Opportunity, model.Pipeline, str, datetime], None]) -> model.Opportunity:
    now = datetime.now(UTC)
    with uow:
        opportunity, user_id = editable_deal(uow, opportunity_id, caller_id, etag)
        expected = opportunity.version
        pipeline = pipeline_of(uow, opportunity)
        # One query, made only when a gate about to be checked reads the deal's collections.
        opportunity.collections_loader = lambda: uow.work.collections(opportunity.id)
        act(opportunity, pipeline, user_id, now)
        save_deal(uow, opportunity, expected, pipeline)
        # Only a deal that collided costs a query here (AdvanceStage's hot path reads nothing more).
        shown = shown_to(uow, uow.org.viewer(user_id), opportunity) if opportunity.collides_with else opportunity
        uow.commit()
        return shown


def advance_stage(cmd: AdvanceStage, caller_id: str, uow: OpportunitiesUnitOfWork) -> model.Opportunity:
    """Move a deal through its pipeline's gates (model.Opportunity.advance), as one who may change it."""
    return _change_stage(cmd.opportunity_id, cmd.etag, caller_id, uow,
                         lambda o, p, user_id, now: o.advance(p, cmd.target_stage.strip(), cmd.reason, user_id, now))


def win_opportunity(cmd: WinOpportunity, caller_id: str, uow: OpportunitiesUnitOfWork) -> model.Opportunity:
    amount = model.parse_amount(cmd.amount, "amount")
    win_date = model.parse_date(cmd.win_date, "win_date")
    return _change_stage(cmd.opportunity_id, cmd.etag, caller_id, uow,
                         lambda o, p, user_id, now: o.win(p, amount, win_date or now.date(), now.date(), user_id, now))


def lose_opportunity(cmd: LoseOpportunity, caller_id: str, uow: OpportunitiesUnitOfWork) -> model.Opportunity:
    return _change_stage(cmd.opportunity_id, cmd.etag, caller_id, uow,
                         lambda o, p, user_id, now: o.lose(p, cmd.reason, cmd.competitor, user_id, now))


def reopen_opportunity(cmd: ReopenOpportunity, caller_id: str, uow: OpportunitiesUnitOfWork) -> model.Opportunity:
    """A won or lost deal back in the open stage it was closed from."""
    def act(o: model.Opportunity, p: model.Pipeline, user_id: str, now: datetime) -> None:
        stays = uow.history.list(o.id)
        closed_from = next((p.find(s.stage_key) for s in reversed(stays)
                            if p.find(s.stage_key) is not None and p.find(s.stage_key).category == model.OPEN), None)
        o.reopen(p, closed_from or p.first_open_stage(), cmd.reason, user_id, now)

    return _change_stage(cmd.opportunity_id, cmd.etag, caller_id, uow, act)


@dataclass(frozen=True)
class StageHistory:
    pipeline: model.Pipeline
    stays: list[model.StageStay]
    now: datetime


def list_stage_history(opportunity_id: str, caller_id: str, uow: OpportunitiesUnitOfWork) -> StageHistory:
    """A visible deal's stays in its stages, oldest first."""
    opportunity = get_opportunity(opportunity_id, caller_id, uow)
    with uow:
        return StageHistory(pipeline_of(uow, opportunity), uow.history.list(opportunity.id), datetime.now(UTC))


# --- pipelines -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PipelinePage:
    pipelines: list[model.Pipeline]
    next_page_token: str


def create_pipeline(definition: dict, caller_id: str, uow: OpportunitiesUnitOfWork) -> model.Pipeline:
    """A new pipeline at version 1, defined by sales ops or an admin; ALREADY_EXISTS when its key is taken. The
    caller is checked before the definition: someone who may not define pipelines learns nothing of its rules."""
    user_id = caller_user_id(caller_id)
    with uow:
        viewer = uow.org.viewer(user_id) if user_id else None
        if viewer is None or not viewer.sees_everything or viewer.deactivated:
            raise PermissionDenied("only sales ops and admins define pipelines", reason="NOT_A_PIPELINE_ADMIN")
        pipeline = model_pipeline(definition)
        if not uow.pipelines.add(pipeline):
            raise AlreadyExists(f"a pipeline with key {pipeline.key!r} exists; load a new version of it instead",
                                metadata={"key": pipeline.key})
        uow.commit()
    return uow_pipeline(uow, pipeline.id)


def load_pipeline(definition: dict, uow: OpportunitiesUnitOfWork) -> model.Pipeline:
    """The CLI's load: a new pipeline, or the next version of the one with this key (deals keep their version)."""
    pipeline = model_pipeline(definition)
    with uow:
        existing = uow.pipelines.id_of(pipeline.key, lock=True)
        if existing is None:
            if not uow.pipelines.add(pipeline):
                raise Aborted(f"pipeline {pipeline.key} was created concurrently; load again")
            pipeline_id = pipeline.id
        else:
            uow.pipelines.add_version(existing, pipeline)
            pipeline_id = existing
        uow.commit()
    return uow_pipeline(uow, pipeline_id)


def model_pipeline(definition: dict) -> model.Pipeline:
    return pipeline_from_dict(definition, id=str(uuid.uuid4()))


def uow_pipeline(uow: OpportunitiesUnitOfWork, pipeline_id: str, version: int | None = None) -> model.Pipeline:
    with uow:
        pipeline = uow.pipelines.get(pipeline_id, version)
    if pipeline is None:
        raise NotFound(f"pipelines/{pipeline_id}" + (f" version {version}" if version else ""))
    return pipeline


def get_pipeline(pipeline_id: str, version: int, uow: OpportunitiesUnitOfWork) -> model.Pipeline:
    if version < 0:
        raise InvalidArgument.field("version", "must not be negative")
    return uow_pipeline(uow, pipeline_id, version or None)


def list_pipelines(page_size: int, page_token: str, uow: OpportunitiesUnitOfWork) -> PipelinePage:
    """Pipelines (latest versions) by key, one page at a time."""
    limit = paging.page_size(page_size)
    after = paging.decode_token(page_token)
    with uow:
        rows = uow.pipelines.list_latest(limit + 1, after[1] if after else None)
    page = rows[:limit]
    # The kit's token carries (time, id); pipelines page by key, so the time is a constant and the id the last seen.
    token = paging.encode_token(datetime.fromtimestamp(0, UTC), page[-1].id) if len(rows) > limit else ""
    return PipelinePage(page, token)


def viewer_of(uow: OpportunitiesUnitOfWork, user_id: str) -> tuple[visibility.Viewer, bool]:
    """The kit's viewer, and whether the caller is active (a deactivated user keeps only their own deals)."""
    viewer = uow.org.viewer(user_id)
    return viewer, not viewer.deactivated


# --- keeping teams' organisation and opportunity teams (consumed events) ------------------------------

def _consumer(method: str) -> str:
    return f"opportunities.{method}"


USER_CREATED_CONSUMER = _consumer("on_user_created")
USER_UPDATED_CONSUMER = _consumer("on_user_updated")
USER_DEACTIVATED_CONSUMER = _consumer("on_user_deactivated")
DEPARTMENT_CHANGED_CONSUMER = _consumer("on_department_changed")
OWNERSHIP_TRANSFERRED_CONSUMER = _consumer("on_ownership_transferred")
TEAM_MEMBER_ADDED_CONSUMER = _consumer("on_team_member_added")
TEAM_MEMBER_REMOVED_CONSUMER = _consumer("on_team_member_removed")


@dataclass(frozen=True)
class RemoveTeamMember:
    opportunity_id: str
    user_id: str


@dataclass(frozen=True)
class TransferOwnership:
    transfer_id: str
    from_user_id: str
    to_user_id: str
    transfer_time: datetime | None = None


def record_user(user: visibility.OrgUser, delivery: Delivery, uow: OpportunitiesUnitOfWork) -> bool:
    """A user's state from teams (created, updated, deactivated); an older state than the one held is ignored.
    False when this delivery was already handled."""
    with uow:
        if not uow.claim(delivery):
            return False
        uow.org.apply_user(user)
        uow.commit()
        return True


def record_department(department: visibility.OrgDepartment, delivery: Delivery,
                      uow: OpportunitiesUnitOfWork) -> bool:
    """A department's state from teams; an older state than the one held is ignored."""
    with uow:
        if not uow.claim(delivery):
            return False
        uow.org.apply_department(department)
        uow.commit()
        return True


def add_team_member(member: model.TeamMember, delivery: Delivery, uow: OpportunitiesUnitOfWork) -> bool:
    """Put a person on a deal's team; someone already on it stays as they are. False when nothing changed."""
    with uow:
        if not uow.claim(delivery):
            return False
        added = uow.teams.add(member)
        uow.commit()
        return added


def remove_team_member(cmd: RemoveTeamMember, delivery: Delivery, uow: OpportunitiesUnitOfWork) -> bool:
    """Take a person off a deal's team. False when nothing changed."""
    with uow:
        if not uow.claim(delivery):
            return False
        removed = uow.teams.remove(cmd.opportunity_id, cmd.user_id)
        uow.commit()
        return removed


def transfer_ownership(cmd: TransferOwnership, delivery: Delivery, uow: OpportunitiesUnitOfWork) -> list[str]:
    """Hand every open deal of ``from_user`` to ``to_user`` (won and lost deals stay), recording each move
    under the transfer id; the ids of the deals moved ([] for a redelivery)."""
    now = datetime.now(UTC)
    with uow:
        if not uow.claim(delivery):
            return []
        moved = []
        if cmd.from_user_id != cmd.to_user_id:
            moved = uow.opportunities.transfer_open(cmd.from_user_id, cmd.to_user_id, cmd.transfer_id,
                                                    cmd.transfer_time or now, now)
        uow.commit()
        return moved


def caller_user_id(caller_id: str) -> str | None:
    """The caller as a users.id, or None when the token's subject is not one (it then owns nothing)."""
    try:
        return str(uuid.UUID(caller_id))
    except (ValueError, TypeError):
        return None
