"""The catalog aggregate: products and price quotes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from shop.model import OrderQuote, Product


@runtime_checkable
class Catalog(Protocol):
    def list_products(self, category: str | None = None, *, in_stock_only: bool = False) -> list[Product]: ...

    def get_product(self, product_id: str) -> Product: ...

    def get_products(self, product_ids: Sequence[str]) -> list[Product]:
        """Known products in the order asked for; unknown ids are skipped, malformed ids raise."""
        ...

    def quote_order(self, lines: Sequence[tuple[str, int]]) -> OrderQuote:
        """What ``create_order`` would charge for these lines at current prices."""
        ...
