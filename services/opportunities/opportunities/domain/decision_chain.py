"""A deal's decision chain: the customer's people with their part in the buying decision. Plain Python."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from shangji_kit.errors import FieldViolation, InvalidArgument

DECISION_MAKER = "decision_maker"
BUYING_ROLES = (DECISION_MAKER, "influencer", "technical_evaluator", "user", "gatekeeper")
ATTITUDES = ("supportive", "neutral", "opposed")
SATISFACTION_MAX = 5
UPDATABLE = ("display_name", "title", "phone", "email", "buying_role", "attitude", "satisfaction")


@dataclass(frozen=True)
class DealContact:
    id: str
    opportunity_id: str
    display_name: str
    contact_id: str | None = None  # the leads contact it was copied from
    title: str = ""
    phone: str = ""
    email: str = ""
    buying_role: str = ""
    attitude: str = ""
    satisfaction: int = 0
    create_time: datetime | None = None
    update_time: datetime | None = None

    @property
    def name(self) -> str:
        return f"opportunities/{self.opportunity_id}/contacts/{self.id}"


def checked(contact: DealContact, prefix: str = "contact.") -> DealContact:
    """The contact trimmed, or INVALID_ARGUMENT naming every bad field (``prefix`` + name)."""
    c = replace(contact, display_name=contact.display_name.strip(), title=contact.title.strip(),
                phone=contact.phone.strip(), email=contact.email.strip(),
                buying_role=contact.buying_role.strip().lower(), attitude=contact.attitude.strip().lower())
    v = []
    if not c.display_name:
        v.append(FieldViolation(f"{prefix}display_name", "required"))
    if c.buying_role and c.buying_role not in BUYING_ROLES:
        v.append(FieldViolation(f"{prefix}buying_role", f"{c.buying_role!r} is not one of {', '.join(BUYING_ROLES)} "
                                                        f"(or empty when unknown)"))
    if c.attitude and c.attitude not in ATTITUDES:
        v.append(FieldViolation(f"{prefix}attitude", f"{c.attitude!r} is not one of {', '.join(ATTITUDES)} "
                                                     f"(or empty when unknown)"))
    if not 0 <= c.satisfaction <= SATISFACTION_MAX:
        v.append(FieldViolation(f"{prefix}satisfaction", f"1 to {SATISFACTION_MAX}, or 0 when unknown"))
    if v:
        raise InvalidArgument(v)
    return c


def copied(contacts: list[DealContact], opportunity_id: str, new_id, now: datetime) -> list[DealContact]:
    """The customer's chain as the deal's own (new ids); a contact the deal could not store (no name, an unknown
    role) is kept with what is valid rather than failing the registration it comes with."""
    out = []
    for c in contacts:
        display_name = c.display_name.strip() or c.email.strip() or c.phone.strip()
        if not display_name:
            continue
        c = replace(c, id=new_id(), opportunity_id=opportunity_id, create_time=now, update_time=now,
                    display_name=display_name)
        if c.buying_role not in BUYING_ROLES:
            c = replace(c, buying_role="")
        if c.attitude not in ATTITUDES:
            c = replace(c, attitude="")
        if not 0 <= c.satisfaction <= SATISFACTION_MAX:
            c = replace(c, satisfaction=0)
        out.append(c)
    return out
