"""Make sure PostgreSQL and RabbitMQ answer, then create and migrate the databases.

Order of preference: the URLs in SHANGJI_PG_DSN / SHANGJI_AMQP_URI; the local servers on their
standard ports; `docker compose -f deploy/docker-compose.yaml up -d` when a Docker engine answers.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

from shangji_kit import settings

ROOT = Path(__file__).resolve().parent.parent


def _endpoint(url: str, default_port: int) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or default_port


def reachable(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def docker_answers() -> bool:
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "info"], capture_output=True).returncode == 0


def ensure() -> None:
    targets = {
        "PostgreSQL": _endpoint(settings.server_dsn(), 5432),
        "RabbitMQ": _endpoint(settings.amqp_uri(), 5672),
    }
    down = [name for name, (h, p) in targets.items() if not reachable(h, p)]
    if down and docker_answers():
        print(f"infra: {', '.join(down)} down; starting deploy/docker-compose.yaml")
        subprocess.run(["docker", "compose", "-f", str(ROOT / "deploy" / "docker-compose.yaml"), "up", "-d"],
                       check=True)
    deadline = time.monotonic() + 60
    while down and time.monotonic() < deadline:
        down = [name for name, (h, p) in targets.items() if not reachable(h, p)]
        if down:
            time.sleep(1)
    if down:
        for name in down:
            h, p = targets[name]
            print(f"infra: {name} is unreachable at {h}:{p}. Start it (see README), or set "
                  f"SHANGJI_PG_DSN / SHANGJI_AMQP_URI.", file=sys.stderr)
        sys.exit(1)
    print("infra: " + ", ".join(f"{n} at {h}:{p}" for n, (h, p) in targets.items()))


def databases() -> None:
    from shangji_kit import admin

    admin.main(["databases"])
    admin.main(["topology", "--file", str(ROOT / "deploy" / "rabbitmq" / "topology.yaml")])


if __name__ == "__main__":
    {"ensure": ensure, "databases": databases}[sys.argv[1]]()
