"""Samples' domain as protos, outbound: the records the API answers with and the events the outbox publishes
(``event_to_proto``, the encoder bootstrap gives the unit of work). Inbound mapping is the entrypoints'
(``samples.entrypoints.inbound``)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from google.protobuf.message import Message

from samples.domain import approval, model
from shangji.samples.v1 import events_pb2 as events
from shangji.samples.v1 import samples_pb2 as pb
from shangji_kit.timeline_token import Page
from shangji_kit.timestamps import from_datetime as _ts

_STATES = {
    model.PENDING_APPROVAL: pb.SampleRequest.PENDING_APPROVAL, model.APPROVED: pb.SampleRequest.APPROVED,
    model.REJECTED: pb.SampleRequest.REJECTED, model.WITHDRAWN: pb.SampleRequest.WITHDRAWN,
    model.ORDERED: pb.SampleRequest.ORDERED, model.SHIPPED: pb.SampleRequest.SHIPPED,
    model.DELIVERED: pb.SampleRequest.DELIVERED,
}
KINDS = {pb.SampleRequest.STANDARD: model.STANDARD, pb.SampleRequest.POC: model.POC}
_OUTCOMES = {model.WAITING: pb.ApprovalStep.WAITING, model.STEP_APPROVED: pb.ApprovalStep.APPROVED,
             model.STEP_REJECTED: pb.ApprovalStep.REJECTED}
_FEEDBACK_STATES = {model.OPEN: pb.Feedback.OPEN, model.CLOSED: pb.Feedback.CLOSED}


def _user(user_id: str) -> str:
    return f"users/{user_id}" if user_id else ""


def _decimal(value: Decimal) -> str:
    # Trailing zeros of the NUMERIC(18, 4) column are not part of the value a client asked for.
    text = format(value.normalize(), "f")
    return text


# --- catalogue and policy --------------------------------------------------------------------------

def product_to_proto(p: model.Product) -> pb.Product:
    return pb.Product(name=p.name, code=p.code, display_name=p.display_name, unit_cost=_decimal(p.unit_cost),
                      currency=p.currency, active=p.active, create_time=_ts(p.create_time),
                      update_time=_ts(p.update_time))


def policy_to_proto(policy: approval.Policy, update_time: datetime) -> pb.ApprovalPolicy:
    out = pb.ApprovalPolicy(name="approvalPolicy", currency=policy.currency, update_time=_ts(update_time))
    for t in policy.tiers:
        tier = out.tiers.add(name=t.name, approver_role=t.approver_role,
                             max_estimated_cost="" if t.max_estimated_cost is None else _decimal(t.max_estimated_cost))
        if t.max_total_quantity is not None:
            tier.max_total_quantity = t.max_total_quantity
    return out


# --- requests --------------------------------------------------------------------------------------

def _attachment_to_proto(a: model.Attachment) -> pb.Attachment:
    return pb.Attachment(file_name=a.file_name, uri=a.uri, purpose=a.purpose)


def request_to_proto(r: model.SampleRequest) -> pb.SampleRequest:
    out = pb.SampleRequest(
        name=r.name, id=r.id, opportunity=f"opportunities/{r.opportunity_id}", customer_company=r.customer_company,
        customer=r.customer, requester=_user(r.requester_id), cost_centre=f"departments/{r.cost_centre_id}",
        kind=next(k for k, v in KINDS.items() if v == r.kind), purpose=r.purpose, recipient_name=r.recipient_name,
        recipient_phone=r.recipient_phone, address=r.address,
        wanted_by_date=r.wanted_by_date.isoformat() if r.wanted_by_date else "",
        lines=[pb.SampleLine(product=ln.product, quantity=ln.quantity, unit_cost=_decimal(ln.unit_cost),
                             description=ln.description) for ln in r.lines],
        attachments=[_attachment_to_proto(a) for a in r.attachments], estimated_cost=_decimal(r.estimated_cost),
        currency=r.currency, total_quantity=r.total_quantity, state=_STATES[r.state],
        approval_steps=[pb.ApprovalStep(tier=s.tier, approver=_user(s.approver_id), outcome=_OUTCOMES[s.outcome],
                                        comment=s.comment, decide_time=_ts(s.decide_time)) for s in r.steps],
        erp_order_number=r.erp_order_number, create_time=_ts(r.create_time), update_time=_ts(r.update_time),
        etag=r.etag, erp_order_error=r.erp_order_error, erp_order_error_time=_ts(r.erp_order_error_time),
        owner=_user(r.owner_id))
    if r.shipment is not None:
        s = r.shipment
        out.shipment.CopyFrom(pb.Shipment(courier=s.courier, tracking_number=s.tracking_number,
                                          ship_time=_ts(s.ship_time), deliver_time=_ts(s.deliver_time),
                                          evidence=[_attachment_to_proto(a) for a in s.evidence]))
    return out


# --- feedback --------------------------------------------------------------------------------------

def feedback_to_proto(f: model.Feedback) -> pb.Feedback:
    return pb.Feedback(name=f.name, summary=f.summary, detail=f.detail, assignee=_user(f.assignee_id),
                       raised_by=_user(f.raised_by), state=_FEEDBACK_STATES[f.state], resolution=f.resolution,
                       create_time=_ts(f.create_time), update_time=_ts(f.update_time), close_time=_ts(f.close_time),
                       etag=f.etag)


# --- events out ------------------------------------------------------------------------------------

def event_to_proto(event) -> tuple[Message, str]:
    """(message, subject) for the outbox."""
    r = event.request
    request = request_to_proto(r)
    match event:
        case model.Submitted():
            return events.SampleRequestSubmitted(request=request), r.name
        case model.ApprovalRequested():
            return events.SampleApprovalRequested(request=request, tier=event.tier,
                                                  approver=_user(event.approver_id)), r.name
        case model.Approved():
            return events.SampleRequestApproved(request=request, approver=_user(event.approver_id),
                                                approve_time=_ts(event.time)), r.name
        case model.Rejected():
            return events.SampleRequestRejected(request=request, approver=_user(event.approver_id),
                                                comment=event.comment, reject_time=_ts(event.time)), r.name
        case model.Withdrawn():
            return events.SampleRequestWithdrawn(request=request, reason=event.reason,
                                                 withdraw_time=_ts(event.time)), r.name
        case model.OrderRecorded():
            return events.SampleOrderRecorded(request=request), r.name
        case model.Shipped():
            return events.SampleShipped(request=request), r.name
        case model.Delivered():
            return events.SampleDelivered(request=request), r.name
        case model.FeedbackRaised():
            f = event.feedback
            return events.SampleFeedbackRaised(request=request, feedback=f.name, summary=f.summary,
                                               assignee=_user(f.assignee_id)), f.name
        case model.FeedbackUpdated():
            f = event.feedback
            return events.SampleFeedbackUpdated(request=request, feedback=f.name, summary=f.summary,
                                                assignee=_user(f.assignee_id)), f.name
        case model.FeedbackClosed():
            f = event.feedback
            return events.SampleFeedbackClosed(request=request, feedback=f.name, resolution=f.resolution), f.name
        case model.OwnerChanged():
            return events.SampleRequestOwnerChanged(
                request=request, previous_owner=_user(event.previous_owner_id), new_owner=_user(event.new_owner_id),
                cause=event.cause, change_time=_ts(event.time)), r.name
    raise TypeError(f"no event message for {type(event).__name__}")


def timeline_to_proto(page: Page) -> pb.ListCustomerTimelineResponse:
    return pb.ListCustomerTimelineResponse(items=[pb.TimelineItem(
        kind=i.kind, resource=i.resource, title=i.title, summary=i.summary, actor=i.actor,
        event_time=_ts(i.event_time), opportunity=i.opportunity, lead=i.lead) for i in page.items],
        next_page_token=page.next_page_token)
