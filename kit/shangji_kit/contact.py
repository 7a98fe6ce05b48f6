"""Normalising contact details on the way in (pure functions, usable from any domain layer)."""

from __future__ import annotations

import re

import phonenumbers

DEFAULT_REGION = "CN"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalize_email(raw: str) -> str | None:
    """Lower-cased, trimmed; None when it is not an address."""
    value = raw.strip().lower()
    return value if _EMAIL.match(value) and len(value) <= 254 else None


def normalize_phone(raw: str, region: str = DEFAULT_REGION) -> str | None:
    """E.164 ("+8613800138000"); None when it cannot be a valid number."""
    try:
        number = phonenumbers.parse(raw.strip(), region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_company(raw: str) -> str:
    """Whitespace folded; the display form. De-duplication keys are the leads service's business."""
    return " ".join(raw.split())
