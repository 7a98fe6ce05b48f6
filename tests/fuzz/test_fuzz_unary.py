"""Every unary RPC of every service, called with hostile requests generated from its descriptor by a
valid caller (an active admin) against the running suite: never INTERNAL or UNKNOWN (nor a status too
big for its headers), and a call that is refused writes nothing in its service's database.

SHANGJI_FUZZ_EXAMPLES cases per RPC (30 by default: about 3,200 in ``make test``; ``make fuzz`` runs
200 per RPC, over 21,000). Shrinking is off: a failure shows the generated request as it was sent.
"""

from __future__ import annotations

import os

import grpc
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from shangji_kit.testing.requests import NEVER, requests, unary_methods

EXAMPLES = int(os.environ.get("SHANGJI_FUZZ_EXAMPLES", "30"))
METHODS = unary_methods()
TALLY: dict[str, int] = {}


@pytest.mark.parametrize("method", METHODS, ids=str)
def test_no_input_is_internal_and_a_refused_call_writes_nothing(world, counts, method):
    strategy = requests(method.descriptor.input_type, world.records)

    @settings(max_examples=EXAMPLES, deadline=None, phases=[Phase.explicit, Phase.generate], database=None,
              suppress_health_check=list(HealthCheck))
    @given(data=st.data())
    def run(data):
        request = data.draw(strategy, label="request")
        before = counts[method.service]()
        try:
            method.call(world.channels[method.service], request, world.admin)
            TALLY["OK"] = TALLY.get("OK", 0) + 1
            return
        except grpc.RpcError as exc:
            code = exc.code()
            TALLY[code.name] = TALLY.get(code.name, 0) + 1
            assert code not in NEVER, f"{method}: {code.name} {exc.details()[:300]}"
        after = counts[method.service]()
        grown = {t: (before.get(t), n) for t, n in after.items() if n != before.get(t)}
        assert not grown, f"{method} refused with {code.name} but wrote {grown}"

    run()


def test_zz_tally(world):
    """Not a check: the figures of this run (pytest -s shows them)."""
    print(f"\nfuzz: {sum(TALLY.values())} calls over {len(METHODS)} unary RPCs: {dict(sorted(TALLY.items()))}")
