"""The agent console: login pages, the JSON API and the live websocket. Every endpoint needs an agent."""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import math
import secrets
import time
import uuid
from typing import Any

from aiohttp import WSMsgType, web

from bot import agent_status, assignment, console_frames, reply_edge
from bot.auth import (
    LOGIN_COOKIE,
    agent_of,
    authenticate,
    check_login_csrf,
    current_session,
    end_session,
    login_csrf,
    require_agent,
    start_session,
)
from bot.clients import client_address
from bot.csat import CSAT_ASK_HANDBACK
from bot.handoff_api import online_agents
from bot.keys import HUB, LOGIN_GUARD, RASA, REPLY_LIMITER, SETTINGS, SHOP, STORE
from bot.messages import text as shopper_text
from bot.mood import MoodPoint, drivers, mood_label
from bot.pages import render
from bot.shopdb import normalize_order_number
from bot.types import Handoff, Message
from bot.validate import bad_request, json_object, text_field
from shop.errors import ShopUnavailableError

logger = logging.getLogger(__name__)

routes = web.RouteTableDef()
TS_TOLERANCE_S = 0.001  # a mood_trace ts is the user event's timestamp; allow for float round trips


def _first_name(name: str) -> str:
    return name.split()[0] if name else "An agent"


def _summary(handoff: Handoff, now: float) -> dict[str, Any]:
    customer = handoff["context"].get("customer") if isinstance(handoff["context"], dict) else None
    return {
        "id": handoff["id"],
        "conversation_id": handoff["conversation_id"],
        "status": handoff["status"],
        "reason": handoff["reason"],
        "agent_email": handoff["agent_email"],
        "agent_name": handoff["agent_name"],
        "created_at": handoff["created_at"],
        "claimed_at": handoff["claimed_at"],
        "closed_at": handoff["closed_at"],
        "waiting_s": round((handoff["claimed_at"] or now) - handoff["created_at"], 1),
        "customer_name": customer.get("name") if isinstance(customer, dict) else None,
        "language": handoff["language"],
        "mood": None if handoff["mood"] is None else round(handoff["mood"], 3),
        "mood_label": mood_label(handoff["mood"]),
    }


# --- pages -----------------------------------------------------------------------------------------


@routes.get("/console/login", name="login")
async def login_page(request: web.Request) -> web.Response:
    if current_session(request) is not None:
        raise web.HTTPSeeOther("/console")
    return _login_form(request, error="")


def _login_form(request: web.Request, error: str, status: int = 200) -> web.Response:
    settings = request.app[SETTINGS]
    nonce = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(16)
    response = render(
        "login.html",
        status=status,
        csrf=login_csrf(settings, nonce),
        error=error,
        demo_hint="" if settings.production else "Demo login: agent@shopdesk.test / shopdesk-demo",
    )
    response.set_cookie(
        LOGIN_COOKIE,
        nonce,
        httponly=True,
        samesite="Strict",
        secure=settings.cookie_secure,
        path="/console",
        max_age=3600,
    )
    return response


@routes.post("/console/login")
async def login(request: web.Request) -> web.Response:
    form = await request.post()
    peer = client_address(request)
    email = str(form.get("email", ""))[:320].strip().lower()
    guard = request.app[LOGIN_GUARD]  # failed attempts per client address and per agent account
    wait_s = guard.retry_after(peer, email)
    if wait_s > 0:
        response = _login_form(
            request, f"Too many failed attempts; wait {math.ceil(wait_s)} s and try again.", status=429
        )
        response.headers["Retry-After"] = str(math.ceil(wait_s))
        return response
    if not check_login_csrf(request, str(form.get("csrf", ""))):
        return _login_form(request, "The form expired; please try again.", status=403)
    agent = authenticate(request.app, email, str(form.get("password", ""))[:200])
    if agent is None:
        guard.failed(peer, email)
        return _login_form(request, "Wrong email or password.", status=401)
    guard.succeeded(agent.email)
    response = web.HTTPSeeOther("/console")
    start_session(request, response, agent)
    await agent_status.signed_in(request.app, agent)  # online (docs/console/team.md)
    response.del_cookie(LOGIN_COOKIE, path="/console")
    logger.info("an agent logged in")
    logger.debug("agent %s logged in", agent.email)
    raise response


@routes.post("/console/logout")
async def logout(request: web.Request) -> web.Response:
    session = current_session(request)
    form = await request.post()
    if session is not None and not hmac.compare_digest(
        str(form.get("csrf", "")).encode(), session.csrf.encode()
    ):
        raise web.HTTPForbidden(text="missing or wrong CSRF token")
    if session is not None:  # offline: their conversations return to the queue (docs/console/team.md)
        await agent_status.signed_out(request.app, session.agent)
    response = web.HTTPSeeOther("/console/login")
    end_session(request, response)
    raise response


@routes.get("/console")
async def console_page(request: web.Request) -> web.Response:
    session = current_session(request)
    if session is None:
        raise web.HTTPSeeOther("/console/login")
    link = '<a class="admin-link" href="/console/admin">Admin</a>' if session.agent.is_admin else ""
    return render(
        "console.html",
        raw={"dashboard_link": link},
        agent_name=session.agent.name,
        agent_email=session.agent.email,
        csrf=session.csrf,
    )


# --- JSON API --------------------------------------------------------------------------------------


@routes.get("/api/console/me")
@require_agent
async def me(request: web.Request) -> web.Response:
    agent = agent_of(request).agent
    return web.json_response(
        {"email": agent.email, "name": agent.name, "online": sorted(online_agents(request))}
    )


@routes.get("/api/console/queue")
@require_agent
async def queue(request: web.Request) -> web.Response:
    store = request.app[STORE]
    now = store.clock()
    waiting = []
    for position, (handoff, priority) in enumerate(store.queued_by_priority(now), start=1):
        item = _summary(handoff, now)
        item["position"] = position
        item["priority"] = round(priority, 2)  # bot.mood.priority: minutes waited + weighted sour mood
        waiting.append(item)
    active = [_summary(h, now) for h in store.list_handoffs(("active",))]
    return web.json_response({"queued": waiting, "active": active, "now": now})


@routes.get("/api/console/closed")
@require_agent
async def closed(request: web.Request) -> web.Response:
    store = request.app[STORE]
    now = store.clock()
    return web.json_response(
        {"closed": [_summary(h, now) for h in store.list_handoffs(("closed",), limit=100)]}
    )


@routes.get("/api/console/conversations/{handoff_id}")
@require_agent
async def conversation(request: web.Request) -> web.Response:
    store = request.app[STORE]
    handoff = store.get(request.match_info["handoff_id"])
    summary = _summary(handoff, store.clock())
    summary["context"] = handoff["context"]
    summary["messages"] = messages = store.messages(handoff["id"])
    summary["mood_trace"] = trace = store.mood_trace(handoff["id"])
    summary["mood_drivers"] = _drivers(trace, messages)
    summary["mine"] = handoff["agent_email"] == agent_of(request).agent.email
    return web.json_response(summary)


def _drivers(trace: list[MoodPoint], messages: list[Message]) -> list[dict[str, Any]]:
    """The messages that pulled the mood down most, matched by ``ts`` to the shopper's transcript lines
    (``message_id`` / ``text`` are None when the line is not in this handoff's transcript)."""
    shopper = [m for m in messages if m["role"] == "shopper"]
    found = []
    for driver in drivers(trace):
        line = min(shopper, key=lambda m: abs(m["ts"] - driver["ts"]), default=None)
        matched = line if line is not None and abs(line["ts"] - driver["ts"]) <= TS_TOLERANCE_S else None
        found.append(
            {
                **driver,
                "message_id": matched["id"] if matched else None,
                "text": matched["text"] if matched else None,
            }
        )
    return found


@routes.post("/api/console/conversations/{handoff_id}/claim")
@require_agent
async def claim(request: web.Request) -> web.Response:
    store, agent = request.app[STORE], agent_of(request).agent
    # the one claim path, shared with auto-assignment: one winner, the "… has joined" notice, a queue push
    handoff, delivered = await assignment.claim_for(request.app, request.match_info["handoff_id"], agent)
    return web.json_response({"handoff": _summary(handoff, store.clock()), "notice_delivered": delivered})


@routes.post("/api/console/conversations/{handoff_id}/reply")
@require_agent
async def reply(request: web.Request) -> web.Response:
    store, settings, agent = request.app[STORE], request.app[SETTINGS], agent_of(request).agent
    handoff = store.require_owner(request.match_info["handoff_id"], agent.email)
    body = await json_object(request)
    errors: dict[str, str] = {}
    text = text_field(body, "text", errors, max_len=settings.max_message_chars)
    if errors:
        raise bad_request(errors)
    if not request.app[REPLY_LIMITER].allow(agent.email):
        raise web.HTTPTooManyRequests(
            text='{"error": "too many replies; slow down"}', content_type="application/json"
        )
    message, recorded = await _send_reply(request, handoff, text)
    return web.json_response({"message": message, "recorded": recorded})


@routes.post("/api/console/conversations/{handoff_id}/close")
@require_agent
async def close(request: web.Request) -> web.Response:
    """Hands the conversation back to the bot: resume, a notice, then action_listen (so no new handoff)."""
    store, agent = request.app[STORE], agent_of(request).agent
    handoff = store.require_owner(request.match_info["handoff_id"], agent.email)
    msg_id = uuid.uuid4().hex
    back = shopper_text(handoff["language"], "back_to_bot")
    await request.app[RASA].append_events(
        handoff["conversation_id"],
        [
            {"event": "resume"},
            {
                "event": "bot",
                "text": back,
                "metadata": {"shopdesk_role": "notice", "shopdesk_event": "left", "shopdesk_msg_id": msg_id},
                "data": {"custom": CSAT_ASK_HANDBACK},  # the widget asks the shopper to rate (bot.csat)
            },
            {"event": "slot", "name": "handoff_status", "value": None},
            {"event": "action", "name": "action_listen"},
        ],
    )
    store.add_message(handoff["id"], "notice", back, time.time(), msg_id)
    handoff = store.close(handoff["id"], agent.email)
    logger.info("%s handed back to the bot", handoff["id"])
    await request.app[HUB].publish({"type": "queue"})
    return web.json_response({"handoff": _summary(handoff, store.clock())})


async def _send_reply(request: web.Request, handoff: Handoff, text: str) -> tuple[Message | None, bool]:
    """Sends an agent's reply to the shopper's widget (a bot event with our metadata) and stores it; returns
    the stored line and whether Rasa recorded it. A reply edge (``bot.reply_edge``): pushed at once to the
    shopper's proxied sockets, then recorded without Rasa's emit; with none, Rasa's channel emits it. A reply
    the shopper got but Rasa did not record is stored with ``meta.unconfirmed`` (the console marks it)."""
    agent = agent_of(request).agent
    msg_id = uuid.uuid4().hex
    metadata = {"shopdesk_role": "agent", "shopdesk_msg_id": msg_id, "agent_name": _first_name(agent.name)}
    event = {"event": "bot", "text": text, "metadata": metadata}
    frame = reply_edge.bot_uttered_frame(text, metadata)
    _, recorded = await reply_edge.deliver(request.app, handoff["conversation_id"], [event], frame)
    meta: dict[str, object] = {"agent_name": metadata["agent_name"]}
    if not recorded:
        meta["unconfirmed"] = True
    store = request.app[STORE]
    message = store.add_message(handoff["id"], "agent", text, time.time(), msg_id, meta)
    if message is not None:
        await request.app[HUB].publish({"type": "message", "handoff_id": handoff["id"], "message": message})
    return message, recorded


@routes.get("/api/console/tickets")
@require_agent
async def tickets(request: web.Request) -> web.Response:
    status = request.query.get("status")
    if status not in (None, "open", "resolved"):
        raise bad_request({"status": f"{status!r} is not one of open, resolved"})
    return web.json_response({"tickets": request.app[STORE].list_tickets(status)})


@routes.get("/api/console/tickets/{ticket_id}")
@require_agent
async def ticket(request: web.Request) -> web.Response:
    store = request.app[STORE]
    found: dict[str, Any] = dict(store.get_ticket(request.match_info["ticket_id"]))
    found["transcript"] = store.ticket_transcript(found["id"])
    return web.json_response(found)


@routes.post("/api/console/tickets/{ticket_id}/resolve")
@require_agent
async def resolve_ticket(request: web.Request) -> web.Response:
    found = request.app[STORE].resolve_ticket(request.match_info["ticket_id"], agent_of(request).agent.email)
    await request.app[HUB].publish({"type": "tickets"})
    return web.json_response(found)


@routes.get("/api/console/orders/{order_id}")
@require_agent
async def order_lookup(request: web.Request) -> web.Response:
    raw = request.match_info["order_id"]
    number = normalize_order_number(raw)
    if number is None:
        raise bad_request({"order_id": f"{raw[:40]!r} is not an order number like SD-100042"})
    try:
        order = await asyncio.get_running_loop().run_in_executor(None, request.app[SHOP].order, number)
    except ShopUnavailableError as error:
        raise web.HTTPServiceUnavailable(
            text=json.dumps({"error": f"order store unavailable: {error}"}), content_type="application/json"
        ) from None
    if order is None:
        raise web.HTTPNotFound(
            text=json.dumps({"error": f"unknown order {number}"}), content_type="application/json"
        )
    return web.json_response(order)


@routes.get("/api/console/ws")
@require_agent
async def console_socket(request: web.Request) -> web.StreamResponse:
    origin = request.headers.get("Origin")
    if origin is None or origin.rstrip("/") not in request.app[SETTINGS].origins:
        logger.warning("console websocket refused for Origin %r", origin)
        raise web.HTTPForbidden(text='{"error": "foreign Origin"}', content_type="application/json")
    socket = web.WebSocketResponse(heartbeat=20.0, max_msg_size=4096)
    await socket.prepare(request)
    hub, agent = request.app[HUB], agent_of(request).agent
    hub.add(socket, agent.email)
    await socket.send_json({"type": "hello", "agent": agent.email})
    await hub.publish({"type": "presence"})
    try:
        async for frame in socket:
            if frame.type == WSMsgType.TEXT and frame.data == "ping":
                await socket.send_str('{"type": "pong"}')
            elif frame.type == WSMsgType.TEXT:  # a feature's frame (bot.console_frames), e.g. typing
                refused = await console_frames.dispatch(request, agent, frame.data)
                if refused is not None:
                    await socket.send_json(refused)
            elif frame.type == WSMsgType.ERROR:
                break
    finally:
        hub.remove(socket)
    return socket
