"""Training-data building: question writing, the split by answer, mining, the manifest and rebuild rules.

Mining uses a small word-overlap search here (the real one needs the bi-encoder; see the slow tests)."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Collection, Sequence
from pathlib import Path

import pytest

from retrieval.responder.errors import TrainingDataError
from retrieval.responder.training.build_data import BuildSpec, build
from retrieval.responder.training.dataset import read_dataset
from retrieval.responder.training.mining import fold_best
from retrieval.responder.training.questions import kb_questions, paraphrase, product_questions
from retrieval.responder.training.sources import (
    KbEntry,
    Product,
    kb_passage,
    load_demo_catalog,
    load_kb,
    product_passage,
)

ROOT = Path(__file__).resolve().parents[3]


class WordOverlapSearch:
    def __init__(self, ids: Sequence[str], texts: Sequence[str]) -> None:
        self.items = [(i, set(re.findall(r"\w+", t.lower()))) for i, t in zip(ids, texts, strict=True)]

    def search(self, queries: Sequence[str], k: int, *, allowed_ids: Collection[str] | None = None):
        out = []
        for q in queries:
            words = set(re.findall(r"\w+", q.lower()))
            scored = [
                (i, len(words & w) / (1 + len(w)))
                for i, w in self.items
                if allowed_ids is None or i in allowed_ids
            ]
            out.append(fold_best(scored, k))  # an id indexed under several texts counts once, at its best
        return out


KB_YAML = """
topic: shipping
entries:
{entries}
"""


def _write_kb(folder: Path, n: int = 20) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    lines = []
    for i in range(n):
        lines.append(
            f"  - id: e{i}\n    title: Topic number {i}\n    questions:\n      - How can I do thing {i}?\n"
            f'      - Can I get help with thing {i}?\n    answer: "Answer {i}: do thing {i} in the account page."'
        )
    (folder / "shipping.yml").write_text(KB_YAML.format(entries="\n".join(lines)), encoding="utf-8")
    return folder


def _write_catalog(path: Path, n: int = 20) -> Path:
    rows = ["id,title,description,brand,category,price,currency,stock,attributes,image_url"]
    colors = ["red", "blue", "green", "black"]
    for i in range(n):
        attrs = json.dumps({"color": [colors[i % 4]], "sizes": ["S", "M"], "material": "cotton"}).replace(
            '"', '""'
        )
        rows.append(
            f'P-{i},Item {i} Shirt,"A shirt number {i}.",Brand{i % 3},shirts,{10 + i}.00,EUR,5,"{attrs}",/x.svg'
        )
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _spec(tmp_path: Path, **kw) -> BuildSpec:
    return BuildSpec(
        out=tmp_path / "data",
        kb_dir=_write_kb(tmp_path / "kb"),
        catalog=_write_catalog(tmp_path / "catalog.csv"),
        mine_k=6,
        dev_k=10,
        **kw,
    )


def test_paraphrases_are_deterministic_distinct_and_not_the_question() -> None:
    entry = KbEntry("x", "How can I track my order?", "Use the tracking page.", ("Where is my parcel?",))
    first = kb_questions(entry, random.Random(1), 8)
    assert first == kb_questions(entry, random.Random(1), 8)
    assert len(first) == len(set(q.lower() for q in first)) == 8
    assert "how can i track my order?" not in [q.lower() for q in first]
    assert "Where is my parcel?" in first
    assert "Where is my parcel?" not in kb_questions(entry, random.Random(1), 8, include_given=False)
    assert paraphrase("How can I cancel my order?", random.Random(5)) != "How can I cancel my order?"


def test_product_questions_name_the_products_facts() -> None:
    product = Product(
        "P-1",
        "Metro 20L Laptop Backpack",
        brand="Northpack",
        category="bags",
        color="navy, olive",
        attributes={"material": "recycled polyester", "sizes": ["M"]},
    )
    questions = product_questions(product, random.Random(2), 6)
    assert len(questions) == 6
    assert all(
        ("northpack" in q.lower() or "backpack" in q.lower() or "navy" in q.lower() or "olive" in q.lower())
        for q in questions
    )
    passage = product_passage(product)
    assert passage.startswith("Metro 20L Laptop Backpack.") and "Northpack" in passage and "navy" in passage


def test_the_shipped_knowledge_base_and_catalog_load() -> None:
    kb_dir, catalog = ROOT / "training_data" / "kb", ROOT / "training_data" / "catalog" / "demo_products.csv"
    if not kb_dir.is_dir() or not catalog.is_file():
        pytest.skip("training_data/kb or the demo catalog is not there yet")
    entries = load_kb(kb_dir)
    products = load_demo_catalog(catalog)
    assert len(entries) >= 10 and len(products) >= 10
    assert all(e.answer and e.question for e in entries)
    assert kb_passage(entries[0]).endswith(entries[0].answer)
    assert all(p.id and p.title for p in products)


def test_kb_errors_name_the_file_and_problem(tmp_path: Path) -> None:
    (tmp_path / "bad.yml").write_text("entries:\n  - id: a\n    title: t\n", encoding="utf-8")
    with pytest.raises(TrainingDataError, match=r"bad\.yml.*answer"):
        load_kb(tmp_path)
    with pytest.raises(TrainingDataError, match="not found"):
        load_kb(tmp_path / "missing")


def test_build_splits_by_answer_without_leaks_and_writes_a_manifest(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    manifest = build(spec, search_factory=WordOverlapSearch)
    data = read_dataset(spec.out)
    dev_answers = {p.id for p in data.passages.values() if p.split == "dev"}
    train_answers = {p.id for p in data.passages.values() if p.split == "train"}
    assert dev_answers and train_answers and not dev_answers & train_answers
    assert {g.answer_id for g in data.dev} <= dev_answers
    assert all(g.answer_id in train_answers and set(g.candidates) <= train_answers for g in data.train)
    assert all(g.kind == data.passages[c].kind for g in [*data.train, *data.dev] for c in g.candidates)
    assert manifest["counts"]["train_questions"] == len(data.train)
    assert manifest["data_checksum"] == data.manifest["data_checksum"]
    assert all(len([c for c in g.candidates if c != g.answer_id]) >= 5 for g in data.train), (
        "hard negatives mined"
    )


def test_build_is_reproducible_and_skips_when_unchanged(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    first = build(spec, search_factory=WordOverlapSearch)
    calls: list[int] = []

    def counting(ids, texts):
        calls.append(len(ids))
        return WordOverlapSearch(ids, texts)

    again = build(spec, search_factory=counting)
    assert calls == [] and again["data_checksum"] == first["data_checksum"]
    forced = build(spec, force=True, search_factory=counting)
    assert calls and forced["data_checksum"] == first["data_checksum"]  # same seed, same data
    with (spec.kb_dir / "shipping.yml").open("a", encoding="utf-8") as handle:
        handle.write('  - id: extra\n    title: Extra\n    answer: "An extra answer."\n')
    changed = build(spec, search_factory=WordOverlapSearch)
    assert changed["inputs_checksum"] != first["inputs_checksum"]


def test_tampered_data_is_detected(tmp_path: Path) -> None:
    spec = _spec(tmp_path)
    build(spec, search_factory=WordOverlapSearch)
    with (spec.out / "dev.jsonl").open("a", encoding="utf-8") as handle:
        handle.write("\n")
    with pytest.raises(TrainingDataError, match="data_checksum"):
        read_dataset(spec.out)


def test_no_sources_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(TrainingDataError, match="no sources"):
        build(
            BuildSpec(out=tmp_path / "d", kb_dir=tmp_path / "none", catalog=tmp_path / "none.csv"),
            search_factory=WordOverlapSearch,
        )


def test_an_answer_indexed_under_several_texts_is_found_once_by_its_best_text() -> None:
    from retrieval.responder.training.mining import BiEncoderSearch
    from tests.retrieval.retrieval_fakes import FakeEncoder

    search = BiEncoderSearch(
        ["kb:refund", "kb:refund", "kb:ship"],
        ["Refunds. We refund within 14 days.", "how do i get my money back", "Shipping. We ship to Spain."],
        encoder=FakeEncoder(),
    )
    (row,) = search.search(["how do i get my money back"], k=2)
    assert [answer for answer, _ in row] == ["kb:refund", "kb:ship"]  # once each, the refund entry first
    assert row[0][1] > 0.99  # scored by its example question, not by its passage
    (only,) = search.search(["how do i get my money back"], k=2, allowed_ids={"kb:ship"})
    assert [answer for answer, _ in only] == ["kb:ship"]
