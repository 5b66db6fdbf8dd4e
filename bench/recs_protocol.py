"""The temporal protocol and the metrics of ``bench.recs_eval``.

A period [start, end) is scored from what was bought before ``start`` only: its training data are the invoices
before ``start``; its customers are those who bought before ``start`` (with each purchase's age in days at ``start``, for recency) and bought, within the period, at least one
item they had not bought before; their relevant items are those new items. Validation = [T1, T2) trained before
T1 (hyper-parameters are chosen there); test = [T2, end of data) trained before T2 (reported, never tuned on).

Metrics over the top-k lists of all customers: recall@k and NDCG@k (averaged per customer), catalogue coverage
(distinct recommended items / catalogue size) and long-tail share (share of all recommended slots filled by an
item outside the head: the 10 % most purchased items of the training data, counted in invoices).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import pandas as pd

try:
    from bench.retrieval_common import rank_metrics
except ImportError:  # run as a script: bench/ is on sys.path
    from retrieval_common import rank_metrics  # type: ignore[no-redef]


@dataclass(frozen=True)
class Period:
    name: str
    start: str
    end: str | None
    baskets: list[list[str]]  # the training invoices (item ids), before ``start``
    histories: dict[str, list[str]]  # customer -> items bought before ``start``, oldest first
    history_ages: dict[
        str, list[float]
    ]  # customer -> per item of ``histories``: days between its purchase and start
    basket_ages: list[float]  # per training invoice: days between it and ``start``
    customers: list[str]  # scored customers
    relevant: list[set[str]]  # per scored customer: the new items bought in [start, end)
    popularity: Counter[str]  # invoices per item before ``start``


def period(lines: pd.DataFrame, start: str, end: str | None = None, name: str = "") -> Period:
    """``lines``: columns Invoice, StockCode, customer (str) and when (datetime), one row per invoice line."""
    import pandas as pd

    for column in ("Invoice", "StockCode", "customer", "when"):
        if column not in lines.columns:
            raise ValueError(f"purchase lines lack the column {column!r} (have {list(lines.columns)})")
    begin = pd.Timestamp(start)
    if end is not None and pd.Timestamp(end) <= begin:
        raise ValueError(f"period end {end!r} is not after its start {start!r}")
    train = lines[lines["when"] < begin]
    inside = lines[lines["when"] >= begin]
    if end is not None:
        inside = inside[inside["when"] < pd.Timestamp(end)]
    train = train.assign(age=(begin - train["when"]).dt.total_seconds() / 86400.0)
    by_invoice = train.groupby("Invoice", sort=True)
    baskets = [list(dict.fromkeys(items)) for _, items in by_invoice["StockCode"]]
    basket_ages = [float(a) for a in by_invoice["age"].min()]
    histories: dict[str, list[str]] = {}
    history_ages: dict[str, list[float]] = {}
    for customer, code, age in train.sort_values("when", kind="stable")[
        ["customer", "StockCode", "age"]
    ].itertuples(index=False):
        histories.setdefault(customer, []).append(code)
        history_ages.setdefault(customer, []).append(float(age))
    future = inside.groupby("customer")["StockCode"].apply(set).to_dict()
    customers = sorted(c for c in future if c in histories and future[c] - set(histories[c]))
    popularity: Counter[str] = Counter()
    for basket in baskets:
        popularity.update(basket)
    return Period(
        name=name or f"{start}..{end or 'end'}",
        start=start,
        end=end,
        baskets=baskets,
        histories=histories,
        history_ages=history_ages,
        basket_ages=basket_ages,
        customers=customers,
        relevant=[future[c] - set(histories[c]) for c in customers],
        popularity=popularity,
    )


def head_items(popularity: Mapping[str, int], share: float = 0.1) -> set[str]:
    """The ``share`` most purchased items (at least one) among those purchased; ties broken by id."""
    if not 0 < share <= 1:
        raise ValueError(f"head share {share!r} is not in (0, 1]")
    sold = sorted((i for i, n in popularity.items() if n > 0), key=lambda i: (-popularity[i], i))
    return set(sold[: max(1, math.ceil(share * len(sold)))]) if sold else set()


def coverage(ranked: Sequence[Sequence[str]], catalog_size: int) -> float:
    if catalog_size <= 0:
        raise ValueError(f"catalog size {catalog_size!r} must be > 0")
    return len({i for items in ranked for i in items}) / catalog_size


def long_tail_share(ranked: Sequence[Sequence[str]], head: set[str]) -> float:
    """Share of recommended slots filled by items outside ``head`` (0 when nothing was recommended)."""
    slots = [i for items in ranked for i in items]
    return sum(1 for i in slots if i not in head) / len(slots) if slots else 0.0


def evaluate(
    ranked: Sequence[Sequence[str]],
    relevant: Sequence[set[str]],
    catalog_size: int,
    head: set[str],
    k: int = 10,
) -> dict[str, float]:
    """recall@k, ndcg@k, coverage and long_tail of top-k lists (lists are cut to k)."""
    cut = [list(items)[:k] for items in ranked]
    metrics = rank_metrics(cut, relevant, k)  # its keys say @10, its values are at k
    return {
        "recall": metrics["recall@10"],
        "ndcg": metrics["ndcg@10"],
        "coverage": coverage(cut, catalog_size),
        "long_tail": long_tail_share(cut, head),
    }
