"""The demo shop's policy, as data, in one place. docs/demo-shop.md describes the same rules for people."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Final

CURRENCY: Final = "EUR"

# Returns: 30 days from delivery, whole order or chosen items.
RETURN_WINDOW_DAYS: Final = 30

# Cancellation: free while the order is pending or paid (not packed yet); a handling fee once packed;
# impossible once handed to the carrier (the shopper returns it instead).
CANCELLATION_FEE_MINOR: Final[dict[str, int]] = {"pending": 0, "paid": 0, "packed": 495}
CANCELLABLE_STATUSES: Final = frozenset(CANCELLATION_FEE_MINOR)

# Item/quantity and address changes: any time before the order is shipped.
MODIFIABLE_STATUSES: Final = frozenset({"pending", "paid", "packed"})

# Refunds go to the original payment method and arrive within 5-10 business days.
REFUND_BUSINESS_DAYS_MIN: Final = 5
REFUND_BUSINESS_DAYS_MAX: Final = 10

# Shipping: free from €50, otherwise €4.95. At most 10 of one item per order.
FREE_SHIPPING_FROM_MINOR: Final = 5000
SHIPPING_FEE_MINOR: Final = 495
MAX_QUANTITY_PER_LINE: Final = 10

# Verification: after this many failed attempts in a conversation the bot offers a person.
MAX_VERIFICATION_ATTEMPTS: Final = 3


def shipping_fee_minor(subtotal_minor: int) -> int:
    return 0 if subtotal_minor >= FREE_SHIPPING_FROM_MINOR else SHIPPING_FEE_MINOR


def add_business_days(start: date, days: int) -> date:
    current = start
    added = 0
    while added < days:
        current += timedelta(days=1)
        if current.weekday() < 5:
            added += 1
    return current


def format_money(amount_minor: int, currency: str = CURRENCY) -> str:
    """``4995, "EUR"`` → ``€49.95``."""
    symbol = {"EUR": "€", "USD": "$", "GBP": "£"}.get(currency)
    sign = "-" if amount_minor < 0 else ""
    major = f"{abs(amount_minor) // 100}.{abs(amount_minor) % 100:02d}"
    return f"{sign}{symbol}{major}" if symbol else f"{sign}{major} {currency}"
