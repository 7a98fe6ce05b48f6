"""docs/operations/backup-restore.md, run as written: a dumped and restored service database loses no
committed event and publishes none twice; its inbox still ignores a redelivery; new events follow on."""

import os
import re
import subprocess
import uuid
from pathlib import Path

import kombu
import pytest
import sqlalchemy as sa

from shangji.teams.v1 import events_pb2, teams_pb2
from shangji_kit import migrate, settings
from shangji_kit.db import libpq_dsn
from shangji_kit.relay import OutboxRelay
from shangji_kit.testing import databases
from shangji_kit.uow import UnitOfWork
from teams.adapters.orm import metadata

ROOT = Path(__file__).resolve().parents[2]
RUNBOOK = ROOT / "docs" / "operations" / "backup-restore.md"


def runbook_step(marker: str) -> str:
    """The shell lines of the runbook's code block that starts with `# <marker>:`."""
    for block in re.findall(r"```sh\n(.*?)```", RUNBOOK.read_text(), flags=re.S):
        lines = [line.strip() for line in block.strip().splitlines()]
        if lines[0].startswith(f"# {marker}:"):
            return "\n".join(lines[1:])
    raise AssertionError(f"no `# {marker}:` block in {RUNBOOK.name}")


def run(script: str, **env: str) -> None:
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


@pytest.fixture
def databases_for_the_drill(shangji_env):
    """A teams database of its own (no suite process relays from it) and the name to restore into."""
    prefix = settings.env("SHANGJI_DB_PREFIX", "")
    source, restored = f"{prefix}drill_{uuid.uuid4().hex[:6]}", f"{prefix}drill_restored_{uuid.uuid4().hex[:6]}"
    url = databases.create_from_template("teams", source)
    yield url, restored
    migrate.drop_database(source)
    migrate.drop_database(restored)


@pytest.fixture
def listener(broker):
    conn = kombu.Connection(broker)
    channel = conn.channel()
    queue = kombu.Queue(f"drill-{uuid.uuid4().hex}", kombu.Exchange("teams.events", type="topic", durable=True),
                        routing_key="#", exclusive=True)
    queue(channel).declare()

    def drain() -> list[str]:
        got = []
        while (msg := queue(channel).get(no_ack=True)) is not None:
            got.append(msg.decode()["id"])
        return got

    yield drain
    conn.release()


def write_event(url: str, marker: str) -> str:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with UnitOfWork("teams", engine.connect, metadata) as uow:
        event = uow.outbox.add(events_pb2.UserCreated(user=teams_pb2.User(display_name=marker)),
                               subject=f"users/{marker}")
        uow.commit()
    return str(event.id)


def outbox(url: str) -> list[tuple[str, bool, int]]:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, sent_at IS NOT NULL, position FROM outbox ORDER BY position"))
        return [(str(i), sent, pos) for i, sent, pos in rows]


def claim(url: str, event_id: str) -> bool:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with UnitOfWork("teams", engine.connect, metadata) as uow:
        first = uow.claim_event("teams.on_something", event_id, "shangji.x.v1.Y")
        uow.commit()
    return first


def test_a_restored_database_publishes_what_was_unsent_once_and_nothing_already_sent(
        databases_for_the_drill, broker, listener, tmp_path):
    url, restored_name = databases_for_the_drill
    relay = OutboxRelay("teams", url, broker, batch=2)
    sent_before = [write_event(url, "a"), write_event(url, "b")]
    unsent_at_backup = write_event(url, "c")
    assert relay.publish_pending() == 2 and set(listener()) == set(sent_before)  # batch of 2: c waits
    handled = str(uuid.uuid4())
    assert claim(url, handled)

    backup = tmp_path / "teams.dump"
    run(runbook_step("backup"), SERVICE_DSN=libpq_dsn(url), BACKUP_FILE=str(backup))

    # Life goes on after the snapshot, then the database is lost.
    after_backup = write_event(url, "d")
    assert relay.publish_pending() == 2 and set(listener()) == {unsent_at_backup, after_backup}
    relay.close()

    restored_url = settings.with_database(settings.server_dsn(), restored_name)
    run(runbook_step("restore"), SERVER_DSN=libpq_dsn(settings.with_database(settings.server_dsn(), "postgres")),
        RESTORED_DB=restored_name, RESTORED_DSN=libpq_dsn(restored_url), BACKUP_FILE=str(backup))

    rows = outbox(restored_url)
    assert [(i, sent) for i, sent, _ in rows] == [(sent_before[0], True), (sent_before[1], True),
                                                  (unsent_at_backup, False)]
    assert not claim(restored_url, handled), "the restored inbox still knows the handled event"
    restored_relay = OutboxRelay("teams", restored_url, broker)
    try:
        assert restored_relay.publish_pending() == 1
        assert listener() == [unsent_at_backup]  # the same id as before: subscribers drop the repeat
        assert restored_relay.publish_pending() == 0
        new = write_event(restored_url, "e")
        assert restored_relay.publish_pending() == 1 and listener() == [new]
    finally:
        restored_relay.close()
    positions = [pos for _, _, pos in outbox(restored_url)]
    assert positions == sorted(positions) and positions[-1] > max(pos for _, _, pos in rows), \
        "the outbox's position sequence goes on after the restored rows"
    assert after_backup not in {i for i, _, _ in outbox(restored_url)}  # the runbook's "cannot give back"


def test_the_runbook_steps_are_the_commands_the_drill_runs():
    assert "pg_dump --format=custom" in runbook_step("backup")
    restore = runbook_step("restore")
    assert "CREATE DATABASE" in restore and "pg_restore" in restore and "--exit-on-error" in restore
