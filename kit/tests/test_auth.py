"""JWT verification: HS256 for development, RS256/ES256 from a JWKS file for production."""

import json
import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from shangji_kit.auth import TokenVerifier, mint_dev_token
from shangji_kit.errors import Unauthenticated
from shangji_kit.settings import Settings


def settings(monkeypatch, **env) -> Settings:
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return Settings.for_service("leads")


def test_dev_token_round_trip(monkeypatch):
    s = settings(monkeypatch)
    p = TokenVerifier(s).verify("Bearer " + mint_dev_token("u-1", roles=("sales_ops",), settings=s))
    assert (p.user_id, p.roles) == ("u-1", ("sales_ops",))


def test_a_verified_token_is_reused_only_until_it_expires(monkeypatch):
    s = settings(monkeypatch)
    verifier = TokenVerifier(s)
    token = "Bearer " + jwt.encode({"sub": "u-2", "exp": int(time.time()) + 1}, s.jwt_secret, algorithm="HS256")
    assert verifier.verify(token).user_id == "u-2"
    assert verifier.verify(token).user_id == "u-2"
    # A token differing in one character of its signature is checked afresh, not served from the cache.
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    with pytest.raises(Unauthenticated):
        verifier.verify(tampered)
    time.sleep(2.1)
    with pytest.raises(Unauthenticated) as exc:
        verifier.verify(token)
    assert exc.value.reason == "TOKEN_EXPIRED"


@pytest.mark.parametrize("header,reason", [
    (None, "MISSING_TOKEN"), ("token-without-scheme", "MALFORMED_TOKEN"), ("Bearer x.y.z", "INVALID_TOKEN"),
])
def test_bad_headers_are_refused(monkeypatch, header, reason):
    with pytest.raises(Unauthenticated) as exc:
        TokenVerifier(settings(monkeypatch)).verify(header)
    assert exc.value.reason == reason


def test_expired_and_wrongly_signed_tokens_are_refused(monkeypatch):
    s = settings(monkeypatch)
    expired = jwt.encode({"sub": "u", "exp": int(time.time()) - 10}, s.jwt_secret, algorithm="HS256")
    with pytest.raises(Unauthenticated) as exc:
        TokenVerifier(s).verify("Bearer " + expired)
    assert exc.value.reason == "TOKEN_EXPIRED"
    forged = mint_dev_token("u", secret="another-key-that-is-long-enough-32b")
    with pytest.raises(Unauthenticated):
        TokenVerifier(s).verify("Bearer " + forged)


def _jwks(tmp_path, keys: dict) -> str:
    doc = {"keys": []}
    for kid, key in keys.items():
        alg = jwt.algorithms.RSAAlgorithm if isinstance(key, rsa.RSAPrivateKey) else jwt.algorithms.ECAlgorithm
        jwk = json.loads(alg.to_jwk(key.public_key()))
        jwk["kid"] = kid
        doc["keys"].append(jwk)
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(doc))
    return str(path)


def test_rs256_and_es256_with_a_jwks_file(monkeypatch, tmp_path):
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    s = settings(monkeypatch, SHANGJI_JWT_ALGORITHMS="RS256,ES256",
                 SHANGJI_JWT_JWKS_FILE=_jwks(tmp_path, {"r1": rsa_key, "e1": ec_key}))
    verifier = TokenVerifier(s)
    claims = {"sub": "u-9", "exp": int(time.time()) + 60}
    assert verifier.verify("Bearer " + jwt.encode(claims, rsa_key, "RS256", headers={"kid": "r1"})).user_id == "u-9"
    assert verifier.verify("Bearer " + jwt.encode(claims, ec_key, "ES256", headers={"kid": "e1"})).user_id == "u-9"
    with pytest.raises(Unauthenticated) as exc:  # HS256 is not accepted in this configuration
        verifier.verify("Bearer " + mint_dev_token("u-9", settings=s))
    assert exc.value.reason == "BAD_ALGORITHM"
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(Unauthenticated) as exc:
        verifier.verify("Bearer " + jwt.encode(claims, other, "RS256", headers={"kid": "unknown"}))
    assert exc.value.reason == "UNKNOWN_KEY"


def test_with_keys_configured_hs256_is_off_unless_allowed(monkeypatch, tmp_path):
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    jwks = _jwks(tmp_path, {"r1": rsa_key})
    s = settings(monkeypatch, SHANGJI_JWT_ALGORITHMS="HS256,RS256", SHANGJI_JWT_JWKS_FILE=jwks)
    with pytest.raises(Unauthenticated) as exc:
        TokenVerifier(s).verify("Bearer " + mint_dev_token("u-1", settings=s))
    assert exc.value.reason == "BAD_ALGORITHM"
    s = settings(monkeypatch, SHANGJI_JWT_ALLOW_HS256="true")
    assert TokenVerifier(s).verify("Bearer " + mint_dev_token("u-1", settings=s)).user_id == "u-1"


def test_an_algorithm_that_does_not_match_its_key_is_unauthenticated(monkeypatch, tmp_path):
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    s = settings(monkeypatch, SHANGJI_JWT_ALGORITHMS="RS256,ES256",
                 SHANGJI_JWT_JWKS_FILE=_jwks(tmp_path, {"r1": rsa_key, "e1": ec_key}))
    claims = {"sub": "u-9", "exp": int(time.time()) + 60}
    for token in (jwt.encode(claims, ec_key, "ES256", headers={"kid": "r1"}),
                  jwt.encode(claims, rsa_key, "RS256", headers={"kid": "e1"})):
        with pytest.raises(Unauthenticated) as exc:
            TokenVerifier(s).verify("Bearer " + token)
        assert exc.value.reason == "KEY_MISMATCH"


def test_outside_development_the_public_secret_refuses_to_start(monkeypatch, tmp_path):
    from shangji_kit.settings import UnsafeConfiguration

    monkeypatch.setenv("SHANGJI_ENV", "production")
    for service in ("leads", "teams"):
        with pytest.raises(UnsafeConfiguration):
            Settings.for_service(service)
    monkeypatch.setenv("SHANGJI_JWT_SECRET", "a-real-secret-from-the-vault-0123456789")
    assert Settings.for_service("leads").jwt_trust_role_claims is False  # roles claims off outside development
    monkeypatch.delenv("SHANGJI_JWT_SECRET")
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    monkeypatch.setenv("SHANGJI_JWT_ALGORITHMS", "HS256,RS256")
    monkeypatch.setenv("SHANGJI_JWT_JWKS_FILE", _jwks(tmp_path, {"r1": rsa_key}))
    assert not Settings.for_service("leads").hs256_enabled  # keys only: the default secret opens nothing


@pytest.mark.parametrize("role", ["front", "worker"])
def test_a_process_refuses_to_start_with_the_public_secret_outside_development(tmp_path, role):
    import os
    import subprocess

    from shangji_kit.testing.processes import ServiceProcess

    env = {**os.environ, "SHANGJI_ENV": "production"}
    env.pop("SHANGJI_JWT_SECRET", None)
    command = ServiceProcess("notify", role, env, tmp_path).command
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert "UnsafeConfiguration" in done.stderr
