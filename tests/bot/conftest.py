"""Fixtures for the bot web service: a fake Rasa, settings with two agents, logged-in clients."""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.client_ws import ClientWebSocketResponse
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.errors import RasaError
from bot.hours import parse_business_hours
from bot.keys import SETTINGS
from bot.passwords import hash_password
from bot.settings import Agent, Settings

ALICE = ("alice@shop.test", "Alice Agent", "alice-password")
BOB = ("bob@shop.test", "Bob Agent", "bob-password")


class FakeRasa:
    """Records what the service appends; serves trackers from a dict (conversation id → events)."""

    def __init__(self) -> None:
        self.trackers: dict[str, list[dict[str, Any]]] = {}
        self.appended: list[tuple[str, list[dict[str, Any]]]] = []
        self.silent: list[str] = []  # conversations appended to with emit=False (bot.reply_edge)
        self.down = False

    def user_says(self, conversation_id: str, text: str, ts: float | None = None) -> None:
        ts = time.time() if ts is None else ts
        self.trackers.setdefault(conversation_id, []).append({"event": "user", "text": text, "timestamp": ts})

    async def tracker_events(self, conversation_id: str) -> list[dict[str, Any]]:
        if self.down:
            raise RasaError("GET tracker", None, "ClientConnectorError")
        return list(self.trackers.get(conversation_id, []))

    async def append_events(
        self, conversation_id: str, events: list[dict[str, Any]], emit: bool = True
    ) -> None:
        if self.down:
            raise RasaError("POST tracker/events", None, "ClientConnectorError")
        self.appended.append((conversation_id, events))
        if not emit:
            self.silent.append(conversation_id)
        for event in events:
            self.trackers.setdefault(conversation_id, []).append({**event, "timestamp": time.time()})


@pytest.fixture(scope="session")
def agents() -> tuple[Agent, ...]:
    return tuple(Agent(email, name, hash_password(password)) for email, name, password in (ALICE, BOB))


@pytest.fixture
def settings(tmp_path: Path, agents: tuple[Agent, ...]) -> Settings:
    return Settings(
        db_path=tmp_path / "handoff.db",
        shop_db_path=tmp_path / "shop.db",
        agents=agents,
        business_hours=parse_business_hours("always"),
        agent_rate=(5, 10.0),
    )


@pytest.fixture
def fake_rasa() -> FakeRasa:
    return FakeRasa()


@pytest.fixture
async def server(settings: Settings, fake_rasa: FakeRasa, aiohttp_server: Any) -> TestServer:
    return await aiohttp_server(create_app(settings, rasa=fake_rasa, sync=False))


ClientFactory = Callable[..., Awaitable[TestClient]]


async def login(client: TestClient, email: str, password: str) -> str:
    """Logs in through the form; returns the console's CSRF token."""
    page = await client.get("/console/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', await page.text()).group(1)  # type: ignore[union-attr]
    response = await client.post("/console/login", data={"email": email, "password": password, "csrf": csrf})
    assert response.status == 200, await response.text()  # followed the redirect to /console
    console = await client.get("/console")
    return re.search(r'name="csrf-token" content="([^"]+)"', await console.text()).group(1)  # type: ignore[union-attr]


@pytest.fixture
async def anon(server: TestServer, aiohttp_client: Any) -> TestClient:
    return await aiohttp_client(server)


@pytest.fixture
async def alice(server: TestServer, aiohttp_client: Any) -> tuple[TestClient, str]:
    client = await aiohttp_client(server)
    return client, await login(client, ALICE[0], ALICE[2])


@pytest.fixture
async def bob(server: TestServer, aiohttp_client: Any) -> tuple[TestClient, str]:
    client = await aiohttp_client(server)
    return client, await login(client, BOB[0], BOB[2])


HANDOFF_HEADERS = {"Authorization": "Bearer dev-handoff-token"}


async def queue_handoff(
    client: TestClient, conversation_id: str = "c0ffee00c0ffee00", **extra: Any
) -> dict[str, Any]:
    body = {
        "conversation_id": conversation_id,
        "reason": "contact_human_agent",
        "transcript": [{"role": "shopper", "text": "I want a person", "ts": 1000.0}],
        "context": {
            "customer": {"name": "Ada Lovelace", "id": "C-0001"},
            "orders": [{"number": "SD-100001"}],
            "cart": [],
        },
        **extra,
    }
    response = await client.post("/api/handoff", json=body, headers=HANDOFF_HEADERS)
    assert response.status == 200, await response.text()
    return await response.json()


async def claimed(anon: TestClient, agent: tuple[TestClient, str], conversation_id: str = "shopper-1") -> str:
    """The id of a handoff queued for ``conversation_id`` and claimed by ``agent`` (its client and CSRF token)."""
    client, csrf = agent
    hid = (await queue_handoff(anon, conversation_id))["handoff_id"]
    response = await client.post(f"/api/console/conversations/{hid}/claim", headers={"X-CSRF-Token": csrf})
    assert response.status == 200, await response.text()
    return str(hid)


async def console_socket(client: TestClient) -> ClientWebSocketResponse:
    """A logged-in client's console websocket, opened from the service's own Origin; its hello frame read."""
    origin = client.server.app[SETTINGS].base_url
    socket = await client.ws_connect("/api/console/ws", headers={"Origin": origin})
    assert (await socket.receive_json(timeout=5))["type"] == "hello"
    return socket


async def next_frame(socket: Any, wanted: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """The socket's next JSON frame that ``wanted`` accepts (the ones before it are skipped)."""
    while True:
        frame = await socket.receive_json(timeout=10)
        if wanted(frame):
            return dict(frame)
