"""The shop's value types: what every aggregate Protocol (orders, catalog, after-sales, inbox) takes and returns.

Everything is a frozen dataclass; money is an integer in minor units (cents) plus an ISO currency code;
every timestamp is a timezone-aware ``datetime`` in UTC. Identifiers:

- orders ``SD-100042`` (input such as ``sd100042`` or `` 100042 `` is normalised, see ``ids.py``)
- customers ``C-0001``, products ``P-1001``
- returns ``RT-…``, refunds ``RF-…``, invoices ``INV-…``, feedback ``FB-…``, handoff requests ``HO-…``

Every store method raises subclasses of ``shop.errors.StoreError`` only (see that module's tree).
The policy (return window, cancellation fee, shipping fee, refund time) lives in ``shop.policy``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal

OrderStatus = Literal["pending", "paid", "packed", "shipped", "delivered", "cancelled", "returned"]
ORDER_STATUSES: tuple[OrderStatus, ...] = (
    "pending",  # placed, awaiting payment
    "paid",  # paid, not yet packed
    "packed",  # packed in the warehouse, not yet handed to the carrier
    "shipped",  # with the carrier
    "delivered",
    "cancelled",
    "returned",  # (partly) returned; see its ReturnRequest / Refund
)
ReturnStatus = Literal["requested", "received", "refunded", "rejected"]
RefundStatus = Literal["pending", "processing", "completed", "rejected"]
FeedbackKind = Literal["complaint", "review"]

Clock = Callable[[], datetime]
"""Returns the current time, timezone-aware UTC. Injected so tests and the seed control "now"."""


@dataclass(frozen=True)
class Address:
    street: str
    postcode: str
    city: str
    country: str  # ISO 3166-1 alpha-2 ("DE") or a country name as given by the shopper
    name: str = ""  # recipient, defaults to the customer's name

    def one_line(self) -> str:
        parts = [self.name, self.street, f"{self.postcode} {self.city}".strip(), self.country]
        return ", ".join(p for p in parts if p)


@dataclass(frozen=True)
class Customer:
    id: str
    name: str
    email: str
    created_at: datetime
    default_address: Address | None = None

    @property
    def first_name(self) -> str:
        return self.name.split()[0] if self.name else ""


@dataclass(frozen=True)
class Product:
    id: str
    title: str
    description: str
    brand: str
    category: str
    price_minor: int
    currency: str
    stock: int
    attributes: Mapping[str, object] = field(default_factory=dict)
    image_url: str = ""

    @property
    def in_stock(self) -> bool:
        return self.stock > 0


@dataclass(frozen=True)
class OrderLine:
    product_id: str  # the SKU
    title: str
    quantity: int
    unit_price_minor: int

    @property
    def total_minor(self) -> int:
        return self.quantity * self.unit_price_minor


@dataclass(frozen=True)
class Shipment:
    carrier: str
    tracking_number: str
    tracking_url: str
    shipped_at: datetime
    estimated_delivery: date
    delivered_at: datetime | None = None


@dataclass(frozen=True)
class Order:
    number: str
    status: OrderStatus
    customer: Customer
    lines: tuple[OrderLine, ...]
    subtotal_minor: int
    shipping_minor: int
    total_minor: int
    currency: str
    shipping_address: Address
    created_at: datetime
    paid_at: datetime | None = None
    packed_at: datetime | None = None
    shipped_at: datetime | None = None
    delivered_at: datetime | None = None
    cancelled_at: datetime | None = None
    shipment: Shipment | None = None
    payment_method: str = ""  # e.g. "Visa ending 4242"; refunds go back to it

    @property
    def customer_id(self) -> str:
        return self.customer.id

    @property
    def carrier(self) -> str | None:
        return self.shipment.carrier if self.shipment else None

    @property
    def tracking_number(self) -> str | None:
        return self.shipment.tracking_number if self.shipment else None

    @property
    def has_shipped(self) -> bool:
        return self.shipped_at is not None


@dataclass(frozen=True)
class OrderQuote:
    """What ``create_order`` would charge for these lines at current prices."""

    lines: tuple[OrderLine, ...]
    subtotal_minor: int
    shipping_minor: int
    total_minor: int
    currency: str


@dataclass(frozen=True)
class CancellationQuote:
    order_number: str
    status: OrderStatus
    allowed: bool
    fee_minor: int
    currency: str
    reason: str  # human-readable: why it is free / why there is a fee / why it is refused


@dataclass(frozen=True)
class ReturnEligibility:
    order_number: str
    eligible: bool
    reason: str
    deadline: datetime | None  # last moment a return can be requested (None when not delivered)


@dataclass(frozen=True)
class ReturnRequest:
    id: str
    order_number: str
    status: ReturnStatus
    reason: str
    product_ids: tuple[str, ...]
    created_at: datetime
    refund_id: str | None = None


@dataclass(frozen=True)
class Refund:
    id: str
    order_number: str
    amount_minor: int
    currency: str
    status: RefundStatus
    method: str  # e.g. "Visa ending 4242" — always the original payment method
    created_at: datetime
    expected_by: date  # latest expected arrival (policy: 5-10 business days)
    return_id: str | None = None
    completed_at: datetime | None = None


@dataclass(frozen=True)
class Invoice:
    id: str
    order_number: str
    issued_at: datetime
    total_minor: int
    currency: str

    @property
    def url(self) -> str:
        return f"/invoices/{self.id}.pdf"


@dataclass(frozen=True)
class Feedback:
    id: str
    kind: FeedbackKind
    text: str
    order_number: str | None
    conversation_id: str
    rating: int | None  # 1..5 for reviews
    created_at: datetime


@dataclass(frozen=True)
class HandoffRequest:
    id: str
    conversation_id: str
    reason: str
    created_at: datetime


@dataclass(frozen=True)
class PurchasedLine:
    """One order line flattened for recommendations (co-purchase, purchase history)."""

    order_number: str
    customer_id: str
    product_id: str
    quantity: int
    unit_price_minor: int
    ordered_at: datetime
    status: OrderStatus
