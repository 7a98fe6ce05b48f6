"""Who is calling, as a user id: one rule for every service.

A token's subject must be a user id (a UUID, teams' ``users.id``); anything else is UNAUTHENTICATED
(reason INVALID_SUBJECT), in every service alike. Owners and approvers are stored as user ids, so a
subject that is not one could neither own nor see anything; saying so beats answering as if it were
a user with no records. Whether the user is known and active is ``shangji_kit.auth``'s rule.
"""

from __future__ import annotations

import uuid

from shangji_kit.errors import Unauthenticated


def as_user_id(value: str) -> str | None:
    """``value`` as a canonical user id (lower-case UUID), or None when it is not one."""
    try:
        return str(uuid.UUID(value))
    except (ValueError, TypeError, AttributeError):
        return None


def user_id(subject: str) -> str:
    """The caller's user id from the token's subject; UNAUTHENTICATED when the subject is not one."""
    found = as_user_id(subject)
    if found is None:
        raise Unauthenticated("the token's subject is not a user id", reason="INVALID_SUBJECT")
    return found
