"""SQLite implementation of ``OrderBook``: orders, customers, changes before shipping, creating orders."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Sequence
from pathlib import Path

from shop import policy
from shop.errors import (
    CustomerNotFoundError,
    EmailMismatchError,
    InvalidInputError,
    OrderNotCancellableError,
    OrderNotModifiableError,
    OutOfStockError,
    PriceChangedError,
)
from shop.ids import (
    normalize_customer_id,
    normalize_email,
    normalize_order_number,
    normalize_product_id,
)
from shop.model import (
    Address,
    CancellationQuote,
    Clock,
    Customer,
    Order,
    PurchasedLine,
)
from shop.orders import OnChangedHook, OnCreatedHook
from shop.sqlite.base import SqliteBase, clean_text, parse_dt, to_db, utc_now, validate_address

logger = logging.getLogger(__name__)


class SqliteOrders(SqliteBase):
    """``OrderBook`` on SQLite: orders, customers, changes before shipping, creating orders.

    ``on_changed``: hooks run in the transaction of every line change (the ledger's revision hook)."""

    def __init__(
        self, path: str | Path, *, clock: Clock = utc_now, on_changed: Sequence[OnChangedHook] = ()
    ) -> None:
        super().__init__(path, clock=clock)
        self.on_changed = tuple(on_changed)

    # --- orders and verification ---------------------------------------------------------------
    def get_order(self, number: str) -> Order:
        normalized = normalize_order_number(number)
        with self.read() as conn:
            return self._load_order(conn, normalized)

    def verify_order(self, number: str, email: str) -> Order:
        normalized = normalize_order_number(number)
        given = normalize_email(email)
        order = self.get_order(normalized)
        if order.customer.email.lower() != given:
            logger.info("verification failed for order %s (email mismatch)", normalized)
            raise EmailMismatchError(normalized)
        return order

    def orders_for_customer(self, customer_id: str) -> list[Order]:
        customer = self.get_customer(customer_id)
        with self.read() as conn:
            rows = conn.execute(
                self._ORDER_SELECT + " WHERE o.customer_id = ? ORDER BY o.created_at DESC, o.number DESC",
                (customer.id,),
            ).fetchall()
            return [self._order(conn, row) for row in rows]

    # --- customers -----------------------------------------------------------------------------
    def get_customer(self, customer_id: str) -> Customer:
        normalized = normalize_customer_id(customer_id)
        with self.read() as conn:
            row = conn.execute("SELECT * FROM customers WHERE id = ?", (normalized,)).fetchone()
        if row is None:
            raise CustomerNotFoundError(normalized)
        return self._customer(row)

    def find_customer_by_email(self, email: str) -> Customer | None:
        normalized = normalize_email(email)
        with self.read() as conn:
            row = conn.execute("SELECT * FROM customers WHERE lower(email) = ?", (normalized,)).fetchone()
        return self._customer(row) if row else None

    # --- changes before shipping ---------------------------------------------------------------
    @staticmethod
    def _quote_cancellation(order: Order) -> CancellationQuote:
        fee = policy.CANCELLATION_FEE_MINOR.get(order.status)
        if fee is not None:
            reason = (
                "free: the order has not been packed yet"
                if fee == 0
                else "a handling fee applies because the order is already packed"
            )
            return CancellationQuote(order.number, order.status, True, fee, order.currency, reason)
        reasons = {
            "shipped": "the order is already with the carrier; it can be returned once it arrives",
            "delivered": "the order has been delivered; it can be returned instead",
            "cancelled": "the order is already cancelled",
            "returned": "the order has already been returned",
        }
        return CancellationQuote(order.number, order.status, False, 0, order.currency, reasons[order.status])

    def cancellation_quote(self, number: str) -> CancellationQuote:
        return self._quote_cancellation(self.get_order(number))

    def cancel_order(self, number: str) -> tuple[Order, int]:
        normalized = normalize_order_number(number)
        now = self.now()
        with self.transaction() as conn:
            order = self._load_order(conn, normalized)
            quote = self._quote_cancellation(order)
            if not quote.allowed:
                raise OrderNotCancellableError(normalized, order.status, quote.reason)
            conn.execute(
                "UPDATE orders SET status = 'cancelled', cancelled_at = ? WHERE number = ?",
                (to_db(now), normalized),
            )
            for line in order.lines:  # back into stock
                conn.execute(
                    "UPDATE products SET stock = stock + ? WHERE id = ?", (line.quantity, line.product_id)
                )
            if order.paid_at is not None and order.total_minor - quote.fee_minor > 0:
                self._insert_refund(conn, order, order.total_minor - quote.fee_minor, None, now)
            updated = self._load_order(conn, normalized)
        logger.info("order %s cancelled (fee %s)", normalized, quote.fee_minor)
        return updated, quote.fee_minor

    def _require_modifiable(self, order: Order) -> None:
        if order.status not in policy.MODIFIABLE_STATUSES:
            why = "the order has already shipped" if order.has_shipped else f"the order is {order.status}"
            raise OrderNotModifiableError(order.number, order.status, f"cannot be changed: {why}")

    def change_shipping_address(self, number: str, address: Address) -> Order:
        normalized = normalize_order_number(number)
        clean = validate_address(address)
        with self.transaction() as conn:
            order = self._load_order(conn, normalized)
            self._require_modifiable(order)
            conn.execute(
                "UPDATE orders SET ship_name = ?, ship_street = ?, ship_postcode = ?, ship_city = ?,"
                " ship_country = ? WHERE number = ?",
                (
                    clean.name or order.shipping_address.name or order.customer.name,
                    clean.street,
                    clean.postcode,
                    clean.city,
                    clean.country,
                    normalized,
                ),
            )
            return self._load_order(conn, normalized)

    def change_order_line(self, number: str, product_id: str, quantity: int) -> Order:
        normalized = normalize_order_number(number)
        pid = normalize_product_id(product_id)
        if (
            isinstance(quantity, bool)
            or not isinstance(quantity, int)
            or not (0 <= quantity <= policy.MAX_QUANTITY_PER_LINE)
        ):
            raise InvalidInputError("quantity", quantity, f"a whole number 0..{policy.MAX_QUANTITY_PER_LINE}")
        now = self.now()
        with self.transaction() as conn:
            order = self._load_order(conn, normalized)
            self._require_modifiable(order)
            current = {line.product_id: line for line in order.lines}
            if pid not in current:
                raise InvalidInputError("product_id", pid, sorted(current))
            line = current[pid]
            if quantity == 0 and len(order.lines) == 1:
                raise OrderNotModifiableError(
                    normalized, order.status, "cannot remove the only item; cancel the order instead"
                )
            delta = quantity - line.quantity
            if delta > 0:
                stock = conn.execute("SELECT stock FROM products WHERE id = ?", (pid,)).fetchone()[0]
                if stock < delta:
                    raise OutOfStockError(pid, delta, stock)
            conn.execute("UPDATE products SET stock = stock - ? WHERE id = ?", (delta, pid))
            if quantity == 0:
                conn.execute(
                    "DELETE FROM order_lines WHERE order_number = ? AND product_id = ?", (normalized, pid)
                )
            else:
                conn.execute(
                    "UPDATE order_lines SET quantity = ? WHERE order_number = ? AND product_id = ?",
                    (quantity, normalized, pid),
                )
            subtotal = sum(
                r[0]
                for r in conn.execute(
                    "SELECT quantity * unit_price_minor FROM order_lines WHERE order_number = ?",
                    (normalized,),
                )
            )
            shipping = policy.shipping_fee_minor(subtotal)
            total = subtotal + shipping
            conn.execute(
                "UPDATE orders SET subtotal_minor = ?, shipping_minor = ?, total_minor = ? WHERE number = ?",
                (subtotal, shipping, total, normalized),
            )
            if order.paid_at is not None:
                if total < order.total_minor:
                    self._insert_refund(conn, order, order.total_minor - total, None, now)
                invoice_id = self.next_id(conn, "invoice")  # corrected invoice
                conn.execute(
                    "INSERT INTO invoices (id, order_number, issued_at, total_minor, currency)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (invoice_id, normalized, to_db(now), total, order.currency),
                )
            updated = self._load_order(conn, normalized)
            for hook in self.on_changed:
                hook(conn, order, updated)
            return updated

    def remove_order_line(self, number: str, product_id: str) -> Order:
        return self.change_order_line(number, product_id, 0)

    def create_order(
        self,
        customer_id: str,
        lines: Sequence[tuple[str, int]],
        shipping_address: Address,
        expected_total_minor: int,
        *,
        on_created: Sequence[OnCreatedHook] = (),
        payment_method: str = "Card",
    ) -> Order:
        customer = self.get_customer(customer_id)
        validated = self._validate_lines(lines)
        address = validate_address(shipping_address)
        if isinstance(expected_total_minor, bool) or not isinstance(expected_total_minor, int):
            raise InvalidInputError("expected_total_minor", expected_total_minor, "an integer in minor units")
        method = clean_text("payment_method", payment_method, max_len=60)
        now = self.now()
        with self.transaction() as conn:
            quote = self._quote(conn, validated, check_stock=True)
            if quote.total_minor != expected_total_minor:
                raise PriceChangedError(expected_total_minor, quote.total_minor, quote.currency)
            number = self.next_id(conn, "order")
            conn.execute(
                "INSERT INTO orders (number, customer_id, status, subtotal_minor, shipping_minor, total_minor,"
                " currency, payment_method, ship_name, ship_street, ship_postcode, ship_city, ship_country,"
                " created_at) VALUES (?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    number,
                    customer.id,
                    quote.subtotal_minor,
                    quote.shipping_minor,
                    quote.total_minor,
                    quote.currency,
                    method,
                    address.name or customer.name,
                    address.street,
                    address.postcode,
                    address.city,
                    address.country,
                    to_db(now),
                ),
            )
            for line_no, line in enumerate(quote.lines, start=1):
                conn.execute(
                    "INSERT INTO order_lines (order_number, line_no, product_id, title, quantity,"
                    " unit_price_minor) VALUES (?, ?, ?, ?, ?, ?)",
                    (number, line_no, line.product_id, line.title, line.quantity, line.unit_price_minor),
                )
                conn.execute(
                    "UPDATE products SET stock = stock - ? WHERE id = ?", (line.quantity, line.product_id)
                )
            order = self._load_order(conn, number)
            for hook in on_created:
                hook(conn, order)
        logger.info("order %s created for %s (%s lines)", number, customer.id, len(quote.lines))
        return order

    def mark_order_paid(self, number: str) -> Order:
        normalized = normalize_order_number(number)
        now = self.now()
        with self.transaction() as conn:
            order = self._load_order(conn, normalized)
            if order.status != "pending":
                raise OrderNotModifiableError(normalized, order.status, "only a pending order can be paid")
            conn.execute(
                "UPDATE orders SET status = 'paid', paid_at = ? WHERE number = ?", (to_db(now), normalized)
            )
            invoice_id = self.next_id(conn, "invoice")
            conn.execute(
                "INSERT INTO invoices (id, order_number, issued_at, total_minor, currency) VALUES (?, ?, ?, ?, ?)",
                (invoice_id, normalized, to_db(now), order.total_minor, order.currency),
            )
            return self._load_order(conn, normalized)

    # --- recommendations -----------------------------------------------------------------------
    _LINES_SELECT = """
        SELECT l.order_number, o.customer_id, l.product_id, l.quantity, l.unit_price_minor,
               o.created_at, o.status
        FROM order_lines l JOIN orders o ON o.number = l.order_number
    """

    @staticmethod
    def _purchased(row: sqlite3.Row) -> PurchasedLine:
        return PurchasedLine(
            order_number=row["order_number"],
            customer_id=row["customer_id"],
            product_id=row["product_id"],
            quantity=row["quantity"],
            unit_price_minor=row["unit_price_minor"],
            ordered_at=parse_dt(row["created_at"]),
            status=row["status"],
        )

    def purchase_history(self, customer_id: str) -> list[PurchasedLine]:
        customer = self.get_customer(customer_id)
        with self.read() as conn:
            rows = conn.execute(
                self._LINES_SELECT
                + " WHERE o.customer_id = ? AND o.status != 'cancelled' ORDER BY o.created_at, l.order_number,"
                " l.line_no",
                (customer.id,),
            ).fetchall()
        return [self._purchased(r) for r in rows]

    def all_order_lines(self) -> list[PurchasedLine]:
        with self.read() as conn:
            rows = conn.execute(
                self._LINES_SELECT
                + " WHERE o.status != 'cancelled' ORDER BY o.created_at, l.order_number, l.line_no"
            ).fetchall()
        return [self._purchased(r) for r in rows]
