"""Where the shop and the ledger are composed at seeding: ``python -m actions.seed_shop`` (make data, the live
stacks) and the action server's own seed (``Services.from_settings`` with ``SHOP_DB_SEED``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from actions import seed_shop
from actions.services import Services
from actions.settings import Settings
from ledger.canonical import KeyRing
from ledger.outbox import Outbox
from shop.model import Address
from shop.read import open_reader

ADDRESS = Address("Neue Straße 7", "20095", "Hamburg", "DE")


def order_numbers(db: Path) -> set[str]:
    return {order["order_number"] for order in open_reader(db).ledger_orders(None)}


def queued(db: Path) -> dict[str, str]:
    outbox = Outbox.open(db)
    try:
        return {ref: row.record_id for ref, row in outbox.by_ref("order").items()}
    finally:
        outbox.close()


def test_the_seed_command_queues_each_seeded_order_with_the_configured_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEDGER_HMAC_KEY", "seed-test-hmac-key-0123456789")
    db = tmp_path / "shop.db"
    assert seed_shop.main(["--db", str(db), "--now", "2025-03-12T10:00:00Z"]) == 0
    rows = queued(db)
    assert set(rows) == order_numbers(db) and len(rows) > 300
    keys = KeyRing(b"seed-test-hmac-key-0123456789")
    assert rows["SD-100042"] == "0x" + keys.record_id("SD-100042").hex()


def test_the_seed_command_refuses_a_short_key_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LEDGER_HMAC_KEY", "short")
    assert seed_shop.main(["--db", str(tmp_path / "shop.db")]) == 3
    assert "LEDGER_HMAC_KEY" in capsys.readouterr().err
    assert not (tmp_path / "shop.db").exists()


def test_the_action_server_seeds_with_records_and_records_changes(tmp_path: Path) -> None:
    db = tmp_path / "shop.db"
    built = Services.from_settings(Settings.from_env({"SHOP_DB_PATH": str(db)}))
    assert set(queued(db)) == order_numbers(db)
    lines = [("P-1041", 1), ("P-1042", 2)]
    total = built.store.quote_order(lines).total_minor
    order = built.store.create_order("C-0001", lines, ADDRESS, total, on_created=[built.ledger.queue_hook()])
    built.store.change_order_line(order.number, "P-1042", 1)
    assert {order.number, f"{order.number}#1"} <= set(queued(db))
