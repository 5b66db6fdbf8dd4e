"""Catch-up after a node outage: N pending records (default 1,000) queued while anvil is down, then the time
from the node being back to every record on chain, exactly once.

Baseline (same run): the same sender with one transaction per record (LEDGER_SENDER_TX_BATCH=1).

    .venv/app/bin/python bench/ledger_catchup.py [--n 1000]
"""

from __future__ import annotations

import argparse
import hashlib
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ledger_common import ANVIL_KEY, anvil

from ledger.canonical import OrderRecord
from ledger.client import ChainConfig
from ledger.deployment import connect_existing, ensure_deployed
from ledger.outbox import Outbox, connect, enqueue
from ledger.sender import Sender


def run(n: int, tx_batch: int, tmp: Path) -> tuple[float, int]:
    state = tmp / f"chain-{tx_batch}"
    db = tmp / f"shop-{tx_batch}.db"
    with anvil(state / "state.json") as node:
        config = ChainConfig(rpc_url=node.url, private_key=ANVIL_KEY, receipt_timeout_s=60)
        ensure_deployed(config, state)
        node.stop()  # outage: shoppers keep confirming
        conn = connect(db)
        conn.execute("BEGIN")
        for i in range(n):
            h = hashlib.sha256(f"{tx_batch}-{i}".encode()).hexdigest()
            enqueue(conn, OrderRecord(f"SD-{300000 + i}", "0x" + h, "0x" + h[::-1]))
        conn.execute("COMMIT")
        sender = Sender(
            Outbox.open(db),
            lambda: connect_existing(config, state),
            batch=256,
            tx_batch=tx_batch,
            rng=random.Random(0),
        )
        assert sender.deliver_once().node_down
        node.start()  # back
        start = time.perf_counter()
        while sender.outbox.counts()["pending"]:
            sender.deliver_once()
        elapsed = time.perf_counter() - start
        count = connect_existing(config, state).record_count()
    return elapsed, count


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        ours, count = run(args.n, 16, Path(tmp))
        print(f"ours (recordBatch x16)   : {args.n} pending delivered in {ours:.2f}s; on chain: {count}")
        base, count_b = run(args.n, 1, Path(tmp))
        print(f"baseline (1 tx / record) : {args.n} pending delivered in {base:.2f}s; on chain: {count_b}")
        assert count == count_b == args.n


if __name__ == "__main__":
    main()
