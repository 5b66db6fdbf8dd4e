"""Canned replies over HTTP: the agents' list and rendering, the admins' page and API (docs/console/canned.md).

Agents:
- ``GET /api/console/canned?q=`` — the replies matching ``q``: shortcuts starting with it, then shortcuts
  containing it, then titles with a word starting with it;
- ``GET /api/console/conversations/{id}/canned/{shortcut}?language=`` — the reply's text for that
  conversation, variables filled (the agent edits it in the reply box and sends it with the usual /reply);
  422 ``{"error", "missing": [...]}`` when the conversation lacks a variable the text needs.

Admins (``require_admin``; agents get 403): the page ``/console/admin/canned`` and
``GET/POST /api/console/admin/canned``, ``PUT/DELETE /api/console/admin/canned/{id}``. Every change is pushed
to the consoles as a ``{"type": "canned"}`` frame so their lists reload.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from bot.auth import admin_page, agent_of, require_admin, require_agent
from bot.canned import (
    LANGUAGES,
    SHOP_VARIABLES,
    VARIABLES,
    CannedReply,
    CannedTemplateError,
    Draft,
    Language,
    MissingVariablesError,
    check_draft,
    context_values,
    load_seed,
    pick_language,
    render,
    shop_values,
    variables_of,
)
from bot.canned_store import CannedNotFoundError, CannedStore, DuplicateShortcutError, TooManyRepliesError
from bot.keys import HUB, SETTINGS, SHOP, STORE
from bot.messages import CANNED_VALUES
from bot.pages import render as render_page
from bot.types import Handoff
from bot.validate import json_object
from shop.errors import ShopUnavailableError

logger = logging.getLogger(__name__)

routes = web.RouteTableDef()
CANNED_STORE = web.AppKey("canned_store", CannedStore)
ADMINS_ONLY = "canned replies are managed by admins: ask an admin to add or change one"
MAX_QUERY_CHARS = 64


def setup(app: web.Application) -> None:
    """The table (seeded from ``settings.canned_replies_file`` at start-up) and the routes."""

    async def resources(app: web.Application) -> AsyncIterator[None]:
        settings = app[SETTINGS]
        store = CannedStore(settings.db_path)
        try:
            counts = store.seed(load_seed(settings.canned_replies_file))
        except BaseException:
            store.shutdown()
            raise
        logger.info("canned replies from %s: %s", settings.canned_replies_file, counts)
        app[CANNED_STORE] = store
        yield
        store.shutdown()

    app.cleanup_ctx.append(resources)
    app.add_routes(routes)


def _error(status: int, message: str, **extra: Any) -> web.Response:
    return web.json_response({"error": message, **extra}, status=status)


def _refusal(status: type[web.HTTPException], message: str, **extra: Any) -> web.HTTPException:
    return status(text=json.dumps({"error": message, **extra}), content_type="application/json")


def _public(reply: CannedReply) -> dict[str, Any]:
    variables = {name for language in LANGUAGES for name in variables_of(reply[language], language)}
    return {
        **reply,
        "languages": [language for language in LANGUAGES if reply[language]],
        "variables": sorted(variables),
    }


def _matches(replies: list[CannedReply], query: str) -> list[CannedReply]:
    """Shortcuts starting with ``query`` first, then shortcuts containing it, then titles with a word starting
    with it (the console's list filters the same way, bot/static/console_canned.js)."""
    if not query:
        return replies
    ranked: list[tuple[int, str, CannedReply]] = []
    for reply in replies:
        shortcut, words = reply["shortcut"], reply["title"].lower().split()
        if shortcut.startswith(query):
            ranked.append((0, shortcut, reply))
        elif query in shortcut:
            ranked.append((1, shortcut, reply))
        elif any(word.startswith(query) for word in words):
            ranked.append((2, shortcut, reply))
    return [reply for _rank, _shortcut, reply in sorted(ranked, key=lambda r: (r[0], r[1]))]


# --- agents ----------------------------------------------------------------------------------------------


@routes.get("/api/console/canned")
@require_agent
async def list_replies(request: web.Request) -> web.Response:
    query = request.query.get("q", "").strip().lstrip("/").lower()
    if len(query) > MAX_QUERY_CHARS:
        return _error(400, f"q: at most {MAX_QUERY_CHARS} characters (got {len(query)})")
    replies = _matches(request.app[CANNED_STORE].all(), query)
    return web.json_response({"replies": [_public(r) for r in replies]})


def _language(request: web.Request, default: str) -> Language:
    raw = request.query.get("language") or default
    if raw not in LANGUAGES:
        raise _refusal(web.HTTPBadRequest, f"language {raw[:20]!r} is not one of en, zh")
    return "zh" if raw == "zh" else "en"


async def _values(
    request: web.Request, handoff: Handoff, language: Language, needed: set[str]
) -> tuple[dict[str, str | None], str]:
    """The variables' values for this conversation in ``language``, and a note on why some may be missing.
    The order store is read only when the text needs one of its variables."""
    context = handoff["context"] if isinstance(handoff["context"], dict) else {}
    values = context_values(context)
    name = agent_of(request).agent.name.strip()
    values["agent_name"] = name.split()[0] if name else None
    values["shop_name"] = CANNED_VALUES[language]["shop_name"]
    note = ""
    if needed & SHOP_VARIABLES and values["order_id"]:
        try:
            order = await asyncio.get_running_loop().run_in_executor(
                None, request.app[SHOP].order, values["order_id"]
            )
        except ShopUnavailableError:
            logger.warning("order store unavailable while rendering a canned reply")
            order, note = None, "the order store is unavailable"
        values.update({key: value for key, value in shop_values(order).items() if value})
    status = values.get("order_status")
    if status:  # worded for the shopper, in the reply's language
        values["order_status"] = CANNED_VALUES[language].get(f"status_{status}", status)
    return values, note


@routes.get("/api/console/conversations/{handoff_id}/canned/{shortcut}")
@require_agent
async def render_reply(request: web.Request) -> web.Response:
    handoff = request.app[STORE].get(request.match_info["handoff_id"])  # 404 for an unknown id
    shortcut = request.match_info["shortcut"].lstrip("/")
    reply = request.app[CANNED_STORE].by_shortcut(shortcut)
    if reply is None:
        return _error(404, f"no canned reply /{shortcut[:40]}")
    wanted = _language(request, handoff["language"])  # the conversation's, unless the agent asks
    language, _fallback = pick_language(reply, wanted)
    values, note = await _values(request, handoff, language, set(variables_of(reply[language], language)))
    try:
        rendered = render(reply, wanted, values, note)
    except MissingVariablesError as error:
        return _error(422, str(error), missing=error.missing, shortcut=reply["shortcut"])
    return web.json_response(
        {
            "shortcut": reply["shortcut"],
            "title": reply["title"],
            "text": rendered.text,
            "language": rendered.language,
            "fallback": rendered.fallback,
            "variables": rendered.variables,
        }
    )


# --- admins ----------------------------------------------------------------------------------------------


@routes.get("/console/admin/canned")
@admin_page(ADMINS_ONLY)
async def admin_canned_page(request: web.Request) -> web.Response:
    session = agent_of(request)
    return render_page(
        "canned_admin.html",
        agent_name=session.agent.name,
        csrf=session.csrf,
        variables=" ".join("{" + name + "}" for name in VARIABLES),
    )


@routes.get("/api/console/admin/canned")
@require_admin
async def admin_list(request: web.Request) -> web.Response:
    replies = request.app[CANNED_STORE].all()
    return web.json_response({"replies": [_public(r) for r in replies], "variables": VARIABLES})


async def _draft(request: web.Request) -> Draft:
    body = await json_object(request)
    try:
        return check_draft(body)
    except CannedTemplateError as error:
        raise _refusal(web.HTTPBadRequest, str(error), fields={error.field: str(error)}) from None


async def _changed(request: web.Request) -> None:
    await request.app[HUB].publish({"type": "canned"})


@routes.post("/api/console/admin/canned")
@require_admin
async def admin_create(request: web.Request) -> web.Response:
    draft = await _draft(request)
    try:
        reply = request.app[CANNED_STORE].create(draft, agent_of(request).agent.email)
    except (DuplicateShortcutError, TooManyRepliesError) as error:
        return _error(409, str(error))
    logger.info("canned reply /%s created", reply["shortcut"])
    await _changed(request)
    return web.json_response(_public(reply), status=201)


def _reply_id(request: web.Request) -> int:
    raw = request.match_info["reply_id"]
    if not raw.isdigit() or len(raw) > 12:
        raise _refusal(web.HTTPNotFound, f"unknown canned reply {raw[:20]!r}")
    return int(raw)


@routes.put("/api/console/admin/canned/{reply_id}")
@require_admin
async def admin_update(request: web.Request) -> web.Response:
    reply_id = _reply_id(request)
    draft = await _draft(request)
    try:
        reply = request.app[CANNED_STORE].update(reply_id, draft, agent_of(request).agent.email)
    except CannedNotFoundError as error:
        return _error(404, str(error))
    except DuplicateShortcutError as error:
        return _error(409, str(error))
    logger.info("canned reply /%s edited", reply["shortcut"])
    await _changed(request)
    return web.json_response(_public(reply))


@routes.delete("/api/console/admin/canned/{reply_id}")
@require_admin
async def admin_delete(request: web.Request) -> web.Response:
    try:
        reply = request.app[CANNED_STORE].delete(_reply_id(request))
    except CannedNotFoundError as error:
        return _error(404, str(error))
    logger.info("canned reply /%s deleted", reply["shortcut"])
    await _changed(request)
    return web.json_response({"deleted": _public(reply)})
