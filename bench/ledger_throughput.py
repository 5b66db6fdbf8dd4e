"""Records per second to eth-tester (in process) and to anvil: single and batched, signed locally.

Baseline (same run): web3's plain ``contract.functions.record(...).transact()`` + wait for each receipt —
what a first implementation would do (the node signs, gas estimated per call, one round trip at a time).

    .venv/app/bin/python bench/ledger_throughput.py [--n 500]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ledger_common import TESTER_KEY, anvil, deployed_client, records

from ledger.client import LedgerClient


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:8.1f} records/s ({n} in {seconds:.2f}s)"


def naive(client: LedgerClient, items: list[tuple[bytes, bytes]]) -> float:
    contract = client.w3.eth.contract(address=client.address, abi=client.artifact.abi)
    sender = client.w3.eth.accounts[0]
    start = time.perf_counter()
    for record_id, digest in items:
        tx = contract.functions.record(record_id, digest).transact({"from": sender})
        client.w3.eth.wait_for_transaction_receipt(tx)
    return time.perf_counter() - start


def ours(client: LedgerClient, items: list[tuple[bytes, bytes]], batch: int) -> float:
    start = time.perf_counter()
    results = client.record_many(items, batch_size=batch)
    elapsed = time.perf_counter() - start
    assert all(r.outcome == "recorded" for r in results), {r.outcome for r in results}
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()
    n = args.n

    print("== anvil (JSON-RPC over HTTP, automine) ==")
    with anvil() as node:
        client = deployed_client(node)
        base = naive(client, records(n // 5, "naive"))
        print(f"baseline transact()+wait, node signs : {rate(n // 5, base)}")
        print(f"ours, single tx per record, pipelined: {rate(n, ours(client, records(n, 'single'), 1))}")
        print(
            f"ours, recordBatch x{args.batch:<3}             : {rate(n, ours(client, records(n, 'batch'), args.batch))}"
        )
    print("== eth-tester / py-evm (in process) ==")
    tester = LedgerClient.in_process(TESTER_KEY)
    tester.deploy()
    m = max(50, n // 5)
    base = naive(tester, records(m // 2, "naive"))
    print(f"baseline transact()+wait             : {rate(m // 2, base)}")
    print(f"ours, single tx per record           : {rate(m, ours(tester, records(m, 'single'), 1))}")
    print(
        f"ours, recordBatch x{args.batch:<3}             : {rate(n, ours(tester, records(n, 'batch'), args.batch))}"
    )


if __name__ == "__main__":
    main()
