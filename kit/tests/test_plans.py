"""Generic plans chosen per statement (``shangji_kit.plans``), on the connections ``db.engine`` makes.

Read back from PostgreSQL itself: ``pg_prepared_statements`` lists the statements a session prepared and how many
generic and custom plans each got. An unprepared statement never appears there, and is planned for its values
every time.
"""

from __future__ import annotations

import sqlalchemy as sa

from shangji_kit import db, plans, visibility

md = sa.MetaData()
things = sa.Table("plan_things", md, sa.Column("id", sa.Integer, primary_key=True), sa.Column("path", sa.Text),
                  sa.Column("note", sa.Text))
_BY_ID = sa.select(things.c.note).where(things.c.id == sa.bindparam("id", type_=sa.Integer))
_BY_PREFIX = sa.select(things.c.id).where(things.c.path.like(sa.bindparam("prefix", type_=sa.Text))).limit(5)
_PREPARED = sa.text("SELECT statement, generic_plans, custom_plans FROM pg_prepared_statements "
                    "WHERE statement LIKE '%plan_things%'")


def _engine(settings) -> sa.Engine:
    """The process's engine for a database with ``plan_things`` (filled on a connection of its own: the insert is
    an executemany, which psycopg prepares whatever we say)."""
    setup = sa.create_engine(settings.database_url, poolclass=sa.pool.NullPool)
    with setup.begin() as conn:
        md.create_all(conn)
        conn.execute(sa.text("CREATE INDEX ON plan_things (path text_pattern_ops)"))
        conn.execute(things.insert(), [{"id": i, "path": f"{'a' if i % 1000 else 'b'}.{i}", "note": f"n{i}"}
                                       for i in range(20_000)])
        conn.execute(sa.text("ANALYZE plan_things"))
    setup.dispose()
    return db.engine(settings.database_url)


def _prepared(conn: sa.Connection) -> list:
    return conn.execute(_PREPARED).all()


def test_connections_leave_the_choice_of_plan_to_postgresql(private_teams_settings):
    with _engine(private_teams_settings).connect() as conn:
        assert conn.execute(sa.text("SHOW plan_cache_mode")).scalar() == "auto"


def test_a_marked_statement_is_prepared_and_keeps_a_generic_plan(private_teams_settings):
    stmt = plans.generic(_BY_ID)
    with _engine(private_teams_settings).connect() as conn:
        for i in range(8):
            assert conn.execute(stmt, {"id": i + 1}).scalar() == f"n{i + 1}"
        [(sql, generic_plans, custom_plans)] = _prepared(conn)
    assert "WHERE plan_things.id = $1" in sql
    # PostgreSQL plans the first five runs for their values, then keeps the generic plan (no worse for a key).
    assert (generic_plans, custom_plans) == (3, 5)


def test_an_unmarked_statement_is_never_prepared(private_teams_settings):
    with _engine(private_teams_settings).connect() as conn:
        for i in range(10):
            assert conn.execute(_BY_ID, {"id": i + 1}).scalar() == f"n{i + 1}"
        assert conn.execute(sa.text("SELECT note FROM plan_things WHERE id = :id"), {"id": 3}).scalar() == "n3"
        for i in range(10):
            conn.execute(sa.text("SELECT note FROM plan_things WHERE id = :id"), {"id": i})
        assert _prepared(conn) == []


def test_a_list_by_prefix_is_planned_for_its_prefix_every_time(private_teams_settings):
    """A rare prefix reads the index, a common one the table: only a plan made for the value can tell."""
    with _engine(private_teams_settings).connect() as conn:
        for _ in range(10):
            assert len(conn.execute(_BY_PREFIX, {"prefix": "a.%"}).all()) == 5
            assert len(conn.execute(_BY_PREFIX, {"prefix": "b.1%"}).all()) == 5
        assert _prepared(conn) == []
        rare = conn.execute(sa.text("EXPLAIN SELECT id FROM plan_things WHERE path LIKE :p"), {"p": "b.1%"}).all()
        assert any("Index" in line for (line,) in rare), rare


def test_prepared_statements_outlive_a_rollback(private_teams_settings):
    """A unit of work that only reads ends in a rollback; psycopg alone would forget its prepared statements and
    prepare the read again at the next call."""
    stmt = plans.generic(_BY_ID)
    with _engine(private_teams_settings).connect() as conn:
        for i in range(4):
            conn.execute(stmt, {"id": i + 1}).scalar()
            conn.execute(stmt, {"id": i + 2}).scalar()
            conn.rollback()
        [(_, generic_plans, custom_plans)] = _prepared(conn)
    assert generic_plans + custom_plans == 8  # one statement prepared once, run eight times


def test_the_mark_travels_with_statements_built_from_a_marked_one():
    assert plans.is_generic(plans.generic(sa.insert(things)).values(id=1).returning(things.c.id))
    assert plans.is_generic(plans.generic(sa.select(things.c.id)).where(things.c.id == 1))
    assert plans.is_generic(plans.generic(sa.text("SELECT :x")).bindparams(x=1))
    # A text's ``columns()`` is a new statement that drops the options: mark what it returns.
    assert not plans.is_generic(plans.generic(sa.text("SELECT 1")).columns(sa.column("x")))
    assert plans.is_generic(plans.generic(sa.text("SELECT 1").columns(sa.column("x"))))
    assert not plans.is_generic(_BY_ID)


def test_only_the_one_row_visibility_rule_is_marked():
    org = visibility.org_tables(sa.MetaData())
    rule = visibility.VisibleRule(org, things.c.note)
    one = rule.per_shape(lambda visible: sa.select(things.c.id).where(things.c.id == 1, visible), one=True)
    many = rule.per_shape(lambda visible: sa.select(things.c.id).where(visible))
    for shape in (visibility.SEES_ALL, visibility.MEMBER, "head:1", "head:2"):
        assert plans.is_generic(one[shape])
        assert not plans.is_generic(many[shape])
