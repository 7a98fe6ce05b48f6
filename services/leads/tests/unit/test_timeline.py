"""The customer 360's merge (``domain/timeline.py``), without I/O: pages built from each source's page after the
same cursor join into the whole timeline, newest first, with no item twice and none missing, whatever the page size
and however many items share a time; a source left out is named."""

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from leads.domain import timeline
from leads.domain.timeline import SourcePage
from shangji_kit import timeline_token
from shangji_kit.timeline_token import Item

BASE = datetime(2026, 12, 1, tzinfo=UTC)
SOURCES = ("leads", "opportunities", "samples")


def _item(source: str, n: int, second: int) -> Item:
    return Item(source=source, kind="k", resource=f"r/{n}", title="", summary="", actor="",
                event_time=BASE + timedelta(seconds=second))


def _page_of(items: list[Item], source: str, token: str, size: int) -> SourcePage:
    """What a source answers: its items after the token's cursor, in the kit's order, ``size`` at most."""
    cursor = timeline_token.decode(token)
    ordered = timeline_token.newest_first(i for i in items if i.source == source)
    after = [i for i in ordered if cursor is None or i.event_time < cursor.time
             or (i.event_time == cursor.time and i.key > cursor.key)]
    return SourcePage(source, after[:size], len(after) > size)


@given(st.lists(st.tuples(st.sampled_from(SOURCES), st.integers(0, 4)), max_size=40), st.integers(1, 7))
def test_pages_join_into_the_whole_timeline(rows, size):
    items = [_item(source, n, second) for n, (source, second) in enumerate(rows)]
    whole = timeline_token.newest_first(items)
    shown, token = [], ""
    for _ in range(len(items) + 1):
        page = timeline.merge([_page_of(items, s, token, size) for s in SOURCES], size, [])
        assert len(page.items) <= size
        shown.extend(page.items)
        token = page.next_page_token
        if not token:
            break
    assert shown == whole


def test_a_source_that_did_not_answer_is_named_and_the_others_are_merged():
    mine = [_item("leads", 1, 3), _item("leads", 2, 1)]
    deals = [_item("opportunities", 3, 2)]
    page = timeline.merge([SourcePage("leads", mine, False), SourcePage("opportunities", deals, False)], 50,
                          ["samples"])
    assert [(i.source, i.resource) for i in page.items] == [("leads", "r/1"), ("opportunities", "r/3"),
                                                            ("leads", "r/2")]
    assert (page.unavailable_sources, page.next_page_token) == (["samples"], "")


def test_a_source_with_more_after_its_page_keeps_the_timeline_open():
    page = timeline.merge([SourcePage("samples", [_item("samples", 1, 1)], True)], 5, [])
    assert timeline_token.decode(page.next_page_token) == timeline_token.Cursor(BASE + timedelta(seconds=1),
                                                                                "samples/k/r/1")
