"""The one module converting between protos and the samples domain (besides the entrypoints' stubs)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp

from samples.domain import approval, model
from samples.service_layer import services
from shangji.erp_bridge.v1 import events_pb2 as erp_events
from shangji.opportunities.v1 import opportunities_pb2
from shangji.samples.v1 import events_pb2 as events
from shangji.samples.v1 import samples_pb2 as pb
from shangji_kit import names, org_events
from shangji_kit.envelope import Envelope
from shangji_kit.errors import InvalidArgument

_STATES = {
    model.PENDING_APPROVAL: pb.SampleRequest.PENDING_APPROVAL, model.APPROVED: pb.SampleRequest.APPROVED,
    model.REJECTED: pb.SampleRequest.REJECTED, model.WITHDRAWN: pb.SampleRequest.WITHDRAWN,
    model.ORDERED: pb.SampleRequest.ORDERED, model.SHIPPED: pb.SampleRequest.SHIPPED,
    model.DELIVERED: pb.SampleRequest.DELIVERED,
}
_KINDS = {pb.SampleRequest.STANDARD: model.STANDARD, pb.SampleRequest.POC: model.POC}
_OUTCOMES = {model.WAITING: pb.ApprovalStep.WAITING, model.STEP_APPROVED: pb.ApprovalStep.APPROVED,
             model.STEP_REJECTED: pb.ApprovalStep.REJECTED}
_FEEDBACK_STATES = {model.OPEN: pb.Feedback.OPEN, model.CLOSED: pb.Feedback.CLOSED}


def _ts(value: datetime | None) -> Timestamp | None:
    if value is None:
        return None
    ts = Timestamp()
    ts.FromDatetime(value)
    return ts


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


def product_input(p: pb.Product, *, from_name: bool = False) -> services.ProductInput:
    code = p.code
    if from_name:
        if not p.name.startswith("products/"):
            raise InvalidArgument.field("product.name", "must look like products/{code}")
        code = p.name[len("products/"):]
    return services.ProductInput(code=code, display_name=p.display_name, unit_cost=p.unit_cost,
                                 currency=p.currency, active=p.active)


def products_page_to_proto(page: services.ProductPage) -> pb.ListProductsResponse:
    return pb.ListProductsResponse(products=[product_to_proto(p) for p in page.products],
                                   next_page_token=page.next_page_token)


def tier_inputs(policy: pb.ApprovalPolicy) -> list[approval.TierInput]:
    return [approval.TierInput(name=t.name,
                               max_total_quantity=t.max_total_quantity if t.HasField("max_total_quantity") else None,
                               max_estimated_cost=t.max_estimated_cost, approver_role=t.approver_role)
            for t in policy.tiers]


def policy_to_proto(policy: approval.Policy, update_time: datetime) -> pb.ApprovalPolicy:
    out = pb.ApprovalPolicy(name="approvalPolicy", currency=policy.currency, update_time=_ts(update_time))
    for t in policy.tiers:
        tier = out.tiers.add(name=t.name, approver_role=t.approver_role,
                             max_estimated_cost="" if t.max_estimated_cost is None else _decimal(t.max_estimated_cost))
        if t.max_total_quantity is not None:
            tier.max_total_quantity = t.max_total_quantity
    return out


# --- requests --------------------------------------------------------------------------------------

def _attachments(items) -> tuple[model.Attachment, ...]:
    return tuple(model.Attachment(a.file_name.strip(), a.uri.strip(), a.purpose.strip()) for a in items)


def request_input(req: pb.CreateSampleRequestRequest) -> model.RequestInput:
    r = req.sample_request
    opportunity_id = names.parse(r.opportunity, "opportunities", "sample_request.opportunity")
    return model.RequestInput(
        opportunity_id=opportunity_id, kind=_KINDS.get(r.kind, ""), purpose=r.purpose,
        recipient_name=r.recipient_name, recipient_phone=r.recipient_phone, address=r.address,
        wanted_by_date=r.wanted_by_date,
        lines=tuple(model.LineInput(ln.product, ln.quantity, ln.description) for ln in r.lines),
        attachments=_attachments(r.attachments))


def _attachment_to_proto(a: model.Attachment) -> pb.Attachment:
    return pb.Attachment(file_name=a.file_name, uri=a.uri, purpose=a.purpose)


def request_to_proto(r: model.SampleRequest) -> pb.SampleRequest:
    out = pb.SampleRequest(
        name=r.name, id=r.id, opportunity=f"opportunities/{r.opportunity_id}", customer_company=r.customer_company,
        customer=r.customer, requester=_user(r.requester_id), cost_centre=f"departments/{r.cost_centre_id}",
        kind=next(k for k, v in _KINDS.items() if v == r.kind), purpose=r.purpose, recipient_name=r.recipient_name,
        recipient_phone=r.recipient_phone, address=r.address,
        wanted_by_date=r.wanted_by_date.isoformat() if r.wanted_by_date else "",
        lines=[pb.SampleLine(product=ln.product, quantity=ln.quantity, unit_cost=_decimal(ln.unit_cost),
                             description=ln.description) for ln in r.lines],
        attachments=[_attachment_to_proto(a) for a in r.attachments], estimated_cost=_decimal(r.estimated_cost),
        currency=r.currency, total_quantity=r.total_quantity, state=_STATES[r.state],
        approval_steps=[pb.ApprovalStep(tier=s.tier, approver=_user(s.approver_id), outcome=_OUTCOMES[s.outcome],
                                        comment=s.comment, decide_time=_ts(s.decide_time)) for s in r.steps],
        erp_order_number=r.erp_order_number, create_time=_ts(r.create_time), update_time=_ts(r.update_time),
        etag=r.etag, erp_order_error=r.erp_order_error, erp_order_error_time=_ts(r.erp_order_error_time))
    if r.shipment is not None:
        s = r.shipment
        out.shipment.CopyFrom(pb.Shipment(courier=s.courier, tracking_number=s.tracking_number,
                                          ship_time=_ts(s.ship_time), deliver_time=_ts(s.deliver_time),
                                          evidence=[_attachment_to_proto(a) for a in s.evidence]))
    return out


def requests_page_to_proto(page: services.RequestPage) -> pb.ListSampleRequestsResponse:
    return pb.ListSampleRequestsResponse(sample_requests=[request_to_proto(r) for r in page.requests],
                                         next_page_token=page.next_page_token)


def time_or_none(message: Message, field: str) -> datetime | None:
    return getattr(message, field).ToDatetime(tzinfo=UTC) if message.HasField(field) else None


def attachments(items) -> list[model.Attachment]:
    return list(_attachments(items))


# --- feedback --------------------------------------------------------------------------------------

def feedback_to_proto(f: model.Feedback) -> pb.Feedback:
    return pb.Feedback(name=f.name, summary=f.summary, detail=f.detail, assignee=_user(f.assignee_id),
                       raised_by=_user(f.raised_by), state=_FEEDBACK_STATES[f.state], resolution=f.resolution,
                       create_time=_ts(f.create_time), update_time=_ts(f.update_time), close_time=_ts(f.close_time),
                       etag=f.etag)


def feedback_page_to_proto(page: services.FeedbackPage) -> pb.ListFeedbackResponse:
    return pb.ListFeedbackResponse(feedback=[feedback_to_proto(f) for f in page.feedback],
                                   next_page_token=page.next_page_token)


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


# --- opportunities ---------------------------------------------------------------------------------

def get_opportunity_request(opportunity_id: str) -> opportunities_pb2.GetOpportunityRequest:
    return opportunities_pb2.GetOpportunityRequest(name=f"opportunities/{opportunity_id}")


def opportunity_facts(o: opportunities_pb2.Opportunity) -> services.OpportunityFacts:
    return services.OpportunityFacts(customer_company=o.customer_company, customer=o.customer,
                                     stage_category=o.stage_category)


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
    raise TypeError(f"no event message for {type(event).__name__}")


# --- events in -------------------------------------------------------------------------------------

# teams' organisation events: the kit reads them the same way for every service.
user_from_event = org_events.user_from_event


department_from_event = org_events.department_from_event


SAMPLE_REQUEST_KIND = "sample_request"


def _our_request(source_kind: str, source: str) -> str | None:
    if source_kind != SAMPLE_REQUEST_KIND:
        return None
    return names.parse(source, "sampleRequests", "source")


def order_confirmed_from_event(env: Envelope) -> services.ErpOrderOutcome:
    e = env.payload(erp_events.ErpOrderConfirmed)
    request_id = _our_request(e.source_kind, e.source)
    if request_id and not e.erp_order_number.strip():
        raise InvalidArgument.field("erp_order_number", "required")
    return services.ErpOrderOutcome(request_id=request_id, order_number=e.erp_order_number.strip(),
                                    time=time_or_none(e, "confirm_time"))


def order_dead_lettered_from_event(env: Envelope) -> services.ErpOrderOutcome:
    e = env.payload(erp_events.ErpOrderDeadLettered)
    return services.ErpOrderOutcome(request_id=_our_request(e.source_kind, e.source),
                                    error=e.error or f"the ERP order failed after {e.attempts} attempts",
                                    time=time_or_none(e, "dead_letter_time"))
