"""The Tryton 8.2 adapter against a real trytond: customers keyed by party code, a free order with the cost
centre on every line, a sale at the deal's prices, quote then confirm, lookup by reference, refusals and an
ERP that is down."""

import uuid
from decimal import Decimal

import pytest

from erp_bridge.adapters.tryton import TrytonErp
from erp_bridge.domain.model import Customer, ErpRejected, ErpUnavailable, OrderLine

# The session's first test that needs trytond builds its template when missing (20-180 s).
pytestmark = pytest.mark.timeout(600)


def customer(code: str | None = None, **kw) -> Customer:
    fields = dict(key="customers/x", name="华东精密", party_code=code or f"SJ-{uuid.uuid4()}", recipient="王工",
                  address="上海市浦东新区张江路 100 号")
    fields.update(kw)
    return Customer(**fields)


def test_customer_upsert_is_keyed_by_party_code(erp, erp_view):
    c = customer()
    first = erp.upsert_customer(c)
    again = erp.upsert_customer(customer(c.party_code, name="华东精密机械有限公司"))
    assert first == again
    assert erp_view.party(first) == {"id": first, "code": c.party_code, "name": "华东精密机械有限公司"}


def test_free_order_has_zero_prices_and_the_cost_centre_on_every_line_then_quotes_and_confirms(erp, erp_view):
    reference = f"sampleRequests/{uuid.uuid4()}"
    c = customer()
    party = erp.upsert_customer(c)
    order = erp.create_free_order(reference, party, c, (OrderLine("TRY-SAMPLE-A", Decimal(3), Decimal(0)),
                                                        OrderLine("TRY-SAMPLE-B", Decimal(1), Decimal(0))),
                                  "departments/d-east", "CNY")
    assert order.state == "draft" and order.reference == reference
    assert erp.find_order(reference) == order
    quoted = erp.quote(order)
    assert quoted.state == "quotation" == erp.read_order(order.erp_id).state
    confirmed = erp.confirm(quoted)
    assert confirmed.state in ("confirmed", "processing") and confirmed.number
    assert erp.find_order(reference) == confirmed
    lines = erp_view.lines(order.erp_id)
    assert [(x["product_code"], x["quantity"], x["unit_price"]) for x in lines] == [
        ("TRY-SAMPLE-A", 3.0, Decimal(0)), ("TRY-SAMPLE-B", 1.0, Decimal(0))]
    assert all(x["cost_centres"] == ["departments/d-east"] for x in lines)


def test_one_analytic_account_per_cost_centre(erp):
    codes = [erp._cost_centre("departments/d-north") for _ in range(3)]
    assert len(set(codes)) == 1
    assert erp.call("model.analytic_account.account.search_count", [("code", "=", "departments/d-north")]) == 1


def test_sale_order_keeps_the_deal_prices_and_currency(erp, erp_view):
    reference = f"opportunities/{uuid.uuid4()}"
    c = customer()
    order = erp.create_sale_order(reference, erp.upsert_customer(c), c,
                                  (OrderLine("TRY-GEARBOX-100", Decimal(2), Decimal("4800.00")),), "USD")
    sale, = erp_view.sales(reference)
    assert erp_view.currency(sale["currency"]) == "USD"
    assert sale["total_amount"] == Decimal("9600.00")
    assert erp_view.lines(order.erp_id)[0]["cost_centres"] == []


def test_unknown_erp_product_and_currency_are_refused_for_good(erp):
    c = customer()
    party = erp.upsert_customer(c)
    with pytest.raises(ErpRejected, match="no salable product with code 'NOPE'"):
        erp.create_sale_order("opportunities/x", party, c, (OrderLine("NOPE", Decimal(1), Decimal(1)),), "CNY")
    with pytest.raises(ErpRejected, match="no currency 'XXX'"):
        erp.create_sale_order("opportunities/x", party, c, (OrderLine("TRY-SENSOR-7", Decimal(1), Decimal(1)),),
                              "XXX")


def test_a_missing_reference_is_none(erp):
    assert erp.find_order(f"sampleRequests/{uuid.uuid4()}") is None


def test_an_erp_that_does_not_answer_is_unavailable(tryton):
    from shangji_kit.testing.processes import free_port

    down = TrytonErp(f"http://127.0.0.1:{free_port()}", tryton.database, tryton.user, tryton.password, timeout=2)
    with pytest.raises(ErpUnavailable, match="unreachable"):
        down.find_order("sampleRequests/x")


def test_a_wrong_password_is_refused(tryton):
    wrong = TrytonErp(tryton.url, tryton.database, tryton.user, "not-the-password", timeout=5)
    with pytest.raises((ErpRejected, ErpUnavailable)):
        wrong.find_order("sampleRequests/x")
