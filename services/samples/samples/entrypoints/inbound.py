"""Protos in, commands out: what the samples front and worker read from requests and consumed events."""

from __future__ import annotations

from google.protobuf.message import Message

from samples.adapters.protomap import KINDS
from samples.domain import approval, model
from samples.service_layer.catalogue import ProductInput
from samples.service_layer.ownership import OwnerChange
from samples.service_layer.shipping import ErpOrderOutcome
from shangji.erp_bridge.v1 import events_pb2 as erp_events
from shangji.opportunities.v1 import events_pb2 as opportunity_events
from shangji.samples.v1 import samples_pb2 as pb
from shangji.teams.v1 import events_pb2 as teams_events
from shangji_kit import names, timestamps
from shangji_kit.envelope import Envelope
from shangji_kit.errors import InvalidArgument


def product_input(p: pb.Product, *, from_name: bool = False) -> ProductInput:
    """``from_name``: the code from ``products/{code}``; a malformed name is left for the use case to refuse
    as ``product.name`` once it has checked the caller (an empty code is invalid there)."""
    code = p.code
    if from_name:
        code = p.name.removeprefix("products/") if p.name.startswith("products/") else ""
    return ProductInput(code=code, display_name=p.display_name, unit_cost=p.unit_cost, currency=p.currency,
                        active=p.active)


def tier_inputs(policy: pb.ApprovalPolicy) -> list[approval.TierInput]:
    return [approval.TierInput(name=t.name,
                               max_total_quantity=t.max_total_quantity if t.HasField("max_total_quantity") else None,
                               max_estimated_cost=t.max_estimated_cost, approver_role=t.approver_role)
            for t in policy.tiers]


def attachments(items) -> list[model.Attachment]:
    return [model.Attachment(a.file_name.strip(), a.uri.strip(), a.purpose.strip()) for a in items]


def request_input(req: pb.CreateSampleRequestRequest) -> model.RequestInput:
    """The request as a command; a malformed opportunity name travels with it, to be reported with the rest."""
    r = req.sample_request
    read_errors = ()
    try:
        opportunity_id = names.parse(r.opportunity, "opportunities", "sample_request.opportunity")
    except InvalidArgument as exc:
        opportunity_id, read_errors = "", tuple(exc.violations)
    return model.RequestInput(
        opportunity_id=opportunity_id, kind=KINDS.get(r.kind, ""), purpose=r.purpose,
        recipient_name=r.recipient_name, recipient_phone=r.recipient_phone, address=r.address,
        wanted_by_date=r.wanted_by_date,
        lines=tuple(model.LineInput(ln.product, ln.quantity, ln.description) for ln in r.lines),
        attachments=tuple(attachments(r.attachments)), read_errors=read_errors)


def time_or_none(message: Message, field: str):
    """A timestamp field as a datetime (None when unset); INVALID_ARGUMENT naming it when out of range."""
    return timestamps.optional(message, field)


def parse_feedback_name(name: str, field: str = "name") -> tuple[str, str]:
    """(request id, feedback id) of ``sampleRequests/{id}/feedback/{id}``."""
    parts = name.split("/")
    if len(parts) != 4 or parts[0] != "sampleRequests" or parts[2] != "feedback":
        raise InvalidArgument.field(field, "must look like sampleRequests/{id}/feedback/{id}")
    request_id = names.parse(f"sampleRequests/{parts[1]}", "sampleRequests", field)
    feedback_id = names.parse(f"feedback/{parts[3]}", "feedback", field)
    return request_id, feedback_id


def optional_user(name: str, field: str) -> str | None:
    """A ``users/{id}`` the caller named; None when empty (the use case then says it is required)."""
    return names.parse(name, "users", field) if name else None


# --- events in -------------------------------------------------------------------------------------

SAMPLE_REQUEST_KIND = "sample_request"


def _our_request(source_kind: str, source: str) -> str | None:
    if source_kind != SAMPLE_REQUEST_KIND:
        return None
    return names.parse(source, "sampleRequests", "source")


def order_confirmed_from_event(env: Envelope) -> ErpOrderOutcome:
    e = env.payload(erp_events.ErpOrderConfirmed)
    request_id = _our_request(e.source_kind, e.source)
    if request_id and not e.erp_order_number.strip():
        raise InvalidArgument.field("erp_order_number", "required")
    return ErpOrderOutcome(request_id=request_id, order_number=e.erp_order_number.strip(),
                           time=timestamps.optional(e, "confirm_time"))


def order_dead_lettered_from_event(env: Envelope) -> ErpOrderOutcome:
    e = env.payload(erp_events.ErpOrderDeadLettered)
    return ErpOrderOutcome(request_id=_our_request(e.source_kind, e.source),
                           error=e.error or f"the ERP order failed after {e.attempts} attempts",
                           time=timestamps.optional(e, "dead_letter_time"))


def opportunity_reassigned_from_event(env: Envelope) -> OwnerChange:
    """The deal's open requests go to its new owner."""
    e = env.payload(opportunity_events.OpportunityReassigned)
    return OwnerChange(
        new_owner_id=names.parse(e.new_owner, "users", "new_owner"), cause=model.REASSIGN,
        at=timestamps.optional(e, "change_time"),
        opportunity_id=names.parse(e.opportunity.name, "opportunities", "opportunity.name"))


def ownership_transferred_from_event(env: Envelope) -> OwnerChange:
    """The open requests the leaver follows go to their successor."""
    e = env.payload(teams_events.OwnershipTransferred)
    return OwnerChange(new_owner_id=names.parse(e.to_user, "users", "to_user"), cause=model.HANDOVER,
                       at=timestamps.optional(e, "transfer_time"),
                       from_owner_id=names.parse(e.from_user, "users", "from_user"))
