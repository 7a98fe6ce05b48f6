"""Normalising contact details on the way in (pure functions, usable from any domain layer)."""

from __future__ import annotations

import functools
import re

import phonenumbers

DEFAULT_REGION = "CN"
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalize_email(raw: str) -> str | None:
    """Lower-cased, trimmed; None when it is not an address."""
    value = raw.strip().lower()
    return value if _EMAIL.match(value) and len(value) <= 254 else None


_CN_MOBILE = re.compile(r"1[3-9][0-9]{9}")


@functools.lru_cache(maxsize=65536)
def _cn_mobile_prefix_valid(prefix: str) -> bool:
    # phonenumbers' CN mobile patterns fix at most the first 5 digits (1740[0-5]), then any \d{6};
    # an 11-digit number starting 1[3-9] is no other type. So 6 digits decide validity.
    return phonenumbers.is_valid_number(phonenumbers.PhoneNumber(country_code=86,
                                                                 national_number=int(prefix + "00000")))


def normalize_phone(raw: str, region: str = DEFAULT_REGION) -> str | None:
    """E.164 ("+8613800138000"); None when it cannot be a valid number.

    A mainland mobile written as 11 digits (spaces or hyphens allowed) takes a fast path: no parsing,
    validity looked up by the digits that decide it. An import normalises 100,000 of them;
    kit/tests/test_contact.py holds the fast path equal to phonenumbers on random numbers.
    """
    if region == "CN":
        digits = raw.strip().replace(" ", "").replace("-", "")
        if _CN_MOBILE.fullmatch(digits):
            return "+86" + digits if _cn_mobile_prefix_valid(digits[:6]) else None
    return _parse_phone(raw, region)


def _parse_phone(raw: str, region: str) -> str | None:
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
