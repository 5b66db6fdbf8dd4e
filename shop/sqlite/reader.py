"""``ShopReader`` on the SQLite file, read-only (``mode=ro``): the queries the bot and verification need."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import cast

from shop.errors import ShopUnavailableError
from shop.views import LedgerLine, LedgerOrder, OrderLineView, OrderView, ProductView


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
