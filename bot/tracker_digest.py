"""The few tracker events the console's mood and language depend on, kept between reads (standard library only).

``bot.language.decided_language`` and ``bot.mood.read_mood`` scan a tracker from its newest event back to a
``restart``, and each looks only at the newest event of a few kinds: the ``mood`` and ``mood_trace`` slots, the
``language`` slot with a valid value, the newest user message carrying a ``language`` entity and the newest one
carrying the widget's page language. ``fold`` keeps exactly those (and the last ``restart``), in the
tracker's order, so both functions read the same answer from the digest as from the whole tracker.

``TrackerDigest`` is one conversation's: a full tracker read (``bot.sync``'s poller and catch-up) replaces it,
events from the broker (``bot.broker_feed``) are added. The two race: a read may or may not hold events the
broker delivers while it is in flight, and the broker may deliver events the read already had. Events no newer
than the newest one of the last read count as part of that read; newer ones are kept aside (the last few) and
added again on top of the next read, so neither order loses or reorders one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot.language import LANGUAGE_SLOT, PAGE_LANGUAGE_KEY, normalize_language
from bot.mood import MOOD_SLOT, TRACE_SLOT

Digest = list[dict[str, Any]]
RECENT = 64  # events from the broker kept aside for the next full read


def _ts(event: Mapping[str, Any]) -> float:
    value = event.get("timestamp")
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return 0.0
    return float(value)


def _classes(event: Mapping[str, Any]) -> tuple[str, ...]:
    """Which of the kinds the console's readers look at this event is (none: irrelevant)."""
    kind = event.get("event")
    if kind == "restart":
        return ("restart",)
    if kind == "slot":
        name = event.get("name")
        if name in (MOOD_SLOT, TRACE_SLOT):
            return (f"slot:{name}",)
        if name == LANGUAGE_SLOT and normalize_language(event.get("value")) is not None:
            return ("slot:language",)
        return ()
    if kind != "user":
        return ()
    found = []
    parse_data = event.get("parse_data")
    entities = parse_data.get("entities") if isinstance(parse_data, Mapping) else None
    if isinstance(entities, list) and any(
        isinstance(e, Mapping) and e.get("entity") == LANGUAGE_SLOT and normalize_language(e.get("value"))
        for e in entities
    ):
        found.append("user:entity")
    metadata = event.get("metadata")
    if isinstance(metadata, Mapping) and normalize_language(metadata.get(PAGE_LANGUAGE_KEY)):
        found.append("user:page")
    return tuple(found)


def fold(digest: Digest, events: Iterable[Any]) -> Digest:
    """``digest`` with ``events`` added: only the newest event of each relevant kind since the last restart."""
    merged = [*digest, *(e for e in events if isinstance(e, dict) and _classes(e))]
    newest: dict[str, int] = {}
    for index, event in enumerate(merged):
        for cls in _classes(event):
            newest[cls] = index
    start = newest.get("restart", 0)
    keep = sorted({index for index in newest.values() if index >= start})
    return [merged[index] for index in keep]


class TrackerDigest:
    """One conversation's digest: replaced by a full tracker read, added to by single events."""

    def __init__(self) -> None:
        self.events: Digest = []
        self.newest_read_ts = float("-inf")
        self._recent: Digest = []  # relevant events added since, newer than the last read

    def replace(self, tracker_events: Iterable[Any]) -> None:
        """A full read of the tracker (oldest first): it decides, plus what arrived after its newest event."""
        listed = [e for e in tracker_events if isinstance(e, dict)]
        self.newest_read_ts = max((_ts(e) for e in listed), default=self.newest_read_ts)
        self._recent = [e for e in self._recent if _ts(e) > self.newest_read_ts]
        self.events = fold(fold([], listed), self._recent)

    def add(self, events: Iterable[Any]) -> None:
        """Events as Rasa published them (oldest first); those no newer than the last read are in it."""
        fresh = [e for e in events if isinstance(e, dict) and _classes(e) and _ts(e) > self.newest_read_ts]
        if fresh:
            self.events = fold(self.events, fresh)
            self._recent = [*self._recent, *fresh][-RECENT:]
