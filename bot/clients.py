"""Who is calling: the client address behind configured proxies, and its non-reversible id."""

from __future__ import annotations

from aiohttp import web

from bot.keys import SETTINGS
from bot.widget_session import client_id


def client_address(request: web.Request) -> str:
    """The peer address; behind a proxy in ``BOT_TRUSTED_PROXIES``, the last untrusted X-Forwarded-For hop.

    X-Forwarded-For is read only when the direct peer is a trusted proxy, so a client cannot choose its own
    address (and with it its rate-limit key) by sending the header.
    """
    trusted = request.app[SETTINGS].trusted_proxies
    address = request.remote or "?"
    if address not in trusted:
        return address
    hops = [hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",") if hop.strip()]
    for hop in reversed(hops):
        if hop not in trusted:
            return hop[:64]
    return address


def client_key(request: web.Request) -> str:
    """``client_address`` as a short keyed hash (what limits key on and what may be logged)."""
    return client_id(request.app[SETTINGS].widget_session_secret, client_address(request))
