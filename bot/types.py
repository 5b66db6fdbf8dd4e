"""Wire JSON of the handoff API and the console (TypedDicts)."""

from __future__ import annotations

from typing import Literal, TypedDict

Role = Literal["shopper", "bot", "agent", "notice"]
HandoffStatus = Literal["queued", "active", "closed"]


class TranscriptLine(TypedDict):
    role: str
    text: str
    ts: float


class HandoffRequestBody(TypedDict, total=False):
    conversation_id: str
    reason: str
    transcript: list[TranscriptLine]
    context: dict[str, object]


class HandoffReply(TypedDict):
    status: Literal["queued", "offline"]
    wait_seconds: int
    position: int
    handoff_id: str | None
    reason: str


class Message(TypedDict):
    id: int
    handoff_id: str
    role: str
    text: str
    ts: float
    meta: dict[str, object]


class Handoff(TypedDict):
    id: str
    conversation_id: str
    status: str
    reason: str
    agent_email: str | None
    agent_name: str | None
    created_at: float
    claimed_at: float | None
    closed_at: float | None
    context: dict[str, object]
    last_event_ts: float
    language: str  # en | zh: the conversation's language (bot.language), kept current by bot.sync
    mood: float | None  # [-1, 1], the tracker's smoothed mood (bot.mood); None until a judged message


class Ticket(TypedDict):
    id: str
    conversation_id: str
    email: str
    message: str
    created_at: float
    status: str
    resolved_by: str | None
