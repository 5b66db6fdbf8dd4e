"""The client, deployment and sender against a real anvil (started on a free port by the fixture)."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from ledger.canonical import KeyRing
from ledger.client import ChainConfig, LedgerClient
from ledger.deployment import connect_existing, ensure_deployed, load_deployment
from ledger.errors import ContractMismatchError, NodeUnavailableError, WrongChainError
from ledger.node import AnvilNode, free_port
from ledger.outbox import Outbox, connect, enqueue
from ledger.sender import Sender
from tests.ledger.ledger_helpers import ANVIL_KEY, sample_order

pytestmark = pytest.mark.integration


def config(node: AnvilNode, **kw: object) -> ChainConfig:
    return ChainConfig(rpc_url=node.url, private_key=ANVIL_KEY, receipt_timeout_s=10, **kw)  # type: ignore[arg-type]


def test_deploy_once_record_read_and_survive_a_restart(anvil: AnvilNode, tmp_path: Path) -> None:
    state = tmp_path / "chain"
    client = ensure_deployed(config(anvil), state)
    deployment = load_deployment(state)
    assert deployment is not None and deployment.address == client.address and deployment.chain_id == 31337
    result = client.record(b"\x01" * 32, b"\x02" * 32)
    assert result.outcome == "recorded" and result.tx_hash
    assert ensure_deployed(config(anvil), state).address == client.address  # no second deployment
    anvil.stop()
    anvil.start()
    again = connect_existing(config(anvil), state)
    assert again.digest_of(b"\x01" * 32) == b"\x02" * 32
    assert again.record(b"\x01" * 32, b"\x02" * 32).outcome == "duplicate"
    assert again.record_count() == 1


def test_wrong_chain_id_is_a_clear_error(anvil: AnvilNode, tmp_path: Path) -> None:
    with pytest.raises(WrongChainError, match="runs chain id 31337, expected 1"):
        LedgerClient.connect(config(anvil, chain_id=1))


def test_wrong_contract_address_is_a_clear_error(anvil: AnvilNode) -> None:
    eoa = "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"  # anvil account 1: no code
    with pytest.raises(ContractMismatchError, match="no contract code"):
        LedgerClient.connect(config(anvil, contract_address=eoa))
    with pytest.raises(ContractMismatchError, match="not a valid"):
        LedgerClient.connect(config(anvil, contract_address="0x1234"))


def test_remembered_address_on_a_reset_chain_is_refused(
    anvil: AnvilNode, tmp_path: Path, anvil_binary: Path
) -> None:
    state = tmp_path / "chain"
    ensure_deployed(config(anvil), state)
    fresh = AnvilNode(anvil_binary, free_port())  # another chain, same id, no contract
    fresh.start()
    try:
        with pytest.raises(ContractMismatchError, match="chain state was probably reset"):
            ensure_deployed(config(fresh), state)
    finally:
        fresh.stop()


def test_node_down_says_how_to_start_one() -> None:
    with pytest.raises(NodeUnavailableError, match="make run"):
        LedgerClient.connect(ChainConfig(rpc_url=f"http://127.0.0.1:{free_port()}", request_timeout_s=2))


def test_outbox_survives_a_node_outage_and_delivers_each_record_exactly_once(
    anvil: AnvilNode, tmp_path: Path, keyring: KeyRing
) -> None:
    state = tmp_path / "chain"
    ensure_deployed(config(anvil), state)
    db = tmp_path / "shop.db"
    conn = connect(db)

    def confirm(first: int, count: int) -> None:
        for n in range(first, first + count):
            conn.execute("BEGIN")
            enqueue(conn, keyring.order_record(sample_order(f"SD-{n}")))
            conn.execute("COMMIT")

    sender = Sender(
        Outbox.open(db),
        lambda: connect_existing(config(anvil), state),
        batch=10,
        tx_batch=1,
        rng=random.Random(0),
    )
    confirm(100001, 30)
    assert sender.deliver_once().delivered == 10  # mid-stream ...
    anvil.stop()  # ... the node goes away
    confirm(100031, 20)  # shoppers keep confirming
    for _ in range(3):
        report = sender.deliver_once()
        assert report.node_down and report.delivered == 0
    assert sender.outbox.counts()["pending"] == 40
    anvil.start()  # back, with its state file
    for _ in range(20):
        if sender.deliver_once().delivered == 0 and sender.outbox.counts()["pending"] == 0:
            break
    assert sender.outbox.counts() == {"pending": 0, "recorded": 50, "conflict": 0, "quarantined": 0}
    client = connect_existing(config(anvil), state)
    on_chain = client.recorded_digests()
    assert client.record_count() == 50 == len(on_chain)
    for n in range(100001, 100051):
        record = keyring.order_record(sample_order(f"SD-{n}"))
        assert on_chain[bytes.fromhex(record.record_id[2:])][0] == bytes.fromhex(record.digest[2:])
