"""Every method of every service's contract is served: a servicer that leaves one to the generated base class
answers UNIMPLEMENTED to a client that the proto promised an answer."""

from __future__ import annotations

import importlib
import inspect

import pytest

SERVICERS = [
    ("teams.entrypoints.grpc_api", "TeamsApi"),
    ("leads.entrypoints.grpc_api", "LeadsApi"),
    ("leads.entrypoints.reports_api", "LeadReportsApi"),
    ("opportunities.entrypoints.grpc_api", "OpportunitiesApi"),
    ("opportunities.entrypoints.reports_api", "OpportunityReportsApi"),
    ("samples.entrypoints.grpc_api", "SamplesApi"),
    ("notify.entrypoints.grpc_api", "NotifyApi"),
    ("erp_bridge.entrypoints.grpc_api", "ErpBridgeApi"),
]


@pytest.mark.parametrize(("module", "name"), SERVICERS, ids=[n for _, n in SERVICERS])
def test_every_rpc_of_the_contract_is_served(module, name):
    servicer = getattr(importlib.import_module(module), name)
    base = next(b for b in servicer.__mro__[1:] if b.__name__.endswith("Servicer"))
    promised = [m for m, _ in inspect.getmembers(base, inspect.isfunction) if not m.startswith("_")]
    assert promised, f"{base.__name__} declares no methods"
    missing = [m for m in promised if getattr(servicer, m) is getattr(base, m)]
    assert not missing, f"{name} leaves {missing} to the generated base (UNIMPLEMENTED)"
