"""The erp_bridge gRPC front: mapping tables and the orders asked of the ERP. Translate, call the service
layer, translate back."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc
from google.protobuf import empty_pb2

from erp_bridge import bootstrap
from erp_bridge.adapters import protomap
from erp_bridge.service_layer import services
from shangji.erp_bridge.v1 import erp_bridge_pb2, erp_bridge_pb2_grpc
from shangji_kit import auth, names
from shangji_kit.rpc import server
from shangji_kit.settings import Settings


def _now() -> datetime:
    return datetime.now(UTC)


class ErpBridgeApi(erp_bridge_pb2_grpc.ErpBridgeServiceServicer):
    def __init__(self, uow_factory) -> None:
        self.uow = uow_factory

    def UpsertProductMapping(self, request, context):
        mapping = services.upsert_product_mapping(protomap.product_mapping_from_request(request, _now()),
                                                  auth.principal().user_id, self.uow())
        return protomap.product_mapping_to_proto(mapping)

    def ListProductMappings(self, request, context):
        page = services.list_product_mappings(request.page_size, request.page_token, auth.principal().user_id,
                                              self.uow())
        return erp_bridge_pb2.ListProductMappingsResponse(
            mappings=[protomap.product_mapping_to_proto(m) for m in page.items], next_page_token=page.next_page_token)

    def DeleteProductMapping(self, request, context):
        services.delete_product_mapping(protomap.product_name(request.name), auth.principal().user_id, self.uow())
        return empty_pb2.Empty()

    def UpsertCustomerMapping(self, request, context):
        mapping = services.upsert_customer_mapping(protomap.customer_mapping_from_request(request, _now()),
                                                   auth.principal().user_id, self.uow())
        return protomap.customer_mapping_to_proto(mapping)

    def ListCustomerMappings(self, request, context):
        page = services.list_customer_mappings(request.page_size, request.page_token, auth.principal().user_id,
                                               self.uow())
        return erp_bridge_pb2.ListCustomerMappingsResponse(
            mappings=[protomap.customer_mapping_to_proto(m) for m in page.items], next_page_token=page.next_page_token)

    def DeleteCustomerMapping(self, request, context):
        services.delete_customer_mapping(protomap.customer_of(request.name, "name"), auth.principal().user_id,
                                         self.uow())
        return empty_pb2.Empty()

    def GetOrder(self, request, context):
        job = services.get_order(names.parse(request.name, "erpOrders"), auth.principal().user_id, self.uow())
        return protomap.order_to_proto(job)

    def ListOrders(self, request, context):
        page = services.list_orders(request.page_size, request.page_token, protomap.state_from_proto(request.state),
                                    auth.principal().user_id, self.uow())
        return protomap.orders_to_proto(page.items, page.next_page_token)

    def RetryDeadLetters(self, request, context):
        ids = protomap.order_ids(list(request.names)) or None
        jobs = services.retry_dead_letters_for(ids, auth.principal().user_id, _now(), self.uow())
        return erp_bridge_pb2.RetryDeadLettersResponse(orders=[protomap.order_to_proto(j) for j in jobs])


def register(grpc_server: grpc.Server, settings: Settings | None = None) -> list[str]:
    erp_bridge_pb2_grpc.add_ErpBridgeServiceServicer_to_server(ErpBridgeApi(bootstrap.uow_factory(settings)),
                                                               grpc_server)
    return [erp_bridge_pb2.DESCRIPTOR.services_by_name["ErpBridgeService"].full_name]


if __name__ == "__main__":
    server.main("erp_bridge", register)
