"""Debian's Chromium under Playwright for the browser tests: launch flags, timeouts and screenshots."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"
TIMEOUT_MS = 45_000  # the Rasa server shares two CPU cores with the rest of the stack
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@contextmanager
def chromium() -> Iterator[Any]:
    """A launched Chromium (``playwright install`` is never used); skips the test when it is not installed."""
    executable = shutil.which("chromium")
    if executable is None:
        pytest.skip(
            "chromium is not installed: run `make browser-deps` (apt-get install chromium chromium-driver)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=executable, args=ARGS)
        try:
            yield instance
        finally:
            instance.close()


def live_stack_with_bot(live_stack: Any) -> Any:
    if not live_stack.config.with_bot:
        pytest.skip("the live stack was started without the bot web service")
    return live_stack


def shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def login_agent(browser: Any, stack: Any) -> Any:
    """The demo agent logged in to the console, its live websocket connected."""
    page = browser.new_context().new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(stack.config.bot_url + "/console")
    page.get_by_label("Email").fill("agent@shopdesk.test")
    page.get_by_label("Password").fill("shopdesk-demo")
    page.get_by_role("button", name="Log in").click()
    page.wait_for_selector("body[data-live='true']")
    return page


def waiting_button_of(agent: Any, shopper: Any) -> Any:
    """The agent console's queue button of the shopper page's own conversation (matched by the widget's session
    id through the console API), not merely the first one: on the shared live stack an earlier test's handoff
    may still wait, and the queue puts the longest-waiting / sourest first."""
    session_id = shopper.evaluate("window.ShopDeskWidget.sessionId()")
    handoff_id = agent.wait_for_function(
        """sid => fetch('/api/console/queue', {credentials: 'same-origin'}).then(r => r.json())
             .then(q => (q.queued.find(h => h.conversation_id === sid) || {}).id || null)""",
        arg=session_id,
        polling=500,
        timeout=TIMEOUT_MS,
    ).json_value()
    button = agent.locator(f"#queued-list button[data-id='{handoff_id}']")
    button.wait_for()
    return button
