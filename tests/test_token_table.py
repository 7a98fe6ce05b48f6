"""Every way a token can be wrong, against real fronts of three services (two read the organisation
projection, teams its own users table): each is refused with its code and reason, none is INTERNAL."""

from __future__ import annotations

import base64
import json
import time
import uuid
from dataclasses import replace

import grpc
import jwt
import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from shangji.leads.v1 import leads_pb2, leads_pb2_grpc
from shangji.opportunities.v1 import opportunities_pb2, opportunities_pb2_grpc
from shangji.teams.v1 import teams_pb2, teams_pb2_grpc
from shangji_kit.rpc.server import Front
from shangji_kit.rpc.status import details_of
from shangji_kit.settings import Settings
from shangji_kit.testing.processes import free_port

RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
EC_KEY = ec.generate_private_key(ec.SECP256R1())
OTHER_RSA_KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _jwks(path) -> str:
    keys = []
    for kid, key, alg in (("r1", RSA_KEY, jwt.algorithms.RSAAlgorithm), ("e1", EC_KEY, jwt.algorithms.ECAlgorithm)):
        jwk = json.loads(alg.to_jwk(key.public_key()))
        jwk["kid"] = kid
        keys.append(jwk)
    path.write_text(json.dumps({"keys": keys}))
    return str(path)


def _register(service: str):
    if service == "leads":
        from leads.entrypoints import grpc_api
    elif service == "opportunities":
        from opportunities.entrypoints import grpc_api
    else:
        from teams.entrypoints import grpc_api
    return grpc_api.register


PROBES = {
    "leads": lambda ch: (leads_pb2_grpc.LeadsServiceStub(ch).GetLead,
                         leads_pb2.GetLeadRequest(name=f"leads/{uuid.uuid4()}")),
    "opportunities": lambda ch: (opportunities_pb2_grpc.OpportunitiesServiceStub(ch).GetOpportunity,
                                 opportunities_pb2.GetOpportunityRequest(name=f"opportunities/{uuid.uuid4()}")),
    "teams": lambda ch: (teams_pb2_grpc.TeamsServiceStub(ch).GetUser,
                         teams_pb2.GetUserRequest(name=f"users/{uuid.uuid4()}")),
}


@pytest.fixture(scope="module")
def fronts(shangji_env, tmp_path_factory):
    jwks = _jwks(tmp_path_factory.mktemp("keys") / "jwks.json")
    running = {}
    for service in PROBES:
        settings = replace(Settings.for_service(service), jwt_algorithms=("HS256", "RS256", "ES256"),
                           jwt_jwks_file=jwks, jwt_allow_hs256=True, auth_grace_seconds=0.5)
        front = Front(settings, lambda server, s=settings, svc=service: _register(svc)(server, s),
                      port=free_port()).start()
        running[service] = (front, grpc.insecure_channel(f"127.0.0.1:{front.bound_port}"))
    yield {s: ch for s, (_, ch) in running.items()}
    for front, channel in running.values():
        channel.close()
        front.stop(0)


def _execute(service: str, sql: str, **params) -> None:
    engine = sa.create_engine(Settings.for_service(service).database_url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        conn.execute(sa.text(sql), params)
    engine.dispose()


@pytest.fixture(scope="module")
def people(fronts):
    """An active and a deactivated user, known to every service the table calls."""
    active, closed = str(uuid.uuid4()), str(uuid.uuid4())
    for user, is_active in ((active, True), (closed, False)):
        for service in ("leads", "opportunities"):
            _execute(service, "INSERT INTO org_users (user_id, roles, active, update_time) "
                              "VALUES (:u, '{}', :a, now())", u=user, a=is_active)
        _execute("teams", "INSERT INTO users (id, display_name, email, active, version, create_time, update_time) "
                          "VALUES (:u, 'x', :e, :a, 1, now(), now())", u=user, e=f"{user}@example.com", a=is_active)
    return {"active": active, "closed": closed}


def _claims(sub, **extra) -> dict:
    now = int(time.time())
    return {"sub": sub, "iat": now, "exp": now + 600, **extra}


def _b64(doc: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(doc).encode()).rstrip(b"=").decode()


SECRET = Settings.for_service("teams").jwt_secret


def _hs(claims: dict) -> str:
    return jwt.encode(claims, SECRET, algorithm="HS256")


CASES = {
    # name: (authorization header from the people, expected code, reason or None)
    "valid": (lambda p: f"Bearer {_hs(_claims(p['active']))}", grpc.StatusCode.NOT_FOUND, None),
    "none": (lambda p: None, grpc.StatusCode.UNAUTHENTICATED, "MISSING_TOKEN"),
    "not bearer": (lambda p: f"Basic {_hs(_claims(p['active']))}", grpc.StatusCode.UNAUTHENTICATED,
                   "MALFORMED_TOKEN"),
    "malformed": (lambda p: "Bearer not-a-jwt", grpc.StatusCode.UNAUTHENTICATED, "INVALID_TOKEN"),
    "garbage header": (lambda p: "Bearer " + _b64({"alg": ["HS256"]}) + ".e30.x", grpc.StatusCode.UNAUTHENTICATED,
                       None),
    "alg none": (lambda p: "Bearer " + _b64({"alg": "none", "typ": "JWT"}) + "." + _b64(_claims(p["active"])) + ".",
                 grpc.StatusCode.UNAUTHENTICATED, "BAD_ALGORITHM"),
    "wrong secret": (lambda p: "Bearer " + jwt.encode(_claims(p["active"]), "x" * 40, algorithm="HS256"),
                     grpc.StatusCode.UNAUTHENTICATED, "INVALID_TOKEN"),
    "wrong key": (lambda p: "Bearer " + jwt.encode(_claims(p["active"]), OTHER_RSA_KEY, "RS256",
                                                   headers={"kid": "r1"}),
                  grpc.StatusCode.UNAUTHENTICATED, "INVALID_TOKEN"),
    "unknown kid": (lambda p: "Bearer " + jwt.encode(_claims(p["active"]), RSA_KEY, "RS256", headers={"kid": "zz"}),
                    grpc.StatusCode.UNAUTHENTICATED, "UNKNOWN_KEY"),
    "expired": (lambda p: "Bearer " + _hs({"sub": p["active"], "exp": int(time.time()) - 60}),
                grpc.StatusCode.UNAUTHENTICATED, "TOKEN_EXPIRED"),
    "no sub": (lambda p: "Bearer " + _hs({"exp": int(time.time()) + 600}), grpc.StatusCode.UNAUTHENTICATED,
               "INVALID_TOKEN"),
    "sub not a user id": (lambda p: "Bearer " + _hs(_claims("ops-bot")), grpc.StatusCode.UNAUTHENTICATED,
                          "INVALID_SUBJECT"),
    "unknown user": (lambda p: "Bearer " + _hs(_claims(str(uuid.uuid4()))), grpc.StatusCode.UNAUTHENTICATED,
                     "UNKNOWN_USER"),
    "deactivated user": (lambda p: "Bearer " + _hs(_claims(p["closed"])), grpc.StatusCode.PERMISSION_DENIED,
                         "USER_DEACTIVATED"),
    "roles not a list": (lambda p: "Bearer " + _hs(_claims(p["active"], roles="admin")),
                         grpc.StatusCode.UNAUTHENTICATED, "INVALID_CLAIMS"),
    "roles not strings": (lambda p: "Bearer " + _hs(_claims(p["active"], roles=[{"admin": 1}])),
                          grpc.StatusCode.UNAUTHENTICATED, "INVALID_CLAIMS"),
    "RS256 header on an EC key": (lambda p: "Bearer " + jwt.encode(_claims(p["active"]), EC_KEY, "ES256",
                                                                   headers={"kid": "r1"}),
                                  grpc.StatusCode.UNAUTHENTICATED, "KEY_MISMATCH"),
    "HS256 signed with the public RSA key": (
        lambda p: "Bearer " + _forge_hs256_with_public_key(p["active"]), grpc.StatusCode.UNAUTHENTICATED,
        "INVALID_TOKEN"),
    "valid RS256": (lambda p: "Bearer " + jwt.encode(_claims(p["active"]), RSA_KEY, "RS256", headers={"kid": "r1"}),
                    grpc.StatusCode.NOT_FOUND, None),
}


def _forge_hs256_with_public_key(sub: str) -> str:
    """The classic confusion: an HS256 MAC keyed with the server's public RSA key (PEM)."""
    import hashlib
    import hmac

    from cryptography.hazmat.primitives import serialization

    pem = RSA_KEY.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    signing_input = _b64({"alg": "HS256", "typ": "JWT", "kid": "r1"}) + "." + _b64(_claims(sub))
    mac = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + base64.urlsafe_b64encode(mac).rstrip(b"=").decode()


@pytest.mark.parametrize("service", sorted(PROBES))
@pytest.mark.parametrize("case", sorted(CASES))
def test_token_table(fronts, people, service, case):
    header, code, reason = CASES[case]
    method, request = PROBES[service](fronts[service])
    authorization = header(people)
    metadata = [("authorization", authorization)] if authorization is not None else []
    with pytest.raises(grpc.RpcError) as exc:
        method(request, metadata=metadata, timeout=10)
    assert exc.value.code() == code, exc.value.details()
    if reason is not None:
        assert details_of(exc.value)["reason"] == reason
