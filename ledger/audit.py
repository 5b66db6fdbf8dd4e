# ruff: noqa: T201  (a command-line report)
"""Verify an order store against the ledger: recompute every order's digest and compare with the chain.

The logic of the verify command (``python -m actions.verify_orders``): the caller supplies the orders (plain dicts
in the ``ledger.canonical`` form, from whoever owns the shop's tables) and this module does the rest — the outbox,
the chain, the report, backfill, disclosure and the exit codes.

Exit codes: 0 nothing tampered (pending / missing are listed), 1 tampered or orphaned records,
2 ``--strict`` and some order has no record, 3 the chain or the configuration is unusable.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from ledger.canonical import KeyRing, parse_revision_ref
from ledger.errors import LedgerError
from ledger.outbox import Outbox, connect, enqueue, latest_revision
from ledger.verify import ChainReader, VerificationReport, verify_orders

logger = logging.getLogger(__name__)

# (order store path, one order number or None for all) -> canonical order dicts
OrderReader = Callable[[Path, "str | None"], Iterable[Mapping[str, Any]]]


def verify(
    outbox_path: Path,
    keyring: KeyRing,
    chain: ChainReader,
    orders: Iterable[Mapping[str, Any]],
    *,
    whole_store: bool = True,
) -> VerificationReport:
    """Every order against the chain and its outbox row; orphans reported only for the whole store."""
    outbox = Outbox.open(outbox_path)
    try:
        rows = outbox.by_ref("order")
        others = outbox.record_ids("recommendations")
    finally:
        outbox.close()
    return verify_orders(orders, keyring, chain, rows, report_orphans=whole_store, other_record_ids=others)


def backfill(outbox_path: Path, keyring: KeyRing, orders: Iterable[Mapping[str, Any]]) -> int:
    """Queue a record for each order without one. Anchors the orders as they are now, not as they were."""
    queued = 0
    outbox = Outbox.open(outbox_path)
    known = {parse_revision_ref(ref)[0] for ref in outbox.by_ref("order")}  # any revision: it has a record
    outbox.close()
    conn = connect(outbox_path)
    try:
        conn.execute("BEGIN IMMEDIATE")
        for order in orders:
            if order["order_number"] not in known and order["lines"]:
                enqueue(conn, keyring.order_record(order))
                queued += 1
        conn.execute("COMMIT")
    finally:
        conn.close()
    return queued


def queued_revision(outbox_path: Path, order: Mapping[str, Any]) -> int:
    """The order's latest revision in the outbox (0 when none is queued): the one a disclosure is of."""
    conn = connect(outbox_path)
    try:
        latest = latest_revision(conn, str(order["order_number"]))
    finally:
        conn.close()
    return latest[0] if latest else 0


def outbox_summary(outbox_path: Path) -> list[str]:
    """The outbox's counts per status and every quarantined row with its reason (rows the sender gave up on)."""
    outbox = Outbox.open(outbox_path)
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


def main(argv: list[str] | None, *, read_orders: OrderReader, prog: str, description: str) -> int:
    """The verify command over the orders ``read_orders`` yields (settings: ``ledger.settings``)."""
    from ledger.deployment import connect_existing
    from ledger.settings import LedgerSettings

    parser = argparse.ArgumentParser(prog=prog, description=description)
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
        settings = LedgerSettings.from_env()
        keyring = KeyRing(settings.hmac_key.encode("utf-8"))
    except (ValueError, LedgerError) as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 3
    db_path = args.db or settings.shop_db_path
    if not Path(db_path).exists():
        print(f"no order store at {db_path}; set SHOP_DB_PATH or pass --db", file=sys.stderr)
        return 3
    if args.disclose:
        orders = list(read_orders(db_path, args.disclose.strip().upper()))
        if not orders:
            print(f"no order {args.disclose} in {db_path}", file=sys.stderr)
            return 3
        print(
            json.dumps(
                keyring.disclosure({**orders[0], "revision": queued_revision(db_path, orders[0])}), indent=2
            )
        )
        return 0
    if args.backfill:
        queued = backfill(db_path, keyring, read_orders(db_path, None))
        print(f"queued {queued} records; `python -m ledger.sender` delivers them")
        return 0
    number = args.order.strip().upper() if args.order else None
    try:
        started = time.perf_counter()
        client = connect_existing(settings.chain_config(read_only=True), settings.state_dir)
        connected = time.perf_counter() - started
        started = time.perf_counter()
        report = verify(db_path, keyring, client, read_orders(db_path, number), whole_store=number is None)
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
