"""What every aggregate of the SQLite store shares: connections and transactions, the clock, id sequences,
value conversion and row mapping.

One connection per call (so it is safe from the action server's threads), WAL journal, foreign keys on,
every statement parameterised, writes in ``BEGIN IMMEDIATE`` transactions, and an injectable clock.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import cast

from shop import policy
from shop.errors import (
    InvalidInputError,
    OrderNotFoundError,
    OutOfStockError,
    ProductNotFoundError,
)
from shop.ids import normalize_product_id
from shop.model import (
    Address,
    Clock,
    Customer,
    Invoice,
    Order,
    OrderLine,
    OrderQuote,
    OrderStatus,
    Product,
    Refund,
    ReturnRequest,
    Shipment,
)
from shop.sqlite.schema import SEQUENCES, init_schema

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


def parse_dt_or_none(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value).astimezone(UTC) if value else None


def parse_dt(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


def clean_text(field: str, value: object, *, max_len: int = MAX_TEXT, allow_empty: bool = False) -> str:
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
        cleaned[name] = clean_text(f"address {name}", getattr(address, name), max_len=120)
    name = clean_text("address name", address.name, max_len=120, allow_empty=True)
    return Address(name=name, **cleaned)


class SqliteBase:
    """Plumbing shared by the aggregate mixins; ``clock`` returns aware UTC datetimes (tests fix it)."""

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
            init_schema(conn, self.path)
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
            created_at=parse_dt(row[f"{prefix}created_at"]),
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
                shipped_at=parse_dt(row["shipped_at"]),
                estimated_delivery=date.fromisoformat(row["estimated_delivery"]),
                delivered_at=parse_dt_or_none(row["delivered_at"]),
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
            created_at=parse_dt(row["created_at"]),
            paid_at=parse_dt_or_none(row["paid_at"]),
            packed_at=parse_dt_or_none(row["packed_at"]),
            shipped_at=parse_dt_or_none(row["shipped_at"]),
            delivered_at=parse_dt_or_none(row["delivered_at"]),
            cancelled_at=parse_dt_or_none(row["cancelled_at"]),
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
            created_at=parse_dt(row["created_at"]),
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
            created_at=parse_dt(row["created_at"]),
            expected_by=date.fromisoformat(row["expected_by"]),
            return_id=row["return_id"],
            completed_at=parse_dt_or_none(row["completed_at"]),
        )

    @staticmethod
    def _invoice(row: sqlite3.Row) -> Invoice:
        return Invoice(
            id=row["id"],
            order_number=row["order_number"],
            issued_at=parse_dt(row["issued_at"]),
            total_minor=row["total_minor"],
            currency=row["currency"],
        )

    def _load_order(self, conn: sqlite3.Connection, number: str) -> Order:
        row = conn.execute(self._ORDER_SELECT + " WHERE o.number = ?", (number,)).fetchone()
        if row is None:
            raise OrderNotFoundError(number)
        return self._order(conn, row)

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

    # --- lines and quotes (catalog prices, used by orders too) ------------------------------------
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
