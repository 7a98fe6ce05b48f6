"""The kit's AIP-160 filter subset and AIP-132 orderings: parsing, precedence and the errors a caller sees."""

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from shangji_kit import filtering, ordering
from shangji_kit.errors import InvalidArgument
from shangji_kit.filtering import All, Any_, Comparison, Literal, Not

t = sa.table("deals", sa.column("region"), sa.column("amount"), sa.column("id"))
FIELDS = {"region": filtering.Column(t.c.region), "amount": filtering.Column(t.c.amount, filtering.decimal_value,
                                                                              filtering.ORDERED)}


def sql(text: str) -> str:
    clause = filtering.compile_filter(filtering.parse_filter(text), FIELDS)
    return str(clause.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))


def test_or_binds_tighter_than_and_as_aip_160_says():
    root = filtering.parse_filter("a = 1 AND b = 2 OR c = 3").root
    assert root == All((Comparison("a", "=", Literal("1", False)),
                        Any_((Comparison("b", "=", Literal("2", False)), Comparison("c", "=", Literal("3", False))))))


def test_quoted_strings_keep_spaces_escapes_and_chinese():
    root = filtering.parse_filter('search = "华创 \\"精密\\"" AND NOT (region = east)').root
    assert root == All((Comparison("search", "=", Literal('华创 "精密"', True)),
                        Not(Comparison("region", "=", Literal("east", False)))))


def test_terms_side_by_side_are_joined_by_and():
    assert filtering.parse_filter("a = 1 b = 2").root == filtering.parse_filter("a = 1 AND b = 2").root


def test_an_empty_filter_passes_everything():
    assert filtering.parse_filter("   ").root is None and sql("") == "true"


def test_compiles_to_the_columns_with_typed_values():
    assert sql("amount >= 10.5 AND region != east") == (
        "deals.amount >= 10.5 AND (deals.region != 'east' OR deals.region IS NULL)")


@pytest.mark.parametrize("text", ["region =", "= east", "region east", "(region = east", "region = east)",
                                  "region = AND", "region == east", "x" * 2001])
def test_malformed_filters_name_the_filter_field(text):
    with pytest.raises(InvalidArgument) as exc:
        filtering.compile_filter(filtering.parse_filter(text), FIELDS)
    assert [v.field for v in exc.value.violations] == ["filter"]


@pytest.mark.parametrize("text", ["colour = red", "amount >= lots", "region < east", "amount = NaN"])
def test_fields_operators_and_values_the_list_does_not_allow(text):
    with pytest.raises(InvalidArgument) as exc:
        sql(text)
    assert [v.field for v in exc.value.violations] == ["filter"]


def test_order_by_is_canonical_and_allow_listed():
    assert ordering.parse_order_by(" amount DESC ,region ", ["amount", "region"], "region") == "amount desc, region"
    assert ordering.parse_order_by("", ["amount"], "amount desc") == "amount desc"
    for bad in ("colour", "amount up", "amount, amount", "amount desc extra", ","):
        with pytest.raises(InvalidArgument) as exc:
            ordering.parse_order_by(bad, ["amount"], "amount")
        assert [v.field for v in exc.value.violations] == ["order_by"]
