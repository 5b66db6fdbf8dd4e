"""The conversation's mood as the console reads it from Rasa's tracker (standard library only).

The action server's ``action_track_mood`` (slice ``mood``) sets two slots on every judged shopper message:
``mood`` (float in [-1, 1], the smoothed mood) and ``mood_trace`` (the last 30 judged messages as
``{"ts", "score", "label", "mood"}``, ``ts`` being the user event's timestamp). The bot service reads them
from the tracker it already syncs (``bot.sync``): the newest ``slot`` event of each, scanning back to a
``restart``. A conversation without either is *unknown* (``None``), never neutral. A slot is a claim made by
another process: values outside the contract (not a finite number in [-1, 1], a trace point without its
fields) are dropped, not trusted.

The waiting queue sorts by ``priority`` (minutes waited plus ``SOUR_WEIGHT_MIN`` minutes per point of
negative mood, see docs/handoff.md); ``drivers`` picks the messages that pulled the mood down most.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, TypedDict

MOOD_SLOT = "mood"
TRACE_SLOT = "mood_trace"
MAX_TRACE = 30  # the contract's length of mood_trace
LABELS = ("negative", "neutral", "positive")
# A mood of -1 is worth this many minutes of waiting: a sour shopper (mood -0.6) waiting 2 min goes before a
# calm one waiting 4 min; nobody waits more than SOUR_WEIGHT_MIN minutes longer for being calm.
SOUR_WEIGHT_MIN = 5.0
BAND = 0.2  # |mood| under this reads "neutral" on the badge
MAX_DRIVERS = 3

MoodLabel = Literal["negative", "neutral", "positive", "unknown"]


class MoodPoint(TypedDict):
    ts: float
    score: float
    label: str
    mood: float


class Driver(TypedDict):
    ts: float
    score: float
    label: str
    mood: float
    drop: float  # how much this message lowered the mood (mood before - mood after), > 0


def _unit(value: Any) -> float | None:
    """A finite number in [-1, 1] (bools are not numbers here), else None."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) and -1.0 <= number <= 1.0 else None


def _point(raw: Any) -> MoodPoint | None:
    if not isinstance(raw, Mapping):
        return None
    ts = raw.get("ts")
    score, mood = _unit(raw.get("score")), _unit(raw.get("mood"))
    label = raw.get("label")
    if isinstance(ts, bool) or not isinstance(ts, int | float) or not math.isfinite(ts):
        return None
    if score is None or mood is None or label not in LABELS:
        return None
    return MoodPoint(ts=float(ts), score=score, label=str(label), mood=mood)


def parse_trace(raw: Any) -> list[MoodPoint]:
    """The valid points of a ``mood_trace`` value, oldest first, at most ``MAX_TRACE``."""
    if not isinstance(raw, list):
        return []
    points = [point for point in map(_point, raw) if point is not None]
    points.sort(key=lambda point: point["ts"])
    return points[-MAX_TRACE:]


def read_mood(events_newest_first: Iterable[Mapping[str, Any]]) -> tuple[float | None, list[MoodPoint]]:
    """(the current mood or None when unknown, its trace oldest first) from tracker events, newest first.

    The newest ``mood`` / ``mood_trace`` slot events win (a ``null`` value resets to unknown); scanning stops
    at a ``restart``. Without a usable ``mood`` slot the trace's last point gives the mood.
    """
    mood: float | None = None
    trace: list[MoodPoint] | None = None
    seen_mood = False
    for event in events_newest_first:
        if not isinstance(event, Mapping):
            continue
        kind = event.get("event")
        if kind == "restart":
            break
        if kind != "slot":
            continue
        name = event.get("name")
        if name == MOOD_SLOT and not seen_mood:
            seen_mood, mood = True, _unit(event.get("value"))
        elif name == TRACE_SLOT and trace is None:
            trace = parse_trace(event.get("value"))
        if seen_mood and trace is not None:
            break
    trace = trace or []
    if not seen_mood and trace:
        mood = trace[-1]["mood"]
    return mood, trace


def mood_label(mood: float | None) -> MoodLabel:
    if mood is None:
        return "unknown"
    if mood <= -BAND:
        return "negative"
    return "positive" if mood >= BAND else "neutral"


def priority(waited_s: float, mood: float | None, sour_weight_min: float = SOUR_WEIGHT_MIN) -> float:
    """Queue priority in minutes: minutes waited + ``sour_weight_min`` × max(0, -mood); unknown counts as 0.

    Only negative mood raises a priority (a happy shopper is not pushed back), and since every waiting
    shopper's first term grows at the same rate, the order changes only when a mood changes or someone
    joins or leaves the queue.
    """
    return max(0.0, waited_s) / 60.0 + sour_weight_min * max(0.0, -(mood or 0.0))


def queue_order(entries: Sequence[tuple[str, float, float | None]], now: float) -> list[tuple[str, float]]:
    """(id, priority) of ``(id, created_at, mood)`` entries, highest priority first, ties by arrival."""
    ranked = sorted(entries, key=lambda e: (-round(priority(now - e[1], e[2]), 9), e[1], e[0]))
    return [(entry_id, priority(now - created_at, mood)) for entry_id, created_at, mood in ranked]


def drivers(trace: Sequence[MoodPoint], limit: int = MAX_DRIVERS) -> list[Driver]:
    """The negative messages that pulled the mood down most (largest drop first, then the older one).

    A message's drop is the mood before it minus the mood after it; before the first judged message the
    mood counts as 0 (no evidence yet).
    """
    found: list[Driver] = []
    before = 0.0
    for point in trace:
        drop = before - point["mood"]
        if drop > 1e-9 and point["score"] < 0:
            found.append(Driver(**point, drop=round(drop, 4)))
        before = point["mood"]
    found.sort(key=lambda driver: (-driver["drop"], driver["ts"]))
    return found[:limit]
