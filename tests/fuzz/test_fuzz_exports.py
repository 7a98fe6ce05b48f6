"""Every export RPC (server streaming, so outside ``test_fuzz_unary``), called with hostile requests generated from
its descriptor by a valid caller (an active admin) against the running suite: never INTERNAL or UNKNOWN, a refusal
comes before the first chunk, and nothing is written either way (an export only reads).

SHANGJI_FUZZ_EXAMPLES cases per RPC, as for the unary fuzz.
"""

from __future__ import annotations

import os

import grpc
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from shangji_kit.testing.requests import NEVER, export_methods, requests

EXAMPLES = int(os.environ.get("SHANGJI_FUZZ_EXAMPLES", "30"))
METHODS = export_methods()


def test_every_export_is_fuzzed():
    assert sorted(str(m) for m in METHODS) == [
        "leads.ExportCustomers", "leads.ExportLeads", "opportunities.ExportOpportunities",
        "opportunities.ExportTasks", "samples.ExportSampleRequests"]


@pytest.mark.parametrize("method", METHODS, ids=str)
def test_no_input_is_internal_and_an_export_writes_nothing(world, counts, method):
    strategy = requests(method.descriptor.input_type, world.records)

    @settings(max_examples=EXAMPLES, deadline=None, phases=[Phase.explicit, Phase.generate], database=None,
              suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def run(data):
        request = data.draw(strategy, label="request")
        before = counts[method.service]()
        chunks = []
        try:
            chunks.extend(method.stream(world.channels[method.service], request, world.admin))
            assert chunks[0].content_type and chunks[0].file_name, f"{method}: {chunks[0]}"
        except grpc.RpcError as exc:
            assert exc.code() not in NEVER, f"{method}: {exc.code().name} {exc.details()[:300]}"
            assert not chunks, f"{method}: refused with {exc.code().name} after {len(chunks)} chunks"
        after = counts[method.service]()
        grown = {t: (before.get(t), n) for t, n in after.items() if n != before.get(t)}
        assert not grown, f"{method} wrote {grown}"

    run()
