"""The erp_bridge API: mapping tables editable by sales ops and admins, orders readable, dead letters retried;
anyone else is refused, bad input is named, and nothing changes."""

import uuid

import grpc
import pytest

from shangji.erp_bridge.v1 import erp_bridge_pb2 as pb2

# The session's first test that needs trytond builds its template when missing (20-180 s).
pytestmark = pytest.mark.timeout(600)


def code_of(exc: pytest.ExceptionInfo) -> grpc.StatusCode:
    return exc.value.code()


def test_sales_ops_map_products_list_and_delete_them(as_user, operator, db):
    api = as_user(operator)
    saved = api.UpsertProductMapping(pb2.UpsertProductMappingRequest(
        mapping=pb2.ProductMapping(name="productMappings/SMP-A", erp_product_code="TRY-SAMPLE-A")))
    assert (saved.name, saved.erp_product_code) == ("productMappings/SMP-A", "TRY-SAMPLE-A")
    api.UpsertProductMapping(pb2.UpsertProductMappingRequest(
        mapping=pb2.ProductMapping(name="productMappings/SMP-A", erp_product_code="TRY-SAMPLE-B")))
    api.UpsertProductMapping(pb2.UpsertProductMappingRequest(
        mapping=pb2.ProductMapping(name="productMappings/GEAR-100", erp_product_code="TRY-GEARBOX-100")))

    first = api.ListProductMappings(pb2.ListProductMappingsRequest(page_size=1))
    second = api.ListProductMappings(pb2.ListProductMappingsRequest(page_size=1, page_token=first.next_page_token))
    assert [m.name for m in first.mappings] == ["productMappings/GEAR-100"]
    assert [(m.name, m.erp_product_code) for m in second.mappings] == [("productMappings/SMP-A", "TRY-SAMPLE-B")]
    assert second.next_page_token == ""

    api.DeleteProductMapping(pb2.DeleteProductMappingRequest(name="productMappings/GEAR-100"))
    assert db.scalar("SELECT count(*) FROM product_mappings") == 1
    with pytest.raises(grpc.RpcError) as exc:
        api.DeleteProductMapping(pb2.DeleteProductMappingRequest(name="productMappings/GEAR-100"))
    assert code_of(exc) == grpc.StatusCode.NOT_FOUND


def test_customer_mappings(as_user, operator):
    api = as_user(operator)
    customer = str(uuid.uuid4())
    saved = api.UpsertCustomerMapping(pb2.UpsertCustomerMappingRequest(
        mapping=pb2.CustomerMapping(name=f"customerMappings/{customer}", erp_party_code="C-0042")))
    assert (saved.erp_party_code, saved.derived) == ("C-0042", False)
    listed = api.ListCustomerMappings(pb2.ListCustomerMappingsRequest())
    assert [m.name for m in listed.mappings] == [f"customerMappings/{customer}"]
    api.DeleteCustomerMapping(pb2.DeleteCustomerMappingRequest(name=f"customerMappings/{customer}"))
    assert not api.ListCustomerMappings(pb2.ListCustomerMappingsRequest()).mappings


def test_bad_mappings_name_the_field_and_change_nothing(as_user, operator, db):
    api = as_user(operator)
    cases = [
        (pb2.ProductMapping(name="products/SMP-A", erp_product_code="TRY-SAMPLE-A"), "mapping.name"),
        (pb2.ProductMapping(name="productMappings/SMP-A", erp_product_code=""), "mapping.erp_product_code"),
        (pb2.ProductMapping(name="productMappings/SMP-A", erp_product_code="x" * 101), "mapping.erp_product_code"),
    ]
    for mapping, field in cases:
        with pytest.raises(grpc.RpcError) as exc:
            api.UpsertProductMapping(pb2.UpsertProductMappingRequest(mapping=mapping))
        assert code_of(exc) == grpc.StatusCode.INVALID_ARGUMENT and field in exc.value.details()
    with pytest.raises(grpc.RpcError) as exc:
        api.UpsertCustomerMapping(pb2.UpsertCustomerMappingRequest(
            mapping=pb2.CustomerMapping(name="customerMappings/not-an-id", erp_party_code="C-1")))
    assert code_of(exc) == grpc.StatusCode.INVALID_ARGUMENT and "mapping.name" in exc.value.details()
    assert db.scalar("SELECT count(*) FROM product_mappings") == 0
    assert db.scalar("SELECT count(*) FROM customer_mappings") == 0


def test_only_sales_ops_and_admins_may_call(as_user, worker, events, db):
    rep = str(uuid.uuid4())
    worker.on_user_created(events.user_created(rep, roles=("sales_rep",)))
    gone = str(uuid.uuid4())
    worker.on_user_created(events.user_created(gone, roles=("admin",), active=False))
    for user in (rep, gone, str(uuid.uuid4())):
        api = as_user(user)
        with pytest.raises(grpc.RpcError) as exc:
            api.UpsertProductMapping(pb2.UpsertProductMappingRequest(
                mapping=pb2.ProductMapping(name="productMappings/SMP-A", erp_product_code="TRY-SAMPLE-A")))
        assert code_of(exc) == grpc.StatusCode.PERMISSION_DENIED
        with pytest.raises(grpc.RpcError) as exc:
            api.ListOrders(pb2.ListOrdersRequest())
        assert code_of(exc) == grpc.StatusCode.PERMISSION_DENIED
    assert db.scalar("SELECT count(*) FROM product_mappings") == 0


def test_orders_are_listed_read_and_dead_letters_retried(as_user, operator, worker, events, mapped, db):
    good = events.sample_approved()
    bad = events.sample_approved(lines=(("NOT-MAPPED", 1),))
    worker.on_sample_request_approved(good)
    worker.on_sample_request_approved(bad)
    api = as_user(operator)

    orders = api.ListOrders(pb2.ListOrdersRequest()).orders
    assert [o.reference for o in orders] == [bad["data"]["request"]["name"], good["data"]["request"]["name"]]
    dead, = api.ListOrders(pb2.ListOrdersRequest(state=pb2.Order.DEAD_LETTER)).orders
    assert "NOT-MAPPED" in dead.last_error
    confirmed = api.GetOrder(pb2.GetOrderRequest(name=orders[1].name))
    assert confirmed.state == pb2.Order.CONFIRMED and confirmed.erp_order_number

    retried = api.RetryDeadLetters(pb2.RetryDeadLettersRequest(names=[dead.name])).orders
    assert [(o.name, o.state, o.attempts) for o in retried] == [(dead.name, pb2.Order.PENDING, 0)]
    with pytest.raises(grpc.RpcError) as exc:
        api.GetOrder(pb2.GetOrderRequest(name=f"erpOrders/{uuid.uuid4()}"))
    assert code_of(exc) == grpc.StatusCode.NOT_FOUND
    with pytest.raises(grpc.RpcError) as exc:
        api.ListOrders(pb2.ListOrdersRequest(page_token="garbage!"))
    assert code_of(exc) == grpc.StatusCode.INVALID_ARGUMENT


def test_a_caller_who_may_not_use_the_api_is_refused_before_the_input_is_read(as_user, worker, events, db):
    """Issue 11: PERMISSION_DENIED, not INVALID_ARGUMENT, for bad input from someone who is not an operator."""
    rep = str(uuid.uuid4())
    worker.on_user_created(events.user_created(rep, roles=("sales_rep",)))
    api = as_user(rep)
    calls = [
        lambda: api.UpsertProductMapping(pb2.UpsertProductMappingRequest(
            mapping=pb2.ProductMapping(name="products/SMP-A", erp_product_code=""))),
        lambda: api.UpsertCustomerMapping(pb2.UpsertCustomerMappingRequest(
            mapping=pb2.CustomerMapping(name="customerMappings/not-an-id"))),
        lambda: api.DeleteProductMapping(pb2.DeleteProductMappingRequest(name="nonsense")),
        lambda: api.DeleteCustomerMapping(pb2.DeleteCustomerMappingRequest(name="nonsense")),
        lambda: api.GetOrder(pb2.GetOrderRequest(name="nonsense")),
        lambda: api.ListOrders(pb2.ListOrdersRequest(page_token="garbage!", state=99)),
        lambda: api.ListProductMappings(pb2.ListProductMappingsRequest(page_token="garbage!")),
        lambda: api.RetryDeadLetters(pb2.RetryDeadLettersRequest(names=["nonsense"])),
    ]
    for call in calls:
        with pytest.raises(grpc.RpcError) as exc:
            call()
        assert code_of(exc) == grpc.StatusCode.PERMISSION_DENIED
    assert db.scalar("SELECT count(*) FROM product_mappings") == 0
