"""The console's and shop page's view of the shop, through the shop's read API (``shop.read``).

The bot service never writes the shop's data and never imports ``actions``; it has no SQL of its own. Every
method raises ``shop.errors.ShopUnavailableError`` when the shop's data cannot be read (no DB yet).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from shop.errors import InvalidIdentifierError
from shop.ids import normalize_order_number as _normalize_order_number
from shop.read import (
    DEFAULT_BACKEND,
    AddressUse,
    CustomerHistory,
    VerificationFailureView,
    open_reader,
)


def normalize_order_number(raw: str) -> str | None:
    """``sd100042`` → ``SD-100042`` (the shop's own rule, ``shop.ids``); None when it is no order number."""
    try:
        return _normalize_order_number(raw)
    except InvalidIdentifierError:
        return None


class ShopReader:
    def __init__(self, path: Path, backend: str = DEFAULT_BACKEND) -> None:
        self.path = path
        self._reader = open_reader(path, backend)

    def order(self, number: str) -> dict[str, Any] | None:
        """The order with its lines, customer and formatted total, or None."""
        view = self._reader.order(number)
        if view is None:
            return None
        order: dict[str, Any] = dict(view)
        order["total"] = f"{view['total_minor'] / 100:.2f} {view['currency']}"
        order["lines"] = order.pop("lines")
        return order

    def featured_products(self, limit: int = 6) -> list[dict[str, Any]]:
        """In-stock products for the shop page, one per category first."""
        picked: list[dict[str, Any]] = []
        seen: set[str] = set()
        for product in self._reader.products_in_stock():
            if product["category"] not in seen:
                seen.add(product["category"])
                picked.append(dict(product))
        return picked[:limit]

    # --- customer histories: the console's risk signals (bot/risk.py) --------------------------------
    def customer_history(self, customer_id: str) -> CustomerHistory | None:
        return self._reader.customer_history(customer_id)

    def returns_per_customer(self, since: str) -> dict[int, int]:
        return self._reader.returns_per_customer(since)

    def address_uses(self, postcode_keys: list[str]) -> list[AddressUse]:
        return self._reader.address_uses(postcode_keys)

    def verification_failures(
        self, order_numbers: list[str], clients: list[str], until: str
    ) -> list[VerificationFailureView]:
        return self._reader.verification_failures(order_numbers, clients, until)
