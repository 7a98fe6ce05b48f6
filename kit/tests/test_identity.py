"""The known-user rule against real databases: leads' projection and teams' own users table."""

from __future__ import annotations

import threading
import uuid
from dataclasses import replace

import jwt
import pytest
import sqlalchemy as sa

from shangji_kit.auth import Authenticator, TokenVerifier, UserDirectory, mint_dev_token
from shangji_kit.errors import PermissionDenied, Unauthenticated
from shangji_kit.settings import Settings


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def execute(url: str, sql: str, **params) -> None:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.execute(sa.text(sql), params)
    engine.dispose()


def projected(user_id: str, active: bool) -> None:
    execute(Settings.for_service("leads").database_url,
            "INSERT INTO org_users (user_id, roles, active, update_time) VALUES (:u, '{}', :a, now()) "
            "ON CONFLICT (user_id) DO UPDATE SET active = excluded.active", u=user_id, a=active)


@pytest.fixture
def leads_auth(shangji_env):
    clock = Clock()
    settings = replace(Settings.for_service("leads"), auth_grace_seconds=0.0)
    directory = UserDirectory("leads", settings.database_url, ttl=5.0, clock=clock)
    return Authenticator(TokenVerifier(settings), directory, grace=0.0), clock


def bearer(user_id: str, roles=()) -> str:
    return "Bearer " + mint_dev_token(user_id, roles=tuple(roles))


def test_a_known_active_user_is_let_in_with_the_canonical_id(leads_auth):
    auth, _ = leads_auth
    user = str(uuid.uuid4())
    projected(user, True)
    assert auth.authenticate(bearer(user.upper())).user_id == user


def test_unknown_and_non_uuid_subjects_are_unauthenticated(leads_auth):
    auth, _ = leads_auth
    for subject, reason in ((str(uuid.uuid4()), "UNKNOWN_USER"), ("ops-bot", "INVALID_SUBJECT"),
                            ("", "INVALID_SUBJECT")):
        with pytest.raises(Unauthenticated) as exc:
            auth.authenticate(bearer(subject))
        assert exc.value.reason == reason, subject


def test_deactivation_takes_effect_when_the_cached_answer_expires(leads_auth):
    auth, clock = leads_auth
    user = str(uuid.uuid4())
    projected(user, True)
    assert auth.authenticate(bearer(user)).user_id == user
    projected(user, False)  # teams' UserDeactivated reached the projection
    clock.now += 5.01
    with pytest.raises(PermissionDenied) as exc:
        auth.authenticate(bearer(user))
    assert exc.value.reason == "USER_DEACTIVATED"


def test_a_user_created_during_the_grace_is_let_in(shangji_env):
    settings = Settings.for_service("leads")
    auth = Authenticator(TokenVerifier(settings), UserDirectory("leads", settings.database_url, ttl=5.0),
                         grace=10.0)
    user = str(uuid.uuid4())
    arrive = threading.Timer(0.3, projected, (user, True))
    arrive.start()
    assert auth.authenticate(bearer(user)).user_id == user
    arrive.join()


def test_the_admin_claim_is_a_bootstrap_identity_only_when_role_claims_are_trusted(shangji_env):
    settings = Settings.for_service("leads")
    stranger = str(uuid.uuid4())
    for trusted in (True, False):
        s = replace(settings, jwt_trust_role_claims=trusted)
        auth = Authenticator(TokenVerifier(s), UserDirectory("leads", s.database_url, ttl=5.0), grace=0.0)
        if trusted:
            assert auth.authenticate(bearer(stranger, ["admin"])).roles == ("admin",)
        else:
            with pytest.raises(Unauthenticated):
                auth.authenticate(bearer(stranger, ["admin"]))
    projected(stranger, True)
    untrusting = replace(settings, jwt_trust_role_claims=False)
    p = Authenticator(TokenVerifier(untrusting), None).authenticate(bearer(stranger, ["admin", "sales_ops"]))
    assert p.roles == ()  # claims count for nothing; roles come from teams


def test_teams_reads_its_own_users_table(shangji_env):
    url = Settings.for_service("teams").database_url
    active, closed = str(uuid.uuid4()), str(uuid.uuid4())
    for user, is_active in ((active, True), (closed, False)):
        execute(url, "INSERT INTO users (id, display_name, email, active, version, create_time, update_time) "
                     "VALUES (:u, 'x', :e, :a, 1, now(), now())", u=user, e=f"{user}@example.com", a=is_active)
    directory = UserDirectory("teams", url, ttl=5.0)
    assert (directory.status(active), directory.status(closed), directory.status(str(uuid.uuid4()))) == (
        True, False, None)


def test_the_role_claim_must_be_a_list_of_strings(shangji_env):
    settings = Settings.for_service("leads")
    for roles in ("admin", [1], {"admin": True}, [["admin"]]):
        token = jwt.encode({"sub": str(uuid.uuid4()), "exp": 4102444800, "roles": roles}, settings.jwt_secret,
                           algorithm="HS256")
        with pytest.raises(Unauthenticated) as exc:
            TokenVerifier(settings).verify("Bearer " + token)
        assert exc.value.reason == "INVALID_CLAIMS"
