"""The SQLite store on the seeded demo shop, with a fixed clock: what only SQLite has (schema, pragmas, ids
under concurrency) and the detailed policy cases; tests/shop/test_contract.py holds what every backend keeps."""

from __future__ import annotations

import sqlite3
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from shop import policy
from shop.demo.catalog_gen import build_rows, bundle_product_ids
from shop.demo.seed import DEMO_REFUND_ID, DEMO_RETURN_ID, open_seeded_store
from shop.errors import (
    CustomerNotFoundError,
    EmailMismatchError,
    InvalidIdentifierError,
    InvalidInputError,
    InvoiceNotFoundError,
    OrderNotCancellableError,
    OrderNotFoundError,
    OrderNotModifiableError,
    OutOfStockError,
    PriceChangedError,
    ProductNotFoundError,
    RefundNotAllowedError,
    RefundNotFoundError,
    ReturnNotAllowedError,
    ReturnNotFoundError,
    StoreError,
)
from shop.ids import normalize_order_number
from shop.interface import OrderStore
from shop.model import Address, Order
from shop.sqlite import SqliteOrderStore
from tests.shop.conftest import NOW, FixedClock

HOSTILE = [
    "SD-100001' OR '1'='1",
    "1; DROP TABLE orders; --",
    "../../etc/passwd",
    "<script>alert(1)</script>",
    "SD-1000011",
    "SD-10001",
    "",
    "   ",
    "SD-100001\x00",
    "x" * 500,
    "SD-١٠٠٠٤٢",  # digits of another script are never an order number
]
ADDRESS = Address("Neue Straße 7", "20095", "Hamburg", "DE")


# --- identifiers -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "raw",
    [
        "SD-100042",
        "sd100042",
        " 100042 ",
        "SD 100042",
        "#100042",
        "sd-100042",
        "ＳＤ－１０００４２",
        "＃１０００４２",
    ],
)
def test_order_numbers_are_normalised(raw: str) -> None:
    assert normalize_order_number(raw) == "SD-100042"


@pytest.mark.parametrize("raw", HOSTILE)
def test_hostile_order_numbers_are_rejected_naming_the_value(shop: SqliteOrderStore, raw: str) -> None:
    with pytest.raises(InvalidIdentifierError) as info:
        shop.get_order(raw)
    assert repr(raw)[:30] in str(info.value)
    assert "SD-100042" in str(info.value)  # names the valid shape
    with pytest.raises(InvalidIdentifierError):
        shop.verify_order(raw, "anna.berg@example.com")


@pytest.mark.parametrize("raw", ["RF-1' OR 1=1", "../RF-300001", "<b>RF-300001</b>"])
def test_hostile_refund_ids_are_rejected(shop: SqliteOrderStore, raw: str) -> None:
    with pytest.raises(InvalidIdentifierError):
        shop.get_refund(raw)


def test_tables_survive_hostile_input(shop: SqliteOrderStore) -> None:
    for raw in HOSTILE:
        with pytest.raises(StoreError):
            shop.get_order(raw)
    with pytest.raises(StoreError):
        shop.find_customer_by_email("x' OR '1'='1")
    assert shop.get_order("SD-100001").number == "SD-100001"
    assert len(shop.all_order_lines()) > 100


# --- demo orders ------------------------------------------------------------------------------------
def test_documented_demo_orders(shop: SqliteOrderStore) -> None:
    expected = {
        "SD-100001": ("pending", "anna.berg@example.com"),
        "SD-100002": ("paid", "anna.berg@example.com"),
        "SD-100003": ("shipped", "ben.okafor@example.com"),
        "SD-100004": ("delivered", "ben.okafor@example.com"),
        "SD-100005": ("delivered", "chloe.martin@example.com"),
        "SD-100006": ("cancelled", "chloe.martin@example.com"),
        "SD-100007": ("returned", "david.chen@example.com"),
        "SD-100008": ("delivered", "david.chen@example.com"),
        "SD-100009": ("packed", "emma.fischer@example.com"),
    }
    for number, (status, email) in expected.items():
        order = shop.get_order(number)
        assert (order.status, order.customer.email) == (status, email), number
    assert shop.get_order("SD-100001").customer.name == "Anna Berg"
    shipped = shop.get_order("SD-100003")
    assert shipped.carrier == "DHL" and shipped.tracking_number
    assert shipped.shipment is not None and shipped.shipment.estimated_delivery > NOW.date()
    assert shop.get_order("SD-100004").delivered_at == NOW - timedelta(days=5)
    assert shop.get_order("SD-100005").delivered_at == NOW - timedelta(days=60)
    assert [r.id for r in shop.refunds_for_order("SD-100007")] == [DEMO_REFUND_ID]
    assert shop.get_refund(DEMO_REFUND_ID).status == "processing"
    assert shop.get_return(DEMO_RETURN_ID).refund_id == DEMO_REFUND_ID
    assert [i.id for i in shop.invoices_for_order("SD-100008")] == ["INV-400008"]
    assert shop.get_invoice("INV-400008").url == "/invoices/INV-400008.pdf"


def test_seed_covers_every_state_and_is_deterministic(shop: SqliteOrderStore, tmp_path: Path) -> None:
    with shop.read() as conn:
        statuses = {row[0]: row[1] for row in conn.execute("SELECT status, COUNT(*) FROM orders GROUP BY 1")}
        first = conn.execute(
            "SELECT number, customer_id, total_minor, created_at FROM orders ORDER BY number"
        ).fetchall()
    assert set(statuses) == {"pending", "paid", "packed", "shipped", "delivered", "cancelled", "returned"}
    assert sum(statuses.values()) >= 300
    again = open_seeded_store(tmp_path / "again.db", clock=FixedClock(NOW))
    with again.read() as conn:
        second = conn.execute(
            "SELECT number, customer_id, total_minor, created_at FROM orders ORDER BY number"
        ).fetchall()
    assert [tuple(r) for r in first] == [tuple(r) for r in second]


def test_seed_is_idempotent_and_force_rebuilds(tmp_path: Path) -> None:
    path = tmp_path / "shop.db"
    store = open_seeded_store(path, clock=FixedClock(NOW))
    store.record_handoff_request("c1", "test")
    open_seeded_store(path, clock=FixedClock(NOW))  # no second seed, no error
    with store.read() as conn:
        assert conn.execute("SELECT COUNT(*) FROM handoff_requests").fetchone()[0] == 1
    rebuilt = open_seeded_store(path, clock=FixedClock(NOW), force=True)
    with rebuilt.read() as conn:
        assert conn.execute("SELECT COUNT(*) FROM handoff_requests").fetchone()[0] == 0


def test_co_purchases_follow_the_bundles(shop: SqliteOrderStore) -> None:
    baskets: dict[str, set[str]] = {}
    for line in shop.all_order_lines():
        baskets.setdefault(line.order_number, set()).add(line.product_id)
    mat, blocks, usb_hub = "P-1041", "P-1042", "P-1051"
    with_mat = [b for b in baskets.values() if mat in b]
    assert with_mat, "yoga mats are sold"
    together = sum(blocks in b for b in with_mat) / len(with_mat)
    unrelated = sum(usb_hub in b for b in with_mat) / len(with_mat)
    assert together > 0.2 and together > 3 * unrelated
    assert all(len(b) >= 2 for b in bundle_product_ids())


def test_store_satisfies_the_protocol(shop: SqliteOrderStore) -> None:
    assert isinstance(shop, OrderStore)


# --- verification -----------------------------------------------------------------------------------
def test_verify_order_accepts_the_email_in_any_case(shop: SqliteOrderStore) -> None:
    order = shop.verify_order("sd100003", "  Ben.Okafor@Example.com ")
    assert isinstance(order, Order) and order.number == "SD-100003"


def test_verify_order_accepts_a_full_width_email_and_order_number(shop: SqliteOrderStore) -> None:
    """What a Chinese input method types (ＳＤ－…, ａｎｎａ＠…) is the same order and address."""
    order = shop.verify_order("ｓｄ１００００３", "ＢＥＮ.ＯＫＡＦＯＲ＠ＥＸＡＭＰＬＥ.ＣＯＭ")
    assert order.number == "SD-100003"


def test_verify_order_email_mismatch_reveals_nothing(shop: SqliteOrderStore) -> None:
    with pytest.raises(EmailMismatchError) as info:
        shop.verify_order("SD-100003", "anna.berg@example.com")
    assert "ben" not in str(info.value).lower()
    assert not hasattr(info.value, "expected_email")


def test_verify_unknown_order(shop: SqliteOrderStore) -> None:
    with pytest.raises(OrderNotFoundError) as info:
        shop.verify_order("SD-199999", "anna.berg@example.com")
    assert "SD-199999" in str(info.value)


def test_verify_rejects_malformed_email(shop: SqliteOrderStore) -> None:
    with pytest.raises(InvalidInputError):
        shop.verify_order("SD-100003", "not-an-email' OR 1=1 --")


# --- customers ----------------------------------------------------------------------------------------
def test_customers(shop: SqliteOrderStore) -> None:
    anna = shop.find_customer_by_email("ANNA.BERG@example.com")
    assert anna is not None and anna.id == "C-0001" and anna.first_name == "Anna"
    assert shop.get_customer("c-0001") == anna
    assert shop.find_customer_by_email("nobody@example.com") is None
    with pytest.raises(CustomerNotFoundError):
        shop.get_customer("C-9999")
    orders = shop.orders_for_customer("C-0001")
    assert {"SD-100001", "SD-100002"} <= {o.number for o in orders}
    assert [o.created_at for o in orders] == sorted((o.created_at for o in orders), reverse=True)


# --- cancellation -------------------------------------------------------------------------------------
def test_cancel_pending_is_free_and_refunds_nothing(shop: SqliteOrderStore) -> None:
    stock_before = shop.get_product("P-1031").stock
    order, fee = shop.cancel_order("SD-100001")
    assert (order.status, fee) == ("cancelled", 0)
    assert order.cancelled_at == NOW
    assert shop.refunds_for_order("SD-100001") == []
    assert shop.get_product("P-1031").stock == stock_before + 1  # back in stock


def test_cancel_paid_is_free_and_refunds_everything(shop: SqliteOrderStore) -> None:
    total = shop.get_order("SD-100002").total_minor
    _, fee = shop.cancel_order("SD-100002")
    (refund,) = shop.refunds_for_order("SD-100002")
    assert fee == 0 and refund.amount_minor == total and refund.status == "pending"
    assert refund.method == shop.get_order("SD-100002").payment_method
    assert refund.expected_by == policy.add_business_days(NOW.date(), policy.REFUND_BUSINESS_DAYS_MAX)


def test_cancel_packed_charges_the_fee(shop: SqliteOrderStore) -> None:
    quote = shop.cancellation_quote("SD-100009")
    assert quote.allowed and quote.fee_minor == policy.CANCELLATION_FEE_MINOR["packed"] == 495
    total = shop.get_order("SD-100009").total_minor
    _, fee = shop.cancel_order("SD-100009")
    (refund,) = shop.refunds_for_order("SD-100009")
    assert fee == 495 and refund.amount_minor == total - 495


@pytest.mark.parametrize("number", ["SD-100003", "SD-100004", "SD-100006", "SD-100007"])
def test_no_cancellation_once_shipped_or_closed(shop: SqliteOrderStore, number: str) -> None:
    quote = shop.cancellation_quote(number)
    assert not quote.allowed
    with pytest.raises(OrderNotCancellableError) as info:
        shop.cancel_order(number)
    assert info.value.status == shop.get_order(number).status


# --- changes before shipping -----------------------------------------------------------------------------
def test_change_shipping_address_before_shipping(shop: SqliteOrderStore) -> None:
    order = shop.change_shipping_address("SD-100002", ADDRESS)
    assert order.shipping_address.city == "Hamburg"
    assert order.shipping_address.name == "Anna Berg"


def test_no_address_change_after_shipping(shop: SqliteOrderStore) -> None:
    with pytest.raises(OrderNotModifiableError):
        shop.change_shipping_address("SD-100003", ADDRESS)


def test_incomplete_address_is_rejected(shop: SqliteOrderStore) -> None:
    with pytest.raises(InvalidInputError) as info:
        shop.change_shipping_address("SD-100002", Address("", "20095", "Hamburg", "DE"))
    assert "street" in str(info.value)


def test_change_and_remove_lines_recompute_totals_and_refund_the_difference(shop: SqliteOrderStore) -> None:
    before = shop.get_order("SD-100002")  # yoga mat + blocks, paid
    order = shop.remove_order_line("SD-100002", "P-1041")
    assert [line.product_id for line in order.lines] == ["P-1042"]
    assert order.subtotal_minor == 2990
    assert order.shipping_minor == policy.SHIPPING_FEE_MINOR  # now below free shipping
    assert order.total_minor == 2990 + 495
    (refund,) = shop.refunds_for_order("SD-100002")
    assert refund.amount_minor == before.total_minor - order.total_minor
    assert len(shop.invoices_for_order("SD-100002")) == 2  # a corrected invoice
    order = shop.change_order_line("SD-100002", "P-1042", 2)
    assert order.lines[0].quantity == 2 and order.total_minor == 2 * 2990 + 0


def test_line_change_rules(shop: SqliteOrderStore) -> None:
    with pytest.raises(OrderNotModifiableError):
        shop.change_order_line("SD-100003", "P-1023", 0)  # shipped
    with pytest.raises(InvalidInputError) as info:
        shop.change_order_line("SD-100002", "P-1001", 1)  # not in the order
    assert "P-1041" in str(info.value)
    for bad in (-1, 11, 1.5, True):
        with pytest.raises(InvalidInputError):
            shop.change_order_line("SD-100002", "P-1041", bad)  # type: ignore[arg-type]


def test_cannot_remove_the_only_item(shop: SqliteOrderStore) -> None:
    shop.remove_order_line("SD-100009", "P-1022")
    with pytest.raises(OrderNotModifiableError):
        shop.remove_order_line("SD-100009", "P-1028")


# --- returns and refunds -----------------------------------------------------------------------------------
def test_return_inside_the_window(shop: SqliteOrderStore) -> None:
    eligibility = shop.return_eligibility("SD-100004")
    assert eligibility.eligible
    assert eligibility.deadline == NOW - timedelta(days=5) + timedelta(days=30)
    request = shop.create_return("SD-100004", "too small", ["P-1011"])
    assert request.id.startswith("RT-") and request.product_ids == ("P-1011",)
    assert shop.get_return(request.id) == request
    assert shop.returns_for_order("SD-100004") == [request]
    with pytest.raises(ReturnNotAllowedError):  # one open return at a time
        shop.create_return("SD-100004", "again")
    refund = shop.request_refund("SD-100004")
    assert refund.return_id == request.id and refund.amount_minor == 11900
    with pytest.raises(RefundNotAllowedError):
        shop.request_refund("SD-100004")


def test_return_window_edges(shop: SqliteOrderStore, clock: FixedClock) -> None:
    delivered = shop.get_order("SD-100004").delivered_at
    assert delivered is not None
    clock.now = delivered + timedelta(days=30)
    assert shop.return_eligibility("SD-100004").eligible  # the last moment
    clock.now = delivered + timedelta(days=30, seconds=1)
    assert not shop.return_eligibility("SD-100004").eligible


def test_return_outside_the_window(shop: SqliteOrderStore) -> None:
    eligibility = shop.return_eligibility("SD-100005")
    assert not eligibility.eligible and "30-day" in eligibility.reason
    with pytest.raises(ReturnNotAllowedError) as info:
        shop.create_return("SD-100005", "changed my mind")
    assert info.value.order_number == "SD-100005"


@pytest.mark.parametrize("number", ["SD-100001", "SD-100002", "SD-100003", "SD-100006", "SD-100007"])
def test_no_return_before_delivery_or_after_closing(shop: SqliteOrderStore, number: str) -> None:
    assert not shop.return_eligibility(number).eligible
    with pytest.raises(ReturnNotAllowedError):
        shop.create_return(number, "")


def test_return_rejects_foreign_items(shop: SqliteOrderStore) -> None:
    with pytest.raises(InvalidInputError):
        shop.create_return("SD-100004", "", ["P-1059"])


@pytest.mark.parametrize("number", ["SD-100002", "SD-100004", "SD-100006"])
def test_refund_needs_a_return(shop: SqliteOrderStore, number: str) -> None:
    with pytest.raises(RefundNotAllowedError):
        shop.request_refund(number)


def test_lookups_of_unknown_records(shop: SqliteOrderStore) -> None:
    with pytest.raises(RefundNotFoundError):
        shop.get_refund("RF-399999")
    with pytest.raises(ReturnNotFoundError):
        shop.get_return("RT-299999")
    with pytest.raises(InvoiceNotFoundError):
        shop.get_invoice("INV-499999")
    with pytest.raises(OrderNotFoundError):
        shop.invoices_for_order("SD-199999")


# --- catalog and new orders ---------------------------------------------------------------------------------
def test_catalog(shop: SqliteOrderStore) -> None:
    products = shop.list_products()
    assert len(products) == len(build_rows()) == 60
    assert {p.category for p in products} >= {"bags", "shoes", "apparel", "home & lighting", "sports"}
    assert len(shop.list_products(in_stock_only=True)) == 57
    lamp = shop.get_product("P-1031")
    assert lamp.attributes["dimmable"] is True and "dimmable" in lamp.description.lower()
    assert [p.id for p in shop.get_products(["P-1042", "P-9999", "P-1041", "P-1042"])] == ["P-1042", "P-1041"]
    with pytest.raises(ProductNotFoundError):
        shop.get_product("P-9999")
    with pytest.raises(InvalidIdentifierError):
        shop.get_products(["P-1041'--"])


def test_create_order_and_hooks_run_in_the_transaction(shop: SqliteOrderStore) -> None:
    lines = [("P-1041", 1), ("P-1042", 2)]
    quote = shop.quote_order(lines)
    assert quote.total_minor == 5990 + 2 * 2990  # free shipping above €50
    seen: list[str] = []

    def hook(conn: sqlite3.Connection, order: Order) -> None:
        assert conn.in_transaction
        seen.append(order.number)

    stock = shop.get_product("P-1042").stock
    order = shop.create_order("C-0001", lines, ADDRESS, quote.total_minor, on_created=[hook])
    assert seen == [order.number] and order.status == "pending" and order.number == "SD-100310"
    assert shop.get_product("P-1042").stock == stock - 2
    paid = shop.mark_order_paid(order.number)
    assert paid.status == "paid" and len(shop.invoices_for_order(order.number)) == 1


def test_failing_hook_rolls_everything_back(shop: SqliteOrderStore) -> None:
    quote = shop.quote_order([("P-1041", 1)])
    stock = shop.get_product("P-1041").stock

    def hook(conn: sqlite3.Connection, order: Order) -> None:
        raise RuntimeError("ledger queue unavailable")

    with pytest.raises(RuntimeError):
        shop.create_order("C-0001", [("P-1041", 1)], ADDRESS, quote.total_minor, on_created=[hook])
    assert shop.get_product("P-1041").stock == stock
    with pytest.raises(OrderNotFoundError):
        shop.get_order("SD-100310")


def test_create_order_validation(shop: SqliteOrderStore) -> None:
    with pytest.raises(PriceChangedError) as info:
        shop.create_order("C-0001", [("P-1041", 1)], ADDRESS, 100)
    assert info.value.new_total_minor == 5990
    with pytest.raises(OutOfStockError):
        shop.create_order("C-0001", [("P-1024", 1)], ADDRESS, 18900)  # down jacket: out of stock
    with pytest.raises(ProductNotFoundError):
        shop.create_order("C-0001", [("P-9999", 1)], ADDRESS, 0)
    for lines in ([], [("P-1041", 0)], [("P-1041", 11)], [("P-1041", 1), ("p-1041", 1)]):
        with pytest.raises(InvalidInputError):
            shop.create_order("C-0001", lines, ADDRESS, 0)
    with pytest.raises(CustomerNotFoundError):
        shop.create_order("C-9999", [("P-1041", 1)], ADDRESS, 5990)


def test_purchase_history(shop: SqliteOrderStore) -> None:
    history = shop.purchase_history("C-0001")
    numbers = {line.order_number for line in history}
    assert {"SD-100001", "SD-100002"} <= numbers
    assert all(line.customer_id == "C-0001" and line.status != "cancelled" for line in history)
    assert "SD-100006" not in {line.order_number for line in shop.all_order_lines()}  # cancelled


# --- feedback and handoff -----------------------------------------------------------------------------------
def test_feedback_and_handoff(shop: SqliteOrderStore) -> None:
    complaint = shop.record_feedback("complaint", "Parcel was wet", "sd100003", "conv-1")
    assert complaint.order_number == "SD-100003" and complaint.id.startswith("FB-")
    review = shop.record_feedback("review", "Love it", None, "conv-1", rating=5)
    assert review.rating == 5
    with pytest.raises(InvalidInputError):
        shop.record_feedback("praise", "x", None, "conv-1")  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        shop.record_feedback("review", "x", None, "conv-1", rating=6)
    with pytest.raises(InvalidInputError):
        shop.record_feedback("review", "   ", None, "conv-1")
    with pytest.raises(OrderNotFoundError):
        shop.record_feedback("complaint", "x", "SD-199999", "conv-1")
    handoff = shop.record_handoff_request("conv-1", "wants a person")
    assert handoff.id.startswith("HO-") and handoff.created_at == NOW


# --- plumbing -----------------------------------------------------------------------------------------------
def test_schema_version_and_pragmas(shop: SqliteOrderStore) -> None:
    with shop.read() as conn:
        assert conn.execute("SELECT version FROM schema_version").fetchone()[0] == 1
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_schema_version_mismatch_is_refused(shop: SqliteOrderStore) -> None:
    with shop.transaction() as conn:
        conn.execute("UPDATE schema_version SET version = 99")
    with pytest.raises(RuntimeError, match="schema version 99"):
        SqliteOrderStore(shop.path)


def test_naive_clock_is_refused(tmp_path: Path) -> None:
    store = SqliteOrderStore(tmp_path / "s.db", clock=lambda: NOW.replace(tzinfo=None))
    with pytest.raises(ValueError, match="timezone-aware"):
        store.record_handoff_request("c", "r")


def test_concurrent_writers_get_unique_ids(shop: SqliteOrderStore) -> None:
    ids: list[str] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(10):
                ids.append(shop.record_handoff_request("conv", "load").id)
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(ids) == len(set(ids)) == 40
