"""The samples gRPC front. Its API arrives with the samples issue; until then it serves health
(following its database) and reflection, so deployments and probes are real from day one."""

from __future__ import annotations

import grpc

from shangji_kit.rpc import server
from shangji_kit.settings import Settings


def register(grpc_server: grpc.Server, settings: Settings | None = None) -> list[str]:
    return []


if __name__ == "__main__":
    server.main("samples", register)
