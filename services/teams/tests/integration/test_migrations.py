"""Migration 0002 turns the free-text departments of 0001 into departments, and back on downgrade."""

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command

from shangji_kit import migrate, settings


def test_free_text_departments_become_root_departments_with_their_users_placed(shangji_env):
    name = f"{settings.database_name('teams')}_mig_{uuid.uuid4().hex[:6]}"
    url = settings.with_database(settings.server_dsn(), name)
    migrate.ensure_database(name)
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    try:
        config = migrate.alembic_config("teams", url)
        command.upgrade(config, "0001")
        now = datetime.now(UTC)
        people = [(str(uuid.uuid4()), dept) for dept in ("华南销售部", "华南销售部", "售前技术部", "")]
        with engine.begin() as conn:
            for i, (user_id, dept) in enumerate(people):
                conn.execute(sa.text(
                    "INSERT INTO users (id, display_name, email, department, version, create_time, update_time) "
                    "VALUES (:id, :n, :e, :d, 1, :t, :t)"), {"id": user_id, "n": f"u{i}", "e": f"u{i}@x.cn", "d": dept,
                                                           "t": now})
        command.upgrade(config, "head")
        with engine.connect() as conn:
            departments = dict(conn.execute(sa.text("SELECT display_name, path FROM departments")).all())
            placed = dict(conn.execute(sa.text("SELECT u.id::text, d.display_name FROM users u "
                                               "LEFT JOIN departments d ON d.id = u.department_id")).all())
            history = conn.execute(sa.text("SELECT count(*) FROM placements WHERE end_time IS NULL")).scalar()
        assert set(departments) == {"华南销售部", "售前技术部"}
        assert all(path.count("/") == 2 for path in departments.values())  # roots
        assert placed == {user_id: (dept or None) for user_id, dept in people}
        assert history == len(people) + len(departments)
        command.downgrade(config, "0001")
        with engine.connect() as conn:
            back = dict(conn.execute(sa.text("SELECT id::text, department FROM users")).all())
        assert back == dict(people)
    finally:
        engine.dispose()
        migrate.drop_database(name)
