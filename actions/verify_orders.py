"""Verify the order store against the ledger: recompute every order's digest and compare with the chain.

The orders come from the shop's tables here; everything else (outbox, chain, report, exit codes) is
``ledger.audit``.

    python -m actions.verify_orders                 # every order; exit 1 on any tampering
    python -m actions.verify_orders --order SD-100042
    python -m actions.verify_orders --disclose SD-100042   # per-order key + canonical JSON for an auditor
    python -m actions.verify_orders --backfill      # queue records for orders that have none (e.g. the seed)

Exit codes: 0 nothing tampered (pending / missing are listed), 1 tampered or orphaned records,
2 ``--strict`` and some order has no record, 3 the chain or the configuration is unusable.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ledger import audit
from ledger.canonical import KeyRing, utc_timestamp
from ledger.verify import ChainReader, VerificationReport
from shop.read import open_reader

logger = logging.getLogger(__name__)


def iter_canonical_orders(db_path: Path, number: str | None = None) -> Iterator[dict[str, Any]]:
    """Canonical order dicts from the shop's read API (two queries, fast for 10k+ orders)."""
    for order in open_reader(db_path).ledger_orders(number):
        yield {**order, "created_at": utc_timestamp(order["created_at"])}


def run_verification(
    db_path: Path, keyring: KeyRing, chain: ChainReader, number: str | None = None
) -> VerificationReport:
    return audit.verify(
        db_path, keyring, chain, iter_canonical_orders(db_path, number), whole_store=number is None
    )


def backfill(db_path: Path, keyring: KeyRing) -> int:
    """Queue a record for each order without one (e.g. the seed's). See ``ledger.audit.backfill``."""
    return audit.backfill(db_path, keyring, iter_canonical_orders(db_path))


outbox_summary = audit.outbox_summary


def main(argv: list[str] | None = None) -> int:
    """The verify command (``ledger.audit.main``) over the orders of the shop's tables."""
    return audit.main(
        argv,
        read_orders=iter_canonical_orders,
        prog="python -m actions.verify_orders",
        description=__doc__.splitlines()[0],
    )


if __name__ == "__main__":
    sys.exit(main())
