"""``ShopReader`` on the SQLite file, read-only (``mode=ro``): the queries the bot and verification need."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import cast

from shop.errors import ShopUnavailableError
from shop.views import (
    AddressUse,
    AddressView,
    CustomerHistory,
    CustomerView,
    HistoryOrderView,
    HistoryRefundView,
    HistoryReturnView,
    LedgerLine,
    LedgerOrder,
    OrderLineView,
    OrderView,
    ProductView,
    VerificationFailureView,
)

# a postcode as compared across addresses: upper case, no spaces or hyphens (bot/risk_address.py: postcode_key)
_POSTCODE_KEY = "replace(replace(upper({}), ' ', ''), '-', '')"


class SqliteShopReader:
    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        except sqlite3.Error as error:
            raise ShopUnavailableError(self.path, str(error)) from error
        db.row_factory = sqlite3.Row
        try:
            yield db
        except sqlite3.Error as error:
            raise ShopUnavailableError(self.path, str(error)) from error
        finally:
            db.close()

    def order(self, number: str) -> OrderView | None:
        with self._connect() as db:
            row = db.execute(
                "SELECT o.number, o.status, o.total_minor, o.currency, o.created_at, o.shipped_at,"
                " o.delivered_at, o.carrier, o.tracking_number, o.tracking_url, o.estimated_delivery, o.ship_city,"
                " o.ship_country, c.id AS customer_id, c.name AS customer_name, c.email AS customer_email"
                " FROM orders o JOIN customers c ON c.id = o.customer_id WHERE o.number = ?",
                (number,),
            ).fetchone()
            if row is None:
                return None
            lines = db.execute(
                "SELECT product_id, title, quantity, unit_price_minor FROM order_lines"
                " WHERE order_number = ? ORDER BY line_no",
                (number,),
            ).fetchall()
        view = cast(OrderView, dict(row))  # the columns selected are OrderView's keys
        view["lines"] = [cast(OrderLineView, dict(line)) for line in lines]
        return view

    def products_in_stock(self) -> list[ProductView]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT id, title, category, price_minor, currency FROM products WHERE stock > 0 ORDER BY id"
            ).fetchall()
        return [cast(ProductView, dict(row)) for row in rows]

    def ledger_orders(self, number: str | None = None) -> Iterator[LedgerOrder]:
        with self._connect() as db:
            where, params = ("WHERE number = ?", (number,)) if number else ("", ())
            orders = db.execute(
                "SELECT number, created_at, currency, shipping_minor, total_minor FROM orders"
                f" {where} ORDER BY number",
                params,
            ).fetchall()
            lines: dict[str, list[LedgerLine]] = {}
            line_where = "WHERE order_number = ?" if number else ""
            for order_number, product_id, quantity, price in db.execute(
                f"SELECT order_number, product_id, quantity, unit_price_minor FROM order_lines {line_where} "
                "ORDER BY order_number, line_no",
                params,
            ):
                lines.setdefault(order_number, []).append(
                    LedgerLine(product_id=product_id, quantity=quantity, unit_price_minor=price)
                )
        for order_number, created_at, currency, shipping, total in orders:
            yield LedgerOrder(
                order_number=order_number,
                created_at=created_at,
                currency=currency,
                lines=lines.get(order_number, []),
                shipping_minor=shipping,
                total_minor=total,
            )

    # --- customer histories (the console's risk signals) ---------------------------------------------
    def customer_history(self, customer_id: str) -> CustomerHistory | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM customers WHERE id = ?", (customer_id,)).fetchone()
            if row is None:
                return None
            orders = db.execute(
                "SELECT number, status, total_minor, currency, created_at, ship_street, ship_postcode,"
                " ship_city, ship_country FROM orders WHERE customer_id = ? ORDER BY created_at, number",
                (customer_id,),
            ).fetchall()
            returns = db.execute(
                "SELECT r.id, r.order_number, r.status, r.created_at FROM returns r"
                " JOIN orders o ON o.number = r.order_number WHERE o.customer_id = ?"
                " ORDER BY r.created_at, r.id",
                (customer_id,),
            ).fetchall()
            refunds = db.execute(
                "SELECT f.id, f.order_number, f.return_id, f.amount_minor, f.currency, f.status, f.created_at"
                " FROM refunds f JOIN orders o ON o.number = f.order_number WHERE o.customer_id = ?"
                " ORDER BY f.created_at, f.id",
                (customer_id,),
            ).fetchall()
        address = (
            AddressView(
                street=row["street"], postcode=row["postcode"], city=row["city"], country=row["country"]
            )
            if row["street"]
            else None
        )
        return CustomerHistory(
            customer=CustomerView(
                id=row["id"],
                name=row["name"],
                email=row["email"],
                created_at=row["created_at"],
                address=address,
            ),
            orders=[
                HistoryOrderView(
                    number=o["number"],
                    status=o["status"],
                    total_minor=o["total_minor"],
                    currency=o["currency"],
                    created_at=o["created_at"],
                    address=AddressView(
                        street=o["ship_street"],
                        postcode=o["ship_postcode"],
                        city=o["ship_city"],
                        country=o["ship_country"],
                    ),
                )
                for o in orders
            ],
            returns=[cast(HistoryReturnView, dict(r)) for r in returns],
            refunds=[cast(HistoryRefundView, dict(f)) for f in refunds],
        )

    def returns_per_customer(self, since: str) -> dict[int, int]:
        with self._connect() as db:
            # one index probe per customer, one pass over the returns (CROSS JOIN: returns drive the join)
            customers = db.execute(
                "SELECT COUNT(*) FROM customers c WHERE EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id)"
            ).fetchone()[0]
            rows = db.execute(
                "SELECT n, COUNT(*) FROM ("
                " SELECT o.customer_id, COUNT(*) AS n FROM returns r CROSS JOIN orders o"
                " ON o.number = r.order_number WHERE r.created_at >= ? GROUP BY o.customer_id"
                ") GROUP BY n",
                (since,),
            ).fetchall()
        counts = {int(n): int(how_many) for n, how_many in rows}
        returning = sum(counts.values())
        return {0: int(customers) - returning, **counts} if customers > returning else counts

    def address_uses(self, postcode_keys: list[str]) -> list[AddressUse]:
        if not postcode_keys:
            return []
        marks = ", ".join("?" for _ in postcode_keys)
        with self._connect() as db:
            rows = db.execute(
                "SELECT DISTINCT customer_id, 'order' AS source, ship_street AS street,"
                " ship_postcode AS postcode, ship_city AS city, ship_country AS country FROM orders"
                f" WHERE {_POSTCODE_KEY.format('ship_postcode')} IN ({marks})"
                " UNION SELECT id, 'customer', street, postcode, city, country FROM customers"
                f" WHERE street IS NOT NULL AND {_POSTCODE_KEY.format('postcode')} IN ({marks})"
                " ORDER BY 1, 2, 3",
                (*postcode_keys, *postcode_keys),
            ).fetchall()
        return [cast(AddressUse, dict(row)) for row in rows]

    def verification_failures(
        self, order_numbers: list[str], clients: list[str], until: str
    ) -> list[VerificationFailureView]:
        if not order_numbers and not clients:
            return []
        numbers = ", ".join("?" for _ in order_numbers) or "NULL"
        whos = ", ".join("?" for _ in clients) or "NULL"
        with self._connect() as db:
            rows = db.execute(
                "SELECT order_number, client, failed_at FROM verification_failures"
                f" WHERE (order_number IN ({numbers}) OR client IN ({whos})) AND failed_at <= ?"
                " ORDER BY failed_at, id",
                (*order_numbers, *clients, until),
            ).fetchall()
        return [cast(VerificationFailureView, dict(row)) for row in rows]
