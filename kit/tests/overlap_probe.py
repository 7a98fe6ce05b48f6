"""Run as a worker process would start: 10 concurrent pg_sleep(0.5) through the service engine.

Prints the wall time. With the wait fix the queries overlap (~0.5 s); with psycopg's C wait loop
they run one after another (~5 s) because the loop blocks the eventlet hub.
"""

import eventlet

eventlet.monkey_patch()

import sys  # noqa: E402
import time  # noqa: E402

import sqlalchemy as sa  # noqa: E402

from shangji_kit import db  # noqa: E402
from shangji_kit.worker import apply_psycopg_wait_fix, assert_psycopg_wait_fix  # noqa: E402

if sys.argv[2] == "fixed":
    apply_psycopg_wait_fix()
    assert_psycopg_wait_fix()
engine = db.engine(sys.argv[1], pool_size=10)


def sleep_in_db() -> None:
    with engine.connect() as conn:
        conn.execute(sa.text("SELECT pg_sleep(0.5)"))


sleep_in_db()  # warm one connection so the figure is about the queries
pool = eventlet.GreenPool(10)
started = time.perf_counter()
for _ in range(10):
    pool.spawn(sleep_in_db)
pool.waitall()
print(f"{time.perf_counter() - started:.3f}")
