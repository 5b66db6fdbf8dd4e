"""The handoff service API called by the action server (bearer ``HANDOFF_TOKEN``).

``POST /api/handoff``  {conversation_id, reason, transcript: [{role, text, ts}], context, language?}
                       (language: en | zh, the conversation's; the tracker sync keeps it current anyway)
                       → {status: "queued" | "offline", wait_seconds, position, handoff_id, reason}
``POST /api/tickets``  {conversation_id, email, message, transcript?} → the ticket
"""

from __future__ import annotations

import hmac
import logging
import math
import re
from typing import Any

from aiohttp import web

from bot.keys import HUB, SETTINGS, STORE
from bot.language import DEFAULT_LANGUAGE, LANGUAGES
from bot.team_store import TEAM_STORE
from bot.types import HandoffReply, TranscriptLine
from bot.validate import bad_request, json_object, text_field

logger = logging.getLogger(__name__)

routes = web.RouteTableDef()
PRESENCE_WINDOW_S = 120.0
MAX_TRANSCRIPT = 200
EMAIL_RE = re.compile(r"[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,63}")


def _require_token(request: web.Request) -> None:
    expected = f"Bearer {request.app[SETTINGS].handoff_token}"
    sent = request.headers.get("Authorization", "")
    if not hmac.compare_digest(sent.encode(), expected.encode()):
        raise web.HTTPUnauthorized(
            text='{"error": "missing or wrong bearer token"}', content_type="application/json"
        )


def _transcript(body: dict[str, Any], errors: dict[str, str]) -> list[TranscriptLine]:
    raw = body.get("transcript", [])
    if not isinstance(raw, list):
        errors["transcript"] = "must be a list of {role, text, ts}"
        return []
    lines: list[TranscriptLine] = []
    for index, item in enumerate(raw[-MAX_TRANSCRIPT:]):
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("text"), str)
            or not isinstance(item.get("role"), str)
            or not isinstance(item.get("ts"), int | float)
        ):
            errors[f"transcript[{index}]"] = "must be {role: str, text: str, ts: number}"
            continue
        lines.append(TranscriptLine(role=item["role"], text=item["text"][:4000], ts=float(item["ts"])))
    return lines


def online_agents(request: web.Request) -> set[str]:
    """Agents staffing the shop: a console socket open or a console request in the last 2 minutes, and a status
    other than offline (bot.agent_status: online and away count)."""
    store = request.app[STORE]
    present = request.app[HUB].online_agents() | store.agents_seen_since(store.clock() - PRESENCE_WINDOW_S)
    return present - request.app[TEAM_STORE].with_status("offline")


@routes.post("/api/handoff")
async def create_handoff(request: web.Request) -> web.Response:
    _require_token(request)
    body = await json_object(request)
    errors: dict[str, str] = {}
    conversation_id = text_field(body, "conversation_id", errors, max_len=128)
    reason = text_field(body, "reason", errors, max_len=200, required=False) or "shopper asked for a person"
    transcript = _transcript(body, errors)
    context = body.get("context", {})
    if not isinstance(context, dict):
        errors["context"] = "must be an object {customer, orders, cart}"
    language = body.get("language", DEFAULT_LANGUAGE)
    if language not in LANGUAGES:
        errors["language"] = f"{str(language)[:20]!r} is not one of {', '.join(LANGUAGES)}"
    if errors:
        raise bad_request(errors)

    settings, store = request.app[SETTINGS], request.app[STORE]
    if not settings.business_hours.is_open():
        reply = HandoffReply(status="offline", wait_seconds=0, position=0, handoff_id=None, reason="closed")
        return web.json_response(reply)
    agents = online_agents(request)
    if not agents:
        reply = HandoffReply(status="offline", wait_seconds=0, position=0, handoff_id=None, reason="no_agent")
        return web.json_response(reply)
    handoff, created = store.open_handoff(conversation_id, reason, transcript, context, language)
    position = store.queue_position(handoff["id"])
    wait = (
        math.ceil(max(position, 1) / len(agents)) * settings.avg_handle_s
        if handoff["status"] == "queued"
        else 0
    )
    if created:
        logger.info("queued %s (conversation %s) at position %s", handoff["id"], conversation_id, position)
        await request.app[HUB].publish({"type": "queue"})
    reply = HandoffReply(
        status="queued", wait_seconds=wait, position=position, handoff_id=handoff["id"], reason=reason
    )
    return web.json_response(reply)


@routes.post("/api/tickets")
async def create_ticket(request: web.Request) -> web.Response:
    _require_token(request)
    body = await json_object(request)
    errors: dict[str, str] = {}
    conversation_id = text_field(body, "conversation_id", errors, max_len=128)
    email = text_field(body, "email", errors, max_len=320)
    message = text_field(body, "message", errors, max_len=4000)
    transcript = _transcript(body, errors)
    if email and "email" not in errors and not EMAIL_RE.fullmatch(email):
        errors["email"] = f"not an email address: {email[:60]!r}"
    if errors:
        raise bad_request(errors)
    ticket = request.app[STORE].create_ticket(conversation_id, email, message, transcript)
    logger.info("ticket %s created for conversation %s", ticket["id"], conversation_id)
    await request.app[HUB].publish({"type": "tickets"})
    return web.json_response(ticket, status=201)
