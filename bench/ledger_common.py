"""Shared helpers for the ledger benchmarks: a throwaway anvil and deterministic records."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ledger.client import ChainConfig, LedgerClient
from ledger.node import AnvilNode, free_port

REPO = Path(__file__).resolve().parent.parent
ANVIL_BIN = REPO / "node_modules" / ".bin" / "anvil"
ANVIL_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
TESTER_KEY = "0x" + "00" * 31 + "01"


def records(n: int, salt: str = "") -> list[tuple[bytes, bytes]]:
    return [
        (
            hashlib.sha256(f"id{salt}{i}".encode()).digest(),
            hashlib.sha256(f"digest{salt}{i}".encode()).digest(),
        )
        for i in range(n)
    ]


@contextmanager
def anvil(state_file: Path | None = None) -> Iterator[AnvilNode]:
    if not ANVIL_BIN.exists():
        raise SystemExit(f"anvil not found at {ANVIL_BIN}: run `npm ci`")
    node = AnvilNode(ANVIL_BIN, free_port(), state_file=state_file)
    node.start()
    try:
        yield node
    finally:
        node.stop()


def deployed_client(node: AnvilNode) -> LedgerClient:
    client = LedgerClient.connect(ChainConfig(rpc_url=node.url, private_key=ANVIL_KEY, receipt_timeout_s=60))
    client.deploy()
    return client
