"""Rasa's HTTP API as the bot service uses it: read a tracker, append events (with side effects, or without:
``emit=False`` records the events but Rasa's channel sends nothing — the reply edge, ``bot.reply_edge``).

The auth token travels only here; browsers never see it.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol
from urllib.parse import quote

from bot.errors import RasaError

logger = logging.getLogger(__name__)


class RasaApi(Protocol):
    async def tracker_events(self, conversation_id: str) -> list[dict[str, Any]]: ...

    async def append_events(
        self, conversation_id: str, events: list[dict[str, Any]], emit: bool = True
    ) -> None: ...


class RasaHttpClient:
    """``RasaApi`` over aiohttp; create inside the event loop, ``close()`` at shutdown."""

    def __init__(
        self, base_url: str, token: str, output_channel: str = "latest", timeout_s: float = 10.0
    ) -> None:
        import aiohttp

        self.base_url = base_url.rstrip("/")
        self.token = token
        self.output_channel = output_channel
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s))

    async def close(self) -> None:
        await self._session.close()

    def _url(self, conversation_id: str, suffix: str) -> str:
        return f"{self.base_url}/conversations/{quote(conversation_id, safe='')}/{suffix}"

    async def tracker_events(self, conversation_id: str) -> list[dict[str, Any]]:
        import aiohttp

        url = self._url(conversation_id, "tracker")
        try:
            async with self._session.get(url, params={"token": self.token, "include_events": "ALL"}) as resp:
                if resp.status != 200:
                    raise RasaError("GET tracker", resp.status, (await resp.text())[:200])
                body = await resp.json()
        except (aiohttp.ClientError, TimeoutError) as error:
            raise RasaError("GET tracker", None, type(error).__name__) from error
        return list(body.get("events") or [])

    async def append_events(
        self, conversation_id: str, events: list[dict[str, Any]], emit: bool = True
    ) -> None:
        """Appends ``events``; ``emit``: Rasa also executes their side effects (sends bot events to the
        output channel, schedules reminders), else it only records them (rasa 3.6 ``server.append_events``)."""
        import aiohttp

        url = self._url(conversation_id, "tracker/events")
        params = {
            "token": self.token,
            "output_channel": self.output_channel,
            "execute_side_effects": "true" if emit else "false",
            "include_events": "NONE",
        }
        try:
            async with self._session.post(url, params=params, json=events) as resp:
                if resp.status != 200:
                    raise RasaError("POST tracker/events", resp.status, (await resp.text())[:200])
        except (aiohttp.ClientError, TimeoutError) as error:
            raise RasaError("POST tracker/events", None, type(error).__name__) from error
        logger.debug("appended %s events to %s", len(events), conversation_id)
