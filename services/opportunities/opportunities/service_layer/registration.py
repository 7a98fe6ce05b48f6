"""Registering deals (报备): directly by a rep, or from a converted lead; collisions (撞单) refused or queued; a
manager's arbitration of a queued registration."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from opportunities.domain import decision_chain, model, registration, routing
from opportunities.service_layer.alerts import raise_big_deal
from opportunities.service_layer.deals import Clock, new_id, save_deal, shown_to, tasks_on_entry, utc_now
from opportunities.service_layer.unit_of_work import OpportunitiesUnitOfWork
from shangji_kit import names
from shangji_kit.caller import as_user_id
from shangji_kit.errors import Aborted, FailedPrecondition, FieldViolation, InvalidArgument, NotFound, PermissionDenied
from shangji_kit.inbox import Delivery, idempotent

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
    # An event cannot be refused: a collision queues the deal for arbitration whatever the company's mode.
    _check_collision(uow, opportunity, uow.registration.settings(), now, refuse=False)
    if not uow.deals.add(opportunity):
        return None
    uow.deals.enter_stage(opportunity.id, opportunity.stage_key, now, cmd.registrant_id)
    _copy_chain(uow, opportunity, list(cmd.decision_chain), now)
    uow.publish(opportunity.events)
    tasks_on_entry(uow, opportunity, pipeline.first_open_stage(), now)
    return opportunity


def _check_collision(uow: OpportunitiesUnitOfWork, opportunity: model.Opportunity,
                     settings: registration.RegistrationSettings, now: datetime, *, refuse: bool) -> None:
    """Refuse (FAILED_PRECONDITION REGISTRATION_COLLISION) or queue a registration that collides (撞单)."""
    if not opportunity.product_lines or opportunity.owner_id is None:
        return  # holds nothing, collides with nothing (registration.find_collision); unassigned: no owner yet
    uow.registration.lock_customer(opportunity.customer_key)
    collision = registration.find_collision(opportunity.owner_id, opportunity.product_lines,
                                            uow.registration.holdings(opportunity.customer_key), settings, now)
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
            owner_id = routing.route(uow.registration.rules(), cmd.region, cmd.product_lines, amount).owner_id
        opportunity = model.register(
            id=str(uuid.uuid4()), title=cmd.title, customer_company=cmd.customer_company, owner_id=owner_id,
            registrant_id=user_id, pipeline=pipeline, now=now, contact_name=cmd.contact_name,
            contact_phone=cmd.contact_phone, contact_email=cmd.contact_email, region=cmd.region, source=cmd.source,
            product_lines=cmd.product_lines, amount=amount, currency=cmd.currency, expected_close_date=close,
            require_product_lines=True, field_prefix=p, customer_id=customer_id,
            difficulty=difficulty, quote_lines=quote_lines)
        settings = uow.registration.settings()
        _check_collision(uow, opportunity, settings, now, refuse=settings.collision_mode == registration.REFUSE)
        uow.deals.add(opportunity)
        uow.deals.enter_stage(opportunity.id, opportunity.stage_key, now, user_id)
        if customer_id:
            _copy_chain(uow, opportunity, uow.customers.chain(customer_id), now)
        uow.publish(opportunity.events)
        tasks_on_entry(uow, opportunity, pipeline.first_open_stage(), now)
        raise_big_deal(uow, opportunity, now)
        shown = shown_to(uow, viewer, opportunity)
        uow.commit()
        return shown


def _copy_chain(uow: OpportunitiesUnitOfWork, opportunity: model.Opportunity,
                contacts: list[decision_chain.DealContact], now: datetime) -> None:
    """The customer's decision chain becomes the deal's own (kept per deal from now on)."""
    uow.deals.add_contacts(decision_chain.copied(contacts, opportunity.id, new_id, now))


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
        may = not viewer.deactivated and (
            viewer.sees_everything or uow.org.manages(viewer, opportunity.owner_id)
            or (holder is not None and uow.org.manages(viewer, holder.owner_id)))
        if not may:
            if uow.deals.get_visible(opportunity.id, viewer) is None:
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
