"""The visibility rule built once (``VisibleRule``, parameters at execution) allows exactly what the rules say.

Random organisations in temporary tables of a real PostgreSQL; every viewer's rows, read through the
statement built once per shape, equal a plain Python reading of the rules (ARCHITECTURE.md, Visibility).
"""

import random
import uuid
from datetime import datetime, timezone

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql as pg

from shangji_kit import visibility
from shangji_kit.settings import Settings


def _tables():
    md = sa.MetaData()
    org = visibility.org_tables(md)
    records = sa.Table("records", md, sa.Column("id", pg.UUID(as_uuid=False), primary_key=True),
                       sa.Column("owner_id", pg.UUID(as_uuid=False)), prefixes=["TEMPORARY"])
    members = sa.Table("members", md, sa.Column("record_id", pg.UUID(as_uuid=False)),
                       sa.Column("user_id", sa.Text), prefixes=["TEMPORARY"])
    for t in (org.users, org.departments):
        t._prefixes = ["TEMPORARY"]
    return md, org, records, members


@pytest.fixture
def conn(shangji_env):
    engine = sa.create_engine(Settings.for_service("teams").database_url, poolclass=sa.pool.NullPool)
    with engine.connect() as c:
        yield c
    engine.dispose()


def test_rule_with_parameters_matches_the_rules_for_random_organisations(conn):
    md, org, records, members = _tables()
    md.create_all(conn)
    team_ids = sa.select(members.c.record_id).where(members.c.user_id == visibility.viewer_param())
    rule = visibility.VisibleRule(org, records.c.owner_id, team_ids=team_ids, id_col=records.c.id)
    statements = rule.per_shape(lambda visible: sa.select(records.c.id).where(visible))
    one = rule.per_shape(lambda visible: sa.select(records.c.id).where(records.c.id == sa.bindparam("id"), visible),
                         one=True)
    now = datetime.now(timezone.utc)
    rnd = random.Random(5)
    checked = 0
    for _ in range(12):
        for t in (members, records, org.users, org.departments):
            conn.execute(t.delete())
        depts: list[tuple[str, str]] = []  # (id, path)
        for _ in range(rnd.randint(1, 8)):
            did = str(uuid.uuid4())
            parent = depts[rnd.randrange(len(depts))] if depts and rnd.random() < 0.8 else None
            depts.append((did, (parent[1] if parent else "/") + f"{did}/"))
        people = [str(uuid.uuid4()) for _ in range(rnd.randint(2, 10))]
        dept_of = {p: rnd.choice(depts)[0] if rnd.random() < 0.9 else None for p in people}
        roles = {p: ["sales_ops"] if rnd.random() < 0.1 else ["sales_rep"] for p in people}
        active = {p: rnd.random() < 0.85 for p in people}
        heads = {d: rnd.choice(people) if rnd.random() < 0.7 else None for d, _ in depts}
        conn.execute(org.departments.insert(), [{"id": d, "parent_id": None, "path": path, "head_id": heads[d],
                                                 "update_time": now} for d, path in depts])
        conn.execute(org.users.insert(), [{"user_id": p, "department_id": dept_of[p], "roles": roles[p],
                                           "active": active[p], "update_time": now} for p in people])
        recs = [(str(uuid.uuid4()), rnd.choice(people)) for _ in range(rnd.randint(1, 30))]
        conn.execute(records.insert(), [{"id": r, "owner_id": o} for r, o in recs])
        team = {(rnd.choice(recs)[0], rnd.choice(people)) for _ in range(rnd.randint(0, 10))}
        if team:
            conn.execute(members.insert(), [{"record_id": r, "user_id": u} for r, u in team])
        path_of = dict(depts)
        stranger = str(uuid.uuid4())  # teams has not told us about them
        for viewer_id in [*people, stranger]:
            viewer = visibility.load_viewer(conn, org, viewer_id)
            got = {r[0] for r in conn.execute(statements[visibility.shape_of(viewer)], rule.params(viewer))}
            bound = {r[0] for r in conn.execute(sa.select(records.c.id).where(rule.bound(viewer)))}
            headed = [path_of[d] for d, h in heads.items() if h == viewer_id] if active.get(viewer_id) else []
            allowed = set()
            for owner in people:
                below = dept_of[owner] is not None and any(path_of[dept_of[owner]].startswith(h) for h in headed)
                assert visibility.manages(conn, org, viewer, owner) == (below and owner != viewer_id), owner
            for rid, owner in recs:
                own = owner == viewer_id
                if viewer_id in active and not active[viewer_id]:
                    ok = own
                elif active.get(viewer_id) and "sales_ops" in roles[viewer_id]:
                    ok = True
                else:
                    below = dept_of[owner] is not None and any(path_of[dept_of[owner]].startswith(h) for h in headed)
                    ok = own or (rid, viewer_id) in team or below
                if ok:
                    allowed.add(rid)
            assert got == allowed == bound, viewer_id
            shape = visibility.shape_of(viewer)
            singly = {rid for rid, _ in recs if conn.execute(one[shape], {"id": rid, **rule.params(viewer)}).first()}
            assert singly == allowed, viewer_id
            checked += 1
    assert checked > 40
