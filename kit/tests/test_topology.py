"""deploy/rabbitmq/topology.yaml names exactly the queues the workers' handlers consume."""

import importlib
from pathlib import Path

from nameko.events import EventHandler

from shangji_kit import topology
from shangji_kit.testing.processes import WORKER_CLASSES

ROOT = Path(__file__).resolve().parents[2]


def declared_handlers() -> set[tuple[str, str, str, str]]:
    found = set()
    for service, target in WORKER_CLASSES.items():
        module, _, cls_name = target.partition(":")
        cls = getattr(importlib.import_module(module), cls_name)
        for attr in dir(cls):
            for ext in getattr(getattr(cls, attr), "nameko_entrypoints", ()):
                if isinstance(ext, EventHandler):
                    found.add((ext.source_service, ext.event_type, service, attr))
    return found


def test_topology_file_matches_the_workers():
    topo = topology.load(ROOT / "deploy" / "rabbitmq" / "topology.yaml")
    in_file = {(s.source, s.event_type, s.service, s.method) for s in topo.subscriptions}
    assert in_file == declared_handlers()
    assert set(topo.exchanges) == set(WORKER_CLASSES)
