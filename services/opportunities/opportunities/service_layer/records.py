"""A deal's records: its decision chain, requirement items, solution documents, follow-up activities and checklist
completions, and the samples approved and delivered for it (samples' events). Reads follow the deal's visibility,
writes its edit rights (``deals.editable_deal``)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from opportunities.domain import audit, decision_chain, work
from opportunities.domain.decision_chain import DealContact
from opportunities.service_layer.deals import (
    Clock,
    editable_deal,
    new_id,
    pipeline_of,
    save_deal,
    shown_to_user,
    utc_now,
)
from opportunities.service_layer.lifecycle import get_opportunity
from opportunities.service_layer.unit_of_work import OpportunitiesUnitOfWork
from shangji_kit import fieldmask
from shangji_kit.errors import InvalidArgument, NotFound
from shangji_kit.inbox import idempotent

SAMPLE_APPROVED_CONSUMER = "opportunities.on_sample_request_approved"

SAMPLE_DELIVERED_CONSUMER = "opportunities.on_sample_delivered"

ERP_ORDER_CONSUMER = "opportunities.on_erp_order_confirmed"

def _visible(uow: OpportunitiesUnitOfWork, opportunity_id: str, caller_id: str) -> None:
    """NOT_FOUND unless the caller may see the deal (the same answer as for a missing one)."""
    get_opportunity(opportunity_id, caller_id, uow)


def add_contact(opportunity_id: str, contact: DealContact, caller_id: str, uow: OpportunitiesUnitOfWork,
                *, clock: Clock = utc_now
                ) -> DealContact:
    now = clock()
    contact = decision_chain.checked(replace(contact, id=new_id(), opportunity_id=opportunity_id, create_time=now,
                                             update_time=now))
    with uow:
        editable_deal(uow, opportunity_id, caller_id, "")
        uow.deals.add_contacts([contact])
        uow.commit()
    return contact


def update_contact(opportunity_id: str, contact_id: str, changes: dict[str, object], mask: tuple[str, ...],
                   caller_id: str, uow: OpportunitiesUnitOfWork, *, clock: Clock = utc_now) -> DealContact:
    """Change the fields in ``mask``; INVALID_ARGUMENT ``update_mask`` for an empty mask or another path."""
    fieldmask.check(mask, decision_chain.UPDATABLE)
    now = clock()
    with uow:
        editable_deal(uow, opportunity_id, caller_id, "")
        current = uow.deals.contact(opportunity_id, contact_id)
        if current is None:
            raise NotFound(f"opportunities/{opportunity_id}/contacts/{contact_id}")
        updated = decision_chain.checked(replace(current, update_time=now, **{p: changes[p] for p in mask}))
        uow.deals.update_contact(updated)
        uow.commit()
    return updated


def remove_contact(opportunity_id: str, contact_id: str, caller_id: str, uow: OpportunitiesUnitOfWork) -> None:
    with uow:
        editable_deal(uow, opportunity_id, caller_id, "")
        if not uow.deals.remove_contact(opportunity_id, contact_id):
            raise NotFound(f"opportunities/{opportunity_id}/contacts/{contact_id}")
        uow.commit()


def list_contacts(opportunity_id: str, caller_id: str, uow: OpportunitiesUnitOfWork) -> list[DealContact]:
    _visible(uow, opportunity_id, caller_id)
    with uow:
        return uow.deals.contacts(opportunity_id)

REQUIREMENT_FIELDS = ("text", "priority", "answer")

def add_requirement(opportunity_id: str, requirement: work.Requirement, caller_id: str,
                    uow: OpportunitiesUnitOfWork, *, clock: Clock = utc_now) -> work.Requirement:
    now = clock()
    r = work.checked_requirement(replace(requirement, id=new_id(), opportunity_id=opportunity_id, create_time=now,
                                         update_time=now))
    with uow:
        editable_deal(uow, opportunity_id, caller_id, "")
        uow.deals.add_requirement(r)
        uow.commit()
    return r


def update_requirement(opportunity_id: str, requirement_id: str, changes: dict[str, str], mask: tuple[str, ...],
                       caller_id: str, uow: OpportunitiesUnitOfWork, *, clock: Clock = utc_now) -> work.Requirement:
    fieldmask.check(mask, REQUIREMENT_FIELDS)
    now = clock()
    with uow:
        editable_deal(uow, opportunity_id, caller_id, "")
        current = uow.deals.requirement(opportunity_id, requirement_id)
        if current is None:
            raise NotFound(f"opportunities/{opportunity_id}/requirements/{requirement_id}")
        updated = work.checked_requirement(replace(current, update_time=now, **{p: changes[p] for p in mask}))
        uow.deals.update_requirement(updated)
        uow.commit()
    return updated


def list_requirements(opportunity_id: str, caller_id: str, uow: OpportunitiesUnitOfWork) -> list[work.Requirement]:
    _visible(uow, opportunity_id, caller_id)
    with uow:
        return uow.deals.requirements(opportunity_id)


def add_document_version(document: work.DocumentVersion, caller_id: str, uow: OpportunitiesUnitOfWork,
                         *, clock: Clock = utc_now
                         ) -> work.DocumentVersion:
    """The next version of a named document (1 for a new name); earlier versions stay."""
    now = clock()
    d = work.checked_document(replace(document, create_time=now))
    with uow:
        _, user_id = editable_deal(uow, d.opportunity_id, caller_id, "")
        d = replace(d, author_id=user_id)
        d = replace(d, version=uow.deals.add_document_version(d))
        uow.commit()
    return d


def list_documents(opportunity_id: str, document: str, caller_id: str, uow: OpportunitiesUnitOfWork
                   ) -> list[work.DocumentVersion]:
    _visible(uow, opportunity_id, caller_id)
    with uow:
        return uow.deals.documents(opportunity_id, " ".join(document.split()) or None)


@dataclass(frozen=True)
class SampleSeen:
    request_id: str
    opportunity_id: str
    kind: str  # approved / delivered
    time: datetime


def _record_sample(uow: OpportunitiesUnitOfWork, sample: SampleSeen) -> bool:
    """Count an approved or delivered sample request for its deal, once per request whatever the deliveries."""
    return uow.deals.record_sample(sample.request_id, sample.kind, sample.opportunity_id, sample.time)


record_sample_approved = idempotent(SAMPLE_APPROVED_CONSUMER, skipped=False)(_record_sample)
record_sample_delivered = idempotent(SAMPLE_DELIVERED_CONSUMER, skipped=False)(_record_sample)


def add_activity(activity: work.Activity, caller_id: str, uow: OpportunitiesUnitOfWork,
                 *, clock: Clock = utc_now) -> work.Activity:
    now = clock()
    with uow:
        opportunity, user_id = editable_deal(uow, activity.opportunity_id, caller_id, "")
        a = work.checked_activity(replace(activity, id=new_id(), author_id=user_id), now)
        uow.deals.add_activity(a)
        uow.publish([work.ActivityRecorded(a, opportunity.owner_id)])
        uow.commit()
    return a


def list_activities(opportunity_id: str, caller_id: str, uow: OpportunitiesUnitOfWork) -> list[work.Activity]:
    _visible(uow, opportunity_id, caller_id)
    with uow:
        return uow.deals.activities(opportunity_id)


def complete_checklist_item(opportunity_id: str, item: str, etag: str, caller_id: str,
                            uow: OpportunitiesUnitOfWork, *, clock: Clock = utc_now):
    """Complete one checklist item (recording who and when); completing a completed item changes nothing."""
    if not item.strip():
        raise InvalidArgument.field("item", "required: a checklist item key")
    now = clock()
    with uow:
        opportunity, user_id = editable_deal(uow, opportunity_id, caller_id, etag)
        pipeline = pipeline_of(uow, opportunity)
        expected = opportunity.version
        if opportunity.complete_checklist_item(item, pipeline, now):
            uow.deals.record_checklist(opportunity.id, [item.strip()], user_id, now)
            save_deal(uow, opportunity, expected, pipeline, cause=audit.Cause(audit.UPDATE, user_id))
        shown = shown_to_user(uow, user_id, opportunity)
        uow.commit()
        return shown


def list_checklist_completions(opportunity_id: str, caller_id: str, uow: OpportunitiesUnitOfWork
                               ) -> list[tuple[str, str, datetime]]:
    _visible(uow, opportunity_id, caller_id)
    with uow:
        return uow.deals.checklist_completions(opportunity_id)


@dataclass(frozen=True)
class ErpOrder:
    """The ERP's sales order for a won deal (erp_bridge's ErpOrderConfirmed)."""

    opportunity_id: str
    order_number: str
    confirm_time: datetime


def _record_erp_order(uow: OpportunitiesUnitOfWork, order: ErpOrder | None) -> bool:
    """The deal keeps its first confirmed order: a redelivery, or a second confirmation of the same order, changes
    nothing; an order of another kind, or for a deal this service does not hold, is not ours to record."""
    if order is None:
        return False
    return uow.deals.record_erp_order(order.opportunity_id, order.order_number, order.confirm_time)


record_erp_order = idempotent(ERP_ORDER_CONSUMER, skipped=False)(_record_erp_order)
