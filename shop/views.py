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


# --- customer histories (the console's risk signals, bot/risk.py) ---------------------------------------


class AddressView(TypedDict):
    street: str
    postcode: str
    city: str
    country: str


class CustomerView(TypedDict):
    id: str
    name: str
    email: str
    created_at: str
    address: AddressView | None  # the customer's default address, if any


class HistoryOrderView(TypedDict):
    number: str
    status: str
    total_minor: int
    currency: str
    created_at: str
    address: AddressView  # where it was shipped to


class HistoryReturnView(TypedDict):
    id: str
    order_number: str
    status: str
    created_at: str


class HistoryRefundView(TypedDict):
    id: str
    order_number: str
    return_id: str | None  # None: the refund of a cancelled order
    amount_minor: int
    currency: str
    status: str
    created_at: str


class CustomerHistory(TypedDict):
    """A customer with every order, return request and refund, oldest first."""

    customer: CustomerView
    orders: list[HistoryOrderView]
    returns: list[HistoryReturnView]
    refunds: list[HistoryRefundView]


class AddressUse(TypedDict):
    """One customer's use of an address: as their default address ("customer") or on an order ("order")."""

    customer_id: str
    source: str
    street: str
    postcode: str
    city: str
    country: str


class VerificationFailureView(TypedDict):
    order_number: str
    client: str
    failed_at: str
