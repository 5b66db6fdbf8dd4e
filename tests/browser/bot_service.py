"""The bot web service on a free port, in a thread of its own, for browser tests that need no Rasa (a fake one),
and what those tests share: its Settings, the Chromium fixture, queueing a handoff, a logged-in console page."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from bot.app import create_app
from bot.settings import DEMO_AGENT_EMAIL, DEMO_AGENT_PASSWORD, Settings, demo_agents
from scripts.stack import free_port
from tests.browser.chromium import chromium


@contextmanager
def serve_bot(settings: Settings, rasa: Any, *, sync: bool = True) -> Iterator[str]:
    """Serve ``create_app(settings, rasa)`` on a free port (``settings.port`` is replaced); yields its base URL.
    Close every browser that talks to it first, so no console websocket holds its shutdown."""
    port = free_port()
    runner = web.AppRunner(create_app(dataclasses.replace(settings, port=port), rasa=rasa, sync=sync))
    loop = asyncio.new_event_loop()
    started = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert started.wait(30), "the bot service did not start"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(30)


# --- what the browser tests of a thread-served service share ------------------------------------------------

TIMEOUT_MS = 20_000  # Playwright's default per page: the service runs in-process, nothing slow behind it
HANDOFF_AUTH = {"Authorization": "Bearer dev-handoff-token"}  # the action server's bearer token (dev default)


def bot_settings(tmp: Path, **overrides: Any) -> Settings:
    """The Settings of a thread-served service: its handoff and shop DBs under ``tmp``, the demo agents, the port
    left to ``serve_bot``; ``overrides`` are further Settings fields (e.g. ``poll_interval_s``)."""
    return Settings(
        port=0, db_path=tmp / "handoff.db", shop_db_path=tmp / "shop.db", agents=demo_agents(), **overrides
    )


@pytest.fixture(scope="module")
def browser(service: Any) -> Iterator[Any]:
    """Chromium for a module's tests; it asks for the module's ``service`` fixture so that it is closed first and
    no console websocket holds the service's shutdown. A module uses it by importing it."""
    with chromium() as instance:
        yield instance


def post_json(url: str, body: Any, headers: dict[str, str] | None = None, *, timeout: float = 60) -> Any:
    """POST ``body`` as JSON to ``url`` (``headers`` added); the answer's JSON. An HTTP error raises."""
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json", **(headers or {})}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.load(response)


def queue_handoff(
    url: str,
    conversation_id: str,
    context: dict[str, Any] | None = None,
    *,
    transcript: list[dict[str, Any]] | None = None,
    timeout: float = 60,
) -> str:
    """Queue a handoff as the action server does (POST /api/handoff with the dev bearer token); its id. The
    conversation waits for a person (an agent is logged in), so the answer must say "queued"."""
    body = {
        "conversation_id": conversation_id,
        "reason": "contact_human_agent",
        "transcript": transcript or [],
        "context": context or {},
    }
    reply = post_json(url + "/api/handoff", body, HANDOFF_AUTH, timeout=timeout)
    assert reply["status"] == "queued", reply
    return str(reply["handoff_id"])


def new_page(browser: Any, errors: list[str] | None = None) -> Any:
    """A page in a new browser context (its own cookies); its uncaught errors go to ``errors`` (a new list when
    none is given, so pages can share one), which is also ``page.errors``."""
    page = browser.new_context().new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.errors = [] if errors is None else errors
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    return page


def console_page(
    browser: Any,
    url: str,
    email: str = DEMO_AGENT_EMAIL,
    *,
    errors: list[str] | None = None,
    keyboard: bool = False,
    query: str = "",
) -> Any:
    """A console page (``new_page``) logged in as ``email`` with the demo password, its live websocket connected.
    ``keyboard``: log in by typing only (the login form's email field must have the focus); ``query``: open
    ``/console<query>`` after logging in (e.g. ``?typing_expire_s=600``)."""
    page = new_page(browser, errors)
    page.goto(url + "/console")
    if keyboard:
        page.wait_for_function("() => document.activeElement && document.activeElement.id === 'email'")
        page.keyboard.type(email)
        page.keyboard.press("Tab")
        page.keyboard.type(DEMO_AGENT_PASSWORD)
        page.keyboard.press("Enter")
    else:
        page.get_by_label("Email").fill(email)
        page.get_by_label("Password").fill(DEMO_AGENT_PASSWORD)
        page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/console")
    if query:
        page.goto(url + "/console" + query)
    page.wait_for_selector("body[data-live='true']")
    return page
