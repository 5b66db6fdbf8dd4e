"""A reverse proxy for the only two Rasa paths browsers need: ``/socket.io/`` and ``/webhooks/``.

The widget talks to this service (same origin) and never to Rasa, so Rasa's port — and with it its whole HTTP
API (trackers, models, ``/conversations/*/execute``) — need not be reachable from browsers. Socket.io's
long-polling is forwarded as plain HTTP, its websocket transport frame by frame. What goes upstream:

- only a few request headers (``Origin`` — the Rasa channel checks it —, ``Content-Type``, ``Accept``,
  ``User-Agent``, ``Accept-Language``); never the console's cookies or an ``Authorization`` header;
- ``X-ShopDesk-Client``: the browser's client id (a keyed hash of its address, see ``bot.clients``) signed with
  ``WIDGET_SESSION_SECRET``, so the Rasa channels can key limits and ``shopdesk_client`` on the real client
  rather than on this proxy; a client-sent header of that name is replaced;
- bodies of at most ``MAX_PROXY_BODY`` bytes (413 above), websocket frames of at most ``MAX_FRAME`` bytes;
- on the websocket transport, each socket's frames pass an ``EdgeTap`` (``bot.edge_feed``): a handed-off
  shopper's line reaches the agents' consoles as it is relayed, not after Rasa has handled it; once Rasa has
  confirmed the socket's session, the socket is registered (``bot.reply_edge``) so an agent's reply is pushed
  to it at once. Frames to a browser go out one at a time: relayed and pushed frames never interleave.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import aiohttp
from aiohttp import WSMsgType, web

from bot.clients import client_key
from bot.edge_feed import EdgeTap
from bot.keys import SETTINGS
from bot.reply_edge import SHOPPER_SOCKETS, BrowserSocket
from bot.widget_session import CLIENT_HEADER, signed_client

logger = logging.getLogger(__name__)

routes = web.RouteTableDef()

MAX_PROXY_BODY = 64 * 1024
MAX_FRAME = 64 * 1024
FORWARDED_REQUEST_HEADERS = ("Origin", "Content-Type", "Accept", "User-Agent", "Accept-Language")
DROPPED_RESPONSE_HEADERS = frozenset(
    h.lower()
    for h in (
        "Connection",
        "Keep-Alive",
        "Transfer-Encoding",
        "Content-Length",
        "Content-Encoding",
        "Upgrade",
        "Server",
        "Date",
        "Set-Cookie",
    )
)
UPSTREAM = web.AppKey("proxy_session", aiohttp.ClientSession)


def _upstream_headers(request: web.Request) -> dict[str, str]:
    headers = {name: request.headers[name] for name in FORWARDED_REQUEST_HEADERS if name in request.headers}
    secret = request.app[SETTINGS].widget_session_secret
    headers[CLIENT_HEADER] = signed_client(secret, client_key(request))
    return headers


def _bad_gateway() -> web.Response:
    return web.json_response({"error": "the assistant is unreachable; try again in a moment"}, status=502)


async def _forward_http(request: web.Request) -> web.StreamResponse:
    if (request.content_length or 0) > MAX_PROXY_BODY:
        raise web.HTTPRequestEntityTooLarge(MAX_PROXY_BODY, request.content_length or 0)
    chunks: list[bytes] = []
    size = 0
    while chunk := await request.content.read(MAX_PROXY_BODY + 1 - size):
        chunks.append(chunk)
        size += len(chunk)
        if size > MAX_PROXY_BODY:  # a chunked body without Content-Length
            raise web.HTTPRequestEntityTooLarge(MAX_PROXY_BODY, size)
    body = b"".join(chunks)
    url = request.app[SETTINGS].rasa_url.rstrip("/") + request.rel_url.raw_path_qs
    try:
        async with request.app[UPSTREAM].request(
            request.method, url, headers=_upstream_headers(request), data=body, allow_redirects=False
        ) as upstream:
            payload = await upstream.read()
            headers = {k: v for k, v in upstream.headers.items() if k.lower() not in DROPPED_RESPONSE_HEADERS}
            return web.Response(status=upstream.status, body=payload, headers=headers)
    except (aiohttp.ClientError, TimeoutError) as error:
        logger.warning("proxy to Rasa failed: %s", type(error).__name__)
        return _bad_gateway()


async def _pump(
    source: web.WebSocketResponse | aiohttp.ClientWebSocketResponse,
    target: object,
    relay_text: Callable[[str], Awaitable[None]],
) -> None:
    async for frame in source:
        if frame.type == WSMsgType.TEXT:
            await relay_text(frame.data)
        elif frame.type == WSMsgType.BINARY:
            await target.send_bytes(frame.data)  # type: ignore[attr-defined]
        else:  # CLOSE / ERROR
            break


async def _forward_websocket(request: web.Request) -> web.StreamResponse:
    base = request.app[SETTINGS].rasa_url.rstrip("/")
    url = base.replace("http://", "ws://", 1).replace("https://", "wss://", 1) + request.rel_url.raw_path_qs
    try:
        upstream = await request.app[UPSTREAM].ws_connect(
            url, headers=_upstream_headers(request), max_msg_size=MAX_FRAME, autoping=True
        )
    except (aiohttp.ClientError, TimeoutError) as error:
        # the Rasa channel refuses a foreign Origin by failing the handshake: pass that on as a refusal
        status = getattr(error, "status", None)
        if isinstance(status, int) and 400 <= status < 500:
            raise web.HTTPForbidden(text='{"error": "refused"}', content_type="application/json") from None
        logger.warning("websocket proxy to Rasa failed: %s", type(error).__name__)
        return _bad_gateway()
    browser = web.WebSocketResponse(max_msg_size=MAX_FRAME, autoping=True)
    await browser.prepare(request)
    tap = EdgeTap(request.app, client_key(request), MAX_FRAME)
    socket = BrowserSocket(browser.send_str, lambda: browser.closed)
    sockets = request.app[SHOPPER_SOCKETS]

    async def to_rasa(data: str) -> None:
        await tap.from_browser(data, upstream.send_str)

    async def to_browser(data: str) -> None:
        tap.from_rasa(data)
        # once Rasa confirmed the socket's session, an agent's reply may be pushed here (bot.reply_edge)
        if tap.session_id is not None:
            sockets.bind(socket, tap.session_id)
        await socket.send(data)

    tasks = [
        asyncio.create_task(_pump(browser, upstream, to_rasa)),
        asyncio.create_task(_pump(upstream, browser, to_browser)),
    ]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        sockets.drop(socket)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await upstream.close()
        await browser.close()
    return browser


@routes.route("*", "/socket.io/{tail:.*}")
async def socket_io(request: web.Request) -> web.StreamResponse:
    if request.headers.get("Upgrade", "").lower() == "websocket":
        return await _forward_websocket(request)
    return await _forward_http(request)


@routes.route("*", "/webhooks/{tail:.*}")
async def webhooks(request: web.Request) -> web.StreamResponse:
    return await _forward_http(request)
