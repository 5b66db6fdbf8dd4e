"""Typed application keys shared by the handlers."""

from __future__ import annotations

from aiohttp import web

from bot.agents_store import AgentsStore
from bot.hub import Hub
from bot.loginguard import LoginGuard
from bot.rasa_client import RasaApi
from bot.ratelimit import RateLimiter
from bot.settings import Settings
from bot.shopdb import ShopReader
from bot.store import HandoffStore

SETTINGS = web.AppKey("settings", Settings)
STORE = web.AppKey("store", HandoffStore)
RASA = web.AppKey("rasa", RasaApi)
HUB = web.AppKey("hub", Hub)
SHOP = web.AppKey("shop", ShopReader)
REPLY_LIMITER = web.AppKey("reply_limiter", RateLimiter)
LOGIN_GUARD = web.AppKey("login_guard", LoginGuard)
HISTORY_LIMITER = web.AppKey("history_limiter", RateLimiter)
SESSION_LIMITER = web.AppKey("session_limiter", RateLimiter)
AGENTS = web.AppKey("agents", AgentsStore)  # bot.admin: the roster admins manage
