"""Optional TLS for every gRPC front and client, from PEM files named by settings.

Server (a front): ``SHANGJI_TLS_CERT_FILE`` and ``SHANGJI_TLS_KEY_FILE`` turn TLS on; with
``SHANGJI_TLS_CLIENT_CA_FILE`` as well, clients must present a certificate signed by that CA (mutual TLS).
Client (a front calling another, tools): ``SHANGJI_TLS_CA_FILE`` turns TLS on and is the CA the server's
certificate must chain to; ``SHANGJI_TLS_CLIENT_CERT_FILE``/``_KEY_FILE`` are presented for mutual TLS;
``SHANGJI_TLS_SERVER_NAME`` overrides the name checked in the server's certificate (when the target is
an address the certificate does not name). None set: plaintext, as on a developer's machine.
Files are read when a server or channel is made: rotate certificates by restarting the pods.
"""

from __future__ import annotations

from pathlib import Path

import grpc

from shangji_kit.settings import env


def _read(name: str) -> bytes | None:
    path = env(name, "")
    return Path(path).read_bytes() if path else None


def server_credentials() -> grpc.ServerCredentials | None:
    cert, key = _read("SHANGJI_TLS_CERT_FILE"), _read("SHANGJI_TLS_KEY_FILE")
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise ValueError("TLS needs both SHANGJI_TLS_CERT_FILE and SHANGJI_TLS_KEY_FILE")
    client_ca = _read("SHANGJI_TLS_CLIENT_CA_FILE")
    return grpc.ssl_server_credentials([(key, cert)], root_certificates=client_ca,
                                       require_client_auth=client_ca is not None)


def channel_credentials() -> grpc.ChannelCredentials | None:
    ca = _read("SHANGJI_TLS_CA_FILE")
    if ca is None:
        return None
    return grpc.ssl_channel_credentials(root_certificates=ca, private_key=_read("SHANGJI_TLS_CLIENT_KEY_FILE"),
                                        certificate_chain=_read("SHANGJI_TLS_CLIENT_CERT_FILE"))


def channel_options() -> list[tuple[str, str]]:
    name = env("SHANGJI_TLS_SERVER_NAME", "")
    return [("grpc.ssl_target_name_override", name)] if name else []
