"""``create_app(settings)``: the bot web service (shop page + widget, agent console, handoff API)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from bot import console, handoff_api, widget
from bot.errors import BotError, HandoffNotFoundError, HandoffStateError, RasaError, TicketNotFoundError
from bot.hub import Hub
from bot.keys import HISTORY_LIMITER, HUB, LOGIN_LIMITER, RASA, REPLY_LIMITER, SETTINGS, SHOP, STORE
from bot.rasa_client import RasaApi, RasaHttpClient
from bot.ratelimit import RateLimiter
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
        logger.warning("%s", error)
        return _error(502, f"the assistant is unreachable, nothing was sent ({error})")
    except BotError as error:
        logger.exception("bot error")
        return _error(500, str(error))


def security_middleware(
    settings: Settings,
) -> Middleware:
    socket = settings.socket_url
    ws_socket = socket.replace("http://", "ws://").replace("https://", "wss://")
    ws_self = settings.base_url.replace("http://", "ws://").replace("https://", "wss://")
    csp = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self' {ws_self} {socket} {ws_socket}; frame-ancestors 'none'; base-uri 'none'; "
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


def create_app(settings: Settings, rasa: RasaApi | None = None, *, sync: bool = True) -> web.Application:
    """The service; ``rasa`` replaces the HTTP client (tests), ``sync=False`` skips the tracker poller."""
    app = web.Application(
        middlewares=[security_middleware(settings), errors_middleware], client_max_size=MAX_BODY
    )
    app[SETTINGS] = settings
    app[HUB] = Hub()
    app[SHOP] = ShopReader(settings.shop_db_path)
    app[REPLY_LIMITER] = RateLimiter(*settings.agent_rate)
    app[LOGIN_LIMITER] = RateLimiter(10, 60.0)
    app[HISTORY_LIMITER] = RateLimiter(60, 60.0)

    async def resources(app: web.Application) -> AsyncIterator[None]:
        app[STORE] = HandoffStore(settings.db_path)
        client = None
        if rasa is None:
            client = RasaHttpClient(settings.rasa_url, settings.rasa_token, settings.rasa_output_channel)
            app[RASA] = client
        else:
            app[RASA] = rasa
        task = None
        if sync:
            poller = TrackerSync(app[STORE], app[RASA], app[HUB], settings.poll_interval_s)
            task = asyncio.create_task(poller.run())
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await app[HUB].close_all()
        if client is not None:
            await client.close()
        app[STORE].shutdown()

    app.cleanup_ctx.append(resources)
    app.add_routes(handoff_api.routes)
    app.add_routes(console.routes)
    app.add_routes(widget.routes)
    app.router.add_static("/static", STATIC, show_index=False)
    return app
