"""The recommendation benchmark's temporal protocol and metrics on hand-made purchases."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from bench.recs_protocol import coverage, evaluate, head_items, long_tail_share, period

# (invoice, item, customer, day): training months, the validation month (June), the test month (September)
LINES = [
    ("1", "a", "c1", "2010-01-05"),
    ("1", "b", "c1", "2010-01-05"),
    ("2", "a", "c2", "2010-02-01"),
    ("3", "c", "c2", "2010-03-01"),
    ("4", "d", "c1", "2010-06-10"),  # validation: new for c1
    ("4", "a", "c1", "2010-06-10"),  # validation: a re-buy, not a target
    ("5", "v", "c3", "2010-06-12"),  # validation: c3 has no history before June
    ("6", "t", "c2", "2010-09-03"),  # test only
    ("6", "d", "c2", "2010-09-03"),
]


def frame() -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"Invoice": inv, "StockCode": item, "customer": cust, "when": pd.Timestamp(day)}
            for inv, item, cust, day in LINES
        ]
    )


def test_the_validation_period_never_sees_its_own_or_later_purchases() -> None:
    valid = period(frame(), "2010-06-01", "2010-09-01", name="valid")
    trained_on = {i for b in valid.baskets for i in b} | {i for h in valid.histories.values() for i in h}
    assert trained_on == {"a", "b", "c"} == set(valid.popularity)  # no June or September item leaks in
    assert valid.customers == ["c1"] and valid.relevant == [{"d"}]  # c2 bought nothing in June; a: re-buy
    assert valid.histories == {"c1": ["a", "b"], "c2": ["a", "c"]}
    # ages in days before June 1st, aligned with the histories and the invoices (sorted by invoice)
    assert valid.history_ages == {"c1": [147.0, 147.0], "c2": [120.0, 92.0]}
    assert valid.basket_ages == [147.0, 120.0, 92.0]
    assert valid.popularity["a"] == 2


def test_the_test_period_trains_on_everything_before_it() -> None:
    test = period(frame(), "2010-09-01", name="test")
    assert {"d", "v"} <= set(test.popularity) and "t" not in test.popularity
    assert test.customers == ["c2"] and test.relevant == [{"t", "d"}]
    assert len(test.baskets) == 5


def test_bad_periods_are_rejected_naming_the_value() -> None:
    with pytest.raises(ValueError, match="'2010-05-01'"):
        period(frame(), "2010-06-01", "2010-05-01")
    with pytest.raises(ValueError, match="'customer'"):
        period(frame().drop(columns=["customer"]), "2010-06-01")


def test_metrics_on_hand_made_lists() -> None:
    ranked = [["a", "b"], ["c", "a"]]
    relevant = [{"a", "x"}, {"z"}]
    metrics = evaluate(ranked, relevant, catalog_size=8, head={"a"}, k=2)
    assert metrics["recall"] == pytest.approx((1 / 2 + 0) / 2)
    ideal = 1 + 1 / math.log2(3)  # two relevant items fit in the top 2
    assert metrics["ndcg"] == pytest.approx((1 / ideal + 0) / 2)
    assert metrics["coverage"] == pytest.approx(3 / 8)
    assert metrics["long_tail"] == pytest.approx(2 / 4)
    assert evaluate([["x", "a", "b"]], [{"b"}], 4, set(), k=2)["recall"] == 0.0  # cut to k


def test_head_is_the_top_tenth_of_sold_items() -> None:
    popularity = {f"i{n:02d}": 100 - n for n in range(25)} | {"never": 0}
    assert head_items(popularity) == {"i00", "i01", "i02"}  # ceil(10 % of 25)
    assert head_items({"b": 1, "a": 1}) == {"a"}  # at least one; ties by id
    assert head_items({}) == set()
    assert long_tail_share([], {"a"}) == 0.0


def test_bad_metric_input_is_rejected_naming_the_value() -> None:
    with pytest.raises(ValueError, match="catalog size 0 "):
        coverage([["a"]], 0)
    with pytest.raises(ValueError, match=r"share 1\.5 "):
        head_items({"a": 1}, share=1.5)
