"""Ordering actions on the seeded demo shop with an in-process (eth-tester) ledger."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.cart import (
    ActionAddToCart,
    ActionRemoveFromCart,
    ActionShowCart,
    CartError,
    parse_quantity,
)
from actions.checkout import ActionCancelCheckout, ActionCheckout, ActionConfirmOrder, parse_address
from actions.ledger_check import ActionCheckOrderRecord
from actions.order_tasks import ActionOrderTask
from actions.services import services
from actions.verify_orders import run_verification
from ledger.canonical import KeyRing, order_dict
from ledger.client import LedgerClient
from ledger.errors import LedgerError, NodeUnavailableError
from ledger.gateway import LedgerGateway
from ledger.outbox import Outbox
from shop.sqlite import SqliteOrderStore
from tests.actions.shop_fixtures import make_tracker, proven, slot_events

TESTER_KEY = "0x" + "00" * 31 + "01"
CUSTOMER = "C-0001"  # Anna Berg, anna.berg@example.com, Lindenstraße 12, 10969 Berlin (seed)
VERIFIED = proven("SD-100001", CUSTOMER)


@pytest.fixture
def keys() -> KeyRing:
    return KeyRing(b"ordering-test-hmac-key-0123456789")


@pytest.fixture
def chain(keys: KeyRing, shop: SqliteOrderStore, install: Any) -> LedgerClient:
    """An eth-tester chain behind the actions' ledger gateway (its outbox in the shop's file)."""
    client = LedgerClient.in_process(TESTER_KEY)
    client.deploy()
    install(ledger=LedgerGateway(keys, lambda: client, shop.path))
    return client


async def run(
    action: Any, slots: dict[str, Any] | None = None, **kw: Any
) -> tuple[list[dict[str, Any]], CollectingDispatcher]:
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(slots, **kw)
    events = await action.run(dispatcher, tracker, {})
    return events, dispatcher


def said(dispatcher: CollectingDispatcher) -> list[str]:
    return [m.get("response") or m.get("text") or "" for m in dispatcher.messages]


def order_count(shop: SqliteOrderStore) -> int:
    return int(sqlite3.connect(shop.path).execute("SELECT COUNT(*) FROM orders").fetchone()[0])


async def fill_and_summarize(shop: SqliteOrderStore) -> dict[str, Any]:
    """Add two products, check out as the verified customer; return the slots of the summary step."""
    p1, p2 = shop.list_products(in_stock_only=True)[:2]
    slots: dict[str, Any] = dict(VERIFIED)
    for product, qty in ((p1, "2"), (p2, "1")):
        events, _ = await run(
            ActionAddToCart(),
            slots,
            intent="add_to_cart",
            text=f"add {qty} {product.id}",
            entities=[{"entity": "product", "value": product.id}, {"entity": "quantity", "value": qty}],
        )
        slots.update(slot_events(events))
    events, dispatcher = await run(ActionCheckout(), slots, intent="checkout", text="checkout")
    assert said(dispatcher) == ["utter_order_summary"]
    slots.update(slot_events(events))
    assert slots["cart_step"] == "confirm_order"
    return slots


# --- parsing ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["0", "-1", "10^9", "1000000000", "1e9", "2.5", "lots", 0, True])
def test_bad_quantities_are_refused_with_a_reason(value: object) -> None:
    with pytest.raises(CartError):
        parse_quantity(value)


@pytest.mark.parametrize(("value", "expected"), [("2", 2), ("two", 2), (3, 3), (" 10 ", 10)])
def test_good_quantities(value: object, expected: int) -> None:
    assert parse_quantity(value) == expected


def test_parse_address() -> None:
    address = parse_address("Hauptstr. 5, 10115 Berlin, DE", "Anna")
    assert (address.street, address.postcode, address.city, address.country) == (
        "Hauptstr. 5",
        "10115",
        "Berlin",
        "DE",
    )
    with pytest.raises(CartError) as refused:
        parse_address("Hauptstr. 5, Berlin, DE")
    assert (refused.value.response, refused.value.values) == (
        "utter_cart_not_postcode_and_city",
        {"place": "Berlin"},
    )
    with pytest.raises(CartError) as refused:
        parse_address("Berlin")
    assert refused.value.response == "utter_cart_address_incomplete"


# --- cart -----------------------------------------------------------------------------------------------------------


async def test_add_by_id_by_name_and_show(shop: SqliteOrderStore) -> None:
    product = shop.get_product("P-1001")
    events, dispatcher = await run(
        ActionAddToCart(),
        {},
        intent="add_to_cart",
        text="add P-1001",
        entities=[{"entity": "product", "value": "P-1001"}],
    )
    cart = slot_events(events)["cart"]
    assert cart == [{"product_id": "P-1001", "quantity": 1}]
    events, dispatcher = await run(
        ActionAddToCart(), {"cart": cart}, intent="add_to_cart", text=f"two more {product.title}"
    )
    cart = slot_events(events)["cart"]
    assert cart == [{"product_id": "P-1001", "quantity": 3}], said(dispatcher)
    _, dispatcher = await run(ActionShowCart(), {"cart": cart}, intent="view_cart")
    assert said(dispatcher) == ["utter_cart_contents"]
    assert product.title in dispatcher.messages[0]["cart"]


@pytest.mark.parametrize(
    ("quantity", "response"),
    [
        ("0", "utter_cart_quantity_too_small"),
        ("-1", "utter_cart_quantity_too_small"),
        ("10^9", "utter_cart_quantity_too_large"),
    ],
)
async def test_bad_quantity_leaves_the_cart_alone(
    shop: SqliteOrderStore, quantity: str, response: str
) -> None:
    events, dispatcher = await run(
        ActionAddToCart(),
        {"cart": []},
        intent="add_to_cart",
        text=f"add {quantity} P-1001",
        entities=[{"entity": "quantity", "value": quantity}],
    )
    assert events == []
    assert said(dispatcher) == [response]


async def test_unknown_products_are_named_back(shop: SqliteOrderStore) -> None:
    _, dispatcher = await run(ActionAddToCart(), {}, intent="add_to_cart", text="add a flux capacitor")
    assert said(dispatcher) == ["utter_cart_unknown_product"]
    _, dispatcher = await run(ActionAddToCart(), {}, intent="add_to_cart", text="add P-9999")
    assert said(dispatcher) == ["utter_cart_no_such_product"]
    assert dispatcher.messages[0]["product_id"] == "P-9999"


async def test_an_ambiguous_name_offers_buttons(shop: SqliteOrderStore) -> None:
    _, dispatcher = await run(ActionAddToCart(), {}, intent="add_to_cart", text="add a backpack")
    assert said(dispatcher) == ["utter_cart_which_product"]
    payloads = [b["payload"] for b in dispatcher.messages[0]["buttons"]]
    assert len(payloads) >= 2 and all(p.startswith("/add_to_cart{") for p in payloads)


async def test_remove(shop: SqliteOrderStore) -> None:
    cart = [{"product_id": "P-1001", "quantity": 3}, {"product_id": "P-1002", "quantity": 1}]
    events, _ = await run(
        ActionRemoveFromCart(),
        {"cart": cart},
        intent="remove_from_cart",
        text="remove one P-1001",
        entities=[{"entity": "quantity", "value": "1"}],
    )
    assert slot_events(events)["cart"] == [
        {"product_id": "P-1001", "quantity": 2},
        {"product_id": "P-1002", "quantity": 1},
    ]
    events, _ = await run(
        ActionRemoveFromCart(), {"cart": cart}, intent="remove_from_cart", text="remove P-1002"
    )
    assert slot_events(events)["cart"] == [{"product_id": "P-1001", "quantity": 3}]


# --- checkout -------------------------------------------------------------------------------------------------------


async def test_empty_cart_and_unknown_shopper_cannot_check_out(shop: SqliteOrderStore) -> None:
    _, dispatcher = await run(ActionCheckout(), {**VERIFIED, "cart": []}, intent="checkout")
    assert said(dispatcher) == ["utter_cart_empty"]
    events, dispatcher = await run(
        ActionCheckout(), {"cart": [{"product_id": "P-1001", "quantity": 1}]}, intent="checkout"
    )
    assert said(dispatcher) == ["utter_checkout_need_customer"]
    # the order number + email given next verify for the checkout (rules: "details for checkout -> verify")
    assert slot_events(events) == {"cart_step": "verify_customer", "order_task": "checkout"}


async def test_verified_for_checkout_hands_back_to_checkout(shop: SqliteOrderStore) -> None:
    """action_order_task after a verification checkout asked for says nothing (the rules run action_checkout
    next: the summary), instead of tracking the order it was verified with."""
    events, dispatcher = await run(ActionOrderTask(), {**VERIFIED, "order_task": "checkout"}, intent="inform")
    assert dispatcher.messages == []
    assert slot_events(events) == {"order_step": None}


async def test_confirm_creates_the_order_and_records_it_on_chain(
    shop: SqliteOrderStore, chain: LedgerClient, keys: KeyRing
) -> None:
    before = order_count(shop)
    slots = await fill_and_summarize(shop)
    events, dispatcher = await run(ActionConfirmOrder(), slots, intent="affirm", text="yes")
    assert said(dispatcher) == ["utter_order_placed_recorded"], dispatcher.messages
    number = dispatcher.messages[0]["order_number"]
    assert dispatcher.messages[0]["tx_hash"].startswith("0x")
    placed = slot_events(events)
    assert placed["placed_order_id"] == placed["verified_order_id"] == number
    assert placed["cart"] == [] and placed["cart_step"] is None
    assert order_count(shop) == before + 1
    order = shop.get_order(number)
    assert chain.digest_of(keys.record_id(number)) == keys.digest(order_dict(order))
    row = Outbox.open(shop.path).get(number)
    assert row is not None and row.status == "recorded"

    # confirming twice places nothing new and records nothing new
    _, dispatcher = await run(ActionConfirmOrder(), {**slots, **placed}, intent="affirm", text="yes")
    assert said(dispatcher) == ["utter_order_already_placed"]
    assert order_count(shop) == before + 1 and chain.record_count() == 1

    # "is my order record intact?" for the shopper's own order
    _, dispatcher = await run(ActionCheckOrderRecord(), proven(number, CUSTOMER))
    assert said(dispatcher) == ["utter_ledger_intact"]
    assert dispatcher.messages[0]["tx_hash"] == row.tx_hash


async def test_declining_leaves_nothing_behind(shop: SqliteOrderStore, chain: LedgerClient) -> None:
    before = order_count(shop)
    slots = await fill_and_summarize(shop)
    events, dispatcher = await run(ActionCancelCheckout(), slots, intent="deny", text="no")
    assert said(dispatcher) == ["utter_order_declined"]
    assert slot_events(events)["cart"] == [] and slot_events(events)["cart_quote"] is None
    assert order_count(shop) == before
    assert set(Outbox.open(shop.path).counts().values()) == {0}  # every state empty
    assert chain.record_count() == 0


async def test_changed_prices_are_shown_again_before_anything_is_ordered(
    shop: SqliteOrderStore, chain: LedgerClient
) -> None:
    before = order_count(shop)
    slots = await fill_and_summarize(shop)
    product_id = slots["cart_quote"]["lines"][0][0]
    with sqlite3.connect(shop.path) as conn:
        conn.execute("UPDATE products SET price_minor = price_minor + 500 WHERE id = ?", (product_id,))
    events, dispatcher = await run(ActionConfirmOrder(), slots, intent="affirm", text="yes")
    assert said(dispatcher) == ["utter_prices_changed", "utter_order_summary"]
    assert order_count(shop) == before and chain.record_count() == 0
    slots.update(slot_events(events))
    assert slots["cart_step"] == "confirm_order"
    _, dispatcher = await run(ActionConfirmOrder(), slots, intent="affirm", text="yes")
    assert said(dispatcher) == ["utter_order_placed_recorded"]
    assert order_count(shop) == before + 1


class DownClient:
    url = "http://127.0.0.1:9"

    def record(self, *args: object) -> object:
        raise NodeUnavailableError(self.url, "test")

    def digest_of(self, *args: object) -> object:
        raise NodeUnavailableError(self.url, "test")


async def test_node_down_still_confirms_with_a_pending_receipt(
    shop: SqliteOrderStore, keys: KeyRing, install: Any
) -> None:
    install(ledger=LedgerGateway(keys, DownClient, shop.path))  # type: ignore[arg-type]
    slots = await fill_and_summarize(shop)
    _, dispatcher = await run(ActionConfirmOrder(), slots, intent="affirm", text="yes")
    assert said(dispatcher) == ["utter_order_placed_pending"]
    number = dispatcher.messages[0]["order_number"]
    row = Outbox.open(shop.path).get(number)
    assert row is not None and row.status == "pending"
    _, dispatcher = await run(ActionCheckOrderRecord(), proven(number, CUSTOMER))
    assert said(dispatcher) == ["utter_ledger_unreachable"]


async def test_a_failing_ledger_hook_rolls_the_order_back(
    shop: SqliteOrderStore, chain: LedgerClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_hook() -> object:
        def hook(conn: sqlite3.Connection, order: object) -> None:
            raise LedgerError("outbox unavailable")

        return hook

    monkeypatch.setattr(services().ledger, "queue_hook", broken_hook)
    before = order_count(shop)
    stock_before = {p.id: p.stock for p in shop.list_products()}
    slots = await fill_and_summarize(shop)
    _, dispatcher = await run(ActionConfirmOrder(), slots, intent="affirm", text="yes")
    assert said(dispatcher) == ["utter_order_failed"]
    assert order_count(shop) == before
    assert {p.id: p.stock for p in shop.list_products()} == stock_before


async def test_tampering_with_an_order_row_is_reported(
    shop: SqliteOrderStore, chain: LedgerClient, keys: KeyRing
) -> None:
    numbers = []
    for _ in range(2):
        slots = await fill_and_summarize(shop)
        _, dispatcher = await run(ActionConfirmOrder(), slots, intent="affirm", text="yes")
        numbers.append(dispatcher.messages[0]["order_number"])
    report = run_verification(shop.path, keys, chain)
    statuses = {c.order_number: c.status for c in report.checks}
    assert [statuses[n] for n in numbers] == ["intact", "intact"]
    assert not report.tampered  # the seeded orders have no record: "missing", not tampering
    with sqlite3.connect(shop.path) as conn:
        conn.execute("UPDATE order_lines SET quantity = quantity + 1 WHERE order_number = ?", (numbers[0],))
    report = run_verification(shop.path, keys, chain)
    statuses = {c.order_number: c.status for c in report.checks}
    assert statuses[numbers[0]] == "tampered" and statuses[numbers[1]] == "intact"
    assert report.tampered
    _, dispatcher = await run(ActionCheckOrderRecord(), proven(numbers[0], CUSTOMER))
    assert said(dispatcher) == ["utter_ledger_tampered"]
    with sqlite3.connect(shop.path) as conn:  # deleting an order leaves an orphaned record on chain
        conn.execute("DELETE FROM order_lines WHERE order_number = ?", (numbers[1],))
        conn.execute("DELETE FROM orders WHERE number = ?", (numbers[1],))
    report = run_verification(shop.path, keys, chain)
    assert report.counts["orphaned"] == 1


async def test_no_personal_data_reaches_the_chain(shop: SqliteOrderStore, chain: LedgerClient) -> None:
    customer = shop.get_customer(CUSTOMER)
    for _ in range(2):
        slots = await fill_and_summarize(shop)
        _, dispatcher = await run(ActionConfirmOrder(), slots, intent="affirm", text="yes")
        assert said(dispatcher) == ["utter_order_placed_recorded"]
    address = customer.default_address
    assert address is not None
    secrets = [customer.name, customer.email, address.street, address.city, address.postcode, customer.id]
    secrets += [part for part in customer.name.split() if len(part) > 2]
    needles = {s.encode("utf-8") for s in secrets} | {s.lower().encode("utf-8") for s in secrets}
    needles |= {s.encode("utf-16-le") for s in secrets} | {s.encode("utf-8").hex().encode() for s in secrets}
    w3 = chain.w3
    blobs: list[bytes] = []
    for number in range(w3.eth.block_number + 1):
        block = w3.eth.get_block(number, full_transactions=True)
        for tx in block["transactions"]:
            blobs.append(bytes(tx.get("input", tx.get("data", b""))))
            receipt = w3.eth.get_transaction_receipt(tx["hash"])
            for log in receipt["logs"]:
                blobs.append(bytes(log["data"]) + b"".join(bytes(t) for t in log["topics"]))
    assert len(blobs) >= 3  # the deployment and two records
    for blob in blobs:
        for needle in needles:
            assert needle not in blob, f"personal data {needle!r} found on chain"
    # a record transaction carries a selector and two 32-byte hashes, nothing else
    record_inputs = [b for b in blobs[1:] if len(b) == 4 + 64]
    assert len(record_inputs) == 2


def test_numbers_inside_a_product_name_are_not_quantities() -> None:
    from actions.cart import requested_quantity

    tracker = make_tracker(
        {},
        text="add Outdoor String Lights 10 m",
        entities=[{"entity": "product", "value": "Outdoor String Lights 10 m"}],
    )
    assert requested_quantity(tracker) is None
    assert requested_quantity(make_tracker({}, text="add 3 P-1039")) == 3
    with pytest.raises(CartError):
        requested_quantity(make_tracker({}, text="add -1 P-1039"))


async def test_a_refused_cart_request_reads_as_before(shop: SqliteOrderStore, say: Any) -> None:
    """The reasons moved from Python into domain/ordering.yml; the shopper reads the same sentences."""
    _, dispatcher = await run(
        ActionAddToCart(),
        {"cart": []},
        intent="add_to_cart",
        text="add lots P-1001",
        entities=[{"entity": "quantity", "value": "lots"}],
    )
    assert say(dispatcher) == ["Sorry, I can't do that: “lots” is not a whole number of items."]
    _, dispatcher = await run(ActionAddToCart(), {}, intent="add_to_cart", text="add P-9999")
    assert say(dispatcher) == ["Sorry, I can't do that: there is no product P-9999 in our shop."]
