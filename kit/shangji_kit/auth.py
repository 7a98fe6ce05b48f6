"""JWT identity: verification for the fronts, minting for development.

HS256 with a shared key is for development; production sets SHANGJI_JWT_ALGORITHMS=RS256,ES256 and
SHANGJI_JWT_JWKS_FILE to the identity provider's public keys. ``sub`` is a teams user id.
"""

from __future__ import annotations

import contextvars
import json
import time
from dataclasses import dataclass, field

import jwt

from shangji_kit.errors import Unauthenticated
from shangji_kit.settings import Settings


@dataclass(frozen=True)
class Principal:
    user_id: str
    roles: tuple[str, ...] = ()
    claims: dict = field(default_factory=dict, compare=False, hash=False)


current_principal: contextvars.ContextVar[Principal | None] = contextvars.ContextVar("principal", default=None)


def principal() -> Principal:
    """The authenticated caller of the request being served."""
    p = current_principal.get()
    if p is None:
        raise Unauthenticated("no authenticated caller")
    return p


class TokenVerifier:
    def __init__(self, settings: Settings) -> None:
        self.algorithms = list(settings.jwt_algorithms)
        self.audience = settings.jwt_audience
        self.issuer = settings.jwt_issuer
        self.secret = settings.jwt_secret
        self.jwks: dict[str, jwt.PyJWK] = {}
        if settings.jwt_jwks_file:
            with open(settings.jwt_jwks_file, encoding="utf-8") as fh:
                keyset = jwt.PyJWKSet.from_dict(json.load(fh))
            self.jwks = {k.key_id: k for k in keyset.keys if k.key_id}

    def _key_for(self, token: str, alg: str):
        if alg == "HS256":
            return self.secret
        kid = jwt.get_unverified_header(token).get("kid")
        if kid not in self.jwks:
            raise Unauthenticated("token signed with an unknown key", reason="UNKNOWN_KEY")
        return self.jwks[kid].key

    def verify(self, authorization: str | None) -> Principal:
        if not authorization:
            raise Unauthenticated("missing authorization metadata", reason="MISSING_TOKEN")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("authorization must be 'Bearer <jwt>'", reason="MALFORMED_TOKEN")
        try:
            alg = jwt.get_unverified_header(token).get("alg")
            if alg not in self.algorithms:
                raise Unauthenticated(f"algorithm {alg} is not accepted", reason="BAD_ALGORITHM")
            claims = jwt.decode(
                token,
                key=self._key_for(token, alg),
                algorithms=[alg],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["sub", "exp"], "verify_aud": self.audience is not None},
            )
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("token expired", reason="TOKEN_EXPIRED") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"invalid token: {exc}", reason="INVALID_TOKEN") from exc
        roles = claims.get("roles") or ()
        return Principal(user_id=str(claims["sub"]), roles=tuple(roles), claims=claims)


def mint_dev_token(user_id: str, *, roles: tuple[str, ...] = (), secret: str | None = None,
                   ttl_seconds: int = 3600 * 12, settings: Settings | None = None) -> str:
    """An HS256 token for development and tests."""
    if secret is None:
        secret = (settings or Settings.for_service("teams")).jwt_secret
    now = int(time.time())
    claims = {"sub": user_id, "iat": now, "exp": now + ttl_seconds, "roles": list(roles)}
    return jwt.encode(claims, secret, algorithm="HS256")
