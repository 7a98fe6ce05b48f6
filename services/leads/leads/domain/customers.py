"""Customers (accounts), their contacts and the account-level decision chain.

Plain Python: no database, no protos, no framework. A customer's name is normalised like a lead's
company and is unique within a region once folded (``dedupe.company_key`` / ``region_key``), so the
same company converted twice joins one customer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from leads.domain.dedupe import company_key, region_key
from shangji_kit.contact import normalize_company, normalize_email, normalize_phone
from shangji_kit.errors import FieldViolation, InvalidArgument

BUYING_ROLES = ("decision_maker", "influencer", "technical_evaluator", "user", "gatekeeper")
ATTITUDES = ("supportive", "neutral", "opposed")
CUSTOMER_FIELDS = ("display_name", "region", "industry", "size", "grade", "owner")
CONTACT_FIELDS = ("display_name", "title", "phone", "email", "buying_role", "attitude", "satisfaction")


@dataclass
class Customer:
    id: str
    display_name: str
    region: str
    industry: str
    size: str
    grade: str
    owner_id: str
    create_time: datetime
    update_time: datetime
    version: int = 1
    chain_revision: int = 0
    events: list = field(default_factory=list, repr=False, compare=False)

    @property
    def name(self) -> str:
        return f"customers/{self.id}"

    @property
    def etag(self) -> str:
        return str(self.version)

    @property
    def keys(self) -> tuple[str, str]:
        return company_key(self.display_name), region_key(self.region)


@dataclass
class Contact:
    id: str
    customer_id: str
    display_name: str
    title: str
    phone: str
    email: str
    buying_role: str
    attitude: str
    satisfaction: int
    create_time: datetime
    update_time: datetime
    lead_id: str | None = None
    version: int = 1

    @property
    def name(self) -> str:
        return f"contacts/{self.id}"

    @property
    def etag(self) -> str:
        return str(self.version)


@dataclass(frozen=True)
class CustomerCreated:
    customer: Customer
    chain: tuple[Contact, ...] = ()
    lead_id: str | None = None


@dataclass(frozen=True)
class CustomerUpdated:
    customer: Customer
    chain: tuple[Contact, ...]
    changed_fields: tuple[str, ...]
    updated_by: str


@dataclass(frozen=True)
class CustomerDecisionChainChanged:
    customer: Customer
    revision: int
    chain: tuple[Contact, ...]
    change_time: datetime


def _bounded(violations: list[FieldViolation], path: str, value: str, limit: int, *, required: bool = False) -> None:
    if required and not value:
        violations.append(FieldViolation(path, "required"))
    elif len(value) > limit:
        violations.append(FieldViolation(path, f"at most {limit} characters"))


def clean_customer_fields(values: dict[str, str], grades: tuple[str, ...], prefix: str = "customer"
                          ) -> dict[str, str]:
    """The given customer fields (display_name, region, industry, size, grade) normalised and checked,
    every bad one reported at once."""
    violations: list[FieldViolation] = []
    out: dict[str, str] = {}
    if "display_name" in values:
        out["display_name"] = normalize_company(values["display_name"])
        _bounded(violations, f"{prefix}.display_name", out["display_name"], 200, required=True)
    for name, limit in (("region", 100), ("industry", 100), ("size", 50)):
        if name in values:
            out[name] = " ".join(values[name].split())
            _bounded(violations, f"{prefix}.{name}", out[name], limit)
    if "grade" in values:
        out["grade"] = values["grade"].strip().upper()
        if out["grade"] and out["grade"] not in grades:
            violations.append(FieldViolation(f"{prefix}.grade", f"one of {', '.join(grades)} (or empty)"))
    if violations:
        raise InvalidArgument(violations)
    return out


def new_customer(*, id: str, values: dict[str, str], owner_id: str, grades: tuple[str, ...], now: datetime,
                 lead_id: str | None = None) -> Customer:
    cleaned = clean_customer_fields({k: values.get(k, "") for k in CUSTOMER_FIELDS if k != "owner"}, grades)
    customer = Customer(id=id, owner_id=owner_id, create_time=now, update_time=now, **cleaned)
    customer.events.append(CustomerCreated(customer, lead_id=lead_id))
    return customer


def update_customer(customer: Customer, changes: dict[str, str], by_user_id: str, now: datetime) -> tuple[str, ...]:
    """Apply already-cleaned ``changes`` (owner as a user id); the fields that really changed. A new version
    and a CustomerUpdated only when something did."""
    changed = tuple(f for f in CUSTOMER_FIELDS if f in changes
                    and changes[f] != (customer.owner_id if f == "owner" else getattr(customer, f)))
    for f in changed:
        setattr(customer, "owner_id" if f == "owner" else f, changes[f])
    if changed:
        customer.version += 1
        customer.update_time = now
    return changed


def clean_contact_fields(values: dict, prefix: str = "contact") -> dict:
    """The given contact fields normalised and checked (phone to E.164, email lower-cased), every bad
    one reported at once."""
    violations: list[FieldViolation] = []
    out: dict = {}
    if "display_name" in values:
        out["display_name"] = " ".join(values["display_name"].split())
        _bounded(violations, f"{prefix}.display_name", out["display_name"], 100, required=True)
    if "title" in values:
        out["title"] = " ".join(values["title"].split())
        _bounded(violations, f"{prefix}.title", out["title"], 100)
    if "phone" in values:
        raw = values["phone"].strip()
        out["phone"] = (normalize_phone(raw) or "") if raw else ""
        if raw and not out["phone"]:
            violations.append(FieldViolation(f"{prefix}.phone", f"not a valid phone number: {raw!r}"))
    if "email" in values:
        raw = values["email"].strip()
        out["email"] = (normalize_email(raw) or "") if raw else ""
        if raw and not out["email"]:
            violations.append(FieldViolation(f"{prefix}.email", f"not an email address: {raw!r}"))
    if "buying_role" in values:
        out["buying_role"] = values["buying_role"].strip().casefold()
        if out["buying_role"] and out["buying_role"] not in BUYING_ROLES:
            violations.append(FieldViolation(f"{prefix}.buying_role", f"one of {', '.join(BUYING_ROLES)} (or empty)"))
    if "attitude" in values:
        out["attitude"] = values["attitude"].strip().casefold()
        if out["attitude"] and out["attitude"] not in ATTITUDES:
            violations.append(FieldViolation(f"{prefix}.attitude", f"one of {', '.join(ATTITUDES)} (or empty)"))
    if "satisfaction" in values:
        out["satisfaction"] = values["satisfaction"]
        if not 0 <= out["satisfaction"] <= 5:
            violations.append(FieldViolation(f"{prefix}.satisfaction", "1..5, or 0 when unknown"))
    if violations:
        raise InvalidArgument(violations)
    return out


def new_contact(*, id: str, customer_id: str, values: dict, now: datetime, lead_id: str | None = None) -> Contact:
    cleaned = clean_contact_fields({k: values.get(k, 0 if k == "satisfaction" else "") for k in CONTACT_FIELDS})
    if not cleaned["phone"] and not cleaned["email"]:
        raise InvalidArgument.field("contact.phone", "one of phone or email is required")
    return Contact(id=id, customer_id=customer_id, create_time=now, update_time=now, lead_id=lead_id, **cleaned)


def update_contact(contact: Contact, changes: dict, now: datetime) -> tuple[str, ...]:
    """Apply cleaned ``changes``; the fields that changed (a new version only then)."""
    changed = tuple(f for f in CONTACT_FIELDS if f in changes and changes[f] != getattr(contact, f))
    if changed and not (changes.get("phone", contact.phone) or changes.get("email", contact.email)):
        raise InvalidArgument.field("contact.phone", "one of phone or email is required")
    for f in changed:
        setattr(contact, f, changes[f])
    if changed:
        contact.version += 1
        contact.update_time = now
    return changed


def same_person(contact: Contact, phone: str, email: str) -> bool:
    """A contact the customer already has for this phone or email (a converted lead joins it)."""
    return bool((phone and contact.phone == phone) or (email and contact.email == email))


def chain_changed(customer: Customer, chain: tuple[Contact, ...], now: datetime) -> CustomerDecisionChainChanged:
    """The chain after a change: one revision more. The repository bumps the stored revision under the
    customer's row lock, so revisions never repeat."""
    customer.chain_revision += 1
    return CustomerDecisionChainChanged(customer, customer.chain_revision, chain, now)
