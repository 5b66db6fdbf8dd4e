"""``create_app(settings)``: the bot web service (shop page + widget, agent console, handoff API)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from bot import (
    admin,
    canned_api,
    catalog_admin,
    console,
    csat,
    dashboard,
    handoff_api,
    proxy,
    risk_api,
    search,
    team,
    typing_indicator,
    widget,
)
from bot.broker_feed import FEED, BrokerFeed, safety_pass
from bot.csat_store import CsatStore
from bot.edge_feed import EDGE_LIMITS, EdgeLimits
from bot.errors import BotError, HandoffNotFoundError, HandoffStateError, RasaError, TicketNotFoundError
from bot.hub import Hub
from bot.keys import (
    HISTORY_LIMITER,
    HUB,
    LOGIN_GUARD,
    RASA,
    REPLY_LIMITER,
    SESSION_LIMITER,
    SETTINGS,
    SHOP,
    STORE,
)
from bot.loginguard import LoginGuard
from bot.periodic import run_every
from bot.queue_timeout import QueueTimeout
from bot.rasa_client import RasaApi, RasaHttpClient
from bot.ratelimit import RateLimiter
from bot.reply_edge import SHOPPER_SOCKETS, ShopperSockets
from bot.settings import Settings
from bot.shopdb import ShopReader
from bot.store import HandoffStore
from bot.sync import TrackerSync

logger = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
MAX_BODY = 256 * 1024


def _error(http_status: int, message: str, **extra: object) -> web.Response:
    return web.json_response({"error": message, **extra}, status=http_status)


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Package errors become 404 / 409 / 502 JSON answers that name the bad value."""
    try:
        return await handler(request)
    except (HandoffNotFoundError, TicketNotFoundError) as error:
        return _error(404, str(error))
    except HandoffStateError as error:
        return _error(409, str(error), status=error.status)
    except RasaError as error:
        logger.warning("Rasa call failed (HTTP %s)", error.status)
        logger.debug("%s", error)
        return _error(502, f"the assistant is unreachable, nothing was sent ({error})")
    except BotError as error:
        logger.exception("bot error")
        return _error(500, str(error))


def security_middleware(
    settings: Settings,
) -> Middleware:
    ws_self = settings.base_url.replace("http://", "ws://").replace("https://", "wss://")
    connect = ["'self'", ws_self]
    if settings.rasa_public_url:  # the widget talks to Rasa elsewhere (not through our proxy)
        socket = settings.socket_url
        connect += [socket, socket.replace("http://", "ws://").replace("https://", "wss://")]
    csp = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src {' '.join(connect)}; frame-ancestors 'none'; base-uri 'none'; "
        "form-action 'self'"
    )

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        response.headers.setdefault("Content-Security-Policy", csp)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if request.path.startswith(("/api/", "/console")):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    return middleware


async def _close_consoles(app: web.Application) -> None:
    """Agents' console sockets are closed when the service shuts down (going away), before aiohttp waits for
    open handlers: a console left open would hold the shutdown for its whole timeout."""
    await app[HUB].close_all()


def create_app(settings: Settings, rasa: RasaApi | None = None, *, sync: bool = True) -> web.Application:
    """The service; ``rasa`` replaces the HTTP client (tests), ``sync=False`` skips the tracker poller (and the
    broker feed, with ``CONSOLE_FEED=broker``)."""
    app = web.Application(
        middlewares=[security_middleware(settings), errors_middleware], client_max_size=MAX_BODY
    )
    app[SETTINGS] = settings
    app[HUB] = Hub()
    app[SHOP] = ShopReader(settings.shop_db_path, settings.shop_backend)
    app[REPLY_LIMITER] = RateLimiter(*settings.agent_rate)
    app[LOGIN_GUARD] = LoginGuard(frozenset(agent.email for agent in settings.agents))
    app[HISTORY_LIMITER] = RateLimiter(60, 60.0)
    app[SESSION_LIMITER] = RateLimiter(20, 60.0)
    app[csat.CSAT_LIMITER] = RateLimiter(10, 60.0)
    app[EDGE_LIMITS] = EdgeLimits()  # the channel's rate budgets, mirrored by the proxy's edge feed
    app[SHOPPER_SOCKETS] = ShopperSockets()  # the proxied widget sockets an agent's reply is pushed to

    async def resources(app: web.Application) -> AsyncIterator[None]:
        app[STORE] = HandoffStore(settings.db_path)
        app[csat.CSAT_STORE] = CsatStore(settings.db_path)  # its own table in the handoff service's file
        client = None
        if rasa is None:
            client = RasaHttpClient(settings.rasa_url, settings.rasa_token, settings.rasa_output_channel)
            app[RASA] = client
        else:
            app[RASA] = rasa
        app[proxy.UPSTREAM] = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=90),
            auto_decompress=True,
            cookie_jar=aiohttp.DummyCookieJar(),
        )
        tasks = []
        if sync:
            poller = TrackerSync(app[STORE], app[RASA], app[HUB], settings.poll_interval_s)
            if settings.feed.mode == "broker":  # RabbitMQ feeds the consoles; the poll is a slow safety pass
                app[FEED] = BrokerFeed(settings.feed, poller, app[STORE])
                tasks.append(asyncio.create_task(app[FEED].run()))
                if settings.feed.safety_interval_s > 0:
                    tasks.append(asyncio.create_task(safety_pass(poller, settings.feed.safety_interval_s)))
            else:
                tasks.append(asyncio.create_task(poller.run()))
            if settings.handoff_queue_timeout_s > 0:
                expiry = QueueTimeout(app[STORE], app[RASA], app[HUB], settings.handoff_queue_timeout_s)
                tasks.append(asyncio.create_task(expiry.run()))
            writer = csat.CsatTrackerWriter(app[csat.CSAT_STORE], app[RASA])
            tasks.append(
                asyncio.create_task(run_every(settings.csat_retry_interval_s, writer.retry_pending, "csat"))
            )
        yield
        for task in tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await app[proxy.UPSTREAM].close()
        if client is not None:
            await client.close()
        app[csat.CSAT_STORE].shutdown()
        app[STORE].shutdown()

    app.cleanup_ctx.append(resources)
    app.on_shutdown.append(_close_consoles)
    app.add_routes(handoff_api.routes)
    app.add_routes(console.routes)
    dashboard.setup(app)  # the analytics dashboard (admins): /console/dashboard, /console/api/analytics/*
    canned_api.setup(app)  # canned replies: /api/console/canned*, the admins' /console/admin/canned
    admin.setup(app)  # the admin area (admins): /console/admin, agent management, the agent roster
    catalog_admin.setup(app)  # catalog import (admins): /console/api/admin/catalog/import
    risk_api.setup(app)  # refund and return risk signals: /api/console/conversations/{id}/risk
    typing_indicator.setup(app)  # typing indicators both ways: /widget/ws, the console's "typing" frames
    search.setup(app)  # search over closed conversations and tickets: /api/console/search
    team.setup(app)  # notes, transfer, agent status, auto-assignment (docs/console/team.md)
    app.add_routes(widget.routes)
    app.add_routes(csat.routes)
    app.add_routes(proxy.routes)
    app.router.add_static("/static", STATIC, show_index=False)
    return app
