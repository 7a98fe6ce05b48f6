"""Changing the company's registration settings (报备: protection period, collision mode, big-deal threshold). Plain
Python: the fields named by an update mask, every bad one reported at once."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from opportunities.domain.model import parse_amount
from opportunities.domain.registration import COLLISION_MODES, RegistrationSettings
from shangji_kit.errors import FieldViolation, InvalidArgument

FIELDS = ("protection_days", "collision_mode", "big_deal_threshold")
# A registration protects its customer for at least a day (0 would switch 报备 off without saying so) and at most ten
# years (longer is a customer given away for good, not a protection period).
PROTECTION_DAYS_MIN, PROTECTION_DAYS_MAX = 1, 3650


def changed(current: RegistrationSettings, mask: set[str], *, protection_days: int, collision_mode: str,
            big_deal_threshold: str, by: str, now: datetime, field_prefix: str = "settings.") -> RegistrationSettings:
    """``current`` with the fields in ``mask`` set, its version moved on and the change's author and time kept;
    INVALID_ARGUMENT naming every bad field (``settings.<field>``), nothing changed."""
    p = field_prefix
    values: dict[str, object] = {}
    bad: list[FieldViolation] = []
    if "protection_days" in mask:
        if not PROTECTION_DAYS_MIN <= protection_days <= PROTECTION_DAYS_MAX:
            bad.append(FieldViolation(f"{p}protection_days", f"a whole number of days from {PROTECTION_DAYS_MIN} to "
                                                             f"{PROTECTION_DAYS_MAX}, got {protection_days}"))
        values["protection_days"] = protection_days
    if "collision_mode" in mask:
        mode = collision_mode.strip().lower()
        if mode not in COLLISION_MODES:
            bad.append(FieldViolation(f"{p}collision_mode", f"one of {', '.join(COLLISION_MODES)}"))
        values["collision_mode"] = mode
    if "big_deal_threshold" in mask:
        try:
            values["big_deal_threshold"] = parse_amount(big_deal_threshold, f"{p}big_deal_threshold")
        except InvalidArgument as exc:
            bad.extend(exc.violations)
    if bad:
        raise InvalidArgument(bad)
    return replace(current, **values, version=current.version + 1, update_time=now, updated_by=by)
