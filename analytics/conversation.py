"""One sender's events -> its conversations and their facts (pure: no I/O, no clock).

Definitions (docs/analytics.md):
- a *conversation* is one Rasa session of a sender: it starts at a ``session_started`` event (events before the
  first one form session 0);
- it has *ended* when a later session of the sender started, the shopper said goodbye, or nothing happened for
  ``idle_end_s`` (Rasa's session expiry, 60 min) before ``now``;
- a *fallback* is a shopper message classified ``nlu_fallback`` (or answered by ``action_default_fallback``); a
  *miss* is one the knowledge base did not answer (``fallback_next`` not set to ``answered``); a *fallback loop*
  is two misses in a row (the point where ``action_fallback`` offers a person);
- *handed off*: ``action_handoff`` ran (queued for a person or offline with a ticket offer); its reason follows
  ``actions.handoff.handoff_reason`` (asked for a person, two fallbacks in a row, the mood's offer, a complaint);
  the queue's expiry re-running it is no second handoff;
- *contained*: ended, not handed off, no fallback loop (None while the conversation goes on).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

FALLBACK_INTENT = "nlu_fallback"
CORE_FALLBACK_ACTION = "action_default_fallback"
HANDOFF_ACTION = "action_handoff"
ASK_PERSON_INTENTS = frozenset({"contact_human_agent", "contact_customer_service"})
END_INTENTS = frozenset({"goodbye"})
LOOP_MISSES = 2
LABELS = frozenset({"negative", "neutral", "positive"})


@dataclass
class Turn:
    ts: float
    intent: str | None
    confidence: float | None
    text: str
    latency_ms: float | None = None
    fallback: bool = False
    answered: bool = False  # a fallback the knowledge base answered (fallback_next=answered)


@dataclass
class Handoff:
    ts: float
    reason: str
    outcome: str | None = None  # queued | offline | timed_out


@dataclass
class Csat:
    ts: float
    survey_id: str
    rating: int
    comment: str
    by: str
    language: str
    handoff_id: str | None


@dataclass
class MoodPoint:
    ts: float
    score: float
    label: str
    mood: float


@dataclass
class Conversation:
    sender_id: str
    session_no: int
    started_at: float
    last_event_at: float
    language: str = "en"
    turns: list[Turn] = field(default_factory=list)
    actions: list[tuple[float, str]] = field(default_factory=list)
    handoffs: list[Handoff] = field(default_factory=list)
    csat: dict[str, Csat] = field(default_factory=dict)  # by survey id: a survey sent twice counts once
    mood_points: dict[float, MoodPoint] = field(default_factory=dict)  # by the user event's ts
    last_mood: float | None = None
    agent_joined: bool = False
    said_goodbye: bool = False
    ended: bool = False
    malformed_values: int = 0

    @property
    def fallbacks(self) -> int:
        return sum(turn.fallback for turn in self.turns)

    @property
    def fallback_loop(self) -> bool:
        streak = 0
        for turn in self.turns:
            streak = streak + 1 if turn.fallback and not turn.answered else 0
            if streak >= LOOP_MISSES:
                return True
        return False

    @property
    def contained(self) -> bool | None:
        if not self.ended:
            return None
        return not self.handoffs and not self.fallback_loop

    @property
    def latest_csat(self) -> Csat | None:
        return max(self.csat.values(), key=lambda c: c.ts, default=None)


def _float(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _csat(value: Any, ts: float) -> Csat | None:
    """The slot contract's csat value, or None when it breaks it (rating outside 1..5, no survey id, ...)."""
    if not isinstance(value, Mapping):
        return None
    rating = value.get("rating")
    survey = value.get("survey_id")
    by = value.get("by")
    if isinstance(rating, bool) or not isinstance(rating, int) or not 1 <= rating <= 5:
        return None
    if not isinstance(survey, str) or not survey or by not in ("bot", "agent"):
        return None
    comment = value.get("comment")
    handoff = value.get("handoff_id")
    language = value.get("language")
    return Csat(
        ts=ts,
        survey_id=survey,
        rating=rating,
        comment=comment[:2000] if isinstance(comment, str) else "",
        by=str(by),
        language=language if language in ("en", "zh") else "en",
        handoff_id=handoff if isinstance(handoff, str) else None,
    )


def _mood_point(entry: Any) -> MoodPoint | None:
    if not isinstance(entry, Mapping):
        return None
    ts, score, mood = _float(entry.get("ts")), _float(entry.get("score")), _float(entry.get("mood"))
    label = entry.get("label")
    if ts is None or score is None or mood is None or label not in LABELS:
        return None
    return MoodPoint(ts, max(-1.0, min(1.0, score)), str(label), max(-1.0, min(1.0, mood)))


class _Folder:
    """Walks one sender's events in order, keeping the state a handoff's reason and a turn's latency need."""

    def __init__(self, sender_id: str) -> None:
        self.sender_id = sender_id
        self.conversations: list[Conversation] = []
        self.slots: dict[str, Any] = {}
        self.pending_latency: Turn | None = None
        self.handoff_status: Any = None
        self.resumed = False

    @property
    def current(self) -> Conversation | None:
        return self.conversations[-1] if self.conversations else None

    def start(self, ts: float) -> Conversation:
        if self.current is not None:
            self.current.ended = True
        conversation = Conversation(self.sender_id, len(self.conversations), ts, ts)
        self.conversations.append(conversation)
        self.pending_latency = None
        return conversation

    def fold(self, event: Mapping[str, Any]) -> None:
        kind = event["event"]
        ts = float(event["timestamp"])
        if kind == "session_started":
            self.start(ts)
            return
        if kind == "action" and event.get("name") in ("action_session_start", "action_listen"):
            return  # the session's own bookkeeping (and the wait for the shopper) is no activity
        conversation = self.current or self.start(ts)
        conversation.last_event_at = max(conversation.last_event_at, ts)
        if kind == "user":
            self._user(conversation, event, ts)
        elif kind == "bot":
            self._bot(conversation, event, ts)
        elif kind == "action":
            self._action(conversation, event, ts)
        elif kind == "slot":
            self._slot(conversation, event, ts)
        elif kind == "resume":
            self.resumed = True

    def _user(self, conversation: Conversation, event: Mapping[str, Any], ts: float) -> None:
        parse = _mapping(event.get("parse_data"))
        intent = _mapping(parse.get("intent"))
        raw_name, raw_text = intent.get("name"), event.get("text")
        name = raw_name if isinstance(raw_name, str) else None
        text = raw_text if isinstance(raw_text, str) else ""
        turn = Turn(ts, name, _float(intent.get("confidence")), text, fallback=name == FALLBACK_INTENT)
        conversation.turns.append(turn)
        self.pending_latency = turn
        if name in END_INTENTS:
            conversation.said_goodbye = True
        self.resumed = False

    def _bot(self, conversation: Conversation, event: Mapping[str, Any], ts: float) -> None:
        if self.pending_latency is not None:
            self.pending_latency.latency_ms = round(max(0.0, ts - self.pending_latency.ts) * 1000.0, 1)
            self.pending_latency = None
        metadata = _mapping(event.get("metadata"))
        if metadata.get("shopdesk_role") == "agent" or metadata.get("shopdesk_event") == "joined":
            conversation.agent_joined = True

    def _action(self, conversation: Conversation, event: Mapping[str, Any], ts: float) -> None:
        name = event.get("name")
        if not isinstance(name, str) or name == "action_listen":
            return
        conversation.actions.append((ts, name))
        if name == CORE_FALLBACK_ACTION and conversation.turns and not conversation.turns[-1].fallback:
            conversation.turns[-1].fallback = True
        if name == HANDOFF_ACTION:
            if self.resumed and self.handoff_status == "queued" and conversation.handoffs:
                conversation.handoffs[-1].outcome = "timed_out"  # bot/queue_timeout.py: the queue expired
                return
            conversation.handoffs.append(Handoff(ts, self._handoff_reason(conversation)))

    def _handoff_reason(self, conversation: Conversation) -> str:
        """As ``actions.handoff.handoff_reason`` decides it, from the events instead of the live tracker."""
        latest = conversation.turns[-1].intent if conversation.turns else None
        if latest in ASK_PERSON_INTENTS:
            return str(latest)
        if self.slots.get("fallback_next") == "offer_human":
            return "two fallbacks in a row"
        if self.slots.get("mood_offer") in ("offered", "accepted"):
            return "mood"
        if any(turn.intent == "complaint" for turn in conversation.turns[-10:]):
            return "complaint"
        return "offer of a person accepted"

    def _slot(self, conversation: Conversation, event: Mapping[str, Any], ts: float) -> None:
        name, value = event.get("name"), event.get("value")
        if not isinstance(name, str):
            return
        self.slots[name] = value
        if name == "language" and value in ("en", "zh"):
            conversation.language = str(value)
        elif name == "fallback_next" and value == "answered" and conversation.turns:
            conversation.turns[-1].answered = True
        elif name == "handoff_status":
            self.handoff_status = value
            if conversation.handoffs and value in ("queued", "offline"):
                last = conversation.handoffs[-1]
                if last.outcome is None:
                    last.outcome = str(value)
        elif name == "csat" and value is not None:
            found = _csat(value, ts)
            if found is None:
                conversation.malformed_values += 1
            else:
                conversation.csat[found.survey_id] = found
        elif name == "mood" and value is not None:
            mood = _float(value)
            if mood is None:
                conversation.malformed_values += 1
            else:
                conversation.last_mood = max(-1.0, min(1.0, mood))
        elif name == "mood_trace" and value is not None:
            if not isinstance(value, list):
                conversation.malformed_values += 1
                return
            for entry in value:
                point = _mood_point(entry)
                if point is None:
                    conversation.malformed_values += 1
                elif point.ts >= conversation.started_at:  # the trace may reach back into the last session
                    conversation.mood_points[point.ts] = point


def conversations_of(
    sender_id: str, events: Iterable[Mapping[str, Any]], now: float, idle_end_s: float
) -> list[Conversation]:
    """The sender's conversations from its events (in broker order), each marked ended or not at ``now``."""
    folder = _Folder(sender_id)
    for event in events:
        folder.fold(event)
    for conversation in folder.conversations:
        if conversation.said_goodbye or now - conversation.last_event_at >= idle_end_s:
            conversation.ended = True
    return folder.conversations
