# ruff: noqa: T201  (a command-line report)
"""Verify the order store against the ledger: recompute every order's digest and compare with the chain.

    python -m actions.verify_orders                 # every order; exit 1 on any tampering
    python -m actions.verify_orders --order SD-100042
    python -m actions.verify_orders --disclose SD-100042   # per-order key + canonical JSON for an auditor
    python -m actions.verify_orders --backfill      # queue records for orders that have none (e.g. the seed)

Exit codes: 0 nothing tampered (pending / missing are listed), 1 tampered or orphaned records,
2 ``--strict`` and some order has no record, 3 the chain or the configuration is unusable.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ledger.canonical import KeyRing, utc_timestamp
from ledger.errors import LedgerError
from ledger.outbox import Outbox, connect, enqueue
from ledger.verify import ChainReader, VerificationReport, verify_orders
from shop.read import open_reader

logger = logging.getLogger(__name__)


def iter_canonical_orders(db_path: Path, number: str | None = None) -> Iterator[dict[str, Any]]:
    """Canonical order dicts from the shop's read API (two queries, fast for 10k+ orders)."""
    for order in open_reader(db_path).ledger_orders(number):
        yield {**order, "created_at": utc_timestamp(order["created_at"])}


def run_verification(
    db_path: Path, keyring: KeyRing, chain: ChainReader, number: str | None = None
) -> VerificationReport:
    outbox = Outbox.open(db_path)
    try:
        rows = outbox.by_ref("order")
        others = outbox.record_ids("recommendations")
    finally:
        outbox.close()
    return verify_orders(
        iter_canonical_orders(db_path, number),
        keyring,
        chain,
        rows,
        report_orphans=number is None,
        other_record_ids=others,
    )


def backfill(db_path: Path, keyring: KeyRing) -> int:
    """Queue a record for each order without one. Anchors the orders as they are now, not as they were."""
    queued = 0
    outbox = Outbox.open(db_path)
    known = set(outbox.by_ref("order"))
    outbox.close()
    conn = connect(db_path)
    try:
        conn.execute("BEGIN IMMEDIATE")
        for order in iter_canonical_orders(db_path):
            if order["order_number"] not in known and order["lines"]:
                enqueue(conn, keyring.order_record(order))
                queued += 1
        conn.execute("COMMIT")
    finally:
        conn.close()
    return queued


def outbox_summary(db_path: Path) -> list[str]:
    """The outbox's counts per status and every quarantined row with its reason (rows the sender gave up on)."""
    outbox = Outbox.open(db_path)
    try:
        counts = outbox.counts()
        quarantined = outbox.quarantined()
    finally:
        outbox.close()
    lines = ["outbox: " + ", ".join(f"{k} {v}" for k, v in counts.items())]
    lines += [f"quarantined {row.kind} {row.ref}: {row.last_error or '?'}" for row in quarantined]
    return lines


def print_report(report: VerificationReport, *, verbose: bool) -> None:
    for check in report.checks:
        if verbose or check.status != "intact":
            tx = f" tx {check.tx_hash}" if check.tx_hash else ""
            print(f"{check.order_number:<12} {check.status:<9}{tx} {check.detail}".rstrip())
    print("summary: " + ", ".join(f"{k} {v}" for k, v in report.counts.items()))


def main(argv: list[str] | None = None) -> int:
    from actions.settings import get_ledger_settings, get_settings
    from ledger.client import ChainConfig
    from ledger.deployment import connect_existing

    parser = argparse.ArgumentParser(
        prog="python -m actions.verify_orders", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--order", help="verify one order (e.g. SD-100042)")
    parser.add_argument(
        "--disclose", metavar="ORDER", help="print the disclosure bundle of one order and exit"
    )
    parser.add_argument("--backfill", action="store_true", help="queue records for orders that have none")
    parser.add_argument("--strict", action="store_true", help="exit 2 when some order has no record")
    parser.add_argument("--db", type=Path, help="order store (default: SHOP_DB_PATH)")
    parser.add_argument("-v", "--verbose", action="store_true", help="list intact orders too")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        settings, extra = get_settings(), get_ledger_settings()
        keyring = KeyRing(settings.ledger_hmac_key.encode("utf-8"))
    except (ValueError, LedgerError) as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 3
    db_path = args.db or settings.shop_db_path
    if not Path(db_path).exists():
        print(f"no order store at {db_path}; set SHOP_DB_PATH or pass --db", file=sys.stderr)
        return 3
    if args.disclose:
        orders = list(iter_canonical_orders(db_path, args.disclose.strip().upper()))
        if not orders:
            print(f"no order {args.disclose} in {db_path}", file=sys.stderr)
            return 3
        print(json.dumps(keyring.disclosure(orders[0]), indent=2))
        return 0
    if args.backfill:
        print(f"queued {backfill(db_path, keyring)} records; `python -m ledger.sender` delivers them")
        return 0
    try:
        started = time.perf_counter()
        client = connect_existing(
            ChainConfig(
                rpc_url=settings.ledger_rpc_url,
                private_key=None,
                contract_address=settings.ledger_contract_address or None,
                chain_id=extra.chain_id,
            ),
            extra.state_dir,
        )
        connected = time.perf_counter() - started
        started = time.perf_counter()
        report = run_verification(
            db_path, keyring, client, args.order.strip().upper() if args.order else None
        )
    except LedgerError as exc:
        print(f"cannot verify: {exc}", file=sys.stderr)
        print("\n".join(outbox_summary(db_path)), file=sys.stderr)
        return 3
    print_report(report, verbose=args.verbose or bool(args.order))
    print("\n".join(outbox_summary(db_path)))
    print(
        f"checked {len(report.checks)} in {time.perf_counter() - started:.2f}s (connecting took {connected:.2f}s)"
    )
    if report.tampered:
        return 1
    if args.strict and report.missing:
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
