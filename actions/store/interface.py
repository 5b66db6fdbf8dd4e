"""The shop's order system as seen by actions, the ledger and the handoff service.

Everything is a frozen dataclass; money is an integer in minor units (cents) plus an ISO currency code;
every timestamp is a timezone-aware ``datetime`` in UTC. Identifiers:

- orders ``SD-100042`` (input such as ``sd100042`` or `` 100042 `` is normalised, see ``ids.py``)
- customers ``C-0001``, products ``P-1001``
- returns ``RT-…``, refunds ``RF-…``, invoices ``INV-…``, feedback ``FB-…``, handoff requests ``HO-…``

Every method raises subclasses of ``actions.store.errors.StoreError`` only (see that module's tree).
The policy (return window, cancellation fee, shipping fee, refund time) lives in ``actions.store.policy``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Literal, Protocol, runtime_checkable

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


OnCreatedHook = Callable[[sqlite3.Connection, Order], None]
"""Runs inside create_order's DB transaction after the order rows are written; raising rolls it all back."""


@runtime_checkable
class OrderStore(Protocol):
    # --- orders and verification ---------------------------------------------------------------
    def get_order(self, number: str) -> Order:
        """Raises InvalidIdentifierError, OrderNotFoundError."""
        ...

    def verify_order(self, number: str, email: str) -> Order:
        """The order if ``email`` (case/space-insensitive) is the customer's; else OrderNotFoundError
        or EmailMismatchError (which never reveals the real email)."""
        ...

    def orders_for_customer(self, customer_id: str) -> list[Order]:
        """Newest first. Raises CustomerNotFoundError."""
        ...

    # --- customers -----------------------------------------------------------------------------
    def get_customer(self, customer_id: str) -> Customer: ...

    def find_customer_by_email(self, email: str) -> Customer | None: ...

    # --- changes before shipping ---------------------------------------------------------------
    def cancellation_quote(self, number: str) -> CancellationQuote:
        """Whether the order can be cancelled now and at what fee (policy.cancellation_fee_minor)."""
        ...

    def cancel_order(self, number: str) -> tuple[Order, int]:
        """Cancels; returns the updated order and the fee charged (minor units). A paid order gets a
        Refund of total - fee. Raises OrderNotCancellableError once shipped / cancelled / returned."""
        ...

    def change_shipping_address(self, number: str, address: Address) -> Order:
        """Raises OrderNotModifiableError once shipped, InvalidInputError for an incomplete address."""
        ...

    def change_order_line(self, number: str, product_id: str, quantity: int) -> Order:
        """Sets a line's quantity (0 removes it); only before shipping (OrderNotModifiableError).
        Removing the last line is refused (cancel instead). Totals are recomputed."""
        ...

    def remove_order_line(self, number: str, product_id: str) -> Order: ...

    # --- returns, refunds, invoices ------------------------------------------------------------
    def return_eligibility(self, number: str) -> ReturnEligibility: ...

    def create_return(
        self, number: str, reason: str, product_ids: Sequence[str] | None = None
    ) -> ReturnRequest:
        """``product_ids`` None means every line. Raises ReturnNotAllowedError outside the window."""
        ...

    def get_return(self, return_id: str) -> ReturnRequest: ...

    def returns_for_order(self, number: str) -> list[ReturnRequest]: ...

    def request_refund(self, number: str, reason: str = "") -> Refund:
        """Refund for a returned order / open return request; RefundNotAllowedError otherwise
        (a delivered order needs a return first; an unshipped one is cancelled instead)."""
        ...

    def get_refund(self, refund_id: str) -> Refund: ...

    def refunds_for_order(self, number: str) -> list[Refund]: ...

    def invoices_for_order(self, number: str) -> list[Invoice]: ...

    def get_invoice(self, invoice_id: str) -> Invoice: ...

    # --- catalog -------------------------------------------------------------------------------
    def list_products(self, category: str | None = None, *, in_stock_only: bool = False) -> list[Product]: ...

    def get_product(self, product_id: str) -> Product: ...

    def get_products(self, product_ids: Sequence[str]) -> list[Product]:
        """Known products in the order asked for; unknown ids are skipped, malformed ids raise."""
        ...

    # --- creating orders (the ordering / ledger flow) ------------------------------------------
    def quote_order(self, lines: Sequence[tuple[str, int]]) -> OrderQuote: ...

    def create_order(
        self,
        customer_id: str,
        lines: Sequence[tuple[str, int]],
        shipping_address: Address,
        expected_total_minor: int,
        *,
        on_created: Sequence[OnCreatedHook] = (),
    ) -> Order:
        """Creates a ``pending`` order and decrements stock in one transaction; hooks run in it.
        Raises ProductNotFoundError, OutOfStockError, InvalidInputError (quantity 1..10 per line,
        no duplicates, non-empty), PriceChangedError (carrying the new total)."""
        ...

    def mark_order_paid(self, number: str) -> Order: ...

    # --- recommendations -----------------------------------------------------------------------
    def purchase_history(self, customer_id: str) -> list[PurchasedLine]: ...

    def all_order_lines(self) -> list[PurchasedLine]:
        """Every line of every non-cancelled order, oldest first."""
        ...

    # --- feedback and handoff ------------------------------------------------------------------
    def record_feedback(
        self,
        kind: FeedbackKind,
        text: str,
        order_number: str | None,
        conversation_id: str,
        rating: int | None = None,
    ) -> Feedback: ...

    def record_handoff_request(self, conversation_id: str, reason: str) -> HandoffRequest: ...

    # --- verification throttle (issue 10) ---
    def record_verification_failure(self, order_number: str, client: str, window_s: int) -> None:
        """Count one failed verification of ``order_number`` (existing or not) by ``client``."""
        ...

    def verification_failures(self, order_number: str, client: str, window_s: int) -> tuple[int, int]:
        """Failures within the last ``window_s`` seconds: (for this order number, by this client)."""
        ...
