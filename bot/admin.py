"""The console's admin area (admins only): ``/console/admin`` links canned replies, agents and the analytics
dashboard; ``/console/admin/agents`` manages the agents (``bot.agents_store``).

Pages answer an agent without the admin role with a 403 page, the JSON API with a 403 ``{"error": ...}``; nobody
logged in goes to the login page (pages) or gets a 401 (API). Every change needs the session's CSRF header.

``GET   /console/api/admin/agents``          → ``{"agents": [AgentRecord], "me": email}``
``POST  /console/api/admin/agents``          ``{email, name, role, password}`` → 201 the new AgentRecord
``PATCH /console/api/admin/agents/{email}``  ``{role?, disabled?}`` → the AgentRecord; disabling ends the
agent's sessions and closes their consoles.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from bot.agent_status import set_status
from bot.agents_store import (
    MIN_PASSWORD_CHARS,
    AgentExistsError,
    AgentInputError,
    AgentRuleError,
    AgentsStore,
    UnknownAgentError,
    check_password,
    clean_email,
    clean_name,
    clean_role,
    new_password_hash,
)
from bot.auth import Handler, admin_page, agent_of, find_agent, require_agent
from bot.keys import AGENTS, HUB, LOGIN_GUARD, SETTINGS, STORE
from bot.pages import render
from bot.validate import bad_request, json_object

logger = logging.getLogger(__name__)

routes = web.RouteTableDef()
ADMIN_AREA_ONLY = "the admin area is for admins: ask an admin to give you the admin role"


def setup(app: web.Application) -> None:
    app.add_routes(routes)
    app.cleanup_ctx.append(_roster)


async def _roster(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    roster = AgentsStore(settings.db_path, settings.agents, production=settings.production)
    app[AGENTS] = roster
    guard = app[LOGIN_GUARD]  # agents added here get the per-account login throttle too
    guard.accounts = guard.accounts | roster.emails()
    yield
    roster.shutdown()


def _json_error(status: type[web.HTTPException], message: str) -> web.HTTPException:
    return status(text=json.dumps({"error": message}), content_type="application/json")


def require_admin(handler: Handler) -> Handler:
    """As ``bot.auth.require_agent``, then a 403 JSON answer naming the admin area for an agent."""

    async def admins_only(request: web.Request) -> web.StreamResponse:
        if not agent_of(request).agent.is_admin:
            raise _json_error(web.HTTPForbidden, ADMIN_AREA_ONLY)
        return await handler(request)

    wrapped = require_agent(admins_only)
    wrapped.__name__ = handler.__name__
    return wrapped


# --- pages -----------------------------------------------------------------------------------------


@routes.get("/console/admin")
@admin_page(ADMIN_AREA_ONLY)
async def admin_home_page(request: web.Request) -> web.Response:
    return render("admin.html", agent_name=agent_of(request).agent.name)


@routes.get("/console/admin/agents")
@admin_page(ADMIN_AREA_ONLY)
async def agents_page(request: web.Request) -> web.Response:
    session = agent_of(request)
    return render(
        "admin_agents.html",
        agent_name=session.agent.name,
        agent_email=session.agent.email,
        csrf=session.csrf,
        min_password=MIN_PASSWORD_CHARS,
    )


# --- JSON API --------------------------------------------------------------------------------------


@routes.get("/console/api/admin/agents")
@require_admin
async def list_agents(request: web.Request) -> web.Response:
    return web.json_response({"agents": request.app[AGENTS].records(), "me": agent_of(request).agent.email})


def _fields(body: dict[str, Any], *checks: tuple[str, Any]) -> dict[str, Any]:
    """Runs every check so one answer names every bad field."""
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name, check in checks:
        try:
            values[name] = check(body.get(name))
        except AgentInputError as error:
            errors[error.field] = str(error)
    if errors:
        raise bad_request(errors)
    return values


@routes.post("/console/api/admin/agents")
@require_admin
async def add_agent(request: web.Request) -> web.Response:
    body = await json_object(request)
    values = _fields(
        body,
        ("email", clean_email),
        ("name", clean_name),
        ("role", lambda raw: clean_role("agent" if raw is None else raw)),
        ("password", check_password),
    )
    roster, admin = request.app[AGENTS], agent_of(request).agent
    if values["email"] in roster.emails():  # before the slow hash; the insert checks again
        raise _json_error(web.HTTPConflict, str(AgentExistsError(values["email"])))
    password_hash = await asyncio.get_running_loop().run_in_executor(
        None, new_password_hash, values["password"]
    )
    try:
        record = roster.add(values["email"], values["name"], values["role"], password_hash, admin.email)
    except AgentExistsError as error:
        raise _json_error(web.HTTPConflict, str(error)) from None
    except AgentInputError as error:
        raise bad_request({error.field: str(error)}) from None
    guard = request.app[LOGIN_GUARD]
    guard.accounts = guard.accounts | {record["email"]}
    logger.info("an admin added an agent (role %s)", record["role"])
    return web.json_response(record, status=201)


@routes.patch("/console/api/admin/agents/{email}")
@require_admin
async def change_agent(request: web.Request) -> web.Response:
    email = request.match_info["email"].strip().lower()
    body = await json_object(request)
    unknown = sorted(set(body) - {"role", "disabled"})
    errors: dict[str, str] = {name: "unknown field: send role and / or disabled" for name in unknown}
    role = None
    if "role" in body:
        try:
            role = clean_role(body["role"])
        except AgentInputError as error:
            errors["role"] = str(error)
    disabled = body.get("disabled")
    if disabled is not None and not isinstance(disabled, bool):
        errors["disabled"] = f"must be true or false (got {json.dumps(disabled)[:40]})"
    if not errors and role is None and disabled is None:
        errors["body"] = "nothing to change: send role and / or disabled"
    if errors:
        raise bad_request(errors)
    roster: AgentsStore = request.app[AGENTS]
    before = find_agent(request.app, email)  # enabled before this change: their conversations go back
    try:
        record = roster.update(email, agent_of(request).agent.email, role=role, disabled=disabled)
    except UnknownAgentError as error:
        raise _json_error(web.HTTPNotFound, str(error)) from None
    except AgentRuleError as error:
        raise _json_error(web.HTTPConflict, str(error)) from None
    if record["disabled"]:
        ended = request.app[STORE].delete_sessions_of(email)
        closed = await request.app[HUB].disconnect(email)
        requeued = await set_status(request.app, before, "offline", "disabled") if before else []
        logger.info(
            "an agent was disabled: %s sessions ended, %s consoles closed, %s conversations back in the queue",
            ended,
            closed,
            len(requeued),
        )
    await request.app[HUB].publish({"type": "presence"})  # consoles refresh who is there
    return web.json_response(record)
