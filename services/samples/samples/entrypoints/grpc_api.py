"""The samples gRPC front: read the request (``inbound``), call the use case, answer (``protomap``)."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc

from samples import bootstrap
from samples.adapters import opportunities, protomap
from samples.entrypoints import export_columns, inbound
from samples.service_layer import catalogue, decisions, feedback, requests, shipping, timeline
from shangji.samples.v1 import samples_pb2 as pb
from shangji.samples.v1 import samples_pb2_grpc
from shangji_kit import auth, log, names
from shangji_kit.rpc import export as export_rpc
from shangji_kit.rpc import server
from shangji_kit.rpc.client import bearer_token
from shangji_kit.settings import Settings


def _caller() -> str:
    return auth.principal().user_id


def _request_id(name: str) -> str:
    return names.parse(name, "sampleRequests")


class SamplesApi(samples_pb2_grpc.SamplesServiceServicer):
    def __init__(self, uow_factory) -> None:
        self.uow = uow_factory

    # catalogue and policy
    def CreateProduct(self, request, context):
        return protomap.product_to_proto(catalogue.create_product(inbound.product_input(request.product), _caller(),
                                                                  self.uow()))

    def UpdateProduct(self, request, context):
        product = catalogue.update_product(inbound.product_input(request.product, from_name=True),
                                           tuple(request.update_mask.paths), _caller(), self.uow())
        return protomap.product_to_proto(product)

    def ListProducts(self, request, context):
        page = catalogue.list_products(request.page_size, request.page_token, request.show_inactive, self.uow())
        return pb.ListProductsResponse(products=[protomap.product_to_proto(p) for p in page.products],
                                       next_page_token=page.next_page_token)

    def GetApprovalPolicy(self, request, context):
        return protomap.policy_to_proto(*catalogue.get_policy(self.uow()))

    def UpdateApprovalPolicy(self, request, context):
        return protomap.policy_to_proto(*catalogue.replace_policy(
            inbound.tier_inputs(request.policy), request.policy.currency, self.uow(), caller_id=_caller()))

    # requests
    def CreateSampleRequest(self, request, context):
        lookup = opportunities.lookup_for(bearer_token(context), log.correlation_id.get())
        created = requests.create_sample_request(inbound.request_input(request), request.request_id, _caller(),
                                                 lookup, self.uow())
        return protomap.request_to_proto(created)

    def GetSampleRequest(self, request, context):
        return protomap.request_to_proto(requests.get_sample_request(_request_id(request.name), _caller(),
                                                                     self.uow()))

    def ExportSampleRequests(self, request, context):
        fmt = export_rpc.export_format(request.format)
        opportunity_id = names.parse(request.opportunity, "opportunities", "opportunity") \
            if request.opportunity else None
        source = requests.export_sample_requests(_caller(), opportunity_id, self.uow(), request.filter,
                                                 request.order_by)
        yield from export_rpc.stream(pb.ExportChunk, export_columns.REQUEST_COLUMNS, source, fmt, "sample-requests",
                                     datetime.now(UTC))

    def ListSampleRequests(self, request, context):
        opportunity_id = names.parse(request.opportunity, "opportunities", "opportunity") \
            if request.opportunity else None
        page = requests.list_sample_requests(_caller(), request.page_size, request.page_token,
                                             request.waiting_for_me, opportunity_id, self.uow(), request.filter,
                                             request.order_by)
        return pb.ListSampleRequestsResponse(sample_requests=[protomap.request_to_proto(r) for r in page.requests],
                                             next_page_token=page.next_page_token)

    def ListCustomerTimeline(self, request, context):
        customer_id = names.parse(request.customer, "customers", "customer")
        return protomap.timeline_to_proto(timeline.list_customer_timeline(
            customer_id, _caller(), request.page_size, request.page_token, self.uow()))

    def ApproveSampleRequest(self, request, context):
        return protomap.request_to_proto(decisions.approve(_request_id(request.name), request.comment, request.etag,
                                                           _caller(), self.uow()))

    def RejectSampleRequest(self, request, context):
        return protomap.request_to_proto(decisions.reject(_request_id(request.name), request.comment, request.etag,
                                                          _caller(), self.uow()))

    def WithdrawSampleRequest(self, request, context):
        return protomap.request_to_proto(decisions.withdraw(_request_id(request.name), request.reason, request.etag,
                                                            _caller(), self.uow()))

    def RecordShipment(self, request, context):
        return protomap.request_to_proto(shipping.record_shipment(
            _request_id(request.name), request.courier, request.tracking_number,
            inbound.time_or_none(request, "ship_time"), inbound.attachments(request.photos), request.etag,
            _caller(), self.uow()))

    def RecordDelivery(self, request, context):
        return protomap.request_to_proto(shipping.record_delivery(
            _request_id(request.name), inbound.time_or_none(request, "deliver_time"),
            inbound.attachments(request.evidence), request.etag, _caller(), self.uow()))

    # feedback
    def RaiseFeedback(self, request, context):
        fb = request.feedback
        raised = feedback.raise_feedback(
            names.parse(request.parent, "sampleRequests", "parent"), fb.summary, fb.detail,
            inbound.optional_user(fb.assignee, "feedback.assignee"), _caller(), self.uow())
        return protomap.feedback_to_proto(raised)

    def UpdateFeedback(self, request, context):
        fb = request.feedback
        request_id, feedback_id = inbound.parse_feedback_name(fb.name, "feedback.name")
        paths = tuple(request.update_mask.paths)
        assignee = inbound.optional_user(fb.assignee, "feedback.assignee") if "assignee" in paths else None
        updated = feedback.update_feedback(request_id, feedback_id, paths, fb.summary, fb.detail, assignee,
                                           request.etag, _caller(), self.uow())
        return protomap.feedback_to_proto(updated)

    def CloseFeedback(self, request, context):
        request_id, feedback_id = inbound.parse_feedback_name(request.name)
        closed = feedback.close_feedback(request_id, feedback_id, request.resolution, request.etag, _caller(),
                                         self.uow())
        return protomap.feedback_to_proto(closed)

    def ListFeedback(self, request, context):
        page = feedback.list_feedback(names.parse(request.parent, "sampleRequests", "parent"), request.page_size,
                                      request.page_token, _caller(), self.uow())
        return pb.ListFeedbackResponse(feedback=[protomap.feedback_to_proto(f) for f in page.feedback],
                                       next_page_token=page.next_page_token)


def register(grpc_server: grpc.Server, settings: Settings | None = None) -> list[str]:
    samples_pb2_grpc.add_SamplesServiceServicer_to_server(SamplesApi(bootstrap.uow_factory(settings)), grpc_server)
    return ["shangji.samples.v1.SamplesService"]


if __name__ == "__main__":
    server.main("samples", register)
