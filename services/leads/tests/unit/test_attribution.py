from decimal import Decimal

import pytest

from leads.domain.attribution import FIRST_TOUCH, LAST_TOUCH, U_SHAPED, spread


def test_first_and_last_touch_give_everything_to_one_campaign():
    assert spread(Decimal("1000.00"), ["a", "b", "c"], FIRST_TOUCH) == {"a": Decimal("1000.00")}
    assert spread(Decimal("1000.00"), ["a", "b", "c"], LAST_TOUCH) == {"c": Decimal("1000.00")}


@pytest.mark.parametrize("touches, expected", [
    (["a"], {"a": "100.00"}),
    (["a", "b"], {"a": "50.00", "b": "50.00"}),
    (["a", "b", "c"], {"a": "40.00", "b": "20.00", "c": "40.00"}),
    (["a", "b", "c", "d"], {"a": "40.00", "b": "10.00", "c": "10.00", "d": "40.00"}),
    (["a", "b", "a"], {"a": "80.00", "b": "20.00"}),
])
def test_u_shaped_is_40_20_40(touches, expected):
    assert spread(Decimal("100.00"), touches, U_SHAPED) == {k: Decimal(v) for k, v in expected.items()}


def test_shares_add_up_to_the_amount_to_the_cent():
    shares = spread(Decimal("100.01"), ["a", "b", "c", "d", "e", "f", "g"], U_SHAPED)
    assert sum(shares.values()) == Decimal("100.01")
    assert spread(Decimal("5.00"), [], U_SHAPED) == {}
