"""The reply edge with the real Rasa: an agent's reply pushed by the proxy, recorded by Rasa without a second frame.

Marked ``integration``: the live stack (tests/conftest.py). Two widget tabs of one conversation through the
bot service's proxy (bot/proxy.py, bot/reply_edge.py).
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

from tests.bot.test_edge_live import QUEUED, Console
from tests.bot.test_live_channel import connect, wait_until

pytestmark = pytest.mark.integration


async def test_an_agents_reply_reaches_both_proxied_tabs_once_and_the_tracker_once(live_stack: Any) -> None:
    config = live_stack.config
    if not config.with_bot:
        pytest.skip("the live stack was started without the bot web service")
    bot_url, rasa_url = str(config.bot_url), str(config.rasa_url)
    console = Console(bot_url)
    await console.open()  # an agent online: the handoff is queued
    page = await (await console.http.get(f"{bot_url}/console")).text()
    csrf = {"X-CSRF-Token": re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)}  # type: ignore[union-attr]
    widget, inbox, session = await connect(bot_url, origin=bot_url)
    second, inbox2, same = await connect(bot_url, origin=bot_url, session_id=session)  # a second tab
    assert same == session
    try:
        await widget.emit("user_uttered", {"message": "I want to talk to a human"})
        await wait_until(lambda: any(QUEUED.search(m.get("text") or "") for m in inbox), timeout=120)
        queue = await (await console.http.get(f"{bot_url}/api/console/queue")).json()
        [handoff] = [h for h in queue["queued"] + queue["active"] if h["conversation_id"] == session]
        if handoff["status"] == "queued":
            claim = await console.http.post(
                f"{bot_url}/api/console/conversations/{handoff['id']}/claim", headers=csrf
            )
            assert claim.status == 200, await claim.text()
        await wait_until(lambda: any(m.get("event") == "joined" for m in inbox), timeout=60)

        text = "Hi, this is your agent replyedge"
        reply = await console.http.post(
            f"{bot_url}/api/console/conversations/{handoff['id']}/reply", json={"text": text}, headers=csrf
        )
        assert reply.status == 200, await reply.text()
        assert (await reply.json())["recorded"] is True
        for tab in (inbox, inbox2):
            await wait_until(lambda tab=tab: any(m.get("text") == text for m in tab), timeout=10)
        await asyncio.sleep(3.0)  # a second frame from Rasa would have come by now
        for tab in (inbox, inbox2):
            [got] = [m for m in tab if m.get("text") == text]
            assert got["role"] == "agent" and got["agent_name"]
        tracker = await console.http.get(
            f"{rasa_url}/conversations/{session}/tracker",
            params={"token": config.rasa_token, "include_events": "ALL"},
        )
        events = (await tracker.json())["events"]
        [event] = [e for e in events if e["event"] == "bot" and e.get("text") == text]
        assert event["metadata"]["shopdesk_role"] == "agent"
    finally:
        await widget.disconnect()
        await second.disconnect()
        await console.close()
