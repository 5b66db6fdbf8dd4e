"""The contract every shop backend keeps: each aggregate Protocol exercised through the Protocol only.

Runs once per implementation (``tests/shop/conftest.py``: ``IMPLEMENTATIONS``) on the seeded demo shop with
the clock fixed (docs/demo-shop.md lists the documented orders used here). No SQL and no backend types here.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from shop import BACKENDS
from shop.aftersales import AfterSales
from shop.catalog import Catalog
from shop.errors import (
    CustomerNotFoundError,
    EmailMismatchError,
    InvalidIdentifierError,
    InvalidInputError,
    InvoiceNotFoundError,
    OrderNotCancellableError,
    OrderNotFoundError,
    OrderNotModifiableError,
    PriceChangedError,
    ProductNotFoundError,
    RefundNotAllowedError,
    RefundNotFoundError,
    ReturnNotAllowedError,
    ReturnNotFoundError,
)
from shop.inbox import Inbox
from shop.interface import OrderStore, Transaction
from shop.model import Address, Order
from shop.orders import OrderBook
from tests.shop.conftest import IMPLEMENTATIONS, FixedClock

ADDRESS = Address("Neue Straße 7", "20095", "Hamburg", "DE")


def test_every_backend_is_under_contract() -> None:
    assert set(IMPLEMENTATIONS) == set(BACKENDS)


def test_store_is_every_aggregate(store: OrderStore) -> None:
    for protocol in (OrderStore, OrderBook, Catalog, AfterSales, Inbox):
        assert isinstance(store, protocol), protocol.__name__


# --- OrderBook: orders, customers, verification ------------------------------------------------------
def test_get_order_normalises_and_refuses(store: OrderStore) -> None:
    order = store.get_order(" sd100004 ")
    assert (order.number, order.status, order.customer.id) == ("SD-100004", "delivered", "C-0002")
    assert order.total_minor == order.subtotal_minor + order.shipping_minor
    assert order.subtotal_minor == sum(line.total_minor for line in order.lines)
    with pytest.raises(OrderNotFoundError):
        store.get_order("SD-999999")
    with pytest.raises(InvalidIdentifierError, match="SD-100042"):
        store.get_order("1; DROP TABLE orders")


def test_verify_order(store: OrderStore) -> None:
    assert store.verify_order("SD-100003", " Ben.Okafor@Example.com ").number == "SD-100003"
    with pytest.raises(EmailMismatchError) as info:
        store.verify_order("SD-100003", "anna.berg@example.com")
    assert "ben.okafor" not in str(info.value)
    with pytest.raises(OrderNotFoundError):
        store.verify_order("SD-999999", "anna.berg@example.com")


def test_customers_and_their_orders(store: OrderStore) -> None:
    anna = store.get_customer("c-0001")
    assert (anna.id, anna.email) == ("C-0001", "anna.berg@example.com")
    assert store.find_customer_by_email("ANNA.BERG@example.com") == anna
    assert store.find_customer_by_email("nobody@example.com") is None
    with pytest.raises(CustomerNotFoundError):
        store.get_customer("C-9999")
    orders = store.orders_for_customer("C-0001")
    assert {"SD-100001", "SD-100002"} <= {o.number for o in orders}
    assert [o.created_at for o in orders] == sorted((o.created_at for o in orders), reverse=True)


def test_cancellation(store: OrderStore) -> None:
    assert (
        store.cancellation_quote("SD-100001").allowed and store.cancellation_quote("SD-100001").fee_minor == 0
    )
    packed = store.cancellation_quote("SD-100009")
    assert packed.allowed and packed.fee_minor > 0
    refused = store.cancellation_quote("SD-100003")
    assert not refused.allowed and refused.reason
    cancelled, fee = store.cancel_order("SD-100002")
    assert (cancelled.status, fee) == ("cancelled", 0) and cancelled.cancelled_at is not None
    assert sum(r.amount_minor for r in store.refunds_for_order("SD-100002")) == cancelled.total_minor
    with pytest.raises(OrderNotCancellableError):
        store.cancel_order("SD-100002")


def test_changes_before_shipping_only(store: OrderStore) -> None:
    moved = store.change_shipping_address("SD-100001", ADDRESS)
    assert (moved.shipping_address.street, moved.shipping_address.city) == (ADDRESS.street, ADDRESS.city)
    with pytest.raises(OrderNotModifiableError):
        store.change_shipping_address("SD-100003", ADDRESS)
    with pytest.raises(InvalidInputError):
        store.change_shipping_address("SD-100001", Address("", "20095", "Hamburg", "DE"))
    order = store.get_order("SD-100002")
    line = order.lines[0]
    changed = store.change_order_line("SD-100002", line.product_id, line.quantity + 1)
    assert changed.subtotal_minor == order.subtotal_minor + line.unit_price_minor
    assert changed.total_minor == changed.subtotal_minor + changed.shipping_minor
    if len(changed.lines) > 1:
        removed = store.remove_order_line("SD-100002", line.product_id)
        assert line.product_id not in {x.product_id for x in removed.lines}
    with pytest.raises(OrderNotModifiableError):
        store.change_order_line("SD-100003", store.get_order("SD-100003").lines[0].product_id, 2)


def _two_products(store: OrderStore) -> list[tuple[str, int]]:
    products = [p for p in store.list_products(in_stock_only=True) if p.stock >= 2 and p.currency == "EUR"]
    return [(products[0].id, 1), (products[1].id, 2)]


def test_create_order_runs_hooks_in_its_transaction(store: OrderStore) -> None:
    lines = _two_products(store)
    quote = store.quote_order(lines)
    stock = store.get_product(lines[1][0]).stock
    seen: list[Order] = []

    def hook(tx: Transaction, order: Order) -> None:
        assert callable(tx.execute)  # an abstract handle: whatever the backend's transaction is
        seen.append(order)

    order = store.create_order("C-0001", lines, ADDRESS, quote.total_minor, on_created=[hook])
    assert [o.number for o in seen] == [order.number] and order.status == "pending"
    assert order.total_minor == quote.total_minor and store.get_order(order.number) == order
    assert store.get_product(lines[1][0]).stock == stock - 2
    paid = store.mark_order_paid(order.number)
    assert paid.status == "paid" and paid.paid_at is not None
    assert [i.total_minor for i in store.invoices_for_order(order.number)] == [order.total_minor]


def test_failing_hook_rolls_the_order_back(store: OrderStore) -> None:
    lines = _two_products(store)
    quote = store.quote_order(lines)
    stock = store.get_product(lines[0][0]).stock
    before = {o.number for o in store.orders_for_customer("C-0001")}

    def hook(tx: Transaction, order: Order) -> None:
        raise RuntimeError("outbox unavailable")

    with pytest.raises(RuntimeError):
        store.create_order("C-0001", lines, ADDRESS, quote.total_minor, on_created=[hook])
    assert store.get_product(lines[0][0]).stock == stock
    assert {o.number for o in store.orders_for_customer("C-0001")} == before


def test_create_order_refuses_a_stale_total_and_bad_lines(store: OrderStore) -> None:
    lines = _two_products(store)
    quote = store.quote_order(lines)
    with pytest.raises(PriceChangedError):
        store.create_order("C-0001", lines, ADDRESS, quote.total_minor + 1)
    with pytest.raises(InvalidInputError):
        store.create_order("C-0001", [lines[0], lines[0]], ADDRESS, quote.total_minor)
    with pytest.raises(ProductNotFoundError):
        store.quote_order([("P-9999", 1)])


def test_purchase_history(store: OrderStore) -> None:
    history = store.purchase_history("C-0001")
    assert history and {line.customer_id for line in history} == {"C-0001"}
    everything = store.all_order_lines()
    assert "cancelled" not in {line.status for line in everything}
    assert [line.ordered_at for line in everything] == sorted(line.ordered_at for line in everything)


# --- Catalog -----------------------------------------------------------------------------------------
def test_catalog(store: OrderStore) -> None:
    products = store.list_products()
    assert products and [p.id for p in products] == sorted(p.id for p in products)
    category = products[0].category
    assert {p.category.lower() for p in store.list_products(category.upper())} == {category.lower()}
    assert all(p.in_stock for p in store.list_products(in_stock_only=True))
    first, second = products[0], products[1]
    assert store.get_product(first.id.lower()) == first
    assert [p.id for p in store.get_products([second.id, "P-9999", first.id])] == [second.id, first.id]
    with pytest.raises(InvalidIdentifierError):
        store.get_products(["P-1'--"])
    quote = store.quote_order([(first.id, 2)])
    assert quote.subtotal_minor == 2 * first.price_minor
    assert quote.total_minor == quote.subtotal_minor + quote.shipping_minor


# --- AfterSales --------------------------------------------------------------------------------------
def test_returns_inside_and_outside_the_window(store: OrderStore) -> None:
    inside = store.return_eligibility("SD-100004")
    assert inside.eligible and inside.deadline is not None
    assert not store.return_eligibility("SD-100005").eligible
    with pytest.raises(ReturnNotAllowedError):
        store.create_return("SD-100005", "too late")
    created = store.create_return("SD-100004", "does not fit")
    assert created.status == "requested" and store.get_return(created.id.lower()) == created
    assert store.returns_for_order("SD-100004") == [created]
    refund = store.request_refund("SD-100004")
    assert refund.return_id == created.id and refund.method == store.get_order("SD-100004").payment_method
    assert store.get_refund(refund.id) == refund and refund in store.refunds_for_order("SD-100004")
    with pytest.raises(RefundNotAllowedError):
        store.request_refund("SD-100004")


def test_after_sales_lookups(store: OrderStore, clock: FixedClock) -> None:
    assert store.get_refund("RF-300001").order_number == "SD-100007"
    assert store.get_return("RT-200001").order_number == "SD-100007"
    invoice = store.get_invoice("INV-400008")
    assert invoice in store.invoices_for_order("SD-100008") and invoice.url.endswith("INV-400008.pdf")
    with pytest.raises(RefundNotAllowedError):
        store.request_refund("SD-100001")
    for lookup, missing, error in (
        (store.get_refund, "RF-399999", RefundNotFoundError),
        (store.get_return, "RT-299999", ReturnNotFoundError),
        (store.get_invoice, "INV-499999", InvoiceNotFoundError),
    ):
        with pytest.raises(error):
            lookup(missing)
    clock.now += timedelta(days=400)
    assert not store.return_eligibility("SD-100004").eligible


# --- Inbox -------------------------------------------------------------------------------------------
def test_feedback_and_handoff(store: OrderStore) -> None:
    review = store.record_feedback("review", " great lamp ", "sd100004", "conv-1", rating=5)
    assert (review.kind, review.text, review.order_number, review.rating) == (
        "review",
        "great lamp",
        "SD-100004",
        5,
    )
    complaint = store.record_feedback("complaint", "late", None, "conv-1")
    assert complaint.id != review.id
    with pytest.raises(InvalidInputError):
        store.record_feedback("review", "ok", None, "conv-1", rating=6)
    with pytest.raises(InvalidInputError):
        store.record_feedback("praise", "ok", None, "conv-1")  # type: ignore[arg-type]
    with pytest.raises(OrderNotFoundError):
        store.record_feedback("complaint", "where is it", "SD-999999", "conv-1")
    handoff = store.record_handoff_request("conv-1", "wants a person")
    assert (handoff.conversation_id, handoff.reason) == ("conv-1", "wants a person")
    assert store.record_handoff_request("conv-2", "").id != handoff.id


def test_verification_failures_count_per_order_and_client_within_the_window(
    store: OrderStore, clock: FixedClock
) -> None:
    assert store.verification_failures("SD-100001", "client-a", 900) == (0, 0)
    store.record_verification_failure("SD-100001", "client-a", 900)
    store.record_verification_failure("SD-100001", "client-b", 900)
    store.record_verification_failure("SD-999999", "client-a", 900)  # unknown numbers count too
    assert store.verification_failures("SD-100001", "client-a", 900) == (2, 2)
    clock.now += timedelta(seconds=901)
    assert store.verification_failures("SD-100001", "client-a", 900) == (0, 0)
