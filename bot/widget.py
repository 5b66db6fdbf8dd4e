"""The demo shop page with the chat widget, the widget's history endpoint and product images.

``/`` is the English shop page, ``/zh`` (or ``/?lang=zh``) the Chinese one (``<html lang="zh-CN">``); the
widget's strings in both languages travel in the page's widget config (bot.messages.WIDGET).
"""

from __future__ import annotations

import hashlib
import html
import logging
import re
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.clients import client_key
from bot.keys import HISTORY_LIMITER, RASA, SESSION_LIMITER, SETTINGS, SHOP, STORE
from bot.language import DEFAULT_LANGUAGE, Language, decided_language, normalize_language
from bot.messages import SHOP_PAGE, WIDGET
from bot.pages import json_for_script, render
from bot.shopdb import ShopReader
from bot.sync import as_object, describe_bot_event
from bot.widget_session import SESSION_ID_RE, new_session_id, valid_session_id
from shop.errors import ShopUnavailableError

logger = logging.getLogger(__name__)

routes = web.RouteTableDef()
SESSION_HEADER = "X-ShopDesk-Session"

ROOT = Path(__file__).resolve().parent.parent
SOCKET_IO_JS = ROOT / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"
PRODUCT_RE = re.compile(r"P-\d{4}")


@routes.get("/")
async def shop(request: web.Request) -> web.Response:
    return shop_page(request, normalize_language(request.query.get("lang")) or DEFAULT_LANGUAGE)


@routes.get("/zh")
async def shop_zh(request: web.Request) -> web.Response:
    return shop_page(request, "zh")


def shop_page(request: web.Request, language: Language) -> web.Response:
    settings = request.app[SETTINGS]
    config = {
        "socketUrl": settings.rasa_public_url.rstrip("/"),  # "" = this page's origin (our proxy)
        "socketPath": "/socket.io/",
        "maxChars": settings.max_message_chars,
        "csatIdleS": settings.csat_idle_s,  # the rating card after this much silence (?csat_idle_s= overrides)
        "strings": WIDGET,  # both languages: the widget follows the page, then the conversation
    }
    page = SHOP_PAGE[language]
    return render(
        "shop.html",
        raw={
            "widget_config": json_for_script(config),
            "featured": featured_html(request.app[SHOP], page["catalogue_pending"]),
            "intro": page["intro"],  # our own constant, with markup
        },
        html_lang=page["html_lang"],
        home_url=page["home_url"],
        title=page["title"],
        nav_label=page["nav_label"],
        nav_new=page["nav_new"],
        nav_outdoor=page["nav_outdoor"],
        nav_home=page["nav_home"],
        nav_help=page["nav_help"],
        heading=page["heading"],
        featured_label=page["featured_label"],
        other_language=page["other_language"],
        other_language_tag=page["other_language_tag"],
        other_language_url=page["other_language_url"],
    )


def featured_html(shop: ShopReader, pending: str = SHOP_PAGE["en"]["catalogue_pending"]) -> str:
    """The shop page's product tiles, from the order store; every value HTML-escaped."""
    try:
        products = shop.featured_products()
    except ShopUnavailableError:
        return f"<li>{html.escape(pending)}</li>"
    tiles = []
    for product in products:
        pid = html.escape(str(product["id"]), quote=True)
        title = html.escape(str(product["title"]))
        price = f"{product['price_minor'] / 100:.2f} {html.escape(str(product['currency']))}"
        tiles.append(
            f'<li><a href="/products/{pid}"><img src="/static/products/{pid}.svg" alt="">'
            f'<span>{title}</span><span class="price">{price}</span></a></li>'
        )
    return "\n      ".join(tiles)


@routes.get("/healthz")
async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


@routes.get("/static/vendor/socket.io.min.js")
async def socket_io_client(request: web.Request) -> web.StreamResponse:
    """socket.io-client 3.1.3 (the version rasa-webchat 1.0.1 pins), served from node_modules: no CDN."""
    if not SOCKET_IO_JS.exists():
        raise web.HTTPNotFound(text="socket.io-client is not installed: run `npm ci`")
    return web.FileResponse(SOCKET_IO_JS, headers={"Content-Type": "application/javascript"})


@routes.get("/static/products/{product_id}.svg")
async def product_image(request: web.Request) -> web.Response:
    """A generated placeholder picture per product (the demo catalog has no photos)."""
    product_id = request.match_info["product_id"]
    if not PRODUCT_RE.fullmatch(product_id):
        raise web.HTTPNotFound()
    hue = int(hashlib.sha256(product_id.encode()).hexdigest()[:4], 16) % 360
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" width="320" height="200" viewBox="0 0 320 200">'
        f'<rect width="320" height="200" fill="hsl({hue},55%,82%)"/>'
        f'<circle cx="160" cy="90" r="46" fill="hsl({hue},45%,55%)"/>'
        f'<text x="160" y="175" font-family="sans-serif" font-size="22" text-anchor="middle" fill="#333">'
        f"{html.escape(product_id)}</text></svg>"
    )
    return web.Response(text=svg, content_type="image/svg+xml", headers={"Cache-Control": "max-age=86400"})


@routes.get("/products/{product_id}")
async def product_page(request: web.Request) -> web.Response:
    product_id = request.match_info["product_id"]
    if not PRODUCT_RE.fullmatch(product_id):
        raise web.HTTPNotFound()
    return render("product.html", product_id=product_id)


def _json_error(status: type[web.HTTPException], message: str) -> web.HTTPException:
    return status(text=f'{{"error": "{message}"}}', content_type="application/json")


def widget_message(event: dict[str, Any]) -> dict[str, Any] | None:
    """A user/bot tracker event as the widget renders it (malformed metadata or data is ignored)."""
    metadata = as_object(event.get("metadata"))
    if event.get("event") == "user":
        text = str(event.get("text") or "")
        if text.startswith("/"):  # a button payload: the widget showed the button title already
            title = metadata.get("title")
            return {"role": "shopper", "text": str(title)} if title else None
        return {"role": "shopper", "text": text} if text else None
    if event.get("event") != "bot":
        return None
    data = as_object(event.get("data"))
    message: dict[str, Any] = {
        "role": metadata.get("shopdesk_role")
        if metadata.get("shopdesk_role") in ("agent", "notice")
        else "bot"
    }
    message["text"] = str(event.get("text") or "")
    if metadata.get("agent_name"):
        message["agent_name"] = str(metadata["agent_name"])
    if metadata.get("shopdesk_event") in ("queued", "joined", "left"):
        message["event"] = metadata["shopdesk_event"]
    for key in ("buttons", "quick_replies"):
        if isinstance(data.get(key), list) and data[key]:
            message["buttons"] = [
                {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
                for b in data[key]
                if isinstance(b, dict)
            ]
    if isinstance(data.get("image"), str) and data["image"]:
        message["image"] = data["image"]
    if isinstance(data.get("custom"), dict):
        message["custom"] = data["custom"]
    if not message["text"] and len(message) == 1:
        message["text"] = describe_bot_event(event)
    return message


@routes.post("/api/widget/session")
async def new_session(request: web.Request) -> web.Response:
    """A fresh server-signed session id for a widget that has none (or whose id was refused)."""
    if not request.app[SESSION_LIMITER].allow(client_key(request)):
        raise _json_error(web.HTTPTooManyRequests, "too many requests")
    return web.json_response({"session_id": new_session_id(request.app[SETTINGS].widget_session_secret)})


@routes.get("/api/widget/history")
async def history(request: web.Request) -> web.Response:
    """The conversation so far (the widget redraws it after a reload), whether a person is on it and the
    conversation's language (``bot.language``; null while nothing is known: the widget's strings follow it).

    The session id travels in the ``X-ShopDesk-Session`` header (not the URL, so no access log holds it) and
    must be one our servers signed (``bot.widget_session``): a guessed or client-chosen id reads nothing.
    """
    session_id = request.headers.get(SESSION_HEADER, "")
    if not SESSION_ID_RE.fullmatch(session_id):
        raise _json_error(web.HTTPBadRequest, "malformed session id")
    if not request.app[HISTORY_LIMITER].allow(client_key(request)):
        raise _json_error(web.HTTPTooManyRequests, "too many requests")
    if not valid_session_id(request.app[SETTINGS].widget_session_secret, session_id):
        raise _json_error(web.HTTPForbidden, "unknown session; ask for a new one")
    events = await request.app[RASA].tracker_events(session_id)
    messages = [m for m in (widget_message(e) for e in events if isinstance(e, dict)) if m is not None]
    handoff = request.app[STORE].open_handoff_for(session_id)
    mode = "bot" if handoff is None else ("agent" if handoff["status"] == "active" else "queued")
    decided, page = decided_language(reversed([e for e in events if isinstance(e, dict)]))
    language = decided or page  # None: nothing known yet, the widget keeps its page's language
    return web.json_response({"messages": messages[-200:], "mode": mode, "language": language})
