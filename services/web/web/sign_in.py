"""Who the console's caller is: a development token minted on request, or the gateway's token as given."""

from __future__ import annotations

import uuid

import jwt

from shangji_kit import settings
from shangji_kit.auth import mint_dev_token
from web.adapters.service_gateway import RpcFailure


def dev_sign_in_enabled() -> bool:
    return settings.environment() == "development"


def dev_token(user: str) -> str:
    """A development token for ``user`` (``users/{uuid}`` or the bare uuid); refused outside development."""
    if not dev_sign_in_enabled():
        raise RpcFailure("NOT_FOUND", "development sign-in is off (SHANGJI_ENV is not development)",
                         reason="DEV_SIGN_IN_DISABLED")
    user_id = user.strip().removeprefix("users/")
    try:
        uuid.UUID(user_id)
    except ValueError as exc:
        raise RpcFailure("INVALID_ARGUMENT", "user: expected users/{uuid} or a uuid", reason="INVALID_ARGUMENT",
                         fields=["user"]) from exc
    return mint_dev_token(user_id)


def user_name_of(authorization: str | None) -> str:
    """``users/{sub}`` of a bearer token, read without verifying it: only to name the caller in a request
    that the service then authenticates with the same token."""
    scheme, _, token = (authorization or "").partition(" ")
    try:
        if scheme.lower() != "bearer":
            raise jwt.DecodeError("not a bearer token")
        sub = jwt.decode(token, options={"verify_signature": False}).get("sub")
    except jwt.PyJWTError as exc:
        raise RpcFailure("UNAUTHENTICATED", "sign in first", reason="MISSING_TOKEN") from exc
    if not sub:
        raise RpcFailure("UNAUTHENTICATED", "the token names no user", reason="INVALID_TOKEN")
    return f"users/{sub}"
