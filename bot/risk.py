"""Refund and return risk signals for the agent console: arithmetic and wording over the shop's read API.

Signals for the agent's judgement, never a decision: nothing in ShopDesk reads them to refuse a refund or a
return (docs/console/risk.md). Each signal has a ``code``, a ``level`` (``info``: nothing unusual, ``watch``:
worth a second look), a ``title``, a ``reason`` sentence with the numbers, and the ``numbers`` as fields.

- ``returns_90d``: the customer's return requests in the last 90 days vs the shop's median customer (of the
  customers with at least one order; every return request counts, whatever its status).
- ``refund_share``: refunded / ordered value over the customer's orders that were not cancelled (refunds of
  cancelled orders are not counted; rejected refunds neither), and for the order at hand.
- ``shared_address``: the customer's addresses (default and shipping) also used by other customers
  (compared as ``bot.risk_address`` says).
- ``verification_failures``: failed order verifications on record before the handoff, from this conversation's
  client(s) and on the customer's orders from other clients.

The thresholds are ``THRESHOLDS`` (one place; not settings: they compare with the shop's own median or are
ratios, so they carry from shop to shop).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal, TypedDict

from bot.risk_address import address_key, postcode_key
from shop.read import AddressUse, AddressView, CustomerHistory, VerificationFailureView

Level = Literal["info", "watch"]
Number = int | float | str | bool | None

ADVISORY = "Signals for your judgement, not a decision: nothing refuses a refund or a return because of them."


@dataclass(frozen=True)
class Thresholds:
    window_days: int = 90  # returns counted from now - 90 days (a return exactly 90 days old counts)
    returns_watch_min: int = 3  # watch: at least 3 returns in the window ...
    returns_watch_above_median: int = 2  # ... and at least 2 more than the shop's median customer
    refund_share_watch: float = 0.5  # watch: half or more of the ordered value refunded ...
    refund_share_min_orders: int = 2  # ... over at least 2 orders (one returned first order is ordinary)
    order_share_watch: float = 1.0  # watch: the order at hand is already fully refunded
    address_watch_customers: int = 3  # watch: 3 or more customers (this one included) at one address
    verification_watch: int = 2  # watch: 2 or more failed verifications on record


THRESHOLDS = Thresholds()


class Signal(TypedDict):
    code: str
    level: Level
    title: str
    reason: str
    numbers: dict[str, Number]


def iso(moment: datetime) -> str:
    """A UTC time as the shop stores it (``2025-03-12T10:00:00+00:00``)."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def window_start(now: datetime, t: Thresholds = THRESHOLDS) -> str:
    return iso(now - timedelta(days=t.window_days))


def money(minor: int, currency: str) -> str:
    return f"{minor / 100:.2f} {currency}"


def percent(share: float) -> str:
    return f"{share * 100:.0f}%"


def _plural(n: int | float, one: str, many: str) -> str:
    return f"{n:g} {one if n == 1 else many}"


def median(distribution: dict[int, int]) -> float:
    """The median of a ``{value: how many}`` distribution (0 when empty; the mean of the middle two for an
    even count)."""
    total = sum(distribution.values())
    if total == 0:
        return 0.0
    ordered = sorted(distribution.items())

    def nth(index: int) -> int:  # 0-based
        seen = 0
        for value, count in ordered:
            seen += count
            if index < seen:
                return value
        return ordered[-1][0]

    if total % 2:
        return float(nth(total // 2))
    return (nth(total // 2 - 1) + nth(total // 2)) / 2


# --- the signals ------------------------------------------------------------------------------------------


def returns_signal(
    history: CustomerHistory, distribution: dict[int, int], now: datetime, t: Thresholds = THRESHOLDS
) -> Signal:
    since = window_start(now, t)
    count = sum(1 for r in history["returns"] if r["created_at"] >= since)
    shop_median = median(distribution)
    customers = sum(distribution.values())
    watch = count >= t.returns_watch_min and count >= shop_median + t.returns_watch_above_median
    return Signal(
        code="returns_90d",
        level="watch" if watch else "info",
        title=f"Returns in the last {t.window_days} days",
        reason=(
            f"{_plural(count, 'return', 'returns')} in {t.window_days} days; the shop's median customer has "
            f"{shop_median:g} (over {_plural(customers, 'customer', 'customers')} with orders)."
        ),
        numbers={
            "returns": count,
            "shop_median": shop_median,
            "customers_compared": customers,
            "window_days": t.window_days,
            "since": since,
        },
    )


def refund_signal(history: CustomerHistory, order_at_hand: str | None, t: Thresholds = THRESHOLDS) -> Signal:
    kept = {o["number"]: o for o in history["orders"] if o["status"] != "cancelled"}
    ordered: dict[str, int] = defaultdict(int)
    for order in kept.values():
        ordered[order["currency"]] += order["total_minor"]
    refunds = [f for f in history["refunds"] if f["status"] != "rejected"]
    currency = max(ordered, key=lambda c: ordered[c]) if ordered else None
    ordered_minor = ordered[currency] if currency else 0
    counted = [f for f in refunds if f["order_number"] in kept and f["currency"] == currency]
    refunded_minor = sum(f["amount_minor"] for f in counted)
    share = refunded_minor / ordered_minor if ordered_minor else 0.0
    orders = sum(1 for o in kept.values() if o["currency"] == currency)
    refunded_orders = len({f["order_number"] for f in counted})
    numbers: dict[str, Number] = {
        "currency": currency,
        "ordered_minor": ordered_minor,
        "refunded_minor": refunded_minor,
        "share": round(share, 4),
        "orders": orders,
        "refunded_orders": refunded_orders,
        "order_number": None,
        "order_total_minor": None,
        "order_refunded_minor": None,
        "order_share": None,
    }
    watch = share >= t.refund_share_watch and orders >= t.refund_share_min_orders
    if currency is None:
        reason = "No orders that were not cancelled: nothing ordered, nothing refunded."
    else:
        reason = (
            f"Refunded {money(refunded_minor, currency)} of {money(ordered_minor, currency)} ordered "
            f"({percent(share)}) over {_plural(orders, 'order', 'orders')}, {refunded_orders} of them refunded."
        )
    at_hand = next((o for o in history["orders"] if o["number"] == order_at_hand), None)
    if at_hand is not None:
        on_order = sum(
            f["amount_minor"]
            for f in refunds
            if f["order_number"] == at_hand["number"] and f["currency"] == at_hand["currency"]
        )
        order_share = on_order / at_hand["total_minor"] if at_hand["total_minor"] else 0.0
        numbers.update(
            order_number=at_hand["number"],
            order_total_minor=at_hand["total_minor"],
            order_refunded_minor=on_order,
            order_share=round(order_share, 4),
        )
        reason += (
            f" This order {at_hand['number']}: {money(on_order, at_hand['currency'])} of "
            f"{money(at_hand['total_minor'], at_hand['currency'])} already refunded ({percent(order_share)})."
        )
        watch = watch or order_share >= t.order_share_watch
    return Signal(
        code="refund_share",
        level="watch" if watch else "info",
        title="Refunded share of what was ordered",
        reason=reason,
        numbers=numbers,
    )


def _one_line(address: AddressView) -> str:
    return ", ".join(
        p
        for p in (address["street"], f"{address['postcode']} {address['city']}".strip(), address["country"])
        if p
    )


def customer_addresses(history: CustomerHistory) -> dict[tuple[str, str], AddressView]:
    """The customer's distinct addresses (default first, then each order's), by comparison key."""
    found: dict[tuple[str, str], AddressView] = {}
    candidates = [history["customer"]["address"], *(o["address"] for o in reversed(history["orders"]))]
    for address in candidates:
        if address is not None and address["street"]:
            found.setdefault(address_key(address["street"], address["postcode"]), address)
    return found


def postcode_keys(history: CustomerHistory) -> list[str]:
    return sorted({postcode_key(a["postcode"]) for a in customer_addresses(history).values()})


def address_signal(history: CustomerHistory, uses: list[AddressUse], t: Thresholds = THRESHOLDS) -> Signal:
    me = history["customer"]["id"]
    mine = customer_addresses(history)
    customers: dict[tuple[str, str], set[str]] = defaultdict(set)
    for use in uses:
        customers[address_key(use["street"], use["postcode"])].add(use["customer_id"])
    shared = {key: customers[key] - {me} for key in mine if customers[key] - {me}}
    numbers: dict[str, Number] = {
        "addresses_checked": len(mine),
        "shared_addresses": len(shared),
        "address": None,
        "customers_at_address": 1 if mine else 0,
        "other_customers": 0,
    }
    rule = (
        "postcode and street compared after normalising case, spacing, punctuation and street abbreviations"
    )
    if not mine:
        reason = "No address on record for this customer."
    elif not shared and len(mine) == 1:
        reason = f"The customer's address is not used by another customer ({rule})."
    elif not shared:
        reason = f"None of the customer's {len(mine)} addresses is used by another customer ({rule})."
    else:
        key = max(shared, key=lambda k: (len(shared[k]), k))
        others = len(shared[key])
        line = _one_line(mine[key])
        numbers.update(address=line, customers_at_address=others + 1, other_customers=others)
        reason = (
            f"{line} is used by {others + 1} customers (this one and {_plural(others, 'other', 'others')}; "
            f"{rule})."
        )
    total = numbers["customers_at_address"]
    watch = isinstance(total, int) and total >= t.address_watch_customers
    return Signal(
        code="shared_address",
        level="watch" if watch else "info",
        title="Address used by several customers",
        reason=reason,
        numbers=numbers,
    )


def verification_signal(
    failures: list[VerificationFailureView],
    clients: list[str],
    customer_orders: list[str] | None,
    *,
    clients_known: bool,
    t: Thresholds = THRESHOLDS,
) -> Signal:
    """``customer_orders`` None: no verified customer (only the conversation's clients are counted)."""
    mine = set(clients)
    orders = set(customer_orders or ())
    by_client = [f for f in failures if f["client"] in mine]
    by_others = [f for f in failures if f["client"] not in mine and f["order_number"] in orders]
    total = len(by_client) + len(by_others)
    if customer_orders is None:
        where = "from this conversation's client"
        detail = ""
    else:
        where = "from this conversation's client or on the customer's orders"
        detail = (
            f": {len(by_client)} from this conversation's client, {len(by_others)} on the customer's orders "
            "from other clients"
        )
    if total == 0:
        reason = f"No failed order verifications on record before this handoff {where}"
    else:
        reason = (
            f"{_plural(total, 'failed order verification', 'failed order verifications')} before this handoff"
        )
        reason += detail if customer_orders is not None else f" {where}"
    reason += " (the shop keeps them only for its verification throttle window)."
    if not clients_known:
        reason += (
            " The assistant was unreachable: only failures under the conversation id itself are counted."
        )
    return Signal(
        code="verification_failures",
        level="watch" if total >= t.verification_watch else "info",
        title="Failed order verifications",
        reason=reason,
        numbers={
            "failures": total,
            "by_this_client": len(by_client),
            "on_customer_orders_by_others": None if customer_orders is None else len(by_others),
            "orders_failed": len({f["order_number"] for f in by_client + by_others}),
            "clients_known": clients_known,
        },
    )
