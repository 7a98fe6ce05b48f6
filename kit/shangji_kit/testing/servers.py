"""Finding PostgreSQL and RabbitMQ for tests: environment, local servers, or testcontainers.

Under CI=true a missing server is a failure; elsewhere the tests that need it are skipped with
the reason. Each test session uses its own RabbitMQ virtual host (deleted at the end), so a demo
suite or another session running on the same broker never consumes a test's events.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from urllib.parse import urlsplit, urlunsplit

TEST_VHOST_PREFIX = "shangji_test"


class ServerMissing(Exception):
    pass


def _reachable(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def _docker_answers() -> bool:
    return bool(shutil.which("docker")) and subprocess.run(["docker", "info"], capture_output=True).returncode == 0


def find_postgres() -> str:
    dsn = os.environ.get("SHANGJI_TEST_PG_DSN")
    if dsn:
        return dsn
    if _reachable("127.0.0.1", 5432):
        return "postgresql://postgres@127.0.0.1:5432/postgres"
    if _docker_answers():
        from testcontainers.postgres import PostgresContainer  # only where Docker answers

        container = PostgresContainer("postgres:15")
        container.start()
        return container.get_connection_url().replace("+psycopg2", "")
    raise ServerMissing("PostgreSQL: set SHANGJI_TEST_PG_DSN or start a server on 127.0.0.1:5432")


def _with_vhost(uri: str, vhost: str) -> str:
    parts = urlsplit(uri)
    return urlunsplit((parts.scheme, parts.netloc, "/" + vhost, parts.query, ""))


def _rabbitmqctl() -> str:
    ctl = shutil.which("rabbitmqctl")
    if not ctl:
        raise ServerMissing("rabbitmqctl is needed to give the test session its own RabbitMQ vhost")
    return ctl


def drop_vhost(uri: str) -> None:
    vhost = urlsplit(uri).path.lstrip("/")
    if vhost.startswith(TEST_VHOST_PREFIX) and shutil.which("rabbitmqctl"):
        subprocess.run([_rabbitmqctl(), "delete_vhost", vhost], capture_output=True)


def _ensure_vhost(uri: str, vhost: str) -> None:
    import kombu

    try:
        with kombu.Connection(_with_vhost(uri, vhost), connect_timeout=3) as conn:
            conn.ensure_connection(max_retries=1)
            return
    except Exception:  # most likely the vhost does not exist yet
        pass
    ctl = _rabbitmqctl()
    subprocess.run([ctl, "add_vhost", vhost], capture_output=True)
    user = urlsplit(uri).username or "guest"
    subprocess.run([ctl, "set_permissions", "-p", vhost, user, ".*", ".*", ".*"], check=True, capture_output=True)


def find_rabbitmq(session: str) -> str:
    """A vhost of the session's own on the local broker, so concurrent sessions (and a running demo)
    never consume each other's events; SHANGJI_TEST_AMQP_URI is used as given."""
    uri = os.environ.get("SHANGJI_TEST_AMQP_URI")
    if uri:
        return uri
    if _reachable("127.0.0.1", 5672):
        base = "amqp://guest:guest@127.0.0.1:5672/"
        vhost = f"{TEST_VHOST_PREFIX}_{session}"
        _ensure_vhost(base, vhost)
        return _with_vhost(base, vhost)
    if _docker_answers():
        from testcontainers.rabbitmq import RabbitMqContainer  # only where Docker answers

        container = RabbitMqContainer("rabbitmq:3.13")
        container.start()
        return f"amqp://guest:guest@{container.get_container_host_ip()}:{container.get_exposed_port(5672)}/"
    raise ServerMissing("RabbitMQ: set SHANGJI_TEST_AMQP_URI or start a server on 127.0.0.1:5672")
