"""The edge feed with the real Rasa: the widget's socket.io through the bot service's proxy (bot/edge_feed.py).

Marked ``integration``: the live stack (tests/conftest.py; the console fed by the tracker poll).
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import Any

import aiohttp
import pytest

from bot.widget_session import RELAY_KEY, new_relay_id
from tests.bot.test_live_channel import connect, wait_until

pytestmark = pytest.mark.integration

QUEUED = re.compile(r"connecting you with a person", re.IGNORECASE)


class Console:
    """The demo agent's console: logged in, its live websocket read into ``frames``."""

    def __init__(self, bot_url: str) -> None:
        self.bot_url = bot_url
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.frames: list[dict[str, Any]] = []
        self._reader: asyncio.Task[None] | None = None

    async def open(self) -> None:
        page = await (await self.http.get(f"{self.bot_url}/console/login")).text()
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        login = {"email": "agent@shopdesk.test", "password": "shopdesk-demo", "csrf": csrf}
        assert (await self.http.post(f"{self.bot_url}/console/login", data=login)).status == 200
        socket = await self.http.ws_connect(
            f"{self.bot_url}/api/console/ws", headers={"Origin": self.bot_url}
        )
        self._reader = asyncio.create_task(self._read(socket))

    async def _read(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        async for frame in socket:
            if frame.type == aiohttp.WSMsgType.TEXT:
                self.frames.append(json.loads(frame.data))

    def lines(self, text: str) -> list[dict[str, Any]]:
        return [f["message"] for f in self.frames if f["type"] == "message" and f["message"]["text"] == text]

    def confirmed(self, message_id: int) -> int:
        return sum(1 for f in self.frames if f["type"] == "confirmed" and f["message_id"] == message_id)

    async def close(self) -> None:
        if self._reader:
            self._reader.cancel()
        await self.http.close()


async def test_a_handed_off_line_reaches_the_console_once_then_rasa_confirms_it(live_stack: Any) -> None:
    config = live_stack.config
    if not config.with_bot:
        pytest.skip("the live stack was started without the bot web service")
    bot_url = str(config.bot_url)
    console = Console(bot_url)
    await console.open()  # an agent online: the handoff is queued
    widget, inbox, session = await connect(bot_url, origin=bot_url)  # the widget's path: the proxy
    try:
        await widget.emit("user_uttered", {"message": "I want to talk to a human"})
        await wait_until(lambda: any(QUEUED.search(m.get("text") or "") for m in inbox), timeout=120)

        texts = ["my parcel never came edgeone", "it was due on monday edgetwo"]
        for text in texts:
            await widget.emit("user_uttered", {"message": text, "metadata": {"page_language": "en"}})
        await wait_until(lambda: all(console.lines(t) for t in texts), timeout=30)
        shown = [console.lines(t)[0] for t in texts]
        assert [m["meta"] for m in shown] == [{"unconfirmed": True}] * 2
        assert shown[0]["id"] < shown[1]["id"] and shown[0]["ts"] <= shown[1]["ts"]  # in order
        # the tracker (the poll here; the broker in production) confirms each once, and adds no copy
        await wait_until(lambda: all(console.confirmed(m["id"]) for m in shown), timeout=60)
        await asyncio.sleep(2.0)  # a few more polls
        assert [len(console.lines(t)) for t in texts] == [1, 1]
        assert [console.confirmed(m["id"]) for m in shown] == [1, 1]

        # a line the channel refuses (too long) is not shown as said, neither now nor after Rasa's answer
        too_long = "z" * 2001
        await widget.emit("user_uttered", {"message": too_long})
        await wait_until(lambda: any("too long" in (m.get("text") or "") for m in inbox))
        await asyncio.sleep(2.0)
        assert console.lines(too_long) == []

        # a relay id a shopper made up (here: a valid one for another text), sent straight to Rasa, is dropped
        # by the channel: the line arrives from the tracker under its own key, not confirming anything
        direct, _, same = await connect(str(config.rasa_url), session_id=session)
        assert same == session
        forged = new_relay_id(config.widget_session_secret, session, texts[0])
        await direct.emit(
            "user_uttered", {"message": "forged line edgethree", "metadata": {RELAY_KEY: forged}}
        )
        await wait_until(lambda: bool(console.lines("forged line edgethree")), timeout=60)
        await asyncio.sleep(2.0)
        [line] = console.lines("forged line edgethree")
        assert line["meta"] == {} and console.confirmed(line["id"]) == 0
        assert [len(console.lines(t)) for t in texts] == [1, 1]
        await direct.disconnect()
    finally:
        await widget.disconnect()
        await console.close()
