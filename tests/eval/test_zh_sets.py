"""The Chinese held-out sets (issue 13): they name only real intents, entities, KB entries and products, they
are as large as the benchmark needs, their entity spans fall on the tokenizer's boundaries, and none of their
texts appears verbatim in training_data/ (so a later leak of a held-out utterance into training fails here)."""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from bench.nlu_heldout import HeldoutFormatError, parse_example, read_heldout
from eval.conversations.cases import load

ROOT = Path(__file__).resolve().parents[2]
NLU_ZH = ROOT / "eval" / "nlu_zh"
RETRIEVAL_ZH = ROOT / "eval" / "retrieval_zh"
TRAINING = ROOT / "training_data"
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
# the contract's tokenizer: whitespace and Chinese punctuation separate; inside, Han runs are jieba words and
# every non-Han run is one token
SEPARATORS = re.compile(r"[\s，。！？：；、“”（）]+")
RUNS = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[^\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
ORDER_IN_TEXT = re.compile(r"(?<!\d)(1\d{5})(?!\d)")


def _yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def domain_names(key: str) -> set[str]:
    names: set[str] = set()
    for path in (ROOT / "domain").glob("*.yml"):
        for item in _yaml(path).get(key) or []:
            names.add(next(iter(item)) if isinstance(item, dict) else str(item))
    return names


def trained_intents() -> set[str]:
    """The intents with examples in training_data/nlu/*.yml (the English side; the top folder only)."""
    return {
        str(item["intent"])
        for path in (TRAINING / "nlu").glob("*.yml")
        for item in _yaml(path).get("nlu") or []
        if "intent" in item
    }


def kb_ids() -> set[str]:
    return {str(e["id"]) for path in (TRAINING / "kb").glob("*.yml") for e in _yaml(path)["entries"]}


def product_ids() -> set[str]:
    with (TRAINING / "catalog" / "demo_products.csv").open(encoding="utf-8") as handle:
        return {row["id"] for row in csv.DictReader(handle)}


def retrieval_rows(name: str, key: str) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = _yaml(RETRIEVAL_ZH / f"{name}.yml")[key]
    return rows


def normal(text: str) -> str:
    """What counts as "the same utterance": case, spaces and closing punctuation do not matter."""
    return re.sub(r"[\s。？！?!.,，~～]+", "", text).casefold()


def training_texts() -> set[str]:
    """Every string in training_data/'s YAML files, one per `- ` line of a block, annotations removed."""
    found: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)
        elif isinstance(node, str):
            lines = [line[2:] for line in node.splitlines() if line.startswith("- ")] or [node]
            for line in lines:
                try:
                    found.add(normal(parse_example(line.strip())[0]))
                except HeldoutFormatError:  # a regex or another non-example string
                    found.add(normal(line))

    for path in TRAINING.rglob("*.yml"):
        walk(_yaml(path))
    return found


def heldout_texts(conversations: bool = True) -> list[tuple[str, str]]:
    """(set, text) for every utterance of every Chinese held-out set (and the typed conversation turns)."""
    texts = [(p.name, e.text) for p in sorted(NLU_ZH.glob("*.yml")) for e in read_heldout(p)]
    texts += [("kb_questions", r["question"]) for r in retrieval_rows("kb_questions", "questions")]
    for name in ("catalog_queries", "catalog_queries_en"):
        texts += [(name, r["query"]) for r in retrieval_rows(name, "queries")]
    for split in ("zh_dev", "zh_test") if conversations else ():
        texts += [(split, t.text) for c in load(split) for t in c.turns if not t.click]
    return texts


@pytest.mark.parametrize(("name", "least"), [("dev", 90), ("test", 320)])
def test_the_nlu_sets_are_large_enough_and_cover_every_trained_intent(name: str, least: int) -> None:
    examples = read_heldout(NLU_ZH / f"{name}.yml")
    per_intent = Counter(e.intent for e in examples)
    assert len(examples) >= least
    assert set(per_intent) == (trained_intents() - {"non_english"}) | {"switch_language"}
    assert min(per_intent.values()) >= (5 if name == "test" else 2), per_intent.most_common()[-3:]
    assert all(HAN.search(e.text) or e.intent == "inform" for e in examples)


@pytest.mark.parametrize("name", ["dev", "test"])
def test_every_intent_and_entity_of_the_nlu_sets_is_in_the_domain(name: str) -> None:
    examples = read_heldout(NLU_ZH / f"{name}.yml")
    assert {e.intent for e in examples} - domain_names("intents") == set()
    assert {ent for e in examples for *_, ent in e.entities} - domain_names("entities") == set()


def token_bounds(text: str) -> tuple[set[int], set[int]]:
    import jieba

    starts: set[int] = set()
    ends: set[int] = set()
    for chunk in re.finditer(r"[^\s，。！？：；、“”（）]+", text):
        for run in RUNS.finditer(chunk.group()):
            at = chunk.start() + run.start()
            if HAN.match(run.group()):
                for _, start, end in jieba.tokenize(run.group()):
                    starts.add(at + start)
                    ends.add(at + end)
            else:  # one token; trailing ASCII punctuation is stripped as WhitespaceTokenizer does
                starts.add(at)
                ends.update({at + len(run.group()), at + len(run.group().rstrip(".,!?;:"))})
    return starts, ends


@pytest.mark.parametrize("name", ["dev", "test"])
def test_entity_annotations_start_and_end_on_token_boundaries(name: str) -> None:
    bad = []
    for example in read_heldout(NLU_ZH / f"{name}.yml"):
        starts, ends = token_bounds(example.text)
        bad += [example.text[s:e] for s, e, _ in example.entities if s not in starts or e not in ends]
    assert bad == []


def test_a_glued_id_is_its_own_token_and_a_half_word_is_not() -> None:
    starts, ends = token_bounds("订单号SD-100042到了吗")
    assert (3 in starts, 12 in ends) == (True, True)
    starts, ends = token_bounds("我想退货")
    assert 3 not in starts  # 退货 is one jieba word: an annotation on 货 alone would be refused


def test_kb_questions_name_real_entries_at_least_twice_each_in_both_splits() -> None:
    rows = retrieval_rows("kb_questions", "questions")
    per_entry = Counter(r["kb_id"] for r in rows)
    assert set(per_entry) == kb_ids()
    assert min(per_entry.values()) >= 2
    assert len(rows) >= 98
    assert {r["split"] for r in rows} == {"dev", "test"}
    assert all(HAN.search(r["question"]) for r in rows)


@pytest.mark.parametrize(
    ("name", "least", "chinese"), [("catalog_queries", 60, True), ("catalog_queries_en", 40, False)]
)
def test_catalog_queries_name_real_products_in_both_splits(name: str, least: int, chinese: bool) -> None:
    rows = retrieval_rows(name, "queries")
    assert len(rows) >= least
    assert {r["product_id"] for r in rows} <= product_ids()
    assert {r["split"] for r in rows} == {"dev", "test"}
    assert all(bool(HAN.search(r["query"])) is chinese for r in rows)


def test_no_heldout_text_appears_verbatim_in_training_data() -> None:
    seen = training_texts()
    leaked = [(where, text) for where, text in heldout_texts() if normal(text) in seen]
    assert leaked == []


def test_no_heldout_utterance_or_question_is_repeated() -> None:
    counts = Counter(normal(text) for _, text in heldout_texts(conversations=False))
    assert [text for text, n in counts.items() if n > 1] == []


def test_the_leak_check_would_see_an_annotated_training_example() -> None:
    assert normal(parse_example("订单[SD-100042](order_id)到哪了？")[0]) == normal("订单SD-100042到哪了")


def test_the_chinese_conversations_use_orders_the_english_halves_never_type() -> None:
    def typed(split: str) -> set[str]:
        return {n for c in load(split) for t in c.turns for n in ORDER_IN_TEXT.findall(t.text)}

    english, chinese = typed("dev") | typed("test"), typed("zh_dev") | typed("zh_test")
    assert chinese and not chinese & english
    assert not typed("zh_dev") & typed("zh_test")
