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


async def connect(
    url: str, origin: str | None = None, session_id: str | None = None
) -> tuple[Any, list[dict[str, Any]], str]:
    """A socket.io client like the widget; returns it, its inbox and the session id the server confirmed."""
    import socketio

    client = socketio.AsyncClient(reconnection=False)
    inbox: list[dict[str, Any]] = []
    confirmed: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    client.on("bot_uttered", lambda data: inbox.append(data))
    client.on("session_confirm", lambda sid, *_: confirmed.done() or confirmed.set_result(sid))
    headers = {"Origin": origin} if origin else {}
    await client.connect(url, transports=["websocket"], socketio_path="/socket.io", headers=headers)
    await client.emit("session_request", {"session_id": session_id or uuid.uuid4().hex})
    session = await asyncio.wait_for(confirmed, 30)
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
        # the refusal is a channel notice; other replies (to "hi") may arrive before or after it
        refusals = [m for m in inbox if "too long" in (m.get("text") or "")]
        assert all(m.get("role") == "notice" for m in refusals), refusals
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


async def test_sessions_are_server_issued_and_commands_refused(rasa_url: str) -> None:
    chosen = uuid.uuid4().hex * 2  # 64 hex characters, but not signed by the server
    client, inbox, session = await connect(rasa_url, session_id=chosen)
    try:
        assert session != chosen and len(session) == 64
        await client.emit("user_uttered", {"message": "/restart", "session_id": session})
        await wait_until(lambda: any("can't accept" in (m.get("text") or "") for m in inbox))
        again, _, same = await connect(rasa_url, session_id=session)  # a reload keeps a signed id
        assert same == session
        await again.disconnect()
    finally:
        await client.disconnect()


async def test_the_bot_service_proxies_socket_io(live_stack: Any) -> None:
    """The widget's default route: socket.io through the bot service, not Rasa's port."""
    if not live_stack.config.with_bot:
        pytest.skip("the live stack was started without the bot web service")
    bot_url = str(live_stack.config.bot_url)
    client, inbox, _session = await connect(bot_url, origin=bot_url)
    try:
        await client.emit("user_uttered", {"message": "hello"})
        await wait_until(lambda: any(m.get("role") != "notice" for m in inbox))
    finally:
        await client.disconnect()


async def test_unclaimed_handoff_times_out_into_the_ticket_offer(live_stack: Any) -> None:
    """A queued handoff nobody claims is closed, the shopper is offered a ticket and the bot answers again.

    The expiry runs in-process (bot.queue_timeout with a zero timeout) against the live Rasa server and the
    live bot service's handoff database, instead of waiting out HANDOFF_QUEUE_TIMEOUT_S.
    """
    import re

    import aiohttp

    from bot.hub import Hub
    from bot.queue_timeout import QueueTimeout
    from bot.rasa_client import RasaHttpClient
    from bot.store import HandoffStore

    config = live_stack.config
    if not config.with_bot:
        pytest.skip("the live stack was started without the bot web service")
    jar = aiohttp.CookieJar(unsafe=True)  # cookies for 127.0.0.1
    async with aiohttp.ClientSession(cookie_jar=jar) as agent:  # an agent online: the handoff is queued
        page = await (await agent.get(f"{config.bot_url}/console/login")).text()
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        login = {"email": "agent@shopdesk.test", "password": "shopdesk-demo", "csrf": csrf}
        assert (await agent.post(f"{config.bot_url}/console/login", data=login)).status == 200

        client, inbox, session = await connect(config.bot_url, origin=config.bot_url)
        try:
            await client.emit("user_uttered", {"message": "I want to talk to a person"})
            await wait_until(lambda: any(m.get("event") == "queued" for m in inbox))
            store = HandoffStore(config.var_dir / "handoff.db")
            rasa = RasaHttpClient(config.rasa_url, config.rasa_token)
            try:
                assert await QueueTimeout(store, rasa, Hub(), timeout_s=0).expire_once() >= 1
                assert store.open_handoff_for(session) is None
            finally:
                await rasa.close()
                store.shutdown()
            await wait_until(lambda: any("in time" in (m.get("text") or "") for m in inbox))
            offer = next(m for m in inbox if "in time" in (m.get("text") or ""))
            assert [r["payload"] for r in offer["quick_replies"]] == ["/affirm", "/deny"]
            count = len(inbox)
            await client.emit(
                "user_uttered", {"message": "/affirm", "metadata": {"title": "Leave a message"}}
            )
            await wait_until(lambda: any("email" in (m.get("text") or "").lower() for m in inbox[count:]))
        finally:
            await client.disconnect()
