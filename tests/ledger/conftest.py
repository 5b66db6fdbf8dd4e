"""Ledger fixtures: an in-process eth-tester chain, a key ring, and a real anvil on a free port."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ledger.canonical import KeyRing
from ledger.client import LedgerClient
from ledger.node import AnvilNode, free_port
from tests.ledger.ledger_helpers import ANVIL_BIN, TESTER_KEY


@pytest.fixture
def keyring() -> KeyRing:
    return KeyRing(b"test-ledger-hmac-key-0123456789")


@pytest.fixture
def chain() -> LedgerClient:
    """A fresh eth-tester chain with a deployed OrderLedger owned by TESTER_KEY."""
    client = LedgerClient.in_process(TESTER_KEY)
    client.deploy()
    return client


@pytest.fixture
def anvil_binary() -> Path:
    if not ANVIL_BIN.exists():
        pytest.skip(f"anvil not installed at {ANVIL_BIN}: run `npm ci` (@foundry-rs/anvil)")
    return ANVIL_BIN


@pytest.fixture
def anvil(anvil_binary: Path, tmp_path: Path) -> Iterator[AnvilNode]:
    """A real anvil on a free 127.0.0.1 port with a state file in tmp_path (restartable)."""
    node = AnvilNode(
        anvil_binary, free_port(), state_file=tmp_path / "chain" / "state.json", state_interval_s=1
    )
    node.start()
    try:
        yield node
    finally:
        node.stop()
