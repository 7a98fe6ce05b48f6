"""Users of the organisation. Plain Python: no database, no protos, no framework."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from shangji_kit.contact import normalize_email, normalize_phone
from shangji_kit.errors import FieldViolation, InvalidArgument


@dataclass
class User:
    id: str
    display_name: str
    email: str
    phone: str
    department: str
    active: bool
    create_time: datetime
    update_time: datetime
    version: int = 1
    events: list = field(default_factory=list, repr=False, compare=False)

    @property
    def name(self) -> str:
        return f"users/{self.id}"

    @property
    def etag(self) -> str:
        return str(self.version)


@dataclass(frozen=True)
class UserCreated:
    user: User


def new_user(*, id: str, display_name: str, email: str, phone: str, department: str, now: datetime) -> User:
    """Validate and normalise a user to be created; every bad field is reported at once."""
    violations = []
    display_name = display_name.strip()
    if not display_name:
        violations.append(FieldViolation("user.display_name", "required"))
    elif len(display_name) > 200:
        violations.append(FieldViolation("user.display_name", "at most 200 characters"))
    norm_email = normalize_email(email)
    if not email.strip():
        violations.append(FieldViolation("user.email", "required"))
    elif norm_email is None:
        violations.append(FieldViolation("user.email", f"not an email address: {email!r}"))
    norm_phone = ""
    if phone.strip():
        norm_phone = normalize_phone(phone) or ""
        if not norm_phone:
            violations.append(FieldViolation("user.phone", f"not a valid phone number: {phone!r}"))
    if violations:
        raise InvalidArgument(violations)
    user = User(id=id, display_name=display_name, email=norm_email, phone=norm_phone,
                department=department.strip(), active=True, create_time=now, update_time=now)
    user.events.append(UserCreated(user))
    return user
