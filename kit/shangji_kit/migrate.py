"""Databases and Alembic migrations: one database per service, migrations in ``<service>/migrations``."""

from __future__ import annotations

from collections.abc import Callable

import psycopg
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from psycopg import sql

from shangji_kit import settings
from shangji_kit.db import libpq_dsn
from shangji_kit.inbox import inbox_table
from shangji_kit.outbox import NOTIFY_CHANNEL, outbox_table
from shangji_kit.process_cache import CHANNEL as CACHE_CHANNEL
from shangji_kit.request_ids import request_ids_table
from shangji_kit.visibility import org_tables


def alembic_config(service: str, url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", f"{service}:migrations")
    cfg.attributes["url"] = url
    return cfg


def ensure_database(name: str, *, template: str | None = None) -> bool:
    """Create database ``name`` on the configured server if missing; True when created."""
    with psycopg.connect(libpq_dsn(settings.with_database(settings.server_dsn(), "postgres")),
                         autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            return False
        stmt = sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name))
        if template:
            stmt = sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template))
        conn.execute(stmt)
        return True


def drop_database(name: str) -> None:
    with psycopg.connect(libpq_dsn(settings.with_database(settings.server_dsn(), "postgres")),
                         autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def upgrade(service: str, url: str | None = None) -> None:
    command.upgrade(alembic_config(service, url or settings.database_url(service)), "head")


def run_env(target_metadata: sa.MetaData) -> None:
    """The body of every service's ``migrations/env.py`` (online mode only)."""
    from alembic import context

    url = context.config.attributes.get("url")
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


def _metadata(*tables: Callable[[sa.MetaData], object]) -> sa.MetaData:
    """A MetaData holding the kit's tables built by ``tables`` (a migration creates or drops them as they are)."""
    md = sa.MetaData()
    for build in tables:
        build(md)
    return md


def create_messaging_tables(bind: sa.Connection) -> None:
    """Outbox and inbox, as every service's first migration creates them, and the trigger that wakes
    the relay when outbox rows commit."""
    _metadata(outbox_table, inbox_table).create_all(bind)
    bind.execute(sa.text(f"""
        CREATE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_notify('{NOTIFY_CHANNEL}', ''); RETURN NULL; END $$;
        CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
    """))


def add_outbox_traceparent(bind: sa.Connection) -> None:
    """The outbox's traceparent column, for databases whose outbox predates it (a service's migration).

    IF NOT EXISTS: a database created after the column was added gets it from the first migration,
    which builds the outbox from the kit's current table."""
    bind.execute(sa.text("ALTER TABLE outbox ADD COLUMN IF NOT EXISTS traceparent text"))


def add_cache_invalidation(bind: sa.Connection, table: str, name: str) -> None:
    """Every committed change to ``table``, by whatever writer (a use case, an operator's psql, a test), drops
    ``name`` from every process's ``shangji_kit.process_cache``: a statement trigger sends the NOTIFY, which
    PostgreSQL delivers on commit and never for a rollback."""
    bind.execute(sa.text(
        "CREATE OR REPLACE FUNCTION shangji_cache_invalidate() RETURNS trigger LANGUAGE plpgsql AS $$ "
        f"BEGIN PERFORM pg_notify('{CACHE_CHANNEL}', TG_ARGV[0]); RETURN NULL; END $$"))
    bind.execute(sa.text(f"CREATE TRIGGER {table}_cache_invalidate AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
                         f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION shangji_cache_invalidate('{name}')"))


def drop_cache_invalidation(bind: sa.Connection, table: str) -> None:
    bind.execute(sa.text(f"DROP TRIGGER IF EXISTS {table}_cache_invalidate ON {table}"))


def drop_messaging_tables(bind: sa.Connection) -> None:
    bind.execute(sa.text("DROP TRIGGER IF EXISTS outbox_notify ON outbox; DROP FUNCTION IF EXISTS outbox_notify()"))
    _metadata(outbox_table, inbox_table).drop_all(bind)


def create_org_projection(bind: sa.Connection) -> None:
    """The visibility projection (``shangji_kit.visibility``) for a service that filters by it."""
    _metadata(org_tables).create_all(bind)


def drop_org_projection(bind: sa.Connection) -> None:
    _metadata(org_tables).drop_all(bind)


def create_request_ids_table(bind: sa.Connection) -> None:
    """``idempotency_keys`` (``shangji_kit.request_ids``), from a service's own migration."""
    _metadata(request_ids_table).create_all(bind)


def drop_request_ids_table(bind: sa.Connection) -> None:
    _metadata(request_ids_table).drop_all(bind)
