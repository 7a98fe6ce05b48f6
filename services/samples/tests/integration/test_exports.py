"""ExportSampleRequests (README, "Exports") through the API on the real database: the file parsed back holds the
requests ListSampleRequests gives for the same opportunity, filter and order, one row per line, as a manager and
as a rep, and never a request the caller may not see."""

from datetime import UTC
from decimal import Decimal

import grpc
import pytest

from samples.entrypoints import cli
from shangji.samples.v1 import samples_pb2 as pb
from shangji_kit import export
from shangji_kit.rpc.status import details_of
from shangji_kit.testing.exports import read_export, read_saved, shown_time, xlsx_same_time


@pytest.fixture(autouse=True)
def small_batches(monkeypatch):
    """Batches of two requests and small chunks, so a few requests cross several keyset batches and chunks."""
    monkeypatch.setattr(export, "BATCH_ROWS", 2)
    monkeypatch.setattr(export, "CHUNK_BYTES", 300)


def listed(world, user: str, **fields) -> list[pb.SampleRequest]:
    items, token = [], ""
    while True:
        resp = world.sam(user).ListSampleRequests(pb.ListSampleRequestsRequest(page_size=2, page_token=token,
                                                                               **fields))
        items += list(resp.sample_requests)
        token = resp.next_page_token
        if not token:
            return items


def line_rows(requests: list[pb.SampleRequest]) -> list[tuple[str, str, str]]:
    return [(r.name, line.product, str(line.quantity)) for r in requests for line in r.lines]


@pytest.fixture
def made(world):
    deal = world.deal()
    mixed = world.create(deal, ("PUMP", 2), ("VALVE", 1), purpose="注塑机试用，含阀门", recipient_name="王工")
    pump = world.create(deal, ("PUMP", 1), purpose="=HYPERLINK(\"http://x\")", recipient_name="John Smith")
    other = world.create(None, ("VALVE", 3), purpose="其他商机")
    theirs = world.create(None, ("PUMP", 5), as_user=world.peer, purpose="peer's")
    return {"deal": deal.name, "mixed": mixed, "pump": pump, "other": other, "theirs": theirs}


def test_the_csv_holds_a_row_per_line_of_every_request_the_list_shows(world, made):
    for user, fields in ((world.rep, {}), (world.manager, {}), (world.rep, {"opportunity": made["deal"]}),
                         (world.manager, {"order_by": "estimated_cost desc"}),
                         (world.rep, {"filter": "kind = STANDARD", "order_by": "create_time"})):
        expected = listed(world, user, **fields)
        got = read_export(world.sam(user).ExportSampleRequests(pb.ExportSampleRequestsRequest(**fields)))
        assert [(r["Sample request"], r["Product"], r["Quantity"]) for r in got.records()] == line_rows(expected)
        assert got.first.total_rows == len(got.rows) == sum(len(r.lines) for r in expected)
        assert got.first.content_type == "text/csv" and got.first.file_name.startswith("sample-requests-")
        assert got.chunks[-1].rows_written == len(got.rows)
        for row in got.records():
            request = next(r for r in expected if r.name == row["Sample request"])
            assert row["Estimated cost"] == request.estimated_cost and row["Opportunity"] == request.opportunity
            assert row["Created"] == shown_time(request.create_time.ToDatetime(tzinfo=UTC))
    rep_rows = read_export(world.sam(world.rep).ExportSampleRequests(pb.ExportSampleRequestsRequest()))
    assert made["theirs"].name not in rep_rows.column("Sample request")  # a peer's request is hidden from a rep
    manager_rows = read_export(world.sam(world.manager).ExportSampleRequests(pb.ExportSampleRequestsRequest()))
    assert made["theirs"].name in manager_rows.column("Sample request")


def test_chinese_text_and_the_guard_in_csv_and_xlsx(world, made):
    request = pb.ExportSampleRequestsRequest(opportunity=made["deal"], order_by="create_time")
    csv_file = read_export(world.sam(world.rep).ExportSampleRequests(request))
    assert csv_file.column("Purpose") == ["注塑机试用，含阀门"] * 2 + ["'=HYPERLINK(\"http://x\")"]
    assert csv_file.column("Recipient") == ["王工", "王工", "John Smith"]
    request.format = pb.EXPORT_FORMAT_XLSX
    xlsx = read_export(world.sam(world.rep).ExportSampleRequests(request))
    assert xlsx.first.file_name.endswith(".xlsx")
    assert xlsx.column("Purpose") == ["注塑机试用，含阀门"] * 2 + ["=HYPERLINK(\"http://x\")"]
    purpose = xlsx.header.index("Purpose")
    assert {types[purpose] for types in xlsx.cell_types} == {"s"}
    assert xlsx.column("Quantity") == [2, 1, 1] and xlsx.column("Unit cost") == [100, 1000, 100]
    assert xlsx.column("Estimated cost") == [float(Decimal(made["mixed"].estimated_cost))] * 2 + [100]
    assert xlsx_same_time(xlsx.rows[0][xlsx.header.index("Created")], made["mixed"].create_time.ToDatetime(tzinfo=UTC))


@pytest.mark.parametrize(("fields", "field"), [
    ({"filter": "colour = red"}, "filter"),
    ({"filter": "state = LOST"}, "filter"),
    ({"order_by": "purpose"}, "order_by"),
    ({"opportunity": "deals/1"}, "opportunity"),
    ({"opportunity": "opportunities/not-a-uuid"}, "opportunity"),
    ({"format": 5}, "format"),
])
def test_bad_input_is_refused_before_the_first_chunk(world, fields, field):
    chunks = []
    with pytest.raises(grpc.RpcError) as exc:
        chunks.extend(world.sam(world.rep).ExportSampleRequests(pb.ExportSampleRequestsRequest(**fields)))
    assert exc.value.code() == grpc.StatusCode.INVALID_ARGUMENT and chunks == []
    assert details_of(exc.value)["fields"] == [field]


def test_the_cli_saves_the_requests_with_a_progress_bar(world, made, front, token_for, tmp_path, capsys):
    assert cli.main(["export", "--opportunity", made["deal"], "--target", f"127.0.0.1:{front.bound_port}",
                     "--token", token_for(world.rep), "--format", "xlsx", "-o", str(tmp_path)]) == 0
    assert "[##############################] 3/3 rows" in capsys.readouterr().err
    (saved,) = tmp_path.iterdir()
    assert sorted(set(read_saved(saved).column("Sample request"))) == sorted([made["mixed"].name, made["pump"].name])
