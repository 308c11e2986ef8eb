"""The report's modules import each other without a cycle, and each imports cleanly on its own."""
from __future__ import annotations

import ast
import importlib
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

from tests.conftest import ROOT

PACKAGE = ROOT / "reports"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def imports(path: Path) -> set[str]:
    """The modules of `reports` that `path` imports at its top level or in a function."""
    found = set()
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rsplit(".", 1)[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from . import x
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            found.add(base)
            # "from reports import page" imports the module reports.page
            found |= {f"{base}.{alias.name}" for alias in node.names}
    return {name for name in found if name in MODULES}


def test_every_module_imports():
    for name in MODULES:
        importlib.import_module(name)


def test_the_import_graph_has_no_cycle():
    # a package's __init__ is imported before any of its modules: an edge from each module to its package
    graph = {name: imports(path) - {name} for name, path in MODULES.items()}
    try:
        order = list(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        pytest.fail(f"reports/ modules import each other in a cycle: {exc.args[1]}")
    assert set(order) == set(MODULES)


def test_the_cycle_check_sees_a_cycle():
    with pytest.raises(CycleError):
        list(TopologicalSorter({"a": {"b"}, "b": {"a"}}).static_order())


def test_errors_have_their_own_module():
    from reports import errors, warehouse
    assert warehouse.ReportError is errors.ReportError
    assert imports(MODULES["reports.errors"]) == set()
    assert not (PACKAGE / "store_check.py").exists()
