"""Keeps each open handoff's transcript in step with Rasa's tracker (tracker polling, or the broker feed).

Every ``poll_interval_s`` the service reads the tracker of every queued or active handoff, stores the user
and bot events newer than the handoff's ``last_event_ts`` and pushes them to the agents' consoles. Because
the position is persisted, a restart of the service picks up everything the shopper wrote meanwhile. The
same read keeps the handoff's ``language`` (``bot.language``) current: the console's badge and the language
of the notices the service sends (agent joined, back with the assistant, queue timed out), and the
handoff's ``mood`` and ``mood_trace`` (``bot.mood``): stored with the handoff, so the queue sorts and the
console draws the trend without a tracker read of its own, and a closed conversation keeps its trend. A new
handoff gets its mood on the next pass (within one poll interval); a change publishes ``{"type": "mood"}``.

With ``CONSOLE_FEED=broker`` the events come from RabbitMQ instead (``bot.broker_feed``) and go through the same
``TrackerSync.apply``; the poll then runs only as a catch-up and a slow safety pass (docs/handoff.md).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from bot.errors import RasaError
from bot.hub import Hub
from bot.language import decided_language
from bot.mood import MoodPoint, read_mood
from bot.periodic import run_every
from bot.rasa_client import RasaApi
from bot.store import HandoffStore
from bot.tracker_digest import TrackerDigest
from bot.types import Handoff
from bot.widget_session import RELAY_KEY, RELAY_RE

logger = logging.getLogger(__name__)

RESCAN_S = 5.0
RELAY_PREFIX = "relay:"


def as_object(value: Any) -> dict[str, Any]:
    """Event ``metadata`` / ``data`` as a dict: anything else (a list, a string, null) counts as empty.

    Metadata comes from whoever sent the message (the REST channel takes it from the client), so it is
    validated where it is read.
    """
    return value if isinstance(value, dict) else {}


def _timestamp(value: Any) -> float:
    try:
        ts = float(value or 0.0)
    except (TypeError, ValueError):
        return 0.0
    return ts if ts == ts and abs(ts) != float("inf") else 0.0  # NaN / inf count as unknown


def describe_bot_event(event: dict[str, Any]) -> str:
    """A bot event as one line of text for the agent (cards and buttons summarised)."""
    text = str(event.get("text") or "")
    data = as_object(event.get("data"))
    custom = data.get("custom")
    if isinstance(custom, dict) and custom.get("type") == "product_cards":
        raw_cards = custom.get("cards")
        cards: list[Any] = raw_cards if isinstance(raw_cards, list) else []
        titles = ", ".join(str(c.get("title", "")) for c in cards if isinstance(c, dict))
        text = f"{text or custom.get('text', '')} [product cards: {titles}]".strip()
    buttons = data.get("buttons") if isinstance(data.get("buttons"), list) else None
    if buttons:
        text += (
            " [buttons: " + " | ".join(str(b.get("title", "")) for b in buttons if isinstance(b, dict)) + "]"
        )
    if isinstance(data.get("image"), str) and data["image"]:
        text += f" [image: {data['image']}]"
    return text.strip()


def relay_key(relay: Any) -> str | None:
    """The transcript key of a line the edge feed stored first (``bot.edge_feed``); None for anything else."""
    return RELAY_PREFIX + relay if isinstance(relay, str) and RELAY_RE.fullmatch(relay) else None


def new_lines(
    events: list[dict[str, Any]], after_ts: float
) -> list[tuple[str, str, float, str, dict[str, Any]]]:
    """(role, text, ts, key, meta) for the user/bot events strictly after ``after_ts``."""
    lines = []
    for event in events:
        if not isinstance(event, dict):
            continue
        kind = event.get("event")
        ts = _timestamp(event.get("timestamp"))
        if kind not in ("user", "bot") or ts <= after_ts:
            continue
        metadata = as_object(event.get("metadata"))
        if kind == "user":
            text = str(event.get("text") or "")
            role = "shopper"
        else:
            text = describe_bot_event(event)
            role = (
                str(metadata["shopdesk_role"])
                if metadata.get("shopdesk_role") in ("agent", "notice")
                else "bot"
            )
        if not text:
            continue
        # only our own bot events carry a message id (the channels drop client-sent shopdesk_* keys); a user
        # event the edge feed showed first carries its relay id (kept by the channel only when validly signed)
        msg_id = metadata.get("shopdesk_msg_id") if kind == "bot" else relay_key(metadata.get(RELAY_KEY))
        key = str(msg_id or f"{kind}:{ts!r}")[:200]
        meta = (
            {"agent_name": str(metadata["agent_name"])}
            if kind == "bot" and metadata.get("agent_name")
            else {}
        )
        lines.append((role, text, ts, key, meta))
    return lines


class TrackerSync:
    """The transcript, language and mood of open handoffs from Rasa's tracker events.

    Two ways in, one handling: ``sync_handoff`` reads a handoff's whole tracker (the poller, and the broker
    feed's catch-up); ``apply_events`` takes events as they come (the broker feed, ``bot.broker_feed``). Both
    end in ``apply``: the user/bot lines are stored once (the store's key) and published at once, and the
    language and mood are read from a digest of the tracker (``bot.tracker_digest``) that a full read and
    single events keep alike.
    """

    def __init__(self, store: HandoffStore, rasa: RasaApi, hub: Hub, poll_interval_s: float = 0.25) -> None:
        self.store = store
        self.rasa = rasa
        self.hub = hub
        self.poll_interval_s = poll_interval_s
        self._failures: dict[str, int] = {}
        self._moods: dict[str, tuple[float | None, list[MoodPoint]]] = {}  # last stored, per handoff
        self._digests: dict[str, TrackerDigest] = {}  # per handoff, once its tracker was read in full

    def knows(self, handoff_id: str) -> bool:
        """Whether the handoff's tracker was read in full since this process started (its digest is whole)."""
        return handoff_id in self._digests

    async def sync_handoff(self, handoff: Handoff) -> int:
        """Reads the tracker of one handoff, stores and publishes its new lines; returns how many were new."""
        try:
            events = await self.rasa.tracker_events(handoff["conversation_id"])
        except RasaError as error:
            count = self._failures[handoff["id"]] = self._failures.get(handoff["id"], 0) + 1
            if count in (1, 20) or count % 200 == 0:
                logger.warning("cannot read the tracker of %s (HTTP %s)", handoff["id"], error.status)
            return 0
        self._failures.pop(handoff["id"], None)
        self._digests.setdefault(handoff["id"], TrackerDigest()).replace(events)
        return await self.apply(handoff, events, read_in_full=True)

    async def apply_events(self, handoff: Handoff, events: list[dict[str, Any]]) -> int:
        """New events of one handoff's conversation as Rasa publishes them (oldest first).

        The first time a handoff is seen (or after a failed read) its tracker is read in full first, so the
        lines written before, the language and the mood are known; then the events themselves are applied
        (they may be in that read already: applying twice changes nothing).
        """
        added = 0
        if not self.knows(handoff["id"]):
            added += await self.sync_handoff(handoff)
            handoff = self.store.get(handoff["id"])  # its cursor moved
        return added + await self.apply(handoff, events)

    async def apply(self, handoff: Handoff, events: list[dict[str, Any]], read_in_full: bool = False) -> int:
        """Applies tracker events (a whole tracker, or the newest few) to one handoff; how many lines were new.

        The language and mood are updated only once the tracker was read in full (``knows``): before that, the
        newest few events cannot tell them. ``read_in_full``: ``events`` is the whole tracker, already in the
        digest.
        """
        digest = self._digests.get(handoff["id"])
        if digest is not None:
            if not read_in_full:
                digest.add(events)
            await self._update_state(handoff, digest.events)
        added = 0
        last_ts = handoff["last_event_ts"]
        # Re-read a few seconds before the cursor: events appended concurrently may carry slightly older
        # timestamps; the per-event key makes re-reading harmless.
        for role, text, ts, key, meta in new_lines(events, handoff["last_event_ts"] - RESCAN_S):
            message = self.store.add_message(handoff["id"], role, text, ts, key, meta)
            last_ts = max(last_ts, ts)
            if message is not None:
                added += 1
                await self.hub.publish({"type": "message", "handoff_id": handoff["id"], "message": message})
            elif key.startswith(RELAY_PREFIX):  # the edge feed showed it: the tracker now confirms it
                confirmed = self.store.confirm_message(handoff["id"], key, text)
                if confirmed is not None:
                    await self.hub.publish(
                        {
                            "type": "confirmed",
                            "handoff_id": handoff["id"],
                            "message_id": confirmed["id"],
                            "text": text,  # the record's (the edge showed what the proxy saw, redacted alike)
                        }
                    )
        if last_ts > handoff["last_event_ts"]:
            self.store.set_last_event_ts(handoff["id"], last_ts)
        return added

    async def _update_state(self, handoff: Handoff, digest: list[dict[str, Any]]) -> None:
        decided, page = decided_language(reversed(digest))
        language = decided or page  # None: nothing known, keep what the handoff request said
        if language is not None and self.store.set_language(handoff["id"], language):
            await self.hub.publish({"type": "queue"})  # the console's language badge
        mood_now = read_mood(reversed(digest))
        if self._moods.get(handoff["id"]) != mood_now:  # the store is written only when the mood moved
            if self.store.set_mood(handoff["id"], *mood_now):  # the queue's order and badges, the trend
                await self.hub.publish({"type": "mood", "handoff_id": handoff["id"]})
            self._moods[handoff["id"]] = mood_now

    async def sync_once(self) -> int:
        """One full read of every open handoff's tracker (a poll, or the broker feed's catch-up)."""
        handoffs = self.store.list_handoffs(("queued", "active"))
        open_ids = {handoff["id"] for handoff in handoffs}
        for cache in (self._moods, self._digests):
            for gone in [hid for hid in cache if hid not in open_ids]:  # closed: forget
                del cache[gone]
        results = await asyncio.gather(*(self.sync_handoff(h) for h in handoffs))
        return sum(results)

    async def run(self) -> None:
        logger.info("tracker sync every %.2f s", self.poll_interval_s)
        await run_every(self.poll_interval_s, self.sync_once, "tracker sync")
