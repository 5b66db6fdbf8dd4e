"""Retrieval words nothing for the shopper: recommendations carry a reason code and the title it names, and
search filters come as codes and values (actions.messages words both in the conversation's language)."""

from __future__ import annotations

from retrieval.filters import FilterTerm, ProductFilters
from retrieval.recommend import REASONS, RecConfig, Recommendation, Recommender
from tests.retrieval.retrieval_fakes import seeded_vectors

IDS = [f"i{n}" for n in range(8)]
BASKETS = [["i0", "i1"], ["i0", "i1", "i2"], ["i3", "i4"], ["i3", "i4"], ["i5", "i0"]]


def make() -> Recommender:
    categories = {i: ("a" if n < 4 else "b") for n, i in enumerate(IDS)}
    titles = {i: f"Title {i}" for i in IDS}
    config = RecConfig(mmr_lambda=1.0, popularity_alpha=0.0)
    return Recommender(IDS, seeded_vectors(8, 16, seed=5), categories, BASKETS, config, titles=titles)


def test_each_strategy_gives_a_code_and_the_title_it_names() -> None:
    rec = make()
    together = rec.together(["i1"], k=2)
    assert {(r.reason_code, r.reason_title) for r in together} == {("together", "Title i1")}
    similar = rec.similar("i2", k=2)
    assert {(r.reason_code, r.reason_title) for r in similar} == {("similar", "Title i2")}
    assert {r.reason_code for r in rec.popular(k=3)} == {"popular"}
    assert all(r.reason_title == "" for r in rec.popular(k=3))
    personal = rec.personal(["i3"], k=3)
    assert personal[0].reason_code == "personal_together" and personal[0].reason_title == "Title i3"
    assert {r.reason_code for r in personal} <= {"personal_together", "personal_similar", "popular"}
    cold = Recommender(IDS, seeded_vectors(8, 16, seed=5), {}, [], RecConfig()).popular(k=2)
    assert {r.reason_code for r in cold} == {"catalogue"}


def test_the_english_reason_is_worded_from_the_code() -> None:
    rec = Recommendation("i1", 1.0, "personal", "personal_similar", "Yoga Mat")
    assert rec.reason == "similar to your Yoga Mat"
    assert Recommendation("i1", 1.0, "popular", "popular").reason == REASONS["popular"]


def test_filters_as_codes_and_values() -> None:
    filters = ProductFilters(
        min_price=10,
        max_price=49.5,
        colors=frozenset({"navy", "black"}),
        brands=frozenset({"lumo"}),
        categories=frozenset({"bags"}),
        in_stock=True,
    )
    assert filters.terms() == [
        FilterTerm("between", {"low": "10", "high": "49.5"}),
        FilterTerm("color", {"value": "black"}),
        FilterTerm("color", {"value": "navy"}),
        FilterTerm("brand", {"value": "lumo"}),
        FilterTerm("category", {"value": "bags"}),
        FilterTerm("in_stock", {}),
    ]
    assert filters.describe("€") == "between €10 and €49.5, black, navy, lumo, bags, in stock"
    assert ProductFilters(max_price=20).terms() == [FilterTerm("under", {"high": "20"})]
    assert ProductFilters(min_price=20).describe() == "over 20"
    assert ProductFilters().terms() == [] and ProductFilters().describe() == ""
