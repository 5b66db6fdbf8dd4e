"""Guards the direction of imports (docs/architecture.md): actions → retrieval, ledger; bot → ledger,
retrieval; retrieval and ledger import neither each other nor actions/bot; only ledger imports web3."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from scripts.stack import ROOT

FORBIDDEN = {
    "retrieval": {"actions", "bot", "ledger"},
    "ledger": {"actions", "bot", "retrieval"},
    "actions": {"bot"},
    "bot": {"actions"},
}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def python_files(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_flow_one_way(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_roots(path) & FORBIDDEN[package])
        for path in python_files(package)
    }
    offenders = {path: names for path, names in offenders.items() if names}
    assert offenders == {}, f"{package} must not import {sorted(FORBIDDEN[package])}: {offenders}"


def test_only_ledger_imports_web3() -> None:
    outside = [
        str(path.relative_to(ROOT))
        for package in ("actions", "retrieval", "bot", "scripts")
        for path in python_files(package)
        if {"web3", "eth_tester", "eth_account"} & imported_roots(path)
    ]
    assert outside == []


def test_guard_sees_imports() -> None:
    """The guard itself works: it finds the imports of a file that has them."""
    assert {"ast", "pytest", "scripts"} <= imported_roots(Path(__file__))


# --- one composition root per process (issue 11, slice ROOT) ----------------------------------------------------
# actions/store/ is left out: it moves to the shop backend package (slice SHOP) and is guarded there.
COMPOSITION_ROOT = {"actions/services.py"}  # holds the one configured Services
SETTINGS_READERS = {
    "actions/settings.py",
    "actions/server.py",
    "ledger/settings.py",
}  # + the ledger CLIs' main()


def _own_modules(package: str) -> list[Path]:
    return [p for p in python_files(package) if "store" not in p.relative_to(ROOT / package).parts[:1]]


def hidden_state(source: str) -> list[str]:
    """What makes a module a hidden singleton: ``global`` rebinding, ``lru_cache``/``cache`` on a function."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Global):
            found.append(f"line {node.lineno}: global {', '.join(node.names)}")
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for decorator in node.decorator_list:
                target = decorator.func if isinstance(decorator, ast.Call) else decorator
                name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
                if name in {"lru_cache", "cache"}:
                    found.append(f"line {node.lineno}: @{name} {node.name}")
    return found


@pytest.mark.parametrize("package", ["actions", "ledger"])
def test_no_module_singletons_outside_the_composition_root(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): hidden_state(path.read_text())
        for path in _own_modules(package)
        if str(path.relative_to(ROOT)) not in COMPOSITION_ROOT
    }
    offenders = {path: found for path, found in offenders.items() if found}
    assert offenders == {}, f"build it in actions/services.py (Services.from_settings) instead: {offenders}"


def environment_reads(source: str) -> list[str]:
    """``os.environ`` / ``getenv`` anywhere, and ``*.from_env()`` / ``get_settings()`` outside a ``main``."""
    found = []

    def visit(node: ast.AST, function: str) -> None:
        for child in ast.iter_child_nodes(node):
            inside = child.name if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef) else function
            if isinstance(child, ast.Attribute) and child.attr in {"environ", "getenv"}:
                found.append(f"line {child.lineno}: os.{child.attr}")
            elif isinstance(child, ast.Attribute) and child.attr == "from_env" and function != "main":
                found.append(f"line {child.lineno}: from_env in {function or 'module'}")
            elif isinstance(child, ast.Name) and child.id == "get_settings" and function != "main":
                found.append(f"line {child.lineno}: get_settings in {function or 'module'}")
            visit(child, inside)

    visit(ast.parse(source), "")
    return found


def test_the_environment_is_read_only_by_settings_at_start() -> None:
    """No action reads ``os.environ`` or builds settings lazily: ``actions.server`` does it once, at start."""
    offenders = {
        str(path.relative_to(ROOT)): environment_reads(path.read_text())
        for package in ("actions", "ledger")
        for path in _own_modules(package)
        if str(path.relative_to(ROOT)) not in SETTINGS_READERS
    }
    assert {path: found for path, found in offenders.items() if found} == {}


def test_guard_sees_hidden_state() -> None:
    source = "import functools\n_x = None\n@functools.lru_cache(maxsize=1)\ndef f():\n    global _x\n"
    assert hidden_state(source) == ["line 4: @lru_cache f", "line 5: global _x"]
    source = (
        "import os\ndef main():\n    S.from_env()\ndef later():\n    os.environ.get('X')\n    S.from_env()\n"
    )
    assert environment_reads(source) == ["line 5: os.environ", "line 6: from_env in later"]
