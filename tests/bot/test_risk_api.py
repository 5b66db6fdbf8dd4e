"""``GET /api/console/conversations/{id}/risk`` through the service: agents only, 404, 503, the tracker's clients."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp.test_utils import TestClient

from bot.settings import Settings
from shop.demo.histories import HistoryWriter
from shop.model import Address
from shop.sqlite import SqliteOrderStore
from tests.bot.conftest import FakeRasa, queue_handoff


def write_shop(path: Path) -> tuple[str, str]:
    """A customer with 3 returns this month and 2 quiet customers; one failed verification a minute ago by the
    client ``abc``. Returns (customer id, their newest order)."""
    now = datetime.now(UTC)
    store = SqliteOrderStore(path, clock=lambda: now - timedelta(minutes=1))
    w = HistoryWriter(store)
    customer = w.customer(
        "Rita Risk", address=Address("Hauptstraße 5", "10115", "Berlin", "DE"), created_at=now
    )
    orders = [w.order(customer, 5_000, created_at=now - timedelta(days=d)) for d in (30, 20, 10)]
    for number in orders:
        w.return_request(number, created_at=now - timedelta(days=2))
    for name in ("Quinn Quiet", "Paula Plain"):
        w.order(w.customer(name, created_at=now), 1_000, created_at=now - timedelta(days=5))
    store.record_verification_failure("SD-999999", "client:abc", 900)
    return customer, orders[-1]


async def test_an_agent_gets_explained_signals(
    anon: TestClient, alice: tuple[TestClient, str], settings: Settings, fake_rasa: FakeRasa
) -> None:
    customer, newest = write_shop(settings.shop_db_path)
    fake_rasa.trackers["conv-risk"] = [
        {"event": "user", "text": "hi", "timestamp": time.time() - 30, "metadata": {"shopdesk_client": "abc"}}
    ]
    context = {"customer": {"id": customer, "name": "Rita Risk"}, "orders": [], "verified_order": newest}
    hid = (await queue_handoff(anon, "conv-risk", context=context))["handoff_id"]
    client, _ = alice
    response = await client.get(f"/api/console/conversations/{hid}/risk")
    assert response.status == 200
    body = await response.json()
    assert set(body) == {
        "handoff_id",
        "customer",
        "order_at_hand",
        "signals",
        "notes",
        "advisory",
        "computed_at",
    }
    assert body["customer"] == {"id": customer, "name": "Rita Risk", "source": "context"}
    assert body["order_at_hand"] == newest
    signals = {s["code"]: s for s in body["signals"]}
    assert list(signals) == ["returns_90d", "refund_share", "shared_address", "verification_failures"]
    assert signals["returns_90d"]["numbers"]["returns"] == 3
    assert signals["returns_90d"]["numbers"]["shop_median"] == 0
    assert signals["returns_90d"]["level"] == "watch"
    for signal in body["signals"]:
        assert set(signal) == {"code", "level", "title", "reason", "numbers"}
        assert signal["level"] in ("info", "watch")
    # the client of the shopper's messages (from Rasa's tracker) failed one verification before the handoff
    failures = signals["verification_failures"]["numbers"]
    assert (failures["by_this_client"], failures["clients_known"]) == (1, True)


async def test_a_non_agent_gets_401(anon: TestClient, alice: tuple[TestClient, str]) -> None:
    hid = (await queue_handoff(anon))["handoff_id"]
    assert hid is not None and (await alice[0].get(f"/api/console/conversations/{hid}/risk")).status == 503
    response = await anon.get(f"/api/console/conversations/{hid}/risk")
    assert response.status == 401
    assert "error" in await response.json()


async def test_an_unknown_handoff_is_404(alice: tuple[TestClient, str]) -> None:
    client, _ = alice
    response = await client.get("/api/console/conversations/HO-nope/risk")
    assert response.status == 404
    assert "HO-nope" in (await response.json())["error"]


async def test_the_shop_store_down_is_503_and_the_rest_of_the_console_works(
    anon: TestClient, alice: tuple[TestClient, str], settings: Settings
) -> None:
    assert not settings.shop_db_path.exists()
    hid = (await queue_handoff(anon))["handoff_id"]
    client, _ = alice
    response = await client.get(f"/api/console/conversations/{hid}/risk")
    assert response.status == 503
    assert (await response.json())["error"].startswith(
        "risk signals unavailable: the shop's data cannot be read"
    )
    assert (await client.get(f"/api/console/conversations/{hid}")).status == 200
    assert not settings.shop_db_path.exists()  # read-only: nothing created


async def test_no_verified_customer_and_rasa_down(
    anon: TestClient, alice: tuple[TestClient, str], settings: Settings, fake_rasa: FakeRasa
) -> None:
    write_shop(settings.shop_db_path)
    hid = (await queue_handoff(anon, "conv-anon", context={"customer": None, "orders": [], "cart": []}))[
        "handoff_id"
    ]
    fake_rasa.down = True
    client, _ = alice
    body = await (await client.get(f"/api/console/conversations/{hid}/risk")).json()
    assert body["customer"] is None
    assert body["notes"][0].startswith("No verified customer in this conversation")
    (only,) = body["signals"]
    assert only["code"] == "verification_failures"
    assert only["numbers"]["clients_known"] is False
    assert "the assistant was unreachable" in only["reason"].lower()
    # Rasa back: the clients are read (and kept for this handoff from then on)
    fake_rasa.down = False
    fake_rasa.trackers["conv-anon"] = [
        {"event": "user", "timestamp": time.time() - 30, "metadata": {"shopdesk_client": "abc"}}
    ]
    body = await (await client.get(f"/api/console/conversations/{hid}/risk")).json()
    assert body["signals"][0]["numbers"]["by_this_client"] == 1
    assert body["signals"][0]["level"] == "info"
