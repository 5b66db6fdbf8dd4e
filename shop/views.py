"""The shapes the shop's read API returns (``shop.read``): JSON-ready dicts, as stored.

Apart from ``shop.read`` so a backend's reader can use them without importing the factory that builds it.
"""

from __future__ import annotations

from typing import TypedDict


class OrderLineView(TypedDict):
    product_id: str
    title: str
    quantity: int
    unit_price_minor: int


class OrderView(TypedDict):
    """An order as the agent console shows it (timestamps and dates as stored, ISO 8601)."""

    number: str
    status: str
    total_minor: int
    currency: str
    created_at: str
    shipped_at: str | None
    delivered_at: str | None
    carrier: str | None
    tracking_number: str | None
    tracking_url: str | None
    estimated_delivery: str | None
    ship_city: str
    ship_country: str
    customer_id: str
    customer_name: str
    customer_email: str
    lines: list[OrderLineView]


class ProductView(TypedDict):
    id: str
    title: str
    category: str
    price_minor: int
    currency: str


class LedgerLine(TypedDict):
    product_id: str
    quantity: int
    unit_price_minor: int


class LedgerOrder(TypedDict):
    """The fields of an order that its ledger record covers (numbers and ids only, no personal data)."""

    order_number: str
    created_at: str
    currency: str
    lines: list[LedgerLine]
    shipping_minor: int
    total_minor: int
