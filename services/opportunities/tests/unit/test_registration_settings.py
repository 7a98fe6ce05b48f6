"""Changing the registration settings (domain.registration_settings): the masked fields only, every bad one at once."""

from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from opportunities.domain import registration_settings as rs
from opportunities.domain.registration import QUEUE, RegistrationSettings
from shangji_kit.errors import InvalidArgument

NOW = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
CURRENT = RegistrationSettings(protection_days=90, big_deal_threshold=Decimal("5"), version=4)


def change(mask, **values):
    given = {"protection_days": 0, "collision_mode": "", "big_deal_threshold": "", **values}
    return rs.changed(CURRENT, set(mask), by="u1", now=NOW, **given)


def test_only_the_masked_fields_change_and_the_version_moves_on():
    assert change(["collision_mode"], collision_mode=" Queue ") == replace(
        CURRENT, collision_mode=QUEUE, version=5, update_time=NOW, updated_by="u1")
    assert change(["big_deal_threshold"]).big_deal_threshold is None
    assert change(["big_deal_threshold", "protection_days"], big_deal_threshold="1000000.5",
                  protection_days=3650).big_deal_threshold == Decimal("1000000.50")


def test_every_bad_field_is_named_at_once():
    with pytest.raises(InvalidArgument) as exc:
        change(rs.FIELDS, protection_days=0, collision_mode="ask", big_deal_threshold="-1")
    assert [v.field for v in exc.value.violations] == [
        "settings.protection_days", "settings.collision_mode", "settings.big_deal_threshold"]
