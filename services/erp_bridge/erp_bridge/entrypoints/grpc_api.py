"""The erp_bridge gRPC front: mapping tables and the orders asked of the ERP. Read the request, call the use
case (which checks the operator before the input), answer."""

from __future__ import annotations

import grpc
from google.protobuf import empty_pb2

from erp_bridge import bootstrap
from erp_bridge.adapters import protomap
from erp_bridge.entrypoints import inbound
from erp_bridge.service_layer import dead_letters, mappings, order_reads
from shangji.erp_bridge.v1 import erp_bridge_pb2, erp_bridge_pb2_grpc
from shangji_kit import auth
from shangji_kit.rpc import server
from shangji_kit.settings import Settings


def _caller() -> str:
    return auth.principal().user_id


class ErpBridgeApi(erp_bridge_pb2_grpc.ErpBridgeServiceServicer):
    def __init__(self, uow_factory) -> None:
        self.uow = uow_factory

    def UpsertProductMapping(self, request, context):
        mapping = mappings.upsert_product_mapping(request.mapping.name, request.mapping.erp_product_code, _caller(),
                                                  self.uow())
        return protomap.product_mapping_to_proto(mapping)

    def ListProductMappings(self, request, context):
        page = mappings.list_product_mappings(request.page_size, request.page_token, _caller(), self.uow())
        return erp_bridge_pb2.ListProductMappingsResponse(
            mappings=[protomap.product_mapping_to_proto(m) for m in page.items], next_page_token=page.next_page_token)

    def DeleteProductMapping(self, request, context):
        mappings.delete_product_mapping(request.name, _caller(), self.uow())
        return empty_pb2.Empty()

    def UpsertCustomerMapping(self, request, context):
        mapping = mappings.upsert_customer_mapping(request.mapping.name, request.mapping.erp_party_code, _caller(),
                                                   self.uow())
        return protomap.customer_mapping_to_proto(mapping)

    def ListCustomerMappings(self, request, context):
        page = mappings.list_customer_mappings(request.page_size, request.page_token, _caller(), self.uow())
        return erp_bridge_pb2.ListCustomerMappingsResponse(
            mappings=[protomap.customer_mapping_to_proto(m) for m in page.items], next_page_token=page.next_page_token)

    def DeleteCustomerMapping(self, request, context):
        mappings.delete_customer_mapping(request.name, _caller(), self.uow())
        return empty_pb2.Empty()

    def GetOrder(self, request, context):
        return protomap.order_to_proto(order_reads.get_order(request.name, _caller(), self.uow()))

    def ListOrders(self, request, context):
        page = order_reads.list_orders(request.page_size, request.page_token, inbound.state_from_proto(request.state),
                                       _caller(), self.uow())
        return erp_bridge_pb2.ListOrdersResponse(orders=[protomap.order_to_proto(j) for j in page.items],
                                                 next_page_token=page.next_page_token)

    def RetryDeadLetters(self, request, context):
        jobs = dead_letters.retry_dead_letters_for(list(request.names), _caller(), self.uow())
        return erp_bridge_pb2.RetryDeadLettersResponse(orders=[protomap.order_to_proto(j) for j in jobs])


def register(grpc_server: grpc.Server, settings: Settings | None = None) -> list[str]:
    erp_bridge_pb2_grpc.add_ErpBridgeServiceServicer_to_server(ErpBridgeApi(bootstrap.uow_factory(settings)),
                                                               grpc_server)
    return [erp_bridge_pb2.DESCRIPTOR.services_by_name["ErpBridgeService"].full_name]


if __name__ == "__main__":
    server.main("erp_bridge", register)
