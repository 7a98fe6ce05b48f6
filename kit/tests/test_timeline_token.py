"""The customer timeline's token and order (``timeline_token``), the same in every service: a token comes back as
the cursor it was made from, anything else is INVALID_ARGUMENT naming page_token, and the order is newest first
then key, as SQL's byte-wise comparison orders the same keys."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from shangji_kit import timeline_token
from shangji_kit.errors import InvalidArgument
from shangji_kit.settings import Settings
from shangji_kit.timeline_sql import sql_key
from shangji_kit.timeline_token import Cursor, Item, item_key


def test_a_token_comes_back_as_its_cursor_in_utc():
    cursor = Cursor(datetime(2026, 12, 5, 8, 30, 1, 123456, tzinfo=timezone(timedelta(hours=8))),
                    item_key("opportunities", "stage_changed", "opportunities/1"))
    back = timeline_token.decode(timeline_token.encode(cursor))
    assert back == cursor and back.time.tzinfo == UTC
    assert timeline_token.decode("") is None


@pytest.mark.parametrize("token", [
    "garbage", "%%%", "é", "dGx8", "a" * 2000,
    timeline_token.encode(Cursor(datetime(2026, 1, 1, tzinfo=UTC), "")),          # no key
    timeline_token.encode(Cursor(datetime(2026, 1, 1, tzinfo=UTC), "k\x00")),     # NUL: PostgreSQL refuses it
    timeline_token.encode(Cursor(datetime(2026, 1, 1, tzinfo=UTC), "k" * 401)),   # longer than any key
    timeline_token.encode(Cursor(datetime(2026, 1, 1), "k")),                     # no time zone
    timeline_token.encode(Cursor(datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=1))), "k")),  # before year 1
])
def test_anything_but_a_timeline_token_is_refused_naming_page_token(token):
    with pytest.raises(InvalidArgument) as exc:
        timeline_token.decode(token)
    assert [v.field for v in exc.value.violations] == ["page_token"]


KEYS = st.text(alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x9FFF, exclude_categories=("Cs",)),
               min_size=1, max_size=12)


@given(st.lists(st.tuples(st.integers(0, 3), KEYS), max_size=30))
def test_newest_first_then_key_as_sql_orders_it(rows):
    base = datetime(2026, 1, 1, tzinfo=UTC)
    items = [Item(source=k, kind="k", resource="r", title="", summary="", actor="",
                  event_time=base + timedelta(seconds=s)) for s, k in rows]
    ordered = timeline_token.newest_first(items)
    assert ordered == sorted(items, key=lambda i: (-i.event_time.timestamp(), i.key))


def test_the_database_orders_keys_as_python_does(shangji_env):
    keys = ["samples/erp_order/sampleRequests/b", "leads/follow_up/leads/a", "opportunities/activity/opportunities/Z",
            "opportunities/activity/opportunities/a", "leads/lead_created/leads/a", "样品/x", "Leads/x"]
    values = sa.values(sa.column("k", sa.Text), name="keys").data([(k,) for k in keys])
    engine = sa.create_engine(Settings.for_service("leads").database_url, poolclass=sa.pool.NullPool)
    with engine.connect() as conn:
        stmt = sa.select(values.c.k).order_by(sql_key("s", sa.literal(""), values.c.k))
        assert [r.k for r in conn.execute(stmt)] == sorted(keys)
    engine.dispose()
