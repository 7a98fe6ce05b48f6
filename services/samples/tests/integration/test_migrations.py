"""Migration 0003 moves the request ids requests were made with into the kit's per-caller idempotency keys, and
back on downgrade."""

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command

from shangji_kit import migrate, settings


def test_request_ids_become_their_requesters_keys_and_come_back(shangji_env):
    name = f"{settings.database_name('samples')}_mig_{uuid.uuid4().hex[:6]}"
    url = settings.with_database(settings.server_dsn(), name)
    migrate.ensure_database(name)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        config = migrate.alembic_config("samples", url)
        command.upgrade(config, "0002")
        made = [(str(uuid.uuid4()), str(uuid.uuid4()), request_id) for request_id in ("r-1", "r-2", None)]
        with engine.begin() as conn:
            for request_id_, requester, request_id in made:
                conn.execute(sa.text(
                    "INSERT INTO sample_requests (id, request_id, opportunity_id, customer_company, customer, "
                    "requester_id, cost_centre_id, kind, purpose, recipient_name, recipient_phone, address, lines, "
                    "attachments, estimated_cost, currency, total_quantity, state, steps, approver_ids, create_time, "
                    "update_time, version) VALUES (:id, :rid, :opp, 'c', '', :req, 'd', 'standard', '', 'r', '', 'a', "
                    "'[]', '[]', 1, 'CNY', 1, 'approved', '[]', '{}', :t, :t, 1)"),
                    {"id": request_id_, "rid": request_id, "opp": str(uuid.uuid4()), "req": requester,
                     "t": datetime.now(UTC)})
        command.upgrade(config, "head")
        with engine.connect() as conn:
            keys = set(conn.execute(sa.text(
                "SELECT caller, operation, request_id, resource_id FROM idempotency_keys")).all())
        assert keys == {(requester, "CreateSampleRequest", request_id, id_)
                        for id_, requester, request_id in made if request_id}
        command.downgrade(config, "0002")
        with engine.connect() as conn:
            back = set(conn.execute(sa.text("SELECT id::text, request_id FROM sample_requests")).all())
        assert back == {(id_, request_id) for id_, _, request_id in made}
    finally:
        engine.dispose()
        migrate.drop_database(name)
