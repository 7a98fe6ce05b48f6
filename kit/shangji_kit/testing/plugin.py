"""The pytest plugin every service's tests use (registered by the kit's ``pytest11`` entry point).

Fixtures:
- ``shangji_env``: the test servers found, databases created, environment variables set so
  ``Settings.for_service`` (and subprocesses) use the test databases and the test vhost.
- ``db_url(service)``: the session's database URL of a service.
- ``clean_db``: truncates every service database before the test (per-test isolation).
- ``suite``: every front and worker running as subprocesses on free ports (session scope).
- ``token_for(user_id)``: a development bearer token; the user is made known to every service's
  organisation projection first (``identities.provision``), as teams' events would have.
- ``tryton``: a real trytond (sale, analytic_sale) for the session, cloned from a template built once
  (``shangji_kit.testing.tryton``): ``url``, ``database``, ``user``, ``password``, ``environment()`` (the
  SHANGJI_ERP_* settings), and ``stop()`` / ``start()`` to take the ERP down and bring it back.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest

from shangji_kit import settings
from shangji_kit.testing import databases, servers
from shangji_kit.testing.processes import Suite


def _missing(reason: str):
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"CI: required server missing: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def shangji_env(tmp_path_factory):
    session = uuid.uuid4().hex[:8]
    try:
        pg = servers.find_postgres()
        amqp = servers.find_rabbitmq(session)
    except servers.ServerMissing as exc:
        _missing(str(exc))
    prefix = f"t{session}_"
    saved = {k: os.environ.get(k) for k in ("SHANGJI_PG_DSN", "SHANGJI_AMQP_URI", "SHANGJI_DB_PREFIX")}
    os.environ.update({"SHANGJI_PG_DSN": pg, "SHANGJI_AMQP_URI": amqp, "SHANGJI_DB_PREFIX": prefix,
                       "SHANGJI_RELAY_POLL_SECONDS": "0.5", "SHANGJI_CONSUMER_RETRY_BASE_MS": "50",
                       "SHANGJI_CONSUMER_MAX_ATTEMPTS": "3", "SHANGJI_HEALTH_INTERVAL_SECONDS": "0.5",
                       "SHANGJI_DRAIN_SECONDS": "5",
                       # a session runs a dozen processes and in-process fronts on one PostgreSQL
                       "SHANGJI_DB_POOL_IDLE": "2"})
    for service in settings.SERVICES:
        databases.create_from_template(service, settings.database_name(service))
    from shangji_kit import topology

    topo = topology.load(_repo_root() / "deploy" / "rabbitmq" / "topology.yaml")
    topology.apply(topo, amqp)
    topology.purge(topo, amqp)
    yield {"pg": pg, "amqp": amqp, "prefix": prefix}
    from shangji_kit import db, migrate

    db.dispose_all()
    for service in settings.SERVICES:
        migrate.drop_database(settings.database_name(service))
    servers.drop_vhost(amqp)
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def _repo_root() -> Path:
    here = Path(__file__).resolve()
    for parent in here.parents:
        if (parent / "deploy" / "rabbitmq" / "topology.yaml").exists():
            return parent
    return Path.cwd()


@pytest.fixture(scope="session")
def db_url(shangji_env):
    return settings.database_url


@pytest.fixture
def clean_db(shangji_env):
    for service in settings.SERVICES:
        databases.truncate_all(settings.database_url(service), keep=databases.seeded_tables(service))


@pytest.fixture(scope="session")
def suite(shangji_env, tmp_path_factory):
    log_dir = tmp_path_factory.mktemp("suite-logs")
    running = Suite(settings.SERVICES, dict(os.environ), log_dir).start()
    yield running
    running.stop()


@pytest.fixture(scope="session")
def token_for(shangji_env):
    from shangji_kit.auth import mint_dev_token
    from shangji_kit.testing import identities

    def make(user_id: str, roles=()) -> str:
        identities.provision(user_id)
        return mint_dev_token(user_id, roles=tuple(roles))

    return make


@pytest.fixture(scope="session")
def tryton(shangji_env, tmp_path_factory):
    from shangji_kit.testing import tryton as tryton_server

    database = f"{shangji_env['prefix']}tryton"
    tryton_server.create_database(database)
    processes = int(os.environ.get("SHANGJI_TEST_TRYTON_PROCESSES", "2"))
    server = tryton_server.TrytonServer(database, processes=processes,
                                        log_path=tmp_path_factory.mktemp("tryton") / "trytond.log").start()
    yield server
    server.stop()
    tryton_server.drop_database(database)
