"""Optional TLS on the fronts and their clients (certificates from files): TLS and mutual TLS work,
plaintext and untrusted peers are refused."""

import datetime
import ipaddress
import uuid

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from shangji.teams.v1 import teams_pb2, teams_pb2_grpc
from shangji_kit.auth import mint_dev_token
from shangji_kit.rpc import client
from shangji_kit.testing.processes import running_front
from teams.entrypoints import grpc_api


def issue(tmp_path, name: str, *, ca=None, server: bool = False):
    """A key and certificate signed by ``ca`` (a (key, cert) pair), or a self-signed CA when None."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(subject)
               .issuer_name(ca[1].subject if ca else subject).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca is None, path_length=None), critical=True))
    if server:
        builder = builder.add_extension(x509.SubjectAlternativeName(
            [x509.DNSName("teams.shangji.test"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
    cert = builder.sign(ca[0] if ca else key, hashes.SHA256())
    key_file, cert_file = tmp_path / f"{name}.key", tmp_path / f"{name}.crt"
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return key, cert, key_file, cert_file


@pytest.fixture
def pki(tmp_path):
    ca_key, ca_cert, _, ca_file = issue(tmp_path, "shangji-ca")
    _, _, server_key, server_cert = issue(tmp_path, "teams", ca=(ca_key, ca_cert), server=True)
    _, _, client_key, client_cert = issue(tmp_path, "samples", ca=(ca_key, ca_cert))
    other_key, other_cert, _, other_ca = issue(tmp_path, "another-ca")
    _, _, stranger_key, stranger_cert = issue(tmp_path, "stranger", ca=(other_key, other_cert))
    return {"ca": ca_file, "server_key": server_key, "server_cert": server_cert, "client_key": client_key,
            "client_cert": client_cert, "other_ca": other_ca, "stranger_key": stranger_key,
            "stranger_cert": stranger_cert}


def create_user(channel: grpc.Channel) -> teams_pb2.User:
    token = mint_dev_token(str(uuid.uuid4()), roles=("admin",))
    return teams_pb2_grpc.TeamsServiceStub(channel).CreateUser(
        teams_pb2.CreateUserRequest(user=teams_pb2.User(display_name="加密",
                                                        email=f"{uuid.uuid4().hex[:8]}@example.com")),
        metadata=[("authorization", f"Bearer {token}")], timeout=10)


def refused(channel: grpc.Channel) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as failed:
        create_user(channel)
    return failed.value.code()


def test_a_front_serves_tls_to_clients_that_trust_its_ca_and_refuses_plaintext(shangji_env, pki, monkeypatch):
    monkeypatch.setenv("SHANGJI_TLS_CERT_FILE", str(pki["server_cert"]))
    monkeypatch.setenv("SHANGJI_TLS_KEY_FILE", str(pki["server_key"]))
    with running_front("teams", grpc_api.register) as front:
        assert front.tls
        target = f"127.0.0.1:{front.bound_port}"
        monkeypatch.setenv("SHANGJI_TLS_CA_FILE", str(pki["ca"]))
        with client.channel("teams", target) as channel:
            assert create_user(channel).display_name == "加密"
        monkeypatch.setenv("SHANGJI_TLS_SERVER_NAME", "teams.shangji.test")  # a name the certificate holds
        with client.channel("teams", target) as channel:
            assert create_user(channel).display_name == "加密"
        monkeypatch.setenv("SHANGJI_TLS_CA_FILE", str(pki["other_ca"]))  # a CA that did not sign it
        with client.channel("teams", target) as channel:
            assert refused(channel) == grpc.StatusCode.UNAVAILABLE
        with grpc.insecure_channel(target) as channel:
            assert refused(channel) == grpc.StatusCode.UNAVAILABLE


def test_mutual_tls_admits_only_clients_with_a_certificate_from_the_clients_ca(shangji_env, pki, monkeypatch):
    monkeypatch.setenv("SHANGJI_TLS_CERT_FILE", str(pki["server_cert"]))
    monkeypatch.setenv("SHANGJI_TLS_KEY_FILE", str(pki["server_key"]))
    monkeypatch.setenv("SHANGJI_TLS_CLIENT_CA_FILE", str(pki["ca"]))
    with running_front("teams", grpc_api.register) as front:
        target = f"127.0.0.1:{front.bound_port}"
        monkeypatch.setenv("SHANGJI_TLS_CA_FILE", str(pki["ca"]))
        with client.channel("teams", target) as channel:  # no client certificate
            assert refused(channel) == grpc.StatusCode.UNAVAILABLE
        monkeypatch.setenv("SHANGJI_TLS_CLIENT_CERT_FILE", str(pki["stranger_cert"]))
        monkeypatch.setenv("SHANGJI_TLS_CLIENT_KEY_FILE", str(pki["stranger_key"]))
        with client.channel("teams", target) as channel:  # a certificate from another CA
            assert refused(channel) == grpc.StatusCode.UNAVAILABLE
        monkeypatch.setenv("SHANGJI_TLS_CLIENT_CERT_FILE", str(pki["client_cert"]))
        monkeypatch.setenv("SHANGJI_TLS_CLIENT_KEY_FILE", str(pki["client_key"]))
        with client.channel("teams", target) as channel:
            assert create_user(channel).display_name == "加密"


def test_half_a_server_configuration_is_refused(monkeypatch, tmp_path):
    from shangji_kit.rpc import tls

    cert = tmp_path / "x.crt"
    cert.write_text("not used")
    monkeypatch.setenv("SHANGJI_TLS_CERT_FILE", str(cert))
    with pytest.raises(ValueError, match="SHANGJI_TLS_KEY_FILE"):
        tls.server_credentials()
