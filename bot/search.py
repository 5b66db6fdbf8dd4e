"""``GET /api/console/search?q=…&kind=all|conversation|ticket&limit=``: closed conversations and tickets.

Agents and admins. ``q`` is an order number (any form), an email, or words (``bot.search_query``); an order
number or email nobody's document has is searched as words too. Each result carries its kind and id (to open
it: ``GET /api/console/conversations/{id}`` or ``/api/console/tickets/{id}``), the customer, when it closed or
was created, its outcome — read now from the handoff store, so a ticket resolved a second ago says so — (handed
back by the agent, timed out in the queue, ticket open or resolved; the conversation's CSAT rating when the
shopper gave one) and a snippet whose matches are ``[start, end)`` code-point ranges.

Answers 400 with ``{"error", "fields": {name: why}}`` for an empty, too short (under 2 characters) or too long
(over 200) query, a ``kind`` not in all / conversation / ticket, a ``limit`` not an integer from 1 to 100.

``setup(app)`` opens the index (``bot.search_index``, its tables in the handoff DB) and runs its catch-up every
``SEARCH_CATCHUP_INTERVAL_S`` in a worker thread; each query catches up first anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from bot.auth import find_agent, require_agent
from bot.csat import CSAT_STORE
from bot.errors import HandoffNotFoundError, TicketNotFoundError
from bot.keys import SETTINGS, STORE
from bot.periodic import run_every
from bot.search_index import Hit, SearchIndex
from bot.search_query import Query, QueryError, as_text, parse, snippet
from bot.validate import bad_request

logger = logging.getLogger(__name__)

routes = web.RouteTableDef()
SEARCH_INDEX = web.AppKey("search_index", SearchIndex)
KIND_CHOICES = ("all", "conversation", "ticket")
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
TIMED_OUT = " (timed out)"  # what HandoffStore.expire appends to the reason


def setup(app: web.Application) -> None:
    app.cleanup_ctx.append(_index)
    app.add_routes(routes)


async def _index(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    index = app[SEARCH_INDEX] = SearchIndex(settings.db_path)
    loop = asyncio.get_running_loop()

    async def catch_up() -> None:
        await loop.run_in_executor(None, index.catch_up)

    task = None
    if settings.search_catchup_interval_s > 0:
        task = asyncio.create_task(run_every(settings.search_catchup_interval_s, catch_up, "search index"))
    yield
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await loop.run_in_executor(None, index.shutdown)  # waits for a catch-up in flight


def _options(request: web.Request) -> tuple[Query, str, int]:
    errors: dict[str, str] = {}
    query = None
    try:
        query = parse(request.query.get("q"))
    except QueryError as error:
        errors[error.field] = str(error)
    kind = request.query.get("kind", "all")
    if kind not in KIND_CHOICES:
        errors["kind"] = f"{kind[:40]!r} is not one of {', '.join(KIND_CHOICES)}"
    raw_limit = request.query.get("limit", str(DEFAULT_LIMIT))
    limit = int(raw_limit) if raw_limit.isascii() and raw_limit.isdigit() and len(raw_limit) < 5 else 0
    if not 1 <= limit <= MAX_LIMIT:
        errors["limit"] = f"{raw_limit[:20]!r} is not an integer from 1 to {MAX_LIMIT}"
    if errors or query is None:
        raise bad_request(errors)
    return query, kind, limit


def _agent_name(request: web.Request, email: str | None) -> str | None:
    if not email:
        return None
    agent = find_agent(request.app, email)
    return agent.name if agent else email


def _conversation(request: web.Request, hit: Hit) -> dict[str, Any] | None:
    try:
        handoff = request.app[STORE].get(hit.ref)
    except HandoffNotFoundError:
        return None
    if handoff["status"] != "closed":  # put back in the queue since it was indexed
        return None
    if handoff["agent_name"]:
        code, text = "handed_back", f"handed back by {handoff['agent_name']}"
    elif handoff["reason"].endswith(TIMED_OUT):
        code, text = "timed_out", "timed out in the queue"
    else:
        code, text = "closed", "closed"
    ratings = [
        r
        for r in request.app[CSAT_STORE].for_conversation(handoff["conversation_id"])
        if r["handoff_id"] == handoff["id"]
    ]
    return {
        "status": "closed",
        "when": handoff["closed_at"],
        "language": handoff["language"],
        "reason": handoff["reason"].removesuffix(TIMED_OUT),
        "outcome": {
            "code": code,
            "text": text,
            "agent": handoff["agent_name"],
            "csat": ratings[-1]["rating"] if ratings else None,
        },
    }


def _ticket(request: web.Request, hit: Hit) -> dict[str, Any] | None:
    try:
        ticket = request.app[STORE].get_ticket(hit.ref)
    except TicketNotFoundError:
        return None
    resolver = _agent_name(request, ticket["resolved_by"])
    resolved = ticket["status"] == "resolved"
    return {
        "status": ticket["status"],
        "when": ticket["created_at"],
        "language": None,
        "reason": "",
        "outcome": {
            "code": "resolved" if resolved else "open",
            "text": f"resolved by {resolver}" if resolved and resolver else ticket["status"],
            "agent": resolver,
            "csat": None,
        },
    }


def result(request: web.Request, hit: Hit, query: Query) -> dict[str, Any] | None:
    """A hit as the console shows it; None when its conversation is no longer closed."""
    now = _conversation(request, hit) if hit.kind == "conversation" else _ticket(request, hit)
    if now is None:
        return None
    return {
        "kind": hit.kind,
        "id": hit.ref,
        "customer": {"name": hit.customer_name or None, "email": hit.customer_email or None},
        **now,
        "snippet": snippet(hit.lines, query),
    }


@routes.get("/api/console/search")
@require_agent
async def search(request: web.Request) -> web.Response:
    query, kind, limit = _options(request)
    index = request.app[SEARCH_INDEX]
    loop = asyncio.get_running_loop()
    hits = await loop.run_in_executor(None, index.search, query, kind, limit)
    if not hits and query.matched_by != "text":  # an order number or email nobody had: words, then
        query = as_text(query.text)
        again = functools.partial(index.search, query, kind, limit, catch_up=False)
        hits = await loop.run_in_executor(None, again)
    results = [found for hit in hits if (found := result(request, hit, query)) is not None]
    return web.json_response(
        {
            "query": query.text,
            "kind": kind,
            "matched_by": query.matched_by,
            "key": query.key.partition(":")[2] or None,
            "results": results,
        }
    )
