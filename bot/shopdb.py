"""Read-only order lookups for the console's context panel, straight from the order store's SQLite file.

The bot service never writes the shop's DB (``mode=ro``) and never imports ``actions``; these few queries
follow the schema in ``actions/store/sqlite.py``.
"""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

_ORDER_RE = re.compile(r"(?:SD[-\s]?)?#?(\d{6})")


def normalize_order_number(raw: str) -> str | None:
    match = _ORDER_RE.fullmatch(raw.strip().upper()[:40])
    return f"SD-{match.group(1)}" if match else None


class ShopReader:
    def __init__(self, path: Path) -> None:
        self.path = path

    def _connect(self) -> sqlite3.Connection:
        db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        db.row_factory = sqlite3.Row
        return db

    def order(self, number: str) -> dict[str, Any] | None:
        """The order with its lines and customer, or None; raises sqlite3.Error when the DB is missing."""
        db = self._connect()
        try:
            row = db.execute(
                "SELECT o.number, o.status, o.total_minor, o.currency, o.created_at, o.shipped_at,"
                " o.delivered_at, o.carrier, o.tracking_number, o.estimated_delivery, o.ship_city,"
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
        finally:
            db.close()
        order = dict(row)
        order["total"] = f"{row['total_minor'] / 100:.2f} {row['currency']}"
        order["lines"] = [dict(line) for line in lines]
        return order

    def featured_products(self, limit: int = 6) -> list[dict[str, Any]]:
        """In-stock products for the shop page, one per category first; raises sqlite3.Error when the DB is missing."""
        db = self._connect()
        try:
            rows = db.execute(
                "SELECT id, title, category, price_minor, currency FROM products WHERE stock > 0 ORDER BY id"
            ).fetchall()
        finally:
            db.close()
        picked: list[dict[str, Any]] = []
        seen: set[str] = set()
        for row in rows:
            if row["category"] not in seen:
                seen.add(row["category"])
                picked.append(dict(row))
        return picked[:limit]
