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
