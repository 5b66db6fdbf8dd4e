"""SQLite implementation of ``OrderStore`` (stdlib ``sqlite3``).

One connection per call (so it is safe from the action server's threads), WAL journal, foreign keys on,
every statement parameterised, writes in ``BEGIN IMMEDIATE`` transactions, and an injectable clock.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, cast

from actions.store import policy
from actions.store.errors import (
    CustomerNotFoundError,
    EmailMismatchError,
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
)
from actions.store.ids import (
    normalize_customer_id,
    normalize_email,
    normalize_invoice_id,
    normalize_order_number,
    normalize_product_id,
    normalize_refund_id,
    normalize_return_id,
)
from actions.store.interface import (
    Address,
    CancellationQuote,
    Clock,
    Customer,
    Feedback,
    FeedbackKind,
    HandoffRequest,
    Invoice,
    OnCreatedHook,
    Order,
    OrderLine,
    OrderQuote,
    OrderStatus,
    Product,
    PurchasedLine,
    Refund,
    ReturnEligibility,
    ReturnRequest,
    Shipment,
)

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1

SCHEMA = """
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS sequences (name TEXT PRIMARY KEY, next_value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS customers (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    street TEXT, postcode TEXT, city TEXT, country TEXT
);
CREATE TABLE IF NOT EXISTS products (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    description TEXT NOT NULL,
    brand TEXT NOT NULL,
    category TEXT NOT NULL,
    price_minor INTEGER NOT NULL CHECK (price_minor >= 0),
    currency TEXT NOT NULL,
    stock INTEGER NOT NULL CHECK (stock >= 0),
    attributes TEXT NOT NULL DEFAULT '{}',
    image_url TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS orders (
    number TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers(id),
    status TEXT NOT NULL CHECK (status IN
        ('pending','paid','packed','shipped','delivered','cancelled','returned')),
    subtotal_minor INTEGER NOT NULL,
    shipping_minor INTEGER NOT NULL,
    total_minor INTEGER NOT NULL,
    currency TEXT NOT NULL,
    payment_method TEXT NOT NULL,
    ship_name TEXT NOT NULL, ship_street TEXT NOT NULL, ship_postcode TEXT NOT NULL,
    ship_city TEXT NOT NULL, ship_country TEXT NOT NULL,
    created_at TEXT NOT NULL,
    paid_at TEXT, packed_at TEXT, shipped_at TEXT, delivered_at TEXT, cancelled_at TEXT,
    carrier TEXT, tracking_number TEXT, tracking_url TEXT, estimated_delivery TEXT
);
CREATE INDEX IF NOT EXISTS orders_customer ON orders(customer_id);
CREATE TABLE IF NOT EXISTS order_lines (
    order_number TEXT NOT NULL REFERENCES orders(number),
    line_no INTEGER NOT NULL,
    product_id TEXT NOT NULL REFERENCES products(id),
    title TEXT NOT NULL,
    quantity INTEGER NOT NULL CHECK (quantity > 0),
    unit_price_minor INTEGER NOT NULL,
    PRIMARY KEY (order_number, product_id)
);
CREATE TABLE IF NOT EXISTS returns (
    id TEXT PRIMARY KEY,
    order_number TEXT NOT NULL REFERENCES orders(number),
    status TEXT NOT NULL,
    reason TEXT NOT NULL,
    product_ids TEXT NOT NULL,
    created_at TEXT NOT NULL,
    refund_id TEXT
);
CREATE TABLE IF NOT EXISTS refunds (
    id TEXT PRIMARY KEY,
    order_number TEXT NOT NULL REFERENCES orders(number),
    return_id TEXT REFERENCES returns(id),
    amount_minor INTEGER NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    method TEXT NOT NULL,
    created_at TEXT NOT NULL,
    expected_by TEXT NOT NULL,
    completed_at TEXT
);
CREATE TABLE IF NOT EXISTS invoices (
    id TEXT PRIMARY KEY,
    order_number TEXT NOT NULL REFERENCES orders(number),
    issued_at TEXT NOT NULL,
    total_minor INTEGER NOT NULL,
    currency TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS feedback (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('complaint','review')),
    text TEXT NOT NULL,
    order_number TEXT REFERENCES orders(number),
    conversation_id TEXT NOT NULL,
    rating INTEGER,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS handoff_requests (
    id TEXT PRIMARY KEY,
    conversation_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    created_at TEXT NOT NULL
);
-- failed order verifications (issue 10): the throttle per order number and per client outlives conversations
CREATE TABLE IF NOT EXISTS verification_failures (
    id INTEGER PRIMARY KEY,
    order_number TEXT NOT NULL,
    client TEXT NOT NULL,
    failed_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS verification_failures_order ON verification_failures(order_number, failed_at);
CREATE INDEX IF NOT EXISTS verification_failures_client ON verification_failures(client, failed_at);
"""

# name -> (prefix, first value, digits)
SEQUENCES = {
    "order": ("SD", 100001, 6),
    "return": ("RT", 200001, 6),
    "refund": ("RF", 300001, 6),
    "invoice": ("INV", 400001, 6),
    "feedback": ("FB", 1, 6),
    "handoff": ("HO", 1, 6),
}

FEEDBACK_KINDS = ("complaint", "review")
MAX_TEXT = 4000


def utc_now() -> datetime:
    return datetime.now(UTC)


def to_db(value: datetime | date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the store only takes UTC-aware datetimes")
        return value.astimezone(UTC).isoformat(timespec="seconds")
    return value.isoformat()


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value).astimezone(UTC) if value else None


def _dt_req(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


def _clean_text(field: str, value: object, *, max_len: int = MAX_TEXT, allow_empty: bool = False) -> str:
    if not isinstance(value, str):
        raise InvalidInputError(field, value, "text")
    text = value.strip()
    if (not text and not allow_empty) or len(text) > max_len:
        raise InvalidInputError(field, value, f"non-empty text of at most {max_len} characters")
    return text


def validate_address(address: Address) -> Address:
    if not isinstance(address, Address):
        raise InvalidInputError("address", address, "an Address(street, postcode, city, country)")
    cleaned = {}
    for name in ("street", "postcode", "city", "country"):
        cleaned[name] = _clean_text(f"address {name}", getattr(address, name), max_len=120)
    name = _clean_text("address name", address.name, max_len=120, allow_empty=True)
    return Address(name=name, **cleaned)


class SqliteOrderStore:
    """``OrderStore`` on an SQLite file. ``clock`` returns aware UTC datetimes (tests fix it)."""

    def __init__(self, path: str | Path, *, clock: Clock = utc_now) -> None:
        self.path = Path(path)
        self.clock = clock
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._init_schema()

    # --- plumbing ------------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=15, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA busy_timeout = 15000")
        return conn

    @contextmanager
    def read(self) -> Iterator[sqlite3.Connection]:
        conn = self._connect()
        try:
            yield conn
        finally:
            conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``), committed on success, rolled back on any error."""
        conn = self._connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()

    def _init_schema(self) -> None:
        conn = self._connect()
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            conn.executescript(SCHEMA)
            row = conn.execute("SELECT version FROM schema_version").fetchone()
            if row is None:
                conn.execute("INSERT INTO schema_version (version) VALUES (?)", (SCHEMA_VERSION,))
            elif row["version"] != SCHEMA_VERSION:
                raise RuntimeError(
                    f"{self.path}: schema version {row['version']}, this code expects {SCHEMA_VERSION}; "
                    "delete the file and re-seed (python -m actions.store.seed --force)"
                )
            for name, (_, first, _) in SEQUENCES.items():
                conn.execute(
                    "INSERT OR IGNORE INTO sequences (name, next_value) VALUES (?, ?)", (name, first)
                )
        finally:
            conn.close()

    @staticmethod
    def next_id(conn: sqlite3.Connection, name: str) -> str:
        prefix, _, digits = SEQUENCES[name]
        value = conn.execute("SELECT next_value FROM sequences WHERE name = ?", (name,)).fetchone()[0]
        conn.execute("UPDATE sequences SET next_value = ? WHERE name = ?", (value + 1, name))
        return f"{prefix}-{value:0{digits}d}"

    @staticmethod
    def bump_sequence(conn: sqlite3.Connection, name: str, used_value: int) -> None:
        """After inserting an explicit id, make sure generated ids come after it."""
        conn.execute(
            "UPDATE sequences SET next_value = MAX(next_value, ?) WHERE name = ?", (used_value + 1, name)
        )

    def now(self) -> datetime:
        now = self.clock()
        if now.tzinfo is None:
            raise ValueError("the store's clock must return timezone-aware datetimes")
        return now.astimezone(UTC)

    # --- row mapping ---------------------------------------------------------------------------
    @staticmethod
    def _customer(row: sqlite3.Row, prefix: str = "") -> Customer:
        street = row[f"{prefix}street"]
        address = (
            Address(street, row[f"{prefix}postcode"], row[f"{prefix}city"], row[f"{prefix}country"])
            if street
            else None
        )
        return Customer(
            id=row[f"{prefix}id"],
            name=row[f"{prefix}name"],
            email=row[f"{prefix}email"],
            created_at=_dt_req(row[f"{prefix}created_at"]),
            default_address=address,
        )

    @staticmethod
    def _product(row: sqlite3.Row) -> Product:
        return Product(
            id=row["id"],
            title=row["title"],
            description=row["description"],
            brand=row["brand"],
            category=row["category"],
            price_minor=row["price_minor"],
            currency=row["currency"],
            stock=row["stock"],
            attributes=json.loads(row["attributes"] or "{}"),
            image_url=row["image_url"],
        )

    _ORDER_SELECT = """
        SELECT o.*, c.id AS c_id, c.name AS c_name, c.email AS c_email, c.created_at AS c_created_at,
               c.street AS c_street, c.postcode AS c_postcode, c.city AS c_city, c.country AS c_country
        FROM orders o JOIN customers c ON c.id = o.customer_id
    """

    def _order(self, conn: sqlite3.Connection, row: sqlite3.Row) -> Order:
        lines = tuple(
            OrderLine(r["product_id"], r["title"], r["quantity"], r["unit_price_minor"])
            for r in conn.execute(
                "SELECT * FROM order_lines WHERE order_number = ? ORDER BY line_no", (row["number"],)
            )
        )
        shipment = None
        if row["carrier"] and row["shipped_at"]:
            shipment = Shipment(
                carrier=row["carrier"],
                tracking_number=row["tracking_number"],
                tracking_url=row["tracking_url"] or "",
                shipped_at=_dt_req(row["shipped_at"]),
                estimated_delivery=date.fromisoformat(row["estimated_delivery"]),
                delivered_at=_dt(row["delivered_at"]),
            )
        return Order(
            number=row["number"],
            status=cast(OrderStatus, row["status"]),
            customer=self._customer(row, "c_"),
            lines=lines,
            subtotal_minor=row["subtotal_minor"],
            shipping_minor=row["shipping_minor"],
            total_minor=row["total_minor"],
            currency=row["currency"],
            shipping_address=Address(
                row["ship_street"],
                row["ship_postcode"],
                row["ship_city"],
                row["ship_country"],
                row["ship_name"],
            ),
            created_at=_dt_req(row["created_at"]),
            paid_at=_dt(row["paid_at"]),
            packed_at=_dt(row["packed_at"]),
            shipped_at=_dt(row["shipped_at"]),
            delivered_at=_dt(row["delivered_at"]),
            cancelled_at=_dt(row["cancelled_at"]),
            shipment=shipment,
            payment_method=row["payment_method"],
        )

    @staticmethod
    def _return(row: sqlite3.Row) -> ReturnRequest:
        return ReturnRequest(
            id=row["id"],
            order_number=row["order_number"],
            status=row["status"],
            reason=row["reason"],
            product_ids=tuple(json.loads(row["product_ids"])),
            created_at=_dt_req(row["created_at"]),
            refund_id=row["refund_id"],
        )

    @staticmethod
    def _refund(row: sqlite3.Row) -> Refund:
        return Refund(
            id=row["id"],
            order_number=row["order_number"],
            amount_minor=row["amount_minor"],
            currency=row["currency"],
            status=row["status"],
            method=row["method"],
            created_at=_dt_req(row["created_at"]),
            expected_by=date.fromisoformat(row["expected_by"]),
            return_id=row["return_id"],
            completed_at=_dt(row["completed_at"]),
        )

    @staticmethod
    def _invoice(row: sqlite3.Row) -> Invoice:
        return Invoice(
            id=row["id"],
            order_number=row["order_number"],
            issued_at=_dt_req(row["issued_at"]),
            total_minor=row["total_minor"],
            currency=row["currency"],
        )

    def _load_order(self, conn: sqlite3.Connection, number: str) -> Order:
        row = conn.execute(self._ORDER_SELECT + " WHERE o.number = ?", (number,)).fetchone()
        if row is None:
            raise OrderNotFoundError(number)
        return self._order(conn, row)

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

    def _insert_refund(
        self, conn: sqlite3.Connection, order: Order, amount: int, return_id: str | None, now: datetime
    ) -> str:
        refund_id = self.next_id(conn, "refund")
        method = conn.execute(
            "SELECT payment_method FROM orders WHERE number = ?", (order.number,)
        ).fetchone()[0]
        expected = policy.add_business_days(now.date(), policy.REFUND_BUSINESS_DAYS_MAX)
        conn.execute(
            "INSERT INTO refunds (id, order_number, return_id, amount_minor, currency, status, method,"
            " created_at, expected_by) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
            (refund_id, order.number, return_id, amount, order.currency, method, to_db(now), to_db(expected)),
        )
        return refund_id

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
            return self._load_order(conn, normalized)

    def remove_order_line(self, number: str, product_id: str) -> Order:
        return self.change_order_line(number, product_id, 0)

    # --- returns, refunds, invoices ------------------------------------------------------------
    def _eligibility(self, conn: sqlite3.Connection, order: Order) -> ReturnEligibility:
        if order.status == "delivered" and order.delivered_at is not None:
            deadline = order.delivered_at + timedelta(days=policy.RETURN_WINDOW_DAYS)
            if self.now() > deadline:
                return ReturnEligibility(
                    order.number,
                    False,
                    f"the {policy.RETURN_WINDOW_DAYS}-day return window ended on {deadline.date().isoformat()}",
                    deadline,
                )
            open_return = conn.execute(
                "SELECT id FROM returns WHERE order_number = ? AND status IN ('requested', 'received')",
                (order.number,),
            ).fetchone()
            if open_return:
                return ReturnEligibility(
                    order.number,
                    False,
                    f"a return ({open_return[0]}) is already open for this order",
                    deadline,
                )
            return ReturnEligibility(
                order.number, True, f"returnable until {deadline.date().isoformat()}", deadline
            )
        reasons = {
            "pending": "the order has not shipped yet; it can be cancelled instead",
            "paid": "the order has not shipped yet; it can be cancelled instead",
            "packed": "the order has not shipped yet; it can be cancelled instead",
            "shipped": "the order is still on its way; it can be returned once it has arrived",
            "cancelled": "the order was cancelled",
            "returned": "the order has already been returned",
        }
        return ReturnEligibility(order.number, False, reasons.get(order.status, order.status), None)

    def return_eligibility(self, number: str) -> ReturnEligibility:
        normalized = normalize_order_number(number)
        with self.read() as conn:
            return self._eligibility(conn, self._load_order(conn, normalized))

    def create_return(
        self, number: str, reason: str, product_ids: Sequence[str] | None = None
    ) -> ReturnRequest:
        normalized = normalize_order_number(number)
        why = _clean_text("reason", reason, max_len=500, allow_empty=True) or "not specified"
        now = self.now()
        with self.transaction() as conn:
            order = self._load_order(conn, normalized)
            eligibility = self._eligibility(conn, order)
            if not eligibility.eligible:
                raise ReturnNotAllowedError(normalized, order.status, eligibility.reason)
            in_order = [line.product_id for line in order.lines]
            if product_ids is None or len(product_ids) == 0:
                chosen = in_order
            else:
                chosen = []
                for raw in product_ids:
                    pid = normalize_product_id(raw)
                    if pid not in in_order:
                        raise InvalidInputError("product_id", pid, in_order)
                    if pid not in chosen:
                        chosen.append(pid)
            return_id = self.next_id(conn, "return")
            conn.execute(
                "INSERT INTO returns (id, order_number, status, reason, product_ids, created_at)"
                " VALUES (?, ?, 'requested', ?, ?, ?)",
                (return_id, normalized, why, json.dumps(chosen), to_db(now)),
            )
            row = conn.execute("SELECT * FROM returns WHERE id = ?", (return_id,)).fetchone()
        logger.info("return %s created for order %s", return_id, normalized)
        return self._return(row)

    def get_return(self, return_id: str) -> ReturnRequest:
        normalized = normalize_return_id(return_id)
        with self.read() as conn:
            row = conn.execute("SELECT * FROM returns WHERE id = ?", (normalized,)).fetchone()
        if row is None:
            raise ReturnNotFoundError(normalized)
        return self._return(row)

    def returns_for_order(self, number: str) -> list[ReturnRequest]:
        normalized = normalize_order_number(number)
        with self.read() as conn:
            self._load_order(conn, normalized)
            rows = conn.execute(
                "SELECT * FROM returns WHERE order_number = ? ORDER BY created_at, id", (normalized,)
            ).fetchall()
        return [self._return(r) for r in rows]

    def request_refund(self, number: str, reason: str = "") -> Refund:
        normalized = normalize_order_number(number)
        _clean_text("reason", reason, max_len=500, allow_empty=True)
        now = self.now()
        with self.transaction() as conn:
            order = self._load_order(conn, normalized)
            existing = conn.execute(
                "SELECT id, status FROM refunds WHERE order_number = ? AND status IN ('pending', 'processing')",
                (normalized,),
            ).fetchone()
            if existing:
                raise RefundNotAllowedError(
                    normalized, order.status, f"refund {existing['id']} is already {existing['status']}"
                )
            open_return = conn.execute(
                "SELECT * FROM returns WHERE order_number = ? AND refund_id IS NULL"
                " AND status IN ('requested', 'received') ORDER BY created_at LIMIT 1",
                (normalized,),
            ).fetchone()
            if open_return is None:
                if order.status in policy.CANCELLABLE_STATUSES:
                    why = "the order has not shipped yet; cancel it to get your money back"
                elif order.status in ("shipped", "delivered"):
                    why = "start a return first; the refund follows when the return is registered"
                else:
                    why = f"nothing left to refund on a {order.status} order"
                raise RefundNotAllowedError(normalized, order.status, why)
            returned = set(json.loads(open_return["product_ids"]))
            amount = sum(line.total_minor for line in order.lines if line.product_id in returned)
            refund_id = self._insert_refund(conn, order, amount, open_return["id"], now)
            conn.execute("UPDATE returns SET refund_id = ? WHERE id = ?", (refund_id, open_return["id"]))
            row = conn.execute("SELECT * FROM refunds WHERE id = ?", (refund_id,)).fetchone()
        return self._refund(row)

    def get_refund(self, refund_id: str) -> Refund:
        normalized = normalize_refund_id(refund_id)
        with self.read() as conn:
            row = conn.execute("SELECT * FROM refunds WHERE id = ?", (normalized,)).fetchone()
        if row is None:
            raise RefundNotFoundError(normalized)
        return self._refund(row)

    def refunds_for_order(self, number: str) -> list[Refund]:
        normalized = normalize_order_number(number)
        with self.read() as conn:
            self._load_order(conn, normalized)
            rows = conn.execute(
                "SELECT * FROM refunds WHERE order_number = ? ORDER BY created_at, id", (normalized,)
            ).fetchall()
        return [self._refund(r) for r in rows]

    def invoices_for_order(self, number: str) -> list[Invoice]:
        normalized = normalize_order_number(number)
        with self.read() as conn:
            self._load_order(conn, normalized)
            rows = conn.execute(
                "SELECT * FROM invoices WHERE order_number = ? ORDER BY issued_at, id", (normalized,)
            ).fetchall()
        return [self._invoice(r) for r in rows]

    def get_invoice(self, invoice_id: str) -> Invoice:
        normalized = normalize_invoice_id(invoice_id)
        with self.read() as conn:
            row = conn.execute("SELECT * FROM invoices WHERE id = ?", (normalized,)).fetchone()
        if row is None:
            raise InvoiceNotFoundError(normalized)
        return self._invoice(row)

    # --- catalog -------------------------------------------------------------------------------
    def list_products(self, category: str | None = None, *, in_stock_only: bool = False) -> list[Product]:
        sql = "SELECT * FROM products WHERE 1 = 1"
        params: list[Any] = []
        if category is not None:
            sql += " AND lower(category) = lower(?)"
            params.append(category)
        if in_stock_only:
            sql += " AND stock > 0"
        with self.read() as conn:
            rows = conn.execute(sql + " ORDER BY id", params).fetchall()
        return [self._product(r) for r in rows]

    def get_product(self, product_id: str) -> Product:
        normalized = normalize_product_id(product_id)
        with self.read() as conn:
            row = conn.execute("SELECT * FROM products WHERE id = ?", (normalized,)).fetchone()
        if row is None:
            raise ProductNotFoundError(normalized)
        return self._product(row)

    def get_products(self, product_ids: Sequence[str]) -> list[Product]:
        wanted = [normalize_product_id(p) for p in product_ids]
        if not wanted:
            return []
        placeholders = ", ".join("?" for _ in wanted)
        with self.read() as conn:
            rows = conn.execute(f"SELECT * FROM products WHERE id IN ({placeholders})", wanted).fetchall()
        by_id = {r["id"]: self._product(r) for r in rows}
        seen: set[str] = set()
        result = []
        for pid in wanted:
            if pid in by_id and pid not in seen:
                seen.add(pid)
                result.append(by_id[pid])
        return result

    # --- creating orders -----------------------------------------------------------------------
    def _validate_lines(self, lines: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
        if not lines:
            raise InvalidInputError("lines", lines, "at least one (product_id, quantity) pair")
        result: list[tuple[str, int]] = []
        seen: set[str] = set()
        for item in lines:
            try:
                raw_id, quantity = item
            except (TypeError, ValueError):
                raise InvalidInputError("line", item, "a (product_id, quantity) pair") from None
            pid = normalize_product_id(raw_id)
            if pid in seen:
                raise InvalidInputError("lines", pid, "each product at most once")
            if (
                isinstance(quantity, bool)
                or not isinstance(quantity, int)
                or not (1 <= quantity <= policy.MAX_QUANTITY_PER_LINE)
            ):
                raise InvalidInputError(
                    f"quantity of {pid}", quantity, f"a whole number 1..{policy.MAX_QUANTITY_PER_LINE}"
                )
            seen.add(pid)
            result.append((pid, quantity))
        return result

    def _quote(
        self, conn: sqlite3.Connection, lines: list[tuple[str, int]], *, check_stock: bool
    ) -> OrderQuote:
        order_lines = []
        currencies = set()
        for pid, quantity in lines:
            row = conn.execute("SELECT * FROM products WHERE id = ?", (pid,)).fetchone()
            if row is None:
                raise ProductNotFoundError(pid)
            if check_stock and row["stock"] < quantity:
                raise OutOfStockError(pid, quantity, row["stock"])
            currencies.add(row["currency"])
            order_lines.append(OrderLine(pid, row["title"], quantity, row["price_minor"]))
        if len(currencies) > 1:
            raise InvalidInputError("lines", [p for p, _ in lines], "products priced in one currency")
        subtotal = sum(line.total_minor for line in order_lines)
        shipping = policy.shipping_fee_minor(subtotal)
        return OrderQuote(tuple(order_lines), subtotal, shipping, subtotal + shipping, currencies.pop())

    def quote_order(self, lines: Sequence[tuple[str, int]]) -> OrderQuote:
        validated = self._validate_lines(lines)
        with self.read() as conn:
            return self._quote(conn, validated, check_stock=False)

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
        method = _clean_text("payment_method", payment_method, max_len=60)
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
            ordered_at=_dt_req(row["created_at"]),
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

    # --- feedback and handoff ------------------------------------------------------------------
    def record_feedback(
        self,
        kind: FeedbackKind,
        text: str,
        order_number: str | None,
        conversation_id: str,
        rating: int | None = None,
    ) -> Feedback:
        if kind not in FEEDBACK_KINDS:
            raise InvalidInputError("feedback kind", kind, FEEDBACK_KINDS)
        body = _clean_text("feedback text", text)
        conv = _clean_text("conversation_id", conversation_id, max_len=200)
        if rating is not None and (
            isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5
        ):
            raise InvalidInputError("rating", rating, "a whole number 1..5 or None")
        number = normalize_order_number(order_number) if order_number is not None else None
        now = self.now()
        with self.transaction() as conn:
            if number is not None:
                self._load_order(conn, number)
            feedback_id = self.next_id(conn, "feedback")
            conn.execute(
                "INSERT INTO feedback (id, kind, text, order_number, conversation_id, rating, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (feedback_id, kind, body, number, conv, rating, to_db(now)),
            )
        return Feedback(feedback_id, kind, body, number, conv, rating, now)

    def record_handoff_request(self, conversation_id: str, reason: str) -> HandoffRequest:
        conv = _clean_text("conversation_id", conversation_id, max_len=200)
        why = _clean_text("reason", reason, max_len=500, allow_empty=True)
        now = self.now()
        with self.transaction() as conn:
            handoff_id = self.next_id(conn, "handoff")
            conn.execute(
                "INSERT INTO handoff_requests (id, conversation_id, reason, created_at) VALUES (?, ?, ?, ?)",
                (handoff_id, conv, why, to_db(now)),
            )
        return HandoffRequest(handoff_id, conv, why, now)

    # --- verification throttle -----------------------------------------------------------------
    def record_verification_failure(self, order_number: str, client: str, window_s: int) -> None:
        """One failed verification of ``order_number`` by ``client``; rows older than the window go."""
        number = _clean_text("order number", order_number, max_len=40)
        who = _clean_text("client", client, max_len=200)
        now = self.now()
        with self.transaction() as conn:
            conn.execute(
                "DELETE FROM verification_failures WHERE failed_at < ?",
                (to_db(now - timedelta(seconds=window_s)),),
            )
            conn.execute(
                "INSERT INTO verification_failures (order_number, client, failed_at) VALUES (?, ?, ?)",
                (number, who, to_db(now)),
            )

    def verification_failures(self, order_number: str, client: str, window_s: int) -> tuple[int, int]:
        """Failed verifications within the last ``window_s`` seconds: (of this order number, by this client)."""
        since = to_db(self.now() - timedelta(seconds=window_s))
        with self.read() as conn:
            by_order = conn.execute(
                "SELECT COUNT(*) FROM verification_failures WHERE order_number = ? AND failed_at >= ?",
                (order_number, since),
            ).fetchone()[0]
            by_client = conn.execute(
                "SELECT COUNT(*) FROM verification_failures WHERE client = ? AND failed_at >= ?",
                (client, since),
            ).fetchone()[0]
        return int(by_order), int(by_client)


SQLiteOrderStore = SqliteOrderStore  # alias: both spellings are used across the repo

__all__ = ["SCHEMA_VERSION", "SQLiteOrderStore", "SqliteOrderStore", "to_db", "validate_address"]
