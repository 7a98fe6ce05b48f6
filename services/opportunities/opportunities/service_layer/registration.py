"""Registering deals (报备): directly by a rep, or from a converted lead; collisions (撞单) refused or queued; a
manager's arbitration of a queued registration."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from opportunities.domain import audit, decision_chain, model, registration, routing
from opportunities.service_layer.alerts import raise_big_deal
from opportunities.service_layer.deals import Clock, check_etag, new_id, save_deal, shown_to, tasks_on_entry, utc_now
from opportunities.service_layer.unit_of_work import OpportunitiesUnitOfWork
from shangji_kit import company_time, names
from shangji_kit.caller import as_user_id
from shangji_kit.errors import FailedPrecondition, FieldViolation, InvalidArgument, NotFound, PermissionDenied
from shangji_kit.inbox import Delivery, idempotent
from shangji_kit.request_ids import RequestKey

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
    # ConvertLead's product lines: checked for collisions like a registration's, queued (never refused) on one.
    product_lines: tuple[str, ...] = ()
    customer_id: str | None = None
    # The customer's decision chain at conversion, copied onto the deal.
    decision_chain: tuple[decision_chain.DealContact, ...] = ()
    # The lead became a customer only: no deal.
    without_opportunity: bool = False


def register_from_conversion(cmd: RegisterFromConversion, event_id: str, uow: OpportunitiesUnitOfWork, *,
                             clock: Clock = utc_now) -> model.Opportunity | None:
    """The deal a converted lead yields; None when this event or this lead was already handled."""
    return _register_converted(Delivery(LEAD_CONVERTED_CONSUMER, event_id, LEAD_CONVERTED_TYPE), uow, cmd, clock())


@idempotent(LEAD_CONVERTED_CONSUMER)
def _register_converted(uow: OpportunitiesUnitOfWork, cmd: RegisterFromConversion, now: datetime
                        ) -> model.Opportunity | None:
    # The event is claimed even when it asks for no deal, or the lead already has one (another event id for the same
    # conversion): the inbox row must stick so this delivery is not handled again.
    if cmd.without_opportunity:
        return None
    pipeline = uow.pipelines.default()
    if pipeline is None:
        raise FailedPrecondition("no default pipeline is configured", reason="NO_DEFAULT_PIPELINE")
    opportunity = model.register(
        id=new_id(), lead_id=cmd.lead_id, title=cmd.title, customer_company=cmd.customer_company,
        contact_name=cmd.contact_name, contact_phone=cmd.contact_phone, contact_email=cmd.contact_email,
        region=cmd.region, source=cmd.source, owner_id=cmd.owner_id, registrant_id=cmd.registrant_id,
        pipeline=pipeline, now=now, product_lines=cmd.product_lines, customer_id=cmd.customer_id)
    # An event cannot be refused: a collision queues the deal for arbitration whatever the company's mode. The
    # settings are read only if there is a collision to check (most conversions name no product line).
    _check_collision(uow, opportunity, None, now, refuse=False)
    if not uow.deals.add_registered(opportunity, now, cmd.registrant_id,
                                    _chain_copy(opportunity, list(cmd.decision_chain), now)):
        return None
    uow.publish(opportunity.events)
    tasks_on_entry(uow, opportunity, pipeline.first_open_stage(), now)
    return opportunity


def _check_collision(uow: OpportunitiesUnitOfWork, opportunity: model.Opportunity,
                     settings: registration.RegistrationSettings | None, now: datetime, *, refuse: bool,
                     lines: tuple[str, ...] | None = None) -> None:
    """Refuse (FAILED_PRECONDITION REGISTRATION_COLLISION) or queue a registration that collides (撞单) for
    ``lines`` (the deal's product lines by default). ``settings`` None: read here, only when there is something to
    check."""
    lines = opportunity.product_lines if lines is None else lines
    if not lines or opportunity.owner_id is None:
        return  # holds nothing, collides with nothing (registration.find_collision); unassigned: no owner yet
    if settings is None:
        settings = uow.registration.settings()
    uow.registration.lock_customer(opportunity.customer_key)
    collision = registration.find_collision(opportunity.owner_id, lines,
                                            uow.registration.holdings(opportunity.customer_key), settings, now)
    if collision is None:
        return
    if refuse:
        raise collision.error(opportunity.customer_company, uow.alerts.managers_of(opportunity.owner_id))
    model.queue_for_arbitration(opportunity, collision)


def check_added_lines(uow: OpportunitiesUnitOfWork, opportunity: model.Opportunity, before: tuple[str, ...],
                      now: datetime) -> None:
    """An edit that adds product lines makes the deal hold its customer for them: the added lines (not those it
    held already) are checked as a registration's would be, and a collision is refused in either collision mode.
    Queueing would put a deal that is already being worked back into arbitration for one line, and a rejection
    there rejects the whole deal (arbitration decides on deals, not lines); the rep registers the line as a deal of
    its own if it is contested. A deal in a won or lost stage holds nothing, so its lines are not checked."""
    held = {registration.product_line_key(p) for p in before}
    added = tuple(p for p in opportunity.product_lines if registration.product_line_key(p) not in held)
    if not added or opportunity.stage_category != model.OPEN:
        return
    _check_collision(uow, opportunity, None, now, refuse=True, lines=added)


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
    # Idempotency key (AIP-155), scoped to the caller.
    request_id: str = ""


def register_opportunity(cmd: RegisterOpportunity, caller_id: str, uow: OpportunitiesUnitOfWork,
                         *, clock: Clock = utc_now
                         ) -> model.Opportunity:
    """A deal registered directly by the caller, who owns it. A collision with another rep's protected deal is
    refused (collision_mode refuse) or stored PENDING_ARBITRATION (queue). INVALID_ARGUMENT lists every bad field;
    a customer the caller may not see is NOT_FOUND (its decision chain is not copied)."""
    user_id = as_user_id(caller_id)
    if user_id is None:
        raise PermissionDenied("only users (a users/{id} token subject) register deals", reason="NOT_A_USER")
    now = clock()
    key: RequestKey | None = None
    try:
        # A request id too long for the indexed key is reported beside the other bad fields.
        key = RequestKey.of(user_id, "RegisterOpportunity", cmd.request_id)
        values, problems = parsed_registration(cmd, now), []
    except InvalidArgument as exc:
        values, problems = None, list(exc.violations)
    with uow:
        # An unknown pipeline is reported with the other bad fields (it takes a read to know).
        pipeline_id = values.pipeline_id if values else _pipeline_id(cmd.pipeline)
        pipeline = uow.pipelines.get(pipeline_id) if pipeline_id else None
        if pipeline_id and pipeline is None:
            problems.append(FieldViolation("opportunity.pipeline", f"no pipeline pipelines/{pipeline_id}"))
        if problems or values is None:
            raise InvalidArgument(problems)
        pipeline = pipeline or uow.pipelines.default()
        if pipeline is None:
            raise FailedPrecondition("no default pipeline is configured", reason="NO_DEFAULT_PIPELINE")
        viewer = uow.org.viewer(user_id)
        if values.customer_id is not None and not uow.customers.visible(values.customer_id, viewer):
            raise NotFound(f"customers/{values.customer_id}")
        deal_id = new_id()
        # A retry (same caller, same request_id) gets the deal the first call registered; a concurrent one waits on
        # the key until the first commits (the kit's request ids), so 20 identical calls make one deal.
        earlier = uow.request_ids.claim(key, deal_id)
        if earlier is not None:
            original = uow.deals.get(earlier)
            if original is None:
                raise NotFound(f"opportunities/{earlier}")
            return shown_to(uow, viewer, original)
        owner_id: str | None = user_id
        if cmd.route:
            owner_id = routing.route(uow.registration.rules(), cmd.region, cmd.product_lines, values.amount).owner_id
        opportunity = checked_registration(uow, cmd, values, deal_id=deal_id, owner_id=owner_id, registrant_id=user_id,
                                           pipeline=pipeline, settings=uow.registration.settings(), now=now)
        write_registration(uow, opportunity, pipeline, now)
        shown = shown_to(uow, viewer, opportunity)
        uow.commit()
        return shown


def checked_registration(uow: OpportunitiesUnitOfWork, cmd: RegisterOpportunity, values: model.RegistrationValues,
                         *, deal_id: str, owner_id: str | None, registrant_id: str, pipeline: model.Pipeline,
                         settings: registration.RegistrationSettings, now: datetime,
                         field_prefix: str = "opportunity.") -> model.Opportunity:
    """The deal a direct registration (RegisterOpportunity, or a row of an import) makes, nothing written yet:
    INVALID_ARGUMENT on bad fields (``field_prefix`` + name), FAILED_PRECONDITION REGISTRATION_COLLISION for a
    collision in the company's refuse mode, PENDING_ARBITRATION in its queue mode. The customer is locked against
    concurrent registrations until the transaction ends."""
    opportunity = model.register(
        id=deal_id, title=cmd.title, customer_company=cmd.customer_company, owner_id=owner_id,
        registrant_id=registrant_id, pipeline=pipeline, now=now, contact_name=cmd.contact_name,
        contact_phone=cmd.contact_phone, contact_email=cmd.contact_email, region=cmd.region, source=cmd.source,
        product_lines=cmd.product_lines, amount=values.amount, currency=cmd.currency,
        expected_close_date=values.expected_close_date, require_product_lines=True, field_prefix=field_prefix,
        customer_id=values.customer_id, difficulty=values.difficulty, quote_lines=values.quote_lines)
    _check_collision(uow, opportunity, settings, now, refuse=settings.collision_mode == registration.REFUSE)
    return opportunity


def write_registration(uow: OpportunitiesUnitOfWork, opportunity: model.Opportunity, pipeline: model.Pipeline,
                       now: datetime) -> None:
    """Store a checked registration: the deal in its first stage, its customer's decision chain copied, its events,
    the stage's tasks and a big deal's alert."""
    chain = uow.customers.chain(opportunity.customer_id) if opportunity.customer_id else []
    uow.deals.add_registered(opportunity, now, opportunity.registrant_id, _chain_copy(opportunity, chain, now))
    uow.publish(opportunity.events)
    tasks_on_entry(uow, opportunity, pipeline.first_open_stage(), now)
    raise_big_deal(uow, opportunity, now)


def _pipeline_id(name: str) -> str | None:
    try:
        return names.parse(name, "pipelines") if name else None
    except InvalidArgument:
        return None  # reported by parsed_registration


def parsed_registration(cmd: RegisterOpportunity, now: datetime, field_prefix: str = "opportunity."
                        ) -> model.RegistrationValues:
    """Every field checked before anything is read: INVALID_ARGUMENT lists all bad ones."""
    return model.parse_registration(
        title=cmd.title, customer_company=cmd.customer_company, product_lines=cmd.product_lines,
        currency=cmd.currency, amount=cmd.amount, expected_close_date=cmd.expected_close_date,
        difficulty=cmd.difficulty, quote_lines=list(cmd.quote_lines), pipeline=cmd.pipeline, customer=cmd.customer,
        today=company_time.today(now), field_prefix=field_prefix)


def _chain_copy(opportunity: model.Opportunity, contacts: list[decision_chain.DealContact],
                now: datetime) -> list[decision_chain.DealContact]:
    """The customer's decision chain as the deal's own (kept per deal from now on), written with the deal."""
    return decision_chain.copied(contacts, opportunity.id, new_id, now)


@dataclass(frozen=True)
class ArbitrateRegistration:
    opportunity_id: str
    decision: str
    note: str = ""
    etag: str = ""


def arbitrate_registration(cmd: ArbitrateRegistration, caller_id: str, uow: OpportunitiesUnitOfWork,
                           *, clock: Clock = utc_now
                           ) -> model.Opportunity:
    """Approve or reject a queued registration: sales ops (and admins), or an active manager above the registering
    owner or above the holder it collided with. NOT_FOUND for a caller who may neither arbitrate nor see it."""
    decision = registration.check_decision(cmd.decision)
    user_id = as_user_id(caller_id)
    now = clock()
    with uow:
        viewer = uow.org.viewer(user_id) if user_id else None
        opportunity = uow.deals.get(cmd.opportunity_id) if viewer else None
        if opportunity is None:
            raise NotFound(f"opportunities/{cmd.opportunity_id}")
        holder = uow.deals.get(opportunity.collides_with) if opportunity.collides_with else None
        arbiter = registration.Arbiter(
            active=not viewer.deactivated, sees_everything=viewer.sees_everything,
            manages_registrant=uow.org.manages(viewer, opportunity.owner_id),
            manages_holder=holder is not None and uow.org.manages(viewer, holder.owner_id))
        if not registration.may_arbitrate(arbiter):
            if uow.deals.get_visible(opportunity.id, viewer) is None:
                raise NotFound(f"opportunities/{cmd.opportunity_id}")
            raise PermissionDenied(f"only sales ops and the managers above either rep arbitrate {opportunity.name}",
                                   reason="NOT_AN_ARBITER", metadata={"resource": opportunity.name})
        check_etag(opportunity, cmd.etag)
        expected = opportunity.version
        opportunity.arbitrate(decision, cmd.note, user_id, now)
        save_deal(uow, opportunity, expected, cause=audit.Cause(audit.ARBITRATE, user_id, opportunity.arbitration_note))
        shown = shown_to(uow, viewer, opportunity)
        uow.commit()
        return shown
