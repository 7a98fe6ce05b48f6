"""The use cases reach storage only through the unit of work's interfaces: no module of the service layer imports an
adapter or an entrypoint (``tests/test_module_graph.py`` checks the other directions for every service)."""

import ast
from pathlib import Path

import opportunities

PACKAGE = Path(opportunities.__file__).parent
OUTER = ("opportunities.adapters", "opportunities.entrypoints", "opportunities.bootstrap")


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def test_no_service_layer_module_imports_an_adapter_an_entrypoint_or_the_wiring():
    reaching_out = {f"{path.name} imports {name}" for path in sorted((PACKAGE / "service_layer").glob("*.py"))
                    for name in _imports(path) if name.startswith(OUTER)}
    assert reaching_out == set()
