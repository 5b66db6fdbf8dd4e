"""Normalising and validating identifiers typed by shoppers.

Everything that reaches SQL goes through one of these first (and SQL is parameterised anyway); anything that
is not exactly the expected shape is rejected with an InvalidIdentifierError naming the value.
"""

from __future__ import annotations

import re
import unicodedata

from shop.errors import InvalidIdentifierError, InvalidInputError

_MAX_RAW = 40  # longer input is never an id; keeps regexes cheap on hostile text

_ORDER_RE = re.compile(r"(?:SD[-\s]?)?#?([0-9]{6})")  # ASCII digits only (after NFKC: see fold_width)
ORDER_NUMBER_FORMAT = "an order number like SD-100042"

_PREFIXED = {
    # kind: (prefix, digits, description)
    "refund id": ("RF", 6, "a refund id like RF-300001"),
    "return id": ("RT", 6, "a return id like RT-200001"),
    "invoice id": ("INV", 6, "an invoice id like INV-400001"),
    "product id": ("P", 4, "a product id like P-1001"),
    "customer id": ("C", 4, "a customer id like C-0001"),
}

EMAIL_PATTERN = r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"  # what normalize_email accepts
_EMAIL_RE = re.compile(EMAIL_PATTERN)


def fold_width(text: str) -> str:
    """Full-width forms as typed with a Chinese or Japanese input method (``ＳＤ－１０００４２``, ``＃１０００４２``,
    ``ａｎｎａ＠ｅｘａｍｐｌｅ．ｃｏｍ``) and the ideographic space, folded to their ASCII twins (NFKC). Other
    scripts' digits (``١٠٠٠٤٢``) are not ASCII after folding, so no id pattern accepts them."""
    return unicodedata.normalize("NFKC", text)


def _prepare(raw: object, kind: str, expected: str) -> str:
    if not isinstance(raw, str):
        raise InvalidIdentifierError(kind, raw, expected)
    text = fold_width(raw).strip()
    if not text or len(text) > _MAX_RAW:
        raise InvalidIdentifierError(kind, raw, expected)
    return text.upper()


def normalize_order_number(raw: object) -> str:
    """``sd100042``, `` 100042 ``, ``SD 100042``, ``#100042`` → ``SD-100042``."""
    text = _prepare(raw, "order number", ORDER_NUMBER_FORMAT)
    match = _ORDER_RE.fullmatch(text)
    if not match:
        raise InvalidIdentifierError("order number", raw, ORDER_NUMBER_FORMAT)
    return f"SD-{match.group(1)}"


def format_order_number(serial: int) -> str:
    return f"SD-{serial:06d}"


def _normalize_prefixed(raw: object, kind: str) -> str:
    prefix, digits, expected = _PREFIXED[kind]
    text = _prepare(raw, kind, expected)
    match = re.fullmatch(rf"{prefix}[-\s]?([0-9]{{{digits}}})", text)
    if not match:
        raise InvalidIdentifierError(kind, raw, expected)
    return f"{prefix}-{match.group(1)}"


def normalize_refund_id(raw: object) -> str:
    return _normalize_prefixed(raw, "refund id")


def normalize_return_id(raw: object) -> str:
    return _normalize_prefixed(raw, "return id")


def normalize_invoice_id(raw: object) -> str:
    return _normalize_prefixed(raw, "invoice id")


def normalize_product_id(raw: object) -> str:
    return _normalize_prefixed(raw, "product id")


def normalize_customer_id(raw: object) -> str:
    return _normalize_prefixed(raw, "customer id")


def normalize_email(raw: object) -> str:
    """Lower-cased, stripped; InvalidInputError unless it looks like ``name@example.com``."""
    if not isinstance(raw, str):
        raise InvalidInputError("email", raw, "an email address like name@example.com")
    text = fold_width(raw).strip().lower()
    if len(text) > 254 or not _EMAIL_RE.fullmatch(text):
        raise InvalidInputError("email", raw, "an email address like name@example.com")
    return text
