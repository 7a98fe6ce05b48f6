"""Identity: JWT verification and the known-user rule, for every front; dev token minting.

The rules (SECURITY.md states them for operators):

- A token is verified with the algorithms configured (SHANGJI_JWT_ALGORITHMS). HS256 uses the shared
  secret and is for development; when RS256/ES256 keys are configured (SHANGJI_JWT_JWKS_FILE) HS256 is
  off unless SHANGJI_JWT_ALLOW_HS256 is set. The key must be of the algorithm's type (an RS256 header
  on an EC key is refused). Any defect of the token is UNAUTHENTICATED, never INTERNAL.
- ``sub`` is a teams user id (a UUID). The subject must be a known, active user of the organisation:
  unknown (after a grace for a user created seconds ago) is UNAUTHENTICATED; deactivated is
  PERMISSION_DENIED (the credential is genuine, the account is closed). The answer is cached per
  process for SHANGJI_AUTH_CACHE_SECONDS, so a deactivation takes effect within that time (after the
  service's projection has heard of it).
- The ``roles`` claim must be a list of strings. It is honoured only when SHANGJI_JWT_TRUST_ROLE_CLAIMS
  is on (the issuer is a gateway trusted to mint roles; on by default in development only); otherwise
  roles come from teams (its users table, or the organisation projection in the other services). A
  trusted ``admin`` claim is the bootstrap identity: it need not be a known user, so the first admin
  can be created.
"""

from __future__ import annotations

import contextvars
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

import jwt
import sqlalchemy as sa

from shangji_kit import log
from shangji_kit.errors import PermissionDenied, Unauthenticated
from shangji_kit.settings import Settings

_log = log.get(__name__)

ADMIN = "admin"


@dataclass(frozen=True)
class Principal:
    user_id: str
    roles: tuple[str, ...] = ()
    claims: dict = field(default_factory=dict, compare=False, hash=False)

    @property
    def is_bootstrap(self) -> bool:
        """A trusted admin claim: the operator's identity, which need not be a user (roles are only
        set from claims when they are trusted)."""
        return ADMIN in self.roles


current_principal: contextvars.ContextVar[Principal | None] = contextvars.ContextVar("principal", default=None)


def principal() -> Principal:
    """The authenticated caller of the request being served."""
    p = current_principal.get()
    if p is None:
        raise Unauthenticated("no authenticated caller")
    return p


# Verified tokens kept per process (see TokenVerifier.verify).
_VERIFIED_LIMIT = 10_000

# The key type each algorithm family must be verified with (PyJWK.key_type values).
_KEY_TYPES = {"RS": "RSA", "PS": "RSA", "ES": "EC", "Ed": "OKP"}


def as_user_id(subject: object) -> str | None:
    """A token's subject as a canonical user id; None when it is not a UUID string."""
    if not isinstance(subject, str) or len(subject) > 64:
        return None
    try:
        return str(uuid.UUID(subject))
    except ValueError:
        return None


class TokenVerifier:
    """Checks a bearer token's signature and claims; knows nothing of users."""

    def __init__(self, settings: Settings) -> None:
        self.algorithms = [a for a in settings.jwt_algorithms if a != "HS256" or settings.hs256_enabled]
        self.audience = settings.jwt_audience
        self.issuer = settings.jwt_issuer
        self.secret = settings.jwt_secret
        self.trust_roles = settings.jwt_trust_role_claims
        self.jwks: dict[str, jwt.PyJWK] = {}
        if settings.jwt_jwks_file:
            with open(settings.jwt_jwks_file, encoding="utf-8") as fh:
                keyset = jwt.PyJWKSet.from_dict(json.load(fh))
            self.jwks = {k.key_id: k for k in keyset.keys if k.key_id}
        # Verified tokens until their expiry: a client sends the same token on every call, and checking
        # its signature again costs about 50 µs of the front's CPU per call. Only a token that passed every
        # check is kept, keyed by its full text; the keys and settings are fixed for the process.
        self._verified: dict[str, tuple[Principal, float]] = {}
        self._verified_lock = threading.Lock()

    def _key_for(self, header: dict, alg: str):
        if alg == "HS256":
            return self.secret
        kid = header.get("kid")
        if not isinstance(kid, str) or kid not in self.jwks:
            raise Unauthenticated("token signed with an unknown key", reason="UNKNOWN_KEY")
        key = self.jwks[kid]
        if key.key_type != _KEY_TYPES.get(alg[:2]):
            raise Unauthenticated(f"algorithm {alg} does not match the key {kid}", reason="KEY_MISMATCH")
        return key.key

    def verify(self, authorization: str | None) -> Principal:
        hit = self._verified.get(authorization) if authorization else None
        if hit is not None and hit[1] > time.time():
            return hit[0]
        principal_ = self._verify(authorization)
        expiry = principal_.claims.get("exp")
        if isinstance(expiry, int | float):
            with self._verified_lock:
                if len(self._verified) >= _VERIFIED_LIMIT:
                    self._verified.clear()  # bounded; a refill costs one verification per token
                self._verified[authorization] = (principal_, float(expiry))
        return principal_

    def _verify(self, authorization: str | None) -> Principal:
        if not authorization:
            raise Unauthenticated("missing authorization metadata", reason="MISSING_TOKEN")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthenticated("authorization must be 'Bearer <jwt>'", reason="MALFORMED_TOKEN")
        try:
            header = jwt.get_unverified_header(token)
            alg = header.get("alg")
            if not isinstance(alg, str) or alg not in self.algorithms:
                raise Unauthenticated(f"algorithm {str(alg)[:16]} is not accepted", reason="BAD_ALGORITHM")
            claims = jwt.decode(
                token,
                key=self._key_for(header, alg),
                algorithms=[alg],
                audience=self.audience,
                issuer=self.issuer,
                options={"require": ["sub", "exp"], "verify_aud": self.audience is not None},
            )
        except Unauthenticated:
            raise
        except jwt.ExpiredSignatureError as exc:
            raise Unauthenticated("token expired", reason="TOKEN_EXPIRED") from exc
        except jwt.PyJWTError as exc:
            raise Unauthenticated(f"invalid token: {str(exc)[:64]}", reason="INVALID_TOKEN") from exc
        except Exception as exc:  # a key the library cannot use for this token (type, curve, size)
            raise Unauthenticated("invalid token: unusable key or signature", reason="INVALID_TOKEN") from exc
        roles = claims.get("roles", [])
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise Unauthenticated("the roles claim must be a list of strings", reason="INVALID_CLAIMS")
        subject = claims["sub"]
        if not isinstance(subject, str):
            raise Unauthenticated("the sub claim must be a string", reason="INVALID_CLAIMS")
        return Principal(user_id=subject, roles=tuple(roles) if self.trust_roles else (), claims=claims)


# Where each service finds its users: teams owns them; the others keep teams' projection.
_DIRECTORY_QUERIES = {
    "teams": "SELECT active FROM users WHERE id = CAST(:id AS uuid)",
}
_PROJECTION_QUERY = "SELECT active FROM org_users WHERE user_id = :id"
_GRACE_STEP_SECONDS = 0.25
_CACHE_LIMIT = 50_000
_TABLE_RECHECK_SECONDS = 60.0


class UserDirectory:
    """``status(user_id)``: True (active), False (deactivated) or None (unknown), cached per process.

    Known answers are cached for ``ttl`` seconds; an unknown one is never cached, so a user appearing
    in the projection is let in on their next call. A service database without the projection
    (``org_users``) cannot tell: it answers True for every subject and says so in the log once a
    minute; SECURITY.md lists which service that is.
    """

    def __init__(self, service: str, database_url: str, *, ttl: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.service = service
        self.database_url = database_url
        self.ttl = ttl
        self.clock = clock
        self.query = sa.text(_DIRECTORY_QUERIES.get(service, _PROJECTION_QUERY))
        self._cache: dict[str, tuple[bool, float]] = {}
        self._lock = threading.Lock()
        self._no_table_until = 0.0

    def status(self, user_id: str) -> bool | None:
        now = self.clock()
        hit = self._cache.get(user_id)
        if hit is not None and hit[1] > now:
            return hit[0]
        if self._no_table_until > now:
            return True
        active = self._lookup(user_id, now)
        if active is not None:
            with self._lock:
                if len(self._cache) >= _CACHE_LIMIT:
                    self._cache.clear()  # crude but bounded; a refill costs one query per user
                self._cache[user_id] = (active, now + self.ttl)
        return active

    def _lookup(self, user_id: str, now: float) -> bool | None:
        from shangji_kit import db

        try:
            with db.engine(self.database_url).connect() as conn:
                row = conn.execute(self.query, {"id": user_id}).first()
        except sa.exc.ProgrammingError as exc:
            if "org_users" not in str(exc.orig):
                raise
            self._no_table_until = now + _TABLE_RECHECK_SECONDS
            _log.warning("no organisation projection in this service's database: subjects are not checked",
                         extra=log.fields(service=self.service))
            return True
        return None if row is None else bool(row.active)

    def forget(self) -> None:
        with self._lock:
            self._cache.clear()


class Authenticator:
    """The front's one identity rule: a valid token whose subject is a known, active user."""

    def __init__(self, verifier: TokenVerifier, directory: UserDirectory | None, *, grace: float = 0.0,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.verifier = verifier
        self.directory = directory
        self.grace = grace
        self.sleep = sleep

    @classmethod
    def for_settings(cls, settings: Settings) -> Authenticator:
        directory = UserDirectory(settings.service, settings.database_url, ttl=settings.auth_cache_seconds)
        return cls(TokenVerifier(settings), directory, grace=settings.auth_grace_seconds)

    def authenticate(self, authorization: str | None) -> Principal:
        p = self.verifier.verify(authorization)
        user_id = as_user_id(p.user_id)
        if user_id is None:
            raise Unauthenticated("the token's subject is not a user id", reason="INVALID_SUBJECT")
        p = Principal(user_id=user_id, roles=p.roles, claims=p.claims)
        if self.directory is None or p.is_bootstrap:
            return p
        active = self.directory.status(user_id)
        waited = 0.0
        # A user created seconds ago may not have reached this service's projection yet.
        while active is None and waited < self.grace:
            self.sleep(_GRACE_STEP_SECONDS)
            waited += _GRACE_STEP_SECONDS
            active = self.directory.status(user_id)
        if active is None:
            raise Unauthenticated("the token's subject is not a known user", reason="UNKNOWN_USER")
        if not active:
            raise PermissionDenied("this user is deactivated", reason="USER_DEACTIVATED")
        return p


def mint_dev_token(user_id: str, *, roles: tuple[str, ...] = (), secret: str | None = None,
                   ttl_seconds: int = 3600 * 12, settings: Settings | None = None) -> str:
    """An HS256 token for development and tests."""
    if secret is None:
        secret = (settings or Settings.for_service("teams")).jwt_secret
    now = int(time.time())
    claims = {"sub": user_id, "iat": now, "exp": now + ttl_seconds, "roles": list(roles)}
    return jwt.encode(claims, secret, algorithm="HS256")
