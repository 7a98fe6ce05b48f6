"""The set-based import writes what the row-by-row import (the reference) writes, on random data: the same
leads (fields, duplicates flagged, scores, owners), the same merges, the same reps' round-robin memory and the
same events, on two databases cloned from the leads template and filled alike."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from psycopg.types.json import Jsonb

from leads.adapters import event_encoder
from leads.adapters.unit_of_work import SqlLeadsUnitOfWork
from leads.domain.dedupe import company_key, region_key
from leads.service_layer import lead_import
from shangji_kit import db, migrate, settings
from shangji_kit.testing import databases

NOW = datetime(2026, 12, 5, 8, 0, 0, 123000, tzinfo=UTC)
REGIONS = ["北京", "上海", "广东", "", " 广东 "]
INDUSTRIES = ["制造", "能源", "软件", ""]
TITLES = ["采购经理", "总经理", "IT 总监", "", "工程师"]
SUFFIXES = ["有限公司", " Co., Ltd.", "股份有限公司", "", " Inc", " limited"]
COLUMNS = ["company", "contact_name", "phone", "email", "region", "source", "industry", "contact_title",
           "company_size"]
RULES = [{"field": "industry", "values": ["制造", "能源"], "points": 20},
         {"field": "title", "values": ["经理", "总监"], "points": 15},
         {"field": "region", "values": ["广东"], "points": 10},
         {"field": "source", "values": ["Trade Fair"], "points": 5},
         # A part of 0 points is kept on the lead and left out of its JSON.
         {"field": "company_size", "values": ["200-999"], "points": 0}]


def _phone(rnd: random.Random) -> str:
    return f"139{rnd.randrange(400):08d}"  # few numbers: many collisions


def _ids(seed: int):
    rnd = random.Random(f"ids {seed}")  # not the sequence _fill draws the existing leads' ids from
    return lambda: str(uuid.UUID(int=rnd.getrandbits(128), version=4))


def _fill(url: str, seed: int, mode: str) -> dict:
    """The same existing leads, reps and settings in either database."""
    rnd = random.Random(seed)
    reps = [str(uuid.UUID(int=rnd.getrandbits(128), version=4)) for _ in range(6)]
    campaign = str(uuid.UUID(int=rnd.getrandbits(128), version=4))
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.begin() as conn:
        raw = conn.connection.driver_connection
        with raw.cursor() as cur:
            for i in range(300):
                company = f"企业{rnd.randrange(120)}{rnd.choice(SUFFIXES)}"
                region = rnd.choice(REGIONS).strip()
                owner = rnd.choice(reps + [None, None])
                # Equal creation times now and then: the id decides among them.
                created = NOW - timedelta(days=rnd.randrange(1, 4))
                phone = "+86" + _phone(rnd) if rnd.random() < 0.7 else ""
                email = f"c{rnd.randrange(300)}@example.com" if rnd.random() < 0.6 or not phone else ""
                cur.execute(
                    "INSERT INTO leads (id, company, contact_name, phone, email, region, source, owner_id, state, "
                    "version, create_time, update_time, industry, hold_time, company_key, region_key) VALUES "
                    "(%s, %s, %s, %s, %s, %s, %s, %s, %s, 1, %s, %s, %s, %s, %s, %s)",
                    (str(uuid.UUID(int=rnd.getrandbits(128), version=4)), company, f"旧联系人{i}", phone, email, region,
                     rnd.choice(["", "legacy"]), owner, "CONVERTED" if rnd.random() < 0.15 else "OPEN", created,
                     created, rnd.choice(INDUSTRIES), created if owner else None, company_key(company),
                     region_key(region)))
            for i, rep in enumerate(reps):
                cur.execute("INSERT INTO org_users (user_id, roles, active, update_time) VALUES (%s, %s, %s, %s)",
                            (rep, ["sales_rep"], i != 5, NOW))
                cur.execute("INSERT INTO reps (user_id, territories, expertise, capacity, update_time, "
                            "last_assigned_time, away) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                            (rep, [REGIONS[i % 3]], [INDUSTRIES[i % 3]] if i % 2 else [], rnd.choice([0, 30, 60]),
                             NOW, NOW - timedelta(hours=i) if i % 3 else None, i == 4))
            cur.execute("INSERT INTO campaigns (id, display_name, channel, cost, currency, version, create_time, "
                        "update_time) VALUES (%s, 'fair', 'Trade Fair', 0, 'CNY', 1, %s, %s)", (campaign, NOW, NOW))
            cur.execute("UPDATE pool_settings SET dedupe_mode = %s, scoring_rules = %s, mql_threshold = 20, "
                        "sql_threshold = 35", (mode, Jsonb(RULES)))
    engine.dispose()
    return {"campaign": campaign}


def _file(seed: int, rows: int) -> list[tuple[int, list[str]]]:
    rnd = random.Random(seed)
    body = []
    for n in range(rows):
        phone = _phone(rnd)
        spaced = rnd.choice([phone, f"{phone[:3]} {phone[3:7]} {phone[7:]}", f"+86-{phone}", "", "12345"])
        email = rnd.choice([f"c{rnd.randrange(300)}@Example.com", f"n{rnd.randrange(200)}@example.com", "", "bad@"])
        company = rnd.choice([f"企业{rnd.randrange(150)}{rnd.choice(SUFFIXES)}",
                              f"ＡＣＭＥ {rnd.randrange(20)} LIMITED", "", "x" * 201])
        values = [company, rnd.choice([f"联系人{n}", "", "  "]), spaced, email, rnd.choice(REGIONS),
                  rnd.choice(["", "web", " trade fair "]), rnd.choice(INDUSTRIES), rnd.choice(TITLES),
                  rnd.choice(["", "200-999"])]
        body.append((n + 2, [""] * len(COLUMNS) if rnd.random() < 0.02 else values))
    return body


def _state(url: str) -> dict:
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        def rows(sql: str) -> list:
            return [tuple(r) for r in conn.execute(sa.text(sql))]

        state = {
            "leads": rows("SELECT * FROM leads ORDER BY id"),
            "merges": sorted(rows("SELECT lead_id, request_id, matched_on, filled, incoming::text, merged_by, "
                                  "create_time FROM lead_merges"), key=repr),
            "reps": rows("SELECT * FROM reps ORDER BY user_id"),
            "touches": rows("SELECT * FROM lead_touches ORDER BY 1, 2"),
            # Each lead's assignment history (born held, or given out by the rules), ids aside.
            "assignments": sorted(rows("SELECT lead_id, previous_owner_id, new_owner_id, actor_id, kind, reason, "
                                       "rules::text, change_time FROM lead_assignments"), key=repr),
            "events": sorted((t, s, json.dumps(d, sort_keys=True, ensure_ascii=False), schema, cid, tp)
                             for t, s, d, schema, cid, tp in rows(
                                 "SELECT type, subject, data, dataschema, correlation_id, traceparent FROM outbox")),
            # Events about one lead keep their order.
            "order": rows("SELECT subject, array_agg(type ORDER BY position) FROM outbox GROUP BY subject "
                          "ORDER BY subject"),
        }
    engine.dispose()
    return state


@pytest.fixture
def twin_databases(shangji_env):
    names = [f"{settings.database_name('leads')}_{side}" for side in ("rows", "sets")]
    urls = [databases.create_from_template("leads", name) for name in names]
    yield urls
    db.dispose_all()
    for name in names:
        migrate.drop_database(name)


def _import(url: str, body, *, by_sets: bool, seed: int, **header) -> lead_import.importing.ImportReport:
    # Times with 0, 3 and 6 fractional digits are written differently in JSON: whole seconds now and then.
    now = NOW if seed % 2 else NOW.replace(microsecond=0)
    uow = SqlLeadsUnitOfWork(db.connection_factory(url, pool_size=1), event_encoder.encode,
                             event_encoder.outbox_rows)
    cmd = lead_import.ImportLeads(columns=COLUMNS, rows=body, file_name="random.csv", **header)
    return lead_import.import_leads(cmd, None, uow, now=now, new_id=_ids(seed), by_sets=by_sets)


@pytest.mark.parametrize(("seed", "mode", "assign"), [(1, "flag", True), (2, "flag", False), (3, "merge", True),
                                                      (4, "merge", False), (5, "flag", True), (6, "merge", True)])
def test_the_set_based_import_writes_what_the_row_by_row_import_writes(twin_databases, seed, mode, assign):
    body = _file(seed, 500)
    reports = []
    for url, by_sets in zip(twin_databases, (False, True), strict=True):
        header = _fill(url, seed, mode)
        header = {"to_pool": True, "auto_assign": assign, "campaign": f"campaigns/{header['campaign']}"
                  if seed % 2 else ""}
        # Part of the file first, then the whole file, then the part again (every row already imported).
        first = _import(url, body[:120], by_sets=by_sets, seed=seed, **header)
        whole = _import(url, body, by_sets=by_sets, seed=seed + 100, **header)
        again = _import(url, body[:120], by_sets=by_sets, seed=seed + 200, **header)
        reports.append((first, whole, again))
    assert reports[0] == reports[1]
    _, rows_again, third = reports[0]
    assert third.already_imported == reports[0][0].accepted + reports[0][0].merged > 0 and not third.accepted
    assert rows_again.accepted > 0 and rows_again.rejections
    assert (rows_again.flagged > 0) if mode == "flag" else (rows_again.merged > 0)
    if assign:
        assert rows_again.assigned > 0
    by_rows, by_sets = (_state(url) for url in twin_databases)
    if mode == "merge":
        assert any(filled for _, _, _, filled, *_ in by_rows["merges"])  # existing leads were filled and saved
    if assign:
        assert any(kind == "auto_assign" for _, _, _, _, kind, *_ in by_rows["assignments"])
    for part in by_rows:
        assert by_rows[part] == by_sets[part], part
