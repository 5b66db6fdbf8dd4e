"""The conversation's mood, as pure functions: smoothing, the trace, and when to offer a person (docs/mood.md).

Inputs are plain values (a score, the slots' values, timestamps), so every rule is tested without Rasa:

- **mood** — an exponential moving average of the judged messages' scores, starting from a neutral 0:
  ``mood = previous + alpha * (score - previous)``. One message moves it at most ``alpha`` of the way.
- **trace** — the last ``TRACE_LENGTH`` judged messages ``{ts, score, label, mood}`` (no text).
- **offer** (hysteresis) — the mood offers a person when it is *armed* and one of
  *sustained negativity* (``mood <= alert``) or a *sharp drop* (``peak - mood >= drop``, the peak over the last
  ``DROP_WINDOW`` messages and the neutral start) holds, and the latest judged message and at least ``streak``
  of the last ``streak + 1`` were negative (``score <= negative``): one message, however sour, never offers on
  its own, and one the scorer misses in a sour stretch does not reset it.
  It is *armed* unless a person was offered (by the mood or by a flow: a complaint, fallbacks) after the last
  time the mood stood at or above ``recover``; the conversation starts armed (a neutral 0 counts as recovered).
  So one offer per sour stretch, and after a decline nothing more until the mood has recovered.
- **blocked** — no offer while a person is already involved (``handoff_status`` set), while a form is collecting
  something, or when the shopper's own intent already leads to a person (asking for one; a complaint: its rule
  offers one; a low-confidence message right after a miss: the fallback rules may offer one now).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypedDict

from sentiment.text import has_words
from sentiment.types import Label, Prediction

TRACE_LENGTH = 30
DROP_WINDOW = 5  # judged messages a sharp drop is measured over
MAX_SCORED_CHARS = 2000  # a 10 kB message is judged on its start: the cost stays bounded

# mood_offer values (the contract's: null / offered / declined / accepted)
OFFERED = "offered"
DECLINED = "declined"
ACCEPTED = "accepted"
DECLINE_INTENT = "decline_human_offer"  # the offer's "No, carry on" button
ACCEPT_INTENTS = frozenset({"contact_human_agent", "contact_customer_service"})  # "Yes, a person", or typed
# intents whose own flow already leads to a person (the rule complaint -> utter_offer_human; asking for one)
FLOW_OFFER_INTENTS = frozenset({"complaint", *ACCEPT_INTENTS})
FALLBACK_INTENT = (
    "nlu_fallback"  # its rules offer a person on the second miss in a row (fallback_next: rephrase)
)
# a flow's offer of a person in the tracker (the complaint, fallback and order rules' action)
FLOW_OFFER_ACTIONS = frozenset({"utter_offer_human"})

# Identifiers and addresses carry no mood: taken out before judging ("SD-100042", "RF-300001", an email, a URL).
_NOT_WORDS = re.compile(
    r"https?://\S+"
    r"|[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+"
    r"|(?<![A-Za-z])(?:SD|RF|RT|INV|P|C)[-\s]?#?\d{4,}"
    r"|#?\d+",
    re.IGNORECASE,
)


class TraceEntry(TypedDict):
    """One judged shopper message in the `mood_trace` slot; ``ts`` is its user event's timestamp."""

    ts: float
    score: float
    label: Label
    mood: float


@dataclass(frozen=True)
class MoodConfig:
    """The numbers behind the mood (MOOD_* settings; docs/mood.md says how they were chosen)."""

    alpha: float = 0.5  # MOOD_ALPHA: weight of the newest message in the moving average
    alert: float = -0.4  # MOOD_ALERT: sustained negativity at or below this mood
    recover: float = -0.1  # MOOD_RECOVER: re-armed once the mood is back at or above this
    drop: float = 0.8  # MOOD_DROP: a sharp drop is a fall this large from the recent peak
    negative: float = -0.3  # MOOD_NEGATIVE: a message counts as negative at or below this score
    streak: int = (
        2  # MOOD_STREAK: negative messages among the last streak + 1 (the latest one) before any offer
    )
    offers: bool = True  # MOOD_OFFERS: 0 tracks the mood without ever offering a person

    def problems(self) -> list[str]:
        """What is wrong with these numbers, each naming its setting (empty when they hold)."""
        found = []
        if not 0.0 < self.alpha <= 1.0:
            found.append(f"MOOD_ALPHA={self.alpha}: expected a weight in (0, 1]")
        if not -1.0 <= self.alert < self.recover <= 1.0:
            found.append(
                f"MOOD_ALERT={self.alert}, MOOD_RECOVER={self.recover}: expected -1 <= alert < recover <= 1"
            )
        if not 0.0 < self.drop <= 2.0:
            found.append(f"MOOD_DROP={self.drop}: expected a fall in (0, 2]")
        if not -1.0 <= self.negative < 0.0:
            found.append(f"MOOD_NEGATIVE={self.negative}: expected a score in [-1, 0)")
        if not 1 <= self.streak <= 10:
            found.append(f"MOOD_STREAK={self.streak}: expected 1 to 10 messages")
        return found


@dataclass(frozen=True)
class Step:
    """The mood after one judged message, and whether it now calls for a person (before arming/blocking)."""

    mood: float
    trace: list[TraceEntry]
    trigger: str | None  # "sustained" | "drop" | None


def judgeable(text: object) -> str | None:
    """The part of a shopper message worth judging, or None: no text (a triggered intent), a button payload
    (``/intent``), or nothing left but ids, emails, URLs, digits, emoji and punctuation."""
    if not isinstance(text, str) or text.lstrip().startswith("/"):
        return None
    kept = _NOT_WORDS.sub(" ", text[:MAX_SCORED_CHARS]).strip()
    return kept if has_words(kept) else None


def smooth(previous: float | None, score: float, alpha: float) -> float:
    """The exponential moving average, from a neutral 0 when there is no mood yet; always within [-1, 1]."""
    base = 0.0 if previous is None else previous
    return max(-1.0, min(1.0, base + alpha * (score - base)))


def clean_trace(value: object) -> list[TraceEntry]:
    """The `mood_trace` slot as entries; anything malformed (a slot is a claim) is dropped."""
    if not isinstance(value, list):
        return []
    entries: list[TraceEntry] = []
    for item in value[-TRACE_LENGTH:]:
        if not isinstance(item, dict):
            continue
        try:
            entry = TraceEntry(
                ts=float(item["ts"]),
                score=float(item["score"]),
                label=item["label"],
                mood=float(item["mood"]),
            )
        except (KeyError, TypeError, ValueError):
            continue
        if entry["label"] in ("negative", "neutral", "positive") and -1.0 <= entry["mood"] <= 1.0:
            entries.append(entry)
    return entries


def step(
    previous: float | None, trace: Sequence[TraceEntry], prediction: Prediction, ts: float, config: MoodConfig
) -> Step:
    """Fold one judged message into the mood and the trace; ``trigger`` says if the mood now calls for a person."""
    mood = smooth(previous, prediction.score, config.alpha)
    entry = TraceEntry(ts=ts, score=round(prediction.score, 4), label=prediction.label, mood=round(mood, 4))
    new_trace = [*trace, entry][-TRACE_LENGTH:]
    negative = [e["score"] <= config.negative for e in new_trace[-(config.streak + 1) :]]
    streak = negative[-1] and sum(negative) >= config.streak
    trigger = None
    if streak:
        earlier = [e["mood"] for e in list(trace)[-DROP_WINDOW:]]
        if len(trace) < DROP_WINDOW:
            earlier.append(0.0)  # the window reaches back to the neutral start
        if mood <= config.alert:
            trigger = "sustained"
        elif max(earlier) - mood >= config.drop:
            trigger = "drop"
    return Step(mood=mood, trace=new_trace, trigger=trigger)


def armed(trace: Sequence[TraceEntry], last_offer_ts: float | None, config: MoodConfig) -> bool:
    """Whether the mood may offer a person: no offer yet, or the mood stood at or above ``recover`` after the
    latest one (an offer older than the whole trace counts as recovered only if the trace shows it)."""
    if last_offer_ts is None:
        return True
    return any(e["ts"] > last_offer_ts and e["mood"] >= config.recover for e in trace)


def blocked(
    intent: str | None, handoff_status: object, active_loop: str | None, fallback_next: object
) -> str | None:
    """Why no offer may be made this turn, or None (``fallback_next``: what action_fallback decided for the
    previous message, None when that was no low-confidence one)."""
    if handoff_status:
        return "a person is already involved"
    if intent in FLOW_OFFER_INTENTS:
        return f"the flow of {intent} leads to a person itself"
    if intent == FALLBACK_INTENT and fallback_next == "rephrase":
        return "a second miss in a row: the fallback rules may offer a person"
    if active_loop:
        return f"the form {active_loop} is collecting an answer"
    return None


def offer_outcome(current: object, intent: str | None) -> str | None:
    """The `mood_offer` slot after the shopper's next message: an open offer is accepted by asking for a person
    (the "Yes, a person" button sends /contact_human_agent) and declined by /decline_human_offer."""
    value = current if current in (OFFERED, DECLINED, ACCEPTED) else None
    if value == OFFERED and intent in ACCEPT_INTENTS:
        return ACCEPTED
    if value == OFFERED and intent == DECLINE_INTENT:
        return DECLINED
    return value
