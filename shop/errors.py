"""Errors raised by the order store.

StoreError                      base; actions catch this and tell the shopper something useful
├── InvalidIdentifierError      an order/refund/return/invoice/product/customer id that is not well-formed
├── InvalidInputError           any other bad argument (quantity, address, feedback kind, rating, ...)
├── NotFoundError               base for unknown records (also a LookupError)
│   ├── OrderNotFoundError
│   ├── CustomerNotFoundError
│   ├── ProductNotFoundError
│   ├── ReturnNotFoundError
│   ├── RefundNotFoundError
│   └── InvoiceNotFoundError
├── EmailMismatchError          the email does not belong to the order (never carries the real email)
├── PolicyError                 base for "the shop's policy does not allow this"
│   ├── OrderNotCancellableError
│   ├── OrderNotModifiableError (changes / address after shipping)
│   ├── ReturnNotAllowedError   (outside the window, not delivered, already returned)
│   └── RefundNotAllowedError
├── OutOfStockError             create_order / change_order_line asks for more than is in stock
├── PriceChangedError           create_order's expected total no longer matches current prices
├── ShopUnavailableError        the read API cannot reach the shop's data (no DB yet, unreadable file)
└── UnknownBackendError         SHOP_BACKEND names no implementation (also a ValueError)
"""

from __future__ import annotations

from collections.abc import Iterable


class StoreError(Exception):
    """Base class of every error the order store raises."""


class InvalidIdentifierError(StoreError, ValueError):
    def __init__(self, kind: str, value: object, expected: str) -> None:
        self.kind = kind
        self.value = value
        self.expected = expected
        super().__init__(f"invalid {kind} {value!r}: expected {expected}")


class InvalidInputError(StoreError, ValueError):
    def __init__(self, field: str, value: object, valid: str | Iterable[str]) -> None:
        self.field = field
        self.value = value
        self.valid = valid if isinstance(valid, str) else ", ".join(sorted(valid))
        super().__init__(f"invalid {field} {value!r}: expected {self.valid}")


class NotFoundError(StoreError, LookupError):
    kind = "record"

    def __init__(self, identifier: str) -> None:
        self.identifier = identifier
        super().__init__(f"unknown {self.kind} {identifier!r}")


class OrderNotFoundError(NotFoundError):
    kind = "order"


class CustomerNotFoundError(NotFoundError):
    kind = "customer"


class ProductNotFoundError(NotFoundError):
    kind = "product"


class ReturnNotFoundError(NotFoundError):
    kind = "return request"


class RefundNotFoundError(NotFoundError):
    kind = "refund"


class InvoiceNotFoundError(NotFoundError):
    kind = "invoice"


class EmailMismatchError(StoreError):
    """The given email is not the one on the order. Carries only what the shopper typed."""

    def __init__(self, order_number: str) -> None:
        self.order_number = order_number
        super().__init__(f"the email given does not match order {order_number}")


class PolicyError(StoreError):
    """The shop's policy does not allow the operation; `status` is the order's current status."""

    def __init__(self, order_number: str, status: str, message: str) -> None:
        self.order_number = order_number
        self.status = status
        super().__init__(f"order {order_number} ({status}): {message}")


class OrderNotCancellableError(PolicyError):
    pass


class OrderNotModifiableError(PolicyError):
    pass


class ReturnNotAllowedError(PolicyError):
    pass


class RefundNotAllowedError(PolicyError):
    pass


class OutOfStockError(StoreError):
    def __init__(self, product_id: str, requested: int, available: int) -> None:
        self.product_id = product_id
        self.requested = requested
        self.available = available
        super().__init__(f"product {product_id}: {requested} requested, {available} in stock")


class PriceChangedError(StoreError):
    """The cart's expected total differs from the current prices; carries the new total."""

    def __init__(self, expected_total_minor: int, actual_total_minor: int, currency: str) -> None:
        self.expected_total_minor = expected_total_minor
        self.actual_total_minor = actual_total_minor
        self.new_total_minor = actual_total_minor
        self.currency = currency
        super().__init__(
            f"expected total {expected_total_minor} {currency} but current prices give {actual_total_minor}"
        )


class ShopUnavailableError(StoreError):
    """The shop's data cannot be read (e.g. the DB does not exist yet); ``reason`` says what the backend said."""

    def __init__(self, where: object, reason: str) -> None:
        self.where = where
        self.reason = reason
        super().__init__(reason)


class UnknownBackendError(StoreError, ValueError):
    """``SHOP_BACKEND`` names no implementation; the message names the value and the valid set."""

    def __init__(self, value: object, valid: Iterable[str]) -> None:
        self.value = value
        self.valid = tuple(valid)
        super().__init__(f"SHOP_BACKEND={value!r}: expected one of {', '.join(self.valid)}")
