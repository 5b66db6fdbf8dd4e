"""Canonical order form and the keyed hashes that go on chain.

On chain there are only two 32-byte values per order:

    record_id = HMAC-SHA256(K,       "shopdesk/order-id/v1\\0"  + order number)
    digest    = HMAC-SHA256(K_order, canonical order JSON)
    K_order   = HMAC-SHA256(K,       "shopdesk/order-key/v1\\0" + order number)

Revisions: a legitimate change of an order (a line changed or removed before shipping) is recorded as the
order's next revision n >= 1, a record of its own (the contract writes a record id once):

    record_id = HMAC-SHA256(K, "shopdesk/order-revision-id/v1\\0" + order number + "\\0" + n)
    digest    = HMAC-SHA256(K_order, canonical order JSON with "revision": n)

Revision 0 (the order as created) has no "revision" key and the record id above, byte for byte as before.

K is the shop's secret (LEDGER_HMAC_KEY). Handing out K_order and the canonical JSON of one order lets an
auditor or the shopper recompute that order's digest without learning K or anything about other orders.

Canonical form v1 (UTF-8 JSON, sorted keys, no whitespace): order number, UTC creation time
("YYYY-MM-DDTHH:MM:SSZ"), currency, lines (product id, quantity, unit price in integer minor units; sorted by
product id), shipping and total in minor units, and the revision number from revision 1 on. Names, emails,
addresses and free text are refused, not dropped.

An order reaches the ledger as anything shaped like ``CanonicalOrder`` (the order store's ``Order`` is one);
``order_dict`` is the one place that turns it into the plain dict the canonical form is computed from.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, NotRequired, Protocol, TypedDict

from ledger.errors import CanonicalFormError, LedgerConfigError

CANONICAL_VERSION = 1
ORDER_FIELDS = frozenset({"order_number", "created_at", "currency", "lines", "shipping_minor", "total_minor"})
LINE_FIELDS = frozenset({"product_id", "quantity", "unit_price_minor"})
_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")
_CURRENCY_PATTERN = re.compile(r"^[A-Z]{3}$")
_UTC_PATTERN = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
_ID_DOMAIN = b"shopdesk/order-id/v1\x00"
_KEY_DOMAIN = b"shopdesk/order-key/v1\x00"
_REVISION_ID_DOMAIN = b"shopdesk/order-revision-id/v1\x00"
REVISION_SEPARATOR = "#"  # outbox ref of revision n >= 1: "SD-100042#2" (order numbers never contain "#")
MIN_KEY_BYTES = 16


class CanonicalLine(TypedDict):
    product_id: str
    quantity: int
    unit_price_minor: int


class CanonicalForm(TypedDict):
    v: int
    order_number: str
    created_at: str
    currency: str
    lines: list[CanonicalLine]
    shipping_minor: int
    total_minor: int
    revision: NotRequired[int]


class CanonicalOrderLine(Protocol):
    """One line of an order as the ledger reads it."""

    @property
    def product_id(self) -> str: ...
    @property
    def quantity(self) -> int: ...
    @property
    def unit_price_minor(self) -> int: ...


class CanonicalOrder(Protocol):
    """What the ledger needs of an order (numbers and ids only); the order store's ``Order`` satisfies it."""

    @property
    def number(self) -> str: ...
    @property
    def created_at(self) -> datetime | str: ...
    @property
    def currency(self) -> str: ...
    @property
    def lines(self) -> Sequence[CanonicalOrderLine]: ...
    @property
    def shipping_minor(self) -> int: ...
    @property
    def total_minor(self) -> int: ...


def order_dict(order: CanonicalOrder) -> dict[str, Any]:
    """The order's ledger form as a plain dict (numbers and ids only: no names, emails or addresses)."""
    return {
        "order_number": order.number,
        "created_at": utc_timestamp(order.created_at),
        "currency": order.currency,
        "lines": [
            {
                "product_id": line.product_id,
                "quantity": line.quantity,
                "unit_price_minor": line.unit_price_minor,
            }
            for line in order.lines
        ],
        "shipping_minor": order.shipping_minor,
        "total_minor": order.total_minor,
    }


@dataclass(frozen=True)
class OrderRecord:
    """What the outbox stores and the chain receives for one order (hex strings, 0x-prefixed)."""

    order_number: str
    record_id: str
    digest: str
    version: int = CANONICAL_VERSION
    revision: int = 0

    @property
    def ref(self) -> str:
        """The outbox's reference of this record (see ``revision_ref``)."""
        return revision_ref(self.order_number, self.revision)


def revision_ref(order_number: str, revision: int = 0) -> str:
    """The outbox ref of an order's revision: the order number for revision 0, ``"SD-100042#2"`` after."""
    return order_number if revision == 0 else f"{order_number}{REVISION_SEPARATOR}{revision}"


def parse_revision_ref(ref: str) -> tuple[str, int]:
    """``revision_ref`` undone: ``"SD-100042#2"`` -> ``("SD-100042", 2)``; a plain order number is revision 0."""
    number, separator, revision = ref.partition(REVISION_SEPARATOR)
    if separator and revision.isdigit():
        return number, int(revision)
    return ref, 0


def utc_timestamp(value: datetime | str) -> str:
    """Normalise a datetime (aware, or naive meaning UTC) or ISO string to ``YYYY-MM-DDTHH:MM:SSZ``."""
    if isinstance(value, str):
        text = value.strip()
        if _UTC_PATTERN.match(text):
            return text
        try:
            value = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError as exc:
            raise CanonicalFormError("created_at", f"{text!r} is not an ISO-8601 time") from exc
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _int_field(field: str, value: Any, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise CanonicalFormError(
            field, f"{value!r} must be an integer (minor units / count), not {type(value).__name__}"
        )
    if value < minimum:
        raise CanonicalFormError(field, f"{value!r} is below {minimum}")
    return value


def _id_field(field: str, value: Any) -> str:
    if not isinstance(value, str) or not _ID_PATTERN.match(value):
        raise CanonicalFormError(
            field, f"{value!r} must be a short identifier matching {_ID_PATTERN.pattern}"
        )
    return value


def canonical_order(order: Mapping[str, Any]) -> CanonicalForm:
    """Validate a plain order dict and return canonical form v1. Unknown keys are refused."""
    extra = set(order) - ORDER_FIELDS - {"v", "revision"}
    if extra:
        raise CanonicalFormError(
            sorted(extra)[0], f"not allowed in the canonical form; allowed: {sorted(ORDER_FIELDS)}"
        )
    missing = ORDER_FIELDS - set(order)
    if missing:
        raise CanonicalFormError(sorted(missing)[0], "missing")
    if order.get("v", CANONICAL_VERSION) != CANONICAL_VERSION:
        raise CanonicalFormError("v", f"{order['v']!r} unsupported; known versions: [{CANONICAL_VERSION}]")
    currency = order["currency"]
    if not isinstance(currency, str) or not _CURRENCY_PATTERN.match(currency):
        raise CanonicalFormError("currency", f"{currency!r} must be an ISO-4217 code such as 'EUR'")
    raw_lines = order["lines"]
    if not isinstance(raw_lines, list) or not raw_lines:
        raise CanonicalFormError("lines", "must be a non-empty list")
    lines: list[CanonicalLine] = []
    for index, line in enumerate(raw_lines):
        if not isinstance(line, dict):
            raise CanonicalFormError(f"lines[{index}]", "must be an object")
        extra_line = set(line) - LINE_FIELDS
        if extra_line or LINE_FIELDS - set(line):
            raise CanonicalFormError(f"lines[{index}]", f"must have exactly the keys {sorted(LINE_FIELDS)}")
        lines.append(
            {
                "product_id": _id_field(f"lines[{index}].product_id", line["product_id"]),
                "quantity": _int_field(f"lines[{index}].quantity", line["quantity"], minimum=1),
                "unit_price_minor": _int_field(
                    f"lines[{index}].unit_price_minor", line["unit_price_minor"], minimum=0
                ),
            }
        )
    lines.sort(key=lambda item: (item["product_id"], item["unit_price_minor"], item["quantity"]))
    form: CanonicalForm = {
        "v": CANONICAL_VERSION,
        "order_number": _id_field("order_number", order["order_number"]),
        "created_at": utc_timestamp(order["created_at"]),
        "currency": currency,
        "lines": lines,
        "shipping_minor": _int_field("shipping_minor", order["shipping_minor"], minimum=0),
        "total_minor": _int_field("total_minor", order["total_minor"], minimum=0),
    }
    revision = _int_field("revision", order.get("revision", 0), minimum=0)
    if revision:  # revision 0 carries no key: its canonical JSON is exactly the form before revisions
        form["revision"] = revision
    return form


def canonical_json(order: Mapping[str, Any]) -> bytes:
    return json.dumps(
        canonical_order(order), sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


class KeyRing:
    """Derives record ids, per-order keys and digests from the shop's secret K."""

    def __init__(self, secret: bytes) -> None:
        if len(secret) < MIN_KEY_BYTES:
            raise LedgerConfigError(
                "LEDGER_HMAC_KEY", f"{len(secret)} bytes is too short; use at least {MIN_KEY_BYTES}"
            )
        self._secret = secret

    def __repr__(self) -> str:  # never print the key
        return "KeyRing(<secret>)"

    def keyed(self, domain: bytes, value: str) -> bytes:
        """HMAC(K, domain || value): record ids for other record kinds (recommendation batches)."""
        return hmac.new(self._secret, domain + value.encode("utf-8"), hashlib.sha256).digest()

    def record_id(self, order_number: str, revision: int = 0) -> bytes:
        """The record id of an order's revision (revision 0: the order as created)."""
        if revision == 0:
            return hmac.new(self._secret, _ID_DOMAIN + order_number.encode("utf-8"), hashlib.sha256).digest()
        message = _REVISION_ID_DOMAIN + f"{order_number}\x00{revision}".encode()
        return hmac.new(self._secret, message, hashlib.sha256).digest()

    def order_key(self, order_number: str) -> bytes:
        return hmac.new(self._secret, _KEY_DOMAIN + order_number.encode("utf-8"), hashlib.sha256).digest()

    def digest(self, order: Mapping[str, Any]) -> bytes:
        canonical = canonical_order(order)
        return order_digest(self.order_key(canonical["order_number"]), canonical_json(canonical))

    def order_record(self, order: Mapping[str, Any]) -> OrderRecord:
        """The record of ``order`` at its ``"revision"`` (0 when absent)."""
        canonical = canonical_order(order)
        number, revision = canonical["order_number"], canonical.get("revision", 0)
        return OrderRecord(
            order_number=number,
            record_id="0x" + self.record_id(number, revision).hex(),
            digest="0x" + self.digest(canonical).hex(),
            revision=revision,
        )

    def disclosure(self, order: Mapping[str, Any]) -> dict[str, Any]:
        """What an auditor or the shopper needs to check one order, without K."""
        canonical = canonical_order(order)
        number = canonical["order_number"]
        revision = {"revision": canonical["revision"]} if "revision" in canonical else {}
        return {
            "order_number": number,
            **revision,
            "record_id": "0x" + self.record_id(number, canonical.get("revision", 0)).hex(),
            "order_key": "0x" + self.order_key(number).hex(),
            "canonical_json": canonical_json(canonical).decode("utf-8"),
            "digest": "0x" + self.digest(canonical).hex(),
            "algorithm": "HMAC-SHA256(order_key, canonical_json)",
        }


def order_digest(order_key: bytes, canonical: bytes) -> bytes:
    return hmac.new(order_key, canonical, hashlib.sha256).digest()


def check_disclosure(disclosure: dict[str, Any], stored_digest: bytes) -> bool:
    """Auditor side: recompute the digest from a disclosure and compare with the chain's value."""
    key = bytes.fromhex(str(disclosure["order_key"]).removeprefix("0x"))
    recomputed = order_digest(key, str(disclosure["canonical_json"]).encode("utf-8"))
    return hmac.compare_digest(recomputed, stored_digest)
