"""A database per service per test session, cloned from a migrated template.

The template's name carries a hash of the service's migrations, so it is built once and reused by
later sessions until a migration changes (CREATE DATABASE ... TEMPLATE takes tens of ms; running
the migrations takes seconds).
"""

from __future__ import annotations

import hashlib
import importlib
from pathlib import Path

import psycopg
import sqlalchemy as sa

from shangji_kit import migrate, settings
from shangji_kit.db import libpq_dsn


def migrations_hash(service: str) -> str:
    pkg = importlib.import_module(f"{service}.migrations")
    root = Path(pkg.__file__).parent
    h = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        h.update(path.read_bytes())
    kit = Path(migrate.__file__)
    h.update(kit.read_bytes())
    h.update((kit.parent / "outbox.py").read_bytes())
    h.update((kit.parent / "inbox.py").read_bytes())
    h.update((kit.parent / "visibility.py").read_bytes())
    return h.hexdigest()[:12]


def _admin() -> psycopg.Connection:
    return psycopg.connect(libpq_dsn(settings.with_database(settings.server_dsn(), "postgres")), autocommit=True)


def template_for(service: str) -> str:
    name = f"shangji_tpl_{service}_{migrations_hash(service)}"
    with _admin() as conn:
        # serialise template builds across concurrent test sessions
        conn.execute("SELECT pg_advisory_lock(hashtext(%s))", (name,))
        try:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if not exists:
                building = name + "_build"
                migrate.drop_database(building)
                migrate.ensure_database(building)
                migrate.upgrade(service, settings.with_database(settings.server_dsn(), building))
                conn.execute(f'ALTER DATABASE "{building}" RENAME TO "{name}"')
        finally:
            conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (name,))
    return name


def create_from_template(service: str, name: str) -> str:
    migrate.drop_database(name)
    migrate.ensure_database(name, template=template_for(service))
    return settings.with_database(settings.server_dsn(), name)


_seeded: dict[str, frozenset[str]] = {}


def seeded_tables(service: str) -> frozenset[str]:
    """Tables the migrations fill (reference data such as the default pipeline): never truncated."""
    if service not in _seeded:
        url = settings.with_database(settings.server_dsn(), template_for(service))
        engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
        with engine.connect() as conn:
            tables = [r[0] for r in conn.execute(sa.text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"))]
            _seeded[service] = frozenset(
                t for t in tables if conn.execute(sa.text(f'SELECT EXISTS (SELECT 1 FROM "{t}")')).scalar())
        engine.dispose()
    return _seeded[service]


def truncate_all(url: str, keep: frozenset[str] = frozenset()) -> None:
    """Empty every table but Alembic's and ``keep``: per-test isolation without a new database."""
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        tables = [r[0] for r in conn.execute(sa.text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'alembic_version'"))
            if r[0] not in keep]
        if tables:
            conn.execute(sa.text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))
    engine.dispose()
