"""Verification time for N orders (default 10,000) against anvil, through the real CLI code path
(``actions.verify_orders.run_verification``: the shop's read API, canonical form, HMACs, one event scan).

Baseline (same run): one ``digestOf`` eth_call per order, timed on the first 1,000 orders and scaled.

    .venv/app/bin/python bench/ledger_verify.py [--n 10000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ledger_common import anvil, deployed_client

from actions.verify_orders import iter_canonical_orders, run_verification
from ledger.canonical import KeyRing
from ledger.outbox import connect, enqueue
from shop.demo.bulk import tamper_order_line, write_bulk_orders


def make_store(path: Path, n: int, keyring: KeyRing) -> list[dict[str, object]]:
    write_bulk_orders(path, n)
    orders = list(iter_canonical_orders(path))
    out = connect(path)
    out.execute("BEGIN")
    for order in orders:
        enqueue(out, keyring.order_record(order))
    out.execute("COMMIT")
    out.execute("UPDATE ledger_outbox SET status = 'recorded'")
    out.close()
    return orders  # type: ignore[return-value]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10_000)
    args = parser.parse_args()
    keyring = KeyRing(b"bench-hmac-key-0123456789abcdef")
    with tempfile.TemporaryDirectory() as tmp, anvil() as node:
        db = Path(tmp) / "shop.db"
        orders = make_store(db, args.n, keyring)
        client = deployed_client(node)
        start = time.perf_counter()
        pairs = [
            (bytes.fromhex(r.record_id[2:]), bytes.fromhex(r.digest[2:]))
            for r in (keyring.order_record(o) for o in orders)  # type: ignore[arg-type]
        ]
        client.record_many(pairs, batch_size=128)
        print(f"setup: {args.n} orders recorded on anvil in {time.perf_counter() - start:.1f}s")

        start = time.perf_counter()
        report = run_verification(db, keyring, client)
        ours = time.perf_counter() - start
        assert report.counts["intact"] == args.n, report.counts
        print(
            f"ours (event scan + recompute)   : {args.n} orders verified in {ours:.2f}s ({args.n / ours:.0f}/s)"
        )

        sample = min(1000, args.n)
        start = time.perf_counter()
        for rid, _ in pairs[:sample]:
            client.digest_of(rid)
        naive = (time.perf_counter() - start) * args.n / sample
        print(f"baseline (one eth_call per order): {naive:.2f}s for {args.n} (timed on {sample}, scaled)")

        tamper_order_line(db, "SD-200007")
        report = run_verification(db, keyring, client)
        print(f"after editing one row: {report.counts} (tampered detected: {report.tampered})")


if __name__ == "__main__":
    main()
