"""Risk signals on seeded customer histories with known answers (bot/risk.py, bot/risk_api.compute_report).

The shop is written with the shop package's own writers (``shop.demo.histories``, the store's
``record_verification_failure``) in a temporary file; "now" is fixed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from bot import risk
from bot.risk_address import address_key, postcode_key, street_key
from bot.risk_api import RiskService, client_keys, compute_report
from bot.shopdb import ShopReader
from bot.types import Handoff
from shop.demo.histories import HistoryWriter
from shop.errors import ShopUnavailableError
from shop.model import Address
from shop.sqlite import SqliteOrderStore

NOW = datetime(2025, 3, 12, 10, 0, 0, tzinfo=UTC)
HANDOFF_AT = NOW - timedelta(minutes=5)
DAY = timedelta(days=1)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def ago(days: float, seconds: float = 0) -> datetime:
    return NOW - timedelta(days=days, seconds=seconds)


class Shop:
    """The seeded shop: who is who, and the orders that matter."""

    def __init__(self, path: Path) -> None:
        self.clock = Clock(NOW)
        self.store = SqliteOrderStore(path, clock=self.clock)
        w = HistoryWriter(self.store)
        home = Address("Hauptstraße 5", "10115", "Berlin", "DE")
        # a customer with 3 returns in the last 90 days (one exactly 90 days old), 2 refunded in full
        self.risky = w.customer("Rita Risk", address=home, created_at=ago(400))
        self.risky_orders = [w.order(self.risky, 10_000, created_at=ago(d)) for d in (95, 50, 20, 5)]
        r1 = w.return_request(self.risky_orders[0], created_at=ago(90))  # exactly on the boundary: counts
        r2 = w.return_request(self.risky_orders[1], created_at=ago(40))
        w.return_request(self.risky_orders[2], created_at=ago(10))
        w.refund(self.risky_orders[0], 10_000, created_at=ago(88), return_id=r1)
        w.refund(self.risky_orders[1], 10_000, created_at=ago(38), return_id=r2)
        # a cancelled order's refund does not count, nor does its value
        cancelled = w.order(self.risky, 50_000, created_at=ago(3), status="cancelled")
        w.refund(cancelled, 50_000, created_at=ago(3))
        # one return 100 days ago (outside) and one 90 days and a second ago (just outside)
        self.old = w.customer(
            "Otto Old", address=Address("Ring 1", "20095", "Hamburg", "DE"), created_at=ago(400)
        )
        o1 = w.order(self.old, 4_000, created_at=ago(120))
        o2 = w.order(self.old, 6_000, created_at=ago(110))
        w.return_request(o1, created_at=ago(100))
        w.return_request(o2, created_at=ago(90, seconds=1))
        # two more customers at Rita's address, spelt differently (one on an order only)
        self.flatmate = w.customer(
            "Fred Flat", address=Address("hauptstr. 5", "10 115", "berlin", "Germany"), created_at=ago(300)
        )
        w.order(self.flatmate, 2_000, created_at=ago(30))
        self.lodger = w.customer("Lea Lodger", created_at=ago(200))
        w.order(
            self.lodger, 3_000, created_at=ago(60), address=Address("HAUPTSTRASSE 5", "10115", "BERLIN", "DE")
        )
        # a quiet customer (the median) and a customer who never ordered
        self.quiet = w.customer(
            "Quinn Quiet", address=Address("Hauptstraße 7", "10115", "Berlin", "DE"), created_at=ago(50)
        )
        self.quiet_order = w.order(self.quiet, 8_000, created_at=ago(15))
        self.new = w.customer(
            "Nina New", address=Address("Lindenweg 2", "80331", "München", "DE"), created_at=ago(1)
        )
        # failed verifications (issue 10's throttle table), written through the store's own API
        window = 7 * 86_400
        for when, number, client in [
            (ago(2), self.risky_orders[3], "client:stranger"),  # someone else on Rita's order
            (ago(0, 900), "SD-999999", "client:conv-client"),  # this conversation's client, any order
            (ago(0, 800), self.quiet_order, "sender:conv-1"),  # the conversation id itself
            (ago(0, 700), "SD-888888", "client:unrelated"),  # neither: not counted
            (ago(0, 60), self.risky_orders[3], "client:conv-client"),  # after the handoff: not counted
        ]:
            self.clock.now = when
            self.store.record_verification_failure(number, client, window)
        self.clock.now = NOW


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Shop:
    return Shop(tmp_path_factory.mktemp("risk") / "shop.db")


@pytest.fixture
def service(shop: Shop) -> RiskService:
    return RiskService(ShopReader(shop.store.path), clock=lambda: 0.0)


CLIENTS = ["client:conv-client", "sender:conv-1"]


def handoff(context: dict[str, Any]) -> Handoff:
    return Handoff(
        id="h-1",
        conversation_id="conv-1",
        status="queued",
        reason="contact_human_agent",
        agent_email=None,
        agent_name=None,
        created_at=HANDOFF_AT.timestamp(),
        claimed_at=None,
        closed_at=None,
        context=context,
        last_event_ts=0.0,
        language="en",
        mood=None,
    )


def report_for(service: RiskService, context: dict[str, Any]) -> dict[str, Any]:
    report = compute_report(service, handoff(context), CLIENTS, True, NOW.timestamp())
    return dict(report)


def by_code(report: dict[str, Any]) -> dict[str, risk.Signal]:
    return {s["code"]: s for s in report["signals"]}


# --- returns in 90 days vs the shop's median ---------------------------------------------------------------


def test_three_returns_in_90_days_against_a_median_of_zero(service: RiskService, shop: Shop) -> None:
    report = report_for(service, {"customer": {"id": shop.risky, "name": "Rita Risk"}})
    returns = by_code(report)["returns_90d"]
    # customers with orders: Rita 3, Otto 0 (100 days and 90 days + 1 s are outside), Fred 0, Lea 0, Quinn 0
    assert returns["numbers"]["returns"] == 3
    assert returns["numbers"]["shop_median"] == 0
    assert returns["numbers"]["customers_compared"] == 5  # Nina never ordered: not in the median
    assert returns["level"] == "watch"
    assert returns["reason"] == (
        "3 returns in 90 days; the shop's median customer has 0 (over 5 customers with orders)."
    )


def test_the_window_boundary_is_exactly_90_days(service: RiskService, shop: Shop) -> None:
    old = by_code(report_for(service, {"customer": {"id": shop.old}}))["returns_90d"]
    assert old["numbers"]["returns"] == 0  # 100 days and 90 days + 1 second: both outside
    assert old["level"] == "info"
    assert old["numbers"]["since"] == "2024-12-12T10:00:00+00:00"
    # Rita's return of exactly 90 days ago is inside: one second later it is not
    later = compute_report(
        service, handoff({"customer": {"id": shop.risky}}), CLIENTS, True, NOW.timestamp() + 1
    )
    assert by_code(dict(later))["returns_90d"]["numbers"]["returns"] == 2
    # the shop-wide counts behind the median, on both sides of the boundary (Otto's return of 90 days + 1 s)
    reader = service.shop
    assert reader.returns_per_customer(risk.iso(NOW - timedelta(days=90))) == {0: 4, 3: 1}
    assert reader.returns_per_customer(risk.iso(NOW - timedelta(days=90, seconds=1))) == {0: 3, 1: 1, 3: 1}


def test_median() -> None:
    assert risk.median({}) == 0
    assert risk.median({0: 3, 2: 1}) == 0
    assert risk.median({1: 1, 3: 1}) == 2
    assert risk.median({0: 1, 1: 1, 5: 1}) == 1


# --- refund share ----------------------------------------------------------------------------------------


def test_refund_share_over_the_history_and_for_the_order_at_hand(service: RiskService, shop: Shop) -> None:
    report = report_for(
        service, {"customer": {"id": shop.risky}, "verified_order": shop.risky_orders[0].lower()}
    )
    refund = by_code(report)["refund_share"]
    # 4 orders of 100.00 not cancelled; 2 refunded in full; the cancelled 500.00 and its refund left out
    assert refund["numbers"] == {
        "currency": "EUR",
        "ordered_minor": 40_000,
        "refunded_minor": 20_000,
        "share": 0.5,
        "orders": 4,
        "refunded_orders": 2,
        "order_number": shop.risky_orders[0],
        "order_total_minor": 10_000,
        "order_refunded_minor": 10_000,
        "order_share": 1.0,
    }
    assert refund["level"] == "watch"
    assert refund["reason"] == (
        "Refunded 200.00 EUR of 400.00 EUR ordered (50%) over 4 orders, 2 of them refunded. "
        f"This order {shop.risky_orders[0]}: 100.00 EUR of 100.00 EUR already refunded (100%)."
    )
    assert report["order_at_hand"] == shop.risky_orders[0]


def test_an_order_of_another_customer_is_not_the_order_at_hand(service: RiskService, shop: Shop) -> None:
    report = report_for(service, {"customer": {"id": shop.quiet}, "verified_order": shop.risky_orders[0]})
    assert report["order_at_hand"] is None
    refund = by_code(report)["refund_share"]
    assert refund["numbers"]["order_number"] is None
    assert (refund["numbers"]["share"], refund["level"]) == (0.0, "info")


def test_a_customer_with_no_orders(service: RiskService, shop: Shop) -> None:
    report = report_for(service, {"customer": {"id": shop.new, "name": "Nina New"}})
    signals = by_code(report)
    assert [s["level"] for s in report["signals"][:3]] == ["info"] * 3
    assert signals["returns_90d"]["numbers"]["returns"] == 0
    assert (
        signals["refund_share"]["reason"]
        == "No orders that were not cancelled: nothing ordered, nothing refunded."
    )
    assert signals["refund_share"]["numbers"]["ordered_minor"] == 0
    assert signals["shared_address"]["numbers"]["addresses_checked"] == 1
    assert signals["verification_failures"]["numbers"]["on_customer_orders_by_others"] == 0


# --- an address used by several customers ----------------------------------------------------------------


def test_an_address_shared_by_three_customers_spelt_differently(service: RiskService, shop: Shop) -> None:
    address = by_code(report_for(service, {"customer": {"id": shop.risky}}))["shared_address"]
    assert address["numbers"] == {
        "addresses_checked": 1,
        "shared_addresses": 1,
        "address": "Hauptstraße 5, 10115 Berlin, DE",
        "customers_at_address": 3,
        "other_customers": 2,
    }
    assert address["level"] == "watch"
    assert address["reason"].startswith(
        "Hauptstraße 5, 10115 Berlin, DE is used by 3 customers (this one and 2 others;"
    )
    # Quinn lives at number 7 in the same street: not the same address
    quiet = by_code(report_for(service, {"customer": {"id": shop.quiet}}))["shared_address"]
    assert (quiet["numbers"]["other_customers"], quiet["level"]) == (0, "info")


def test_address_normalisation() -> None:
    same = [
        ("Hauptstraße 5", "10115"),
        ("hauptstr. 5", "10 115"),
        ("HAUPTSTRASSE  5", "10-115"),
        ("Hauptstr.5", "10115"),
        ("Hauptstraße5", "10115"),
    ]
    assert {address_key(street, postcode) for street, postcode in same} == {("10115", "hauptstr 5")}
    assert street_key("5 Main Street.") == street_key("5 main st") == "5 main st"
    assert street_key("Ｈａｕｐｔｓｔｒ． ５") == "hauptstr 5"  # full-width, as typed with an IME
    assert street_key("Hauptstraße 5a") != street_key("Hauptstraße 5")
    assert postcode_key("sw1a 1aa") == "SW1A1AA"


# --- failed verifications before the handoff ---------------------------------------------------------------


def test_verification_failures_of_the_conversation_and_on_the_customers_orders(
    service: RiskService, shop: Shop
) -> None:
    failures = by_code(report_for(service, {"customer": {"id": shop.risky}}))["verification_failures"]
    # counted: this client on SD-999999, the conversation id on Quinn's order, a stranger on Rita's order;
    # not counted: an unrelated client and order, and this client's failure after the handoff
    assert failures["numbers"] == {
        "failures": 3,
        "by_this_client": 2,
        "on_customer_orders_by_others": 1,
        "orders_failed": 3,
        "clients_known": True,
    }
    assert failures["level"] == "watch"
    assert failures["reason"].startswith(
        "3 failed order verifications before this handoff: 2 from this conversation's client, "
        "1 on the customer's orders from other clients"
    )


def test_no_verified_customer_shows_only_the_conversations_failures(service: RiskService, shop: Shop) -> None:
    report = report_for(service, {"customer": None, "orders": [], "cart": []})
    assert report["customer"] is None
    assert report["notes"] == [
        "No verified customer in this conversation: only the conversation's failed verifications can be shown."
    ]
    (only,) = report["signals"]
    assert only["code"] == "verification_failures"
    assert only["numbers"]["by_this_client"] == 2
    assert only["numbers"]["on_customer_orders_by_others"] is None
    assert "advisory" in report and "not a decision" in report["advisory"]


def test_the_verified_orders_owner_when_the_context_has_no_customer(service: RiskService, shop: Shop) -> None:
    report = report_for(service, {"customer": None, "orders": [{"number": shop.quiet_order}]})
    assert report["customer"] == {"id": shop.quiet, "name": "Quinn Quiet", "source": "verified order"}
    assert report["order_at_hand"] == shop.quiet_order


def test_malformed_or_unknown_customer_ids(service: RiskService, shop: Shop) -> None:
    unknown = report_for(service, {"customer": {"id": "C-0999"}})
    assert unknown["customer"] is None
    assert unknown["notes"][0] == "Customer C-0999 is not in the shop's data."
    forged = report_for(service, {"customer": {"id": "'; DROP TABLE orders; --"}})
    assert forged["customer"] is None and [s["code"] for s in forged["signals"]] == ["verification_failures"]


def test_client_keys_from_the_tracker_up_to_the_handoff() -> None:
    events = [
        {"event": "user", "timestamp": 10.0, "metadata": {"shopdesk_client": "ab12"}},
        {"event": "bot", "timestamp": 11.0, "metadata": {"shopdesk_client": "bot-never"}},
        {"event": "user", "timestamp": 12.0, "metadata": {"shopdesk_client": " ab12 "}},
        {"event": "user", "timestamp": 13.0, "metadata": "not an object"},
        {"event": "user", "timestamp": 14.0, "metadata": {"shopdesk_client": "cd34"}},
        {"event": "user", "timestamp": 99.0, "metadata": {"shopdesk_client": "after-the-handoff"}},
    ]
    assert client_keys("conv-1", events, until=50.0) == ["client:ab12", "client:cd34", "sender:conv-1"]


def test_client_keys_match_the_action_servers() -> None:
    from rasa_sdk import Tracker

    from actions.authority import client_key

    meta = {"shopdesk_client": "  x" * 60}
    tracker = Tracker(
        "conv-2", {}, {"metadata": meta}, [{"event": "user", "metadata": meta}], False, None, {}, ""
    )
    assert client_keys("conv-2", [{"event": "user", "metadata": meta}], until=1e12)[0] == client_key(tracker)
    bare = Tracker("conv-2", {}, {}, [], False, None, {}, "")
    assert client_keys("conv-2", [], until=1e12) == [client_key(bare)]


def test_the_shop_store_unavailable(tmp_path: Path) -> None:
    service = RiskService(ShopReader(tmp_path / "absent.db"))
    with pytest.raises(ShopUnavailableError):
        compute_report(service, handoff({"customer": {"id": "C-0001"}}), CLIENTS, True, NOW.timestamp())
    assert not (tmp_path / "absent.db").exists()


def test_the_median_is_read_once_per_ttl(shop: Shop) -> None:
    reads: list[str] = []
    reader = ShopReader(shop.store.path)
    original = reader.returns_per_customer

    def counting(since: str) -> dict[int, int]:
        reads.append(since)
        return original(since)

    reader.returns_per_customer = counting  # type: ignore[method-assign]
    now = [1000.0]
    service = RiskService(reader, clock=lambda: now[0])
    for _ in range(3):
        compute_report(service, handoff({"customer": {"id": shop.risky}}), CLIENTS, True, NOW.timestamp())
    assert len(reads) == 1
    now[0] += 61
    compute_report(service, handoff({"customer": {"id": shop.risky}}), CLIENTS, True, NOW.timestamp())
    assert len(reads) == 2
