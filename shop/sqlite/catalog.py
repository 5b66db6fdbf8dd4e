"""SQLite implementation of ``Catalog``: products and price quotes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from shop.errors import ProductNotFoundError
from shop.ids import normalize_product_id
from shop.model import (
    OrderQuote,
    Product,
)
from shop.sqlite.base import SqliteBase


class SqliteCatalog(SqliteBase):
    """``Catalog`` on SQLite: products and price quotes."""

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
    def quote_order(self, lines: Sequence[tuple[str, int]]) -> OrderQuote:
        validated = self._validate_lines(lines)
        with self.read() as conn:
            return self._quote(conn, validated, check_stock=False)
