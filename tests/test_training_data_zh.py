"""The Chinese NLU data (training_data/nlu/zh/) and conversation tests (tests/conversations/test_zh_*.yml).

Guards what a model run does not show: every English intent has Chinese examples, Chinese names map to the
values the actions and filters compare, entity annotations sit on MixedTokenizer's word boundaries (the
contract rule: jieba words inside Han runs, every other run one token), and each Chinese conversation test
is a twin of an English flow written apart from the training examples.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from actions.cart import parse_quantity
from actions.order_changes import normalize_country
from retrieval.filters import COLORS

ROOT = Path(__file__).resolve().parents[1]
NLU = ROOT / "training_data" / "nlu"
CONVERSATIONS = ROOT / "tests" / "conversations"
NOT_IN_ZH = {"non_english", "switch_language"}  # slice `lang`: training_data/nlu/language.yml
MIN_EXAMPLES = 30
# [text](entity) or [text]{"entity": …}
_ANNOTATION = re.compile(r"\[(?P<text>[^\]]+)\](?:\((?P<entity>[^)]+)\)|(?P<json>\{[^}]+\}))")
_HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
_SEPARATORS = set(" \t，。！？：；、“”‘’（）《》【】「」…—～·\u3000")
_EDGE_PUNCTUATION = "!?.,;:'\"()！？"


def _load(path: Path) -> dict[str, Any]:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def _examples(paths: list[Path]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in paths:
        for block in _load(path).get("nlu") or []:
            if "intent" in block:
                lines = [
                    line.strip()[2:]
                    for line in block["examples"].splitlines()
                    if line.strip().startswith("- ")
                ]
                found.setdefault(block["intent"], []).extend(lines)
    return found


def _plain(example: str) -> tuple[str, list[tuple[int, int, str]]]:
    """The text without markup and the (start, end, text) of each annotated entity."""
    text, spans, last = "", [], 0
    for match in _ANNOTATION.finditer(example):
        text += example[last : match.start()]
        spans.append((len(text), len(text) + len(match["text"]), match["text"]))
        text += match["text"]
        last = match.end()
    return text + example[last:], spans


def _boundaries(text: str) -> set[int]:
    """Token starts and ends under the contract rule (jieba inside Han runs, other runs whole)."""
    import jieba
    import zhconv

    cuts: set[int] = set()
    for run in _HAN.finditer(text):
        simplified = zhconv.convert(run.group(), "zh-hans")
        if len(simplified) != len(run.group()):
            simplified = run.group()
        for _, start, end in jieba.tokenize(simplified):
            cuts.update((run.start() + start, run.start() + end))
    other = re.finditer(r"[^\u3400-\u9fff\uf900-\ufaff" + re.escape("".join(_SEPARATORS)) + r"]+", text)
    for run in other:
        word = run.group()
        start = run.start() + len(word) - len(word.lstrip(_EDGE_PUNCTUATION))
        end = run.end() - (len(word) - len(word.rstrip(_EDGE_PUNCTUATION)))
        cuts.update((start, end, run.start(), run.end()))
    return cuts


ENGLISH = _examples(sorted(NLU.glob("*.yml")))
CHINESE = _examples(sorted((NLU / "zh").glob("*.yml")))
ZH_TESTS = sorted(CONVERSATIONS.glob("test_zh_*.yml"))


def test_every_english_intent_has_chinese_examples() -> None:
    wanted = set(ENGLISH) - NOT_IN_ZH
    assert set(CHINESE) == wanted
    assert {intent: len(lines) for intent, lines in CHINESE.items() if len(lines) < MIN_EXAMPLES} == {}


def test_no_chinese_example_is_written_twice() -> None:
    seen: dict[str, str] = {}
    twice = []
    for intent, lines in CHINESE.items():
        for line in lines:
            text = _plain(line)[0]
            if text in seen:
                twice.append((text, seen[text], intent))
            seen[text] = intent
    assert twice == []


def _synonyms(entity_comment: str) -> dict[str, list[str]]:
    """zh/lookups.yml groups its synonym blocks under `# <entity>` comments."""
    groups: dict[str, list[str]] = {}
    current = None
    for line in (NLU / "zh" / "lookups.yml").read_text(encoding="utf-8").splitlines():
        if line.startswith("  # "):
            current = line[4:].strip()
        elif line.startswith("  - synonym:") and current:
            groups.setdefault(current, []).append(yaml.safe_load(line.split(":", 1)[1]))
    return {"values": groups.get(entity_comment, [])}


def test_country_synonyms_are_countries_the_address_change_knows_or_lookup_names() -> None:
    countries = _synonyms("country")["values"]
    english_lookup = {
        line.strip()[2:]
        for block in _load(NLU / "lookups.yml")["nlu"]
        if block.get("lookup") == "country"
        for line in block["examples"].splitlines()
        if line.strip()
    }
    assert countries
    assert [c for c in countries if normalize_country(c) is None and c not in english_lookup] == []


def test_account_type_colour_and_quantity_synonyms_are_the_english_values() -> None:
    account_types = {
        line.strip()[2:].lower()
        for block in _load(NLU / "lookups.yml")["nlu"]
        if block.get("lookup") == "account_type"
        for line in block["examples"].splitlines()
        if line.strip()
    }
    assert set(_synonyms("account_type")["values"]) <= account_types
    assert set(_synonyms("color")["values"]) <= set(COLORS)
    assert [parse_quantity(value) for value in _synonyms("quantity")["values"]] == [1, 2, 3, 4, 5]


def _annotated_lines() -> list[tuple[str, str]]:
    lines = [(intent, line) for intent, examples in CHINESE.items() for line in examples]
    for path in ZH_TESTS:
        for story in _load(path)["stories"]:
            lines += [(story["story"], step["user"].strip()) for step in story["steps"] if "user" in step]
    return [(where, line) for where, line in lines if _ANNOTATION.search(line)]


@pytest.mark.parametrize(("where", "line"), _annotated_lines())
def test_entities_start_and_end_on_token_boundaries(where: str, line: str) -> None:
    text, spans = _plain(line)
    cuts = _boundaries(text)
    assert [value for start, end, value in spans if start not in cuts or end not in cuts] == [], where


@pytest.mark.parametrize("path", ZH_TESTS, ids=lambda p: p.name)
def test_each_chinese_conversation_test_is_the_twin_of_an_english_flow(path: Path) -> None:
    english = _load(CONVERSATIONS / path.name.replace("test_zh_", "test_"))["stories"]
    chinese = _load(path)["stories"]
    assert [s["story"] for s in chinese] == [f"{s['story']} (zh)" for s in english]

    def intents(story: dict[str, Any]) -> list[str]:
        return [step["intent"] for step in story["steps"] if "intent" in step]

    assert [intents(s) for s in chinese] == [intents(s) for s in english]


def test_chinese_conversation_text_is_written_apart_from_the_training_examples() -> None:
    trained = {_plain(line)[0] for lines in CHINESE.values() for line in lines}
    used = [
        _plain(step["user"].strip())[0]
        for path in ZH_TESTS
        for story in _load(path)["stories"]
        for step in story["steps"]
        if "user" in step and _HAN.search(step["user"])
    ]
    assert used
    assert sorted({text for text in used if text in trained}) == []
