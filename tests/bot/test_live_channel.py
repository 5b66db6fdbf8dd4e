"""ShopDesk's socket.io channel inside the real Rasa server: Origin check, limits, malformed frames.

Marked ``integration``: uses the live stack (tests/conftest.py) and needs credentials.yml to load
``bot.rasa_channel.ShopDeskSocketIOInput``.
"""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def rasa_url(live_stack: Any) -> str:
    if "bot.rasa_channel.ShopDeskSocketIOInput" not in (ROOT / "credentials.yml").read_text():
        pytest.skip("credentials.yml does not load bot.rasa_channel.ShopDeskSocketIOInput")
    return str(live_stack.config.rasa_url)


async def connect(url: str, origin: str | None = None) -> tuple[Any, list[dict[str, Any]], str]:
    import socketio

    client = socketio.AsyncClient(reconnection=False)
    inbox: list[dict[str, Any]] = []
    confirmed = asyncio.Event()
    client.on("bot_uttered", lambda data: inbox.append(data))
    client.on("session_confirm", lambda *_: confirmed.set())
    headers = {"Origin": origin} if origin else {}
    await client.connect(url, transports=["websocket"], socketio_path="/socket.io", headers=headers)
    session = uuid.uuid4().hex
    await client.emit("session_request", {"session_id": session})
    await asyncio.wait_for(confirmed.wait(), 30)
    return client, inbox, session


async def wait_until(predicate: Any, timeout: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError("condition not met")
        await asyncio.sleep(0.1)


async def test_foreign_origin_is_refused(rasa_url: str) -> None:
    import socketio

    with pytest.raises(socketio.exceptions.ConnectionError):
        await connect(rasa_url, origin="https://evil.example")
    client, _, _ = await connect(rasa_url, origin="http://127.0.0.1:8080")
    await client.disconnect()


async def test_oversized_and_malformed_frames(rasa_url: str) -> None:
    client, inbox, session = await connect(rasa_url)
    try:
        await client.emit("user_uttered", "not an object")
        await client.emit("user_uttered", {"message": {"nested": True}, "session_id": session})
        await client.emit("user_uttered", {"message": "hi"})  # no session id
        await client.emit("user_uttered", {"message": "x" * 5000, "session_id": session})
        await wait_until(lambda: any("too long" in (m.get("text") or "") for m in inbox))
        assert inbox[-1]["role"] == "notice"
        await client.emit("user_uttered", {"message": "hello", "session_id": session})
        await wait_until(lambda: any(m.get("role") != "notice" for m in inbox))  # still answering
    finally:
        await client.disconnect()


async def test_message_flood_is_rate_limited(rasa_url: str) -> None:
    client, inbox, session = await connect(rasa_url)
    try:
        for _ in range(14):
            await client.emit("user_uttered", {"message": "hi", "session_id": session})
        await wait_until(lambda: any("very quickly" in (m.get("text") or "") for m in inbox))
    finally:
        await client.disconnect()
