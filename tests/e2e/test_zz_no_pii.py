"""After the e2e suite (the file name sorts last in tests/e2e): no shopper's email address or street appears in
any log file, any chain record or any stored tracker event.

The emails and streets are read from the seeded demo shop (every customer's email and default street, every
order's shipping street), not written down here. What is scanned, for every stack this session started
(`live_stack`, and `fault_stack` when tests/e2e/test_faults.py ran):

- every log file under artifacts/logs (the fault stack's in artifacts/logs/faults) and under the stack's state
  directory (anvil.log);
- the chain: each transaction's input and each log's data on the running node, and anvil's state dump (which
  holds the contract's storage), as text and as hex;
- the tracker store (Rasa's SQLite file): every column of every stored row, with redaction on
  (REDACT_TRACKER, on by default).

Before scanning, this test sends a verification (with the email) and a checkout (which shows the address) to
the live stack, so the scan never passes for want of personal data having gone through.
"""

from __future__ import annotations

import json
import sqlite3
import urllib.request
import uuid
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from scripts.stack import Stack
from shop.errors import CustomerNotFoundError
from tests.conftest import LOG_DIR, STARTED_STACKS
from tests.e2e.shopper import Shopper
from tests.e2e.stores import open_store

pytestmark = pytest.mark.integration

MAX_CUSTOMERS = 10_000


@dataclass(frozen=True)
class Secret:
    kind: str  # "email" | "street"
    text: str

    @property
    def needles(self) -> tuple[str, str]:
        """The value lower-cased, and its UTF-8 bytes as lower-case hex (how a chain or a state dump holds it)."""
        return self.text.lower(), self.text.encode("utf-8").hex()


def demo_shop_pii(shop_db: Path) -> list[Secret]:
    """Every customer's email and street and every order's shipping street in the seeded store."""
    store = open_store(shop_db)
    found: set[Secret] = set()
    for n in range(1, MAX_CUSTOMERS):
        try:
            customer = store.get_customer(f"C-{n:04d}")
        except CustomerNotFoundError:
            break
        found.add(Secret("email", customer.email))
        if customer.default_address is not None:
            found.add(Secret("street", customer.default_address.street))
        for order in store.orders_for_customer(customer.id):
            found.add(Secret("street", order.shipping_address.street))
    assert len(found) > 20, "the seeded demo shop has customers"
    return sorted((s for s in found if len(s.text) >= 6), key=lambda s: (s.kind, s.text))


def leaks(where: str, text: str, secrets: Iterable[Secret]) -> list[str]:
    lowered = text.lower()
    return [f"{where}: {s.kind} {s.text!r}" for s in secrets if any(n in lowered for n in s.needles)]


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session:
        yield session


@pytest.fixture
async def pii_sent(http: aiohttp.ClientSession, live_stack: Stack) -> tuple[Stack, str]:
    """Personal data that went through the live stack: an email typed, an address shown at checkout."""
    shopper = Shopper(http, live_stack.config.rest_url, sender=f"pii-{uuid.uuid4().hex[:10]}")
    await shopper.converse("where is my order SD-100003?", email="ben.okafor@example.com")
    await shopper.say("add the Arc LED Desk Lamp to my cart")
    await shopper.converse("checkout", confirm=False)
    return live_stack, shopper.sender


def log_files(stacks: list[Stack]) -> list[Path]:
    files = set(LOG_DIR.rglob("*.log"))
    for stack in stacks:
        files.update(stack.log_dir.rglob("*.log"))
        files.update(stack.config.var_dir.rglob("*.log"))
    return sorted(files)


def rpc(url: str, method: str, *params: object) -> object:
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": list(params)}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())["result"]


def chain_texts(stack: Stack) -> Iterable[tuple[str, str]]:
    """(where, text) for every transaction input and log of the running node, and anvil's state dump."""
    if stack.alive().get("chain"):
        url = stack.config.chain_url
        latest = int(str(rpc(url, "eth_blockNumber")), 16)
        for number in range(latest + 1):
            block = rpc(url, "eth_getBlockByNumber", hex(number), True)
            assert isinstance(block, dict)
            for tx in block.get("transactions") or []:
                yield f"chain tx {tx['hash']} input", str(tx.get("input", ""))
        logs = rpc(url, "eth_getLogs", {"fromBlock": "0x0", "toBlock": "latest"})
        assert isinstance(logs, list)
        for log in logs:
            yield f"chain log in tx {log.get('transactionHash')}", json.dumps(log)
    for state in stack.config.var_dir.rglob("state.json"):
        yield f"anvil state dump {state}", state.read_text(errors="replace")


def tracker_rows(stack: Stack) -> Iterable[tuple[str, str]]:
    path = stack.config.var_dir / "tracker.db"
    if not path.exists():
        return
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                yield f"tracker store {path.name} table {table}", " ".join(str(value) for value in row)
    finally:
        conn.close()


def stored_events(stack: Stack, sender: str) -> int:
    conn = sqlite3.connect(f"file:{stack.config.var_dir / 'tracker.db'}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT count(*) FROM events WHERE sender_id = ?", (sender,)).fetchone()[0])
    finally:
        conn.close()


async def test_no_email_or_street_in_logs_chain_or_tracker(pii_sent: tuple[Stack, str]) -> None:
    live, sender = pii_sent
    stacks = list(dict.fromkeys([live, *STARTED_STACKS]))
    secrets = demo_shop_pii(live.config.shop_db)
    assert any(s.text == "ben.okafor@example.com" for s in secrets)
    found: list[str] = []

    files = log_files(stacks)
    assert any(f.name == "rasa.log" for f in files) and any(f.name == "actions.log" for f in files), files
    for path in files:
        found += leaks(f"log {path}", path.read_text(errors="replace"), secrets)

    for stack in stacks:
        if "chain" in stack.services:
            scanned = 0
            for where, text in chain_texts(stack):
                scanned += 1
                found += leaks(where, text, secrets)
            assert scanned, "the chain was scanned"

    events = 0
    for stack in stacks:
        for where, text in tracker_rows(stack):
            events += 1
            found += leaks(where, text, secrets)
    assert events, "the tracker store holds the conversations"
    assert stored_events(live, sender) > 5, "the conversation that typed an email is in the scanned tracker"

    assert not found, "personal data found:\n" + "\n".join(sorted(set(found)))
