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


# --- shopper text lives in the domain (docs/architecture.md, "Where shopper text lives") -------------------
def written_in_python(node: ast.AST) -> bool:
    """A string literal with letters, an f-string, or one of them concatenated, formatted or chosen."""
    import re

    if isinstance(node, ast.JoinedStr):
        return True
    if isinstance(node, ast.Constant):
        return isinstance(node.value, str) and re.search(r"[A-Za-z]", node.value) is not None
    if isinstance(node, ast.BinOp):
        return written_in_python(node.left) or written_in_python(node.right)
    if isinstance(node, ast.IfExp):
        return written_in_python(node.body) or written_in_python(node.orelse)
    if isinstance(node, ast.BoolOp):
        return any(written_in_python(value) for value in node.values)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
        return written_in_python(node.func.value)  # "Hello {name}".format(...)
    return False


def literal_texts(tree: ast.AST) -> list[int]:
    """Lines of ``utter_message(text=...)`` calls whose text is written in Python (a ``"\\n".join(...)`` of
    parts rendered elsewhere, or a knowledge-base answer, is fine)."""
    return sorted(
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and getattr(node.func, "attr", None) == "utter_message"
        and any(k.arg == "text" and written_in_python(k.value) for k in node.keywords)
    )


def literal_titles(tree: ast.AST) -> list[int]:
    """Lines of button titles written in Python: ``{"title": "Yes"}`` or ``button("Yes", ...)``."""
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            lines += [
                node.lineno
                for key, value in zip(node.keys, node.values, strict=True)
                if isinstance(key, ast.Constant) and key.value == "title" and written_in_python(value)
            ]
        elif isinstance(node, ast.Call) and node.args:
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name == "button" and written_in_python(node.args[0]):
                lines.append(node.lineno)
    return sorted(lines)


def response_names(tree: ast.AST) -> set[str]:
    """Every ``utter_...`` string an action module names (``response="utter_x"``, tables of them, the
    headings it renders); a heading rendered through ``heading()`` also needs its ``_filtered`` twin."""
    import re

    response_name = re.compile(r"utter_[a-z0-9_]+")
    names = {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and response_name.fullmatch(node.value)
    }
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "heading":
            names |= {
                f"{a.value}_filtered" for a in node.args if isinstance(a, ast.Constant) and a.value in names
            }
    return names


def domain_responses() -> set[str]:
    import yaml

    names: set[str] = set()
    for path in sorted((ROOT / "domain").glob("*.yml")):
        names |= set((yaml.safe_load(path.read_text()) or {}).get("responses") or {})
    return names


def test_actions_write_no_shopper_sentences() -> None:
    """No ``utter_message(text=...)`` and no button title written in Python in actions/ (messages.py holds
    the templates for wording built from data)."""
    offenders = {}
    for path in python_files("actions"):
        tree = ast.parse(path.read_text(), filename=str(path))
        if lines := literal_texts(tree) + literal_titles(tree):
            offenders[str(path.relative_to(ROOT))] = lines
    assert offenders == {}, (
        f"shopper text belongs in domain/*.yml responses (or actions/messages.py): {offenders}"
    )


def test_every_response_an_action_names_is_in_the_domain() -> None:
    declared = domain_responses()
    missing = {
        str(path.relative_to(ROOT)): sorted(names - declared)
        for path in python_files("actions")
        if (names := response_names(ast.parse(path.read_text(), filename=str(path)))) - declared
    }
    assert missing == {}, f"responses named in actions/ but not declared in domain/*.yml: {missing}"


def test_text_guards_see_what_they_guard() -> None:
    """The two guards above fail on code that breaks the rule."""
    source = (
        'dispatcher.utter_message(text="Sorry, no.")\n'
        'dispatcher.utter_message(text=f"Hi {name}")\n'
        "dispatcher.utter_message(text=answer)\n"
        'dispatcher.utter_message(text="\\n".join(lines))\n'
        'dispatcher.utter_message(text=entry["answer"])\n'
        'dispatcher.utter_message(text="Sorry, " + reason)\n'
        'dispatcher.utter_message(text="Hi {x}".format(x=name))\n'
        'dispatcher.utter_message(response="utter_nowhere_to_be_found")\n'
        'heading(domain, tracker, "utter_products_found", filters)\n'
    )
    tree = ast.parse(source)
    assert literal_texts(tree) == [1, 2, 6, 7]
    titles = ast.parse(
        'button("Yes, please", "/affirm")\n'
        'messages.button(messages.TALK_TO_PERSON, "/contact_human_agent")\n'
        '{"title": f"More like {name}", "payload": "/recommend_items"}\n'
        '{"title": record["title"], "payload": "/product_question"}\n'
    )
    assert literal_titles(titles) == [1, 3]
    names = response_names(tree)
    assert {"utter_nowhere_to_be_found", "utter_products_found_filtered"} <= names
    assert "utter_nowhere_to_be_found" not in domain_responses()
