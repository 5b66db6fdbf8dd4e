from __future__ import annotations

import pytest

from retrieval.errors import FilterError, QueryError
from retrieval.filters import FilterVocabulary, ProductFilters, parse_filters
from retrieval.query import clean_query

VOCAB = FilterVocabulary(
    frozenset({"dkny", "northpack", "only"}), frozenset({"trolley bag", "bag", "lamps", "jeans"})
)


@pytest.mark.parametrize(
    ("text", "low", "high"),
    [
        ("do you have a black trolley bag under 5000?", None, 5000),
        ("lamps between 20 and 40 euros", 20, 40),
        ("jeans from €30 to €60", 30, 60),
        ("bags 50-80", 50, 80),
        ("anything over 100", 100, None),
        ("jeans 40 or less", None, 40),
        ("a lamp below 2k", None, 2000),
        ("under 49.90 please", None, 49.9),
        ("a bag", None, None),
    ],
)
def test_price_ranges(text: str, low: float | None, high: float | None) -> None:
    filters, _ = parse_filters(text, VOCAB)
    assert (filters.min_price, filters.max_price) == (low, high)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("a bag under -5", "negative"),
        ("lamps between 9 and 3", "above the highest"),
        ("from 90 to 10 euros", "above the highest"),
    ],
)
def test_impossible_prices_are_clear_errors(text: str, problem: str) -> None:
    with pytest.raises(FilterError, match=problem):
        parse_filters(text, VOCAB)


def test_colour_brand_category_and_stock() -> None:
    filters, rest = parse_filters("a grey DKNY trolley bag in stock under 200", VOCAB)
    assert filters.colors == {"grey"} and filters.brands == {"dkny"} and filters.in_stock
    assert filters.categories == {"trolley bag"}  # the specific category, not also "bag"
    assert "200" not in rest


def test_ambiguous_brand_words_need_the_nlu_entity() -> None:
    assert parse_filters("do you only have jeans", VOCAB)[0].brands == frozenset()
    assert parse_filters("jeans", VOCAB, {"brand": ["ONLY"]})[0].brands == {"only"}


def test_entities_add_filters() -> None:
    filters, _ = parse_filters("something nice", VOCAB, {"color": ["Gray"], "price": ["45"]})
    assert filters.colors == {"grey"} and filters.max_price == 45


def test_matches() -> None:
    record = {
        "price": 49.0,
        "stock": 0,
        "brand": "Lumo",
        "category": "lamps",
        "colors": ["black"],
        "title": "Desk Lamp",
    }
    assert ProductFilters(max_price=50, colors=frozenset({"black"})).matches(record)
    assert not ProductFilters(max_price=40).matches(record)
    assert not ProductFilters(in_stock=True).matches(record)
    assert not ProductFilters(colors=frozenset({"red"})).matches(record)
    assert ProductFilters(brands=frozenset({"lumo"}), categories=frozenset({"lamps"})).matches(record)
    assert ProductFilters().empty and not ProductFilters(in_stock=True).empty
    with pytest.raises(FilterError):
        ProductFilters(min_price=10, max_price=5)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("   ", "empty"),
        (None, "empty"),
        ("x" * 10_000, "too_long"),
        ("???", "no_letters"),
        ("你们发货到西班牙吗", "other_script"),
        ("Вы доставляете в Испанию?", "other_script"),
    ],
)
def test_bad_queries(text: str | None, reason: str) -> None:
    with pytest.raises(QueryError) as err:
        clean_query(text, max_chars=1000)
    assert err.value.reason == reason


def test_clean_query_normalises() -> None:
    assert clean_query("  do you ship\n to   Spain? ") == "do you ship to Spain?"
    assert clean_query("Où livrez-vous? Spain") == "Où livrez-vous? Spain"
