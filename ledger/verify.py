"""Compare orders (recomputed digests) with the chain and the outbox.

An order is compared with its latest recorded revision (``ledger.canonical``): revision 0 as created, then one
per legitimate change. The latest is the highest one the outbox queued or the chain holds (revisions
1, 2, ... are looked up on chain until one is absent); the older revisions are history, never "orphaned".
A row edited in the database without a change through the store still differs from its latest revision.

Statuses per order:
    intact    the chain stores exactly the recomputed digest
    tampered  the chain (or the pending outbox row) holds another digest, or the row no longer has a valid
              canonical form (e.g. quantity edited to 0)
    pending   not on chain yet; the queued digest still matches the order
    missing   neither on chain nor queued (or marked recorded but absent from the chain, or its outbox row was
              quarantined because it could never be sent)
    orphaned  on chain, but no order in the store has that record id (an order row was deleted)
"""

from __future__ import annotations

import hmac
import logging
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from ledger.canonical import KeyRing, parse_revision_ref, revision_ref
from ledger.errors import CanonicalFormError
from ledger.outbox import OutboxRow

logger = logging.getLogger(__name__)

Status = Literal["intact", "tampered", "pending", "missing", "orphaned"]
PROBLEMS: frozenset[str] = frozenset({"tampered", "orphaned"})


class ChainReader(Protocol):
    def recorded_digests(self, from_block: int = 0) -> dict[bytes, tuple[bytes, str]]: ...

    def digest_of(self, record_id: bytes | str) -> bytes | None: ...

    def find_record_tx(self, record_id: bytes | str) -> tuple[str | None, int | None]: ...


@dataclass(frozen=True)
class OrderCheck:
    order_number: str
    status: Status
    record_id: str
    detail: str = ""
    tx_hash: str | None = None


@dataclass
class VerificationReport:
    checks: list[OrderCheck] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        counts = Counter(c.status for c in self.checks)
        return {
            status: counts.get(status, 0)
            for status in ("intact", "tampered", "pending", "missing", "orphaned")
        }

    @property
    def tampered(self) -> bool:
        return any(c.status in PROBLEMS for c in self.checks)

    @property
    def missing(self) -> bool:
        return any(c.status == "missing" for c in self.checks)


def check_order(
    order: Mapping[str, Any],
    keyring: KeyRing,
    stored: bytes | None,
    outbox_row: OutboxRow | None,
    tx_hash: str | None = None,
    revision: int = 0,
) -> OrderCheck:
    """Classify one order given what the chain stores for its latest ``revision`` (``stored``) and that
    revision's outbox row."""
    number = str(order.get("order_number", "?"))
    record_id = "0x" + keyring.record_id(number, revision).hex()
    try:
        expected = keyring.digest({**order, "revision": revision})
    except CanonicalFormError as exc:
        return OrderCheck(number, "tampered", record_id, f"order row is no longer valid: {exc}", tx_hash)
    if stored is not None:
        if hmac.compare_digest(stored, expected):
            return OrderCheck(number, "intact", record_id, "", tx_hash)
        return OrderCheck(
            number, "tampered", record_id, "the order differs from the digest on chain", tx_hash
        )
    if outbox_row is None:
        return OrderCheck(number, "missing", record_id, "no ledger record was ever queued")
    if outbox_row.status == "pending":
        if outbox_row.digest.lower() == "0x" + expected.hex():
            return OrderCheck(number, "pending", record_id, f"queued, {outbox_row.attempts} attempts so far")
        return OrderCheck(number, "tampered", record_id, "the order differs from its queued digest")
    if outbox_row.status == "quarantined":
        return OrderCheck(
            number, "missing", record_id, f"its outbox row is quarantined: {outbox_row.last_error or '?'}"
        )
    return OrderCheck(
        number,
        "missing",
        record_id,
        f"outbox says {outbox_row.status} but the chain has no record (chain reset?)",
    )


def revisions_by_order(outbox_rows: Mapping[str, OutboxRow]) -> dict[str, int]:
    """The highest queued revision per order number, from the outbox's order rows keyed by ref."""
    latest: dict[str, int] = {}
    for ref in outbox_rows:
        number, revision = parse_revision_ref(ref)
        latest[number] = max(revision, latest.get(number, 0))
    return latest


def latest_on_chain(number: str, keyring: KeyRing, present: Callable[[bytes], bool], start: int = 0) -> int:
    """The highest revision above ``start`` whose record ``present`` reports, probing ``start`` + 1, + 2, ...
    until one is absent (revisions are queued in order, one per change); ``start`` when there is none."""
    revision = start
    while present(keyring.record_id(number, revision + 1)):
        revision += 1
    return revision


def verify_orders(
    orders: Iterable[Mapping[str, Any]],
    keyring: KeyRing,
    chain: ChainReader,
    outbox_rows: Mapping[str, OutboxRow],
    *,
    report_orphans: bool = True,
    other_record_ids: Iterable[bytes] = (),
) -> VerificationReport:
    """Check every order; the chain is read once through its events, with a direct read as fallback.

    ``other_record_ids``: ids on chain that are not orders (recommendation batches), never reported orphaned.
    """
    on_chain = chain.recorded_digests()
    queued = revisions_by_order(outbox_rows)
    report = VerificationReport()
    seen: set[bytes] = set()
    for order in orders:
        number = str(order.get("order_number", "?"))
        revision = latest_on_chain(number, keyring, on_chain.__contains__, queued.get(number, 0))
        seen.update(keyring.record_id(number, n) for n in range(revision + 1))
        rid = keyring.record_id(number, revision)
        entry = on_chain.get(rid)
        stored, tx_hash = (entry[0], entry[1]) if entry else (None, None)
        row = outbox_rows.get(revision_ref(number, revision))
        if stored is None and row is not None and row.status != "pending":
            stored = chain.digest_of(rid)  # a node may prune old events; storage is authoritative
        report.checks.append(check_order(order, keyring, stored, row, tx_hash, revision))
    if report_orphans:
        known_other = set(other_record_ids)
        for rid, (_, tx_hash) in on_chain.items():
            if rid not in seen and rid not in known_other:
                report.checks.append(
                    OrderCheck(
                        "?",
                        "orphaned",
                        "0x" + rid.hex(),
                        "on chain but no order in the store has it",
                        tx_hash,
                    )
                )
    logger.info("verified %s orders: %s", len(report.checks), report.counts)
    return report
