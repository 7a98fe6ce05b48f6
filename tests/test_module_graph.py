"""The module graph of every service (issue 10): no import cycles, adapters never import the service layer,
the domain imports no adapter, entrypoint, sqlalchemy, grpc or generated proto.

Read from the source (``ast``), so imports under ``if TYPE_CHECKING`` and inside functions count: a
cycle patched that way is still a cycle. ``ALLOWED`` lists what services not yet restructured still
do; whoever restructures a service empties its entry (an entry that no longer occurs fails too, so
the list only shrinks).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("teams", "leads", "opportunities", "samples", "notify", "erp_bridge")
# Third-party and generated packages the domain must not import (it is plain Python, testable without I/O).
DOMAIN_FORBIDDEN_EXTERNAL = ("sqlalchemy", "grpc", "shangji.", "google.protobuf", "psycopg", "nameko", "kombu")

ALLOWED: dict[str, set[str]] = {
    "teams": set(),
    "leads": set(),
    "opportunities": set(),
    "samples": set(),
    "notify": set(),
    "erp_bridge": set(),
}


def _modules(service: str, root: Path) -> dict[str, Path]:
    package = root / "services" / service / service
    out = {}
    for path in sorted(package.rglob("*.py")):
        if "migrations" in path.relative_to(package).parts:
            continue  # frozen history; they import the kit only
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _imports(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Absolute names imported by ``name``: a service module when one exists, else the name as written."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                found.add(candidate if candidate in modules else base)
    return found


def _graph(service: str, root: Path) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """(edges between the service's own modules, every import of each module)."""
    modules = _modules(service, root)
    every = {name: _imports(name, path, modules) for name, path in modules.items()}
    internal = {name: {i for i in imps if i in modules and i != name} for name, imps in every.items()}
    return internal, every


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def _layer(service: str, module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def violations(service: str, root: Path = ROOT) -> set[str]:
    internal, every = _graph(service, root)
    found = {f"cycle: {' <-> '.join(c)}" for c in _cycles(internal)}
    for module, imports in every.items():
        layer = _layer(service, module)
        for target in imports:
            own = target == service or target.startswith(f"{service}.")
            if layer == "adapters" and own and _layer(service, target) == "service_layer":
                found.add(f"{module} imports {target}")
            if layer == "domain":
                if own and _layer(service, target) in ("adapters", "entrypoints"):
                    found.add(f"{module} imports {target}")
                if not own and any(target == p.rstrip(".") or target.startswith(p if p.endswith(".") else p + ".")
                                   for p in DOMAIN_FORBIDDEN_EXTERNAL):
                    found.add(f"{module} imports {target}")
    return found


@pytest.mark.parametrize("service", SERVICES)
def test_the_module_graph_has_no_cycles_and_the_layers_point_inwards(service):
    found = violations(service)
    assert found - ALLOWED[service] == set(), "new violations"
    assert ALLOWED[service] - found == set(), "fixed: remove these from ALLOWED"


def test_the_checker_sees_a_cycle_an_adapter_reaching_up_and_a_domain_reaching_out(tmp_path):
    package = tmp_path / "services" / "svc" / "svc"
    files = {
        "__init__.py": "",
        "domain/__init__.py": "",
        "domain/model.py": "import sqlalchemy as sa\nfrom svc.adapters import orm\n",
        "adapters/__init__.py": "",
        "adapters/orm.py": "",
        "adapters/protomap.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                "    from svc.service_layer import uow\n",
        "service_layer/__init__.py": "",
        "service_layer/uow.py": "from svc.adapters import protomap\n",
        "service_layer/clean.py": "from . import uow\n",
    }
    for name, text in files.items():
        (package / name).parent.mkdir(parents=True, exist_ok=True)
        (package / name).write_text(text)
    assert violations("svc", tmp_path) == {
        "cycle: svc.adapters.protomap <-> svc.service_layer.uow",
        "svc.adapters.protomap imports svc.service_layer.uow",
        "svc.domain.model imports sqlalchemy",
        "svc.domain.model imports svc.adapters.orm",
    }
