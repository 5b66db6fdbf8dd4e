"""Typing indicators in Debian's Chromium: a shopper's widget and an agent's console, each sees the other typing
and the indicator goes (on idle, on send, by itself without a refresh, when the other side's message arrives).

The bot service runs in-process with a fake Rasa (its tracker sync on) that holds the handoff: the widget's
socket.io has no Rasa behind the proxy here, which the typing channel (/widget/ws, the service's own) does not
need; the widget learns it waits for a person from its history after a reload, as after any reload.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from scripts.stack import free_port
from tests.bot.conftest import FakeRasa
from tests.browser import bot_service
from tests.browser.bot_service import bot_settings, console_page, new_page, queue_handoff, serve_bot
from tests.browser.chromium import shot

pytestmark = pytest.mark.browser

SHOPPER_TYPING = "The shopper is typing\u2026"
DRAFT = "refund approved, 42 EUR"


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, FakeRasa]]:
    settings = bot_settings(
        tmp_path_factory.mktemp("typing"),
        rasa_url=f"http://127.0.0.1:{free_port()}",  # nobody there: the widget's socket.io gets 502s
        poll_interval_s=0.1,
    )
    rasa = FakeRasa()
    with serve_bot(settings, rasa) as url:
        yield url, rasa


browser = bot_service.browser  # closed before the service, so no websocket holds its shutdown


def shopper_waiting(browser: Any, url: str, errors: list[str], query: str = "") -> tuple[Any, str]:
    """A shopper whose conversation waits for a person, the widget open and its typing socket ready."""
    page = new_page(browser, errors)
    page.goto(url + "/" + query)
    page.wait_for_selector("#shopdesk-widget[data-history='loaded']")
    session_id = page.evaluate("window.ShopDeskWidget.sessionId()")
    assert page.locator("#shopdesk-widget").get_attribute("data-typing-socket") is None  # with the bot: none
    queue_handoff(url, session_id)
    page.reload()  # the history now says "queued": the widget opens its typing socket
    page.wait_for_selector("#shopdesk-widget[data-mode='queued'][data-typing-socket='ready']")
    page.get_by_role("button", name="Open chat with ShopDesk support").click()
    return page, session_id


def handoff_of(agent: Any, session_id: str) -> str:
    return str(
        agent.evaluate(
            "sid => fetch('/api/console/queue').then(r => r.json())"
            ".then(q => q.queued.concat(q.active).find(i => i.conversation_id === sid).id)",
            session_id,
        )
    )


def freeze_typing(page: Any, session_id: str) -> None:
    """A second widget socket of the conversation sends one "typing: true" and then nothing (kept open)."""
    page.evaluate(
        """sid => new Promise(resolve => {
            const s = new WebSocket('ws://' + location.host + '/widget/ws');
            (window.__frozen = window.__frozen || []).push(s);
            s.onopen = () => s.send(JSON.stringify({type: 'hello', session_id: sid}));
            s.onmessage = () => { s.send(JSON.stringify({type: 'typing', typing: true})); resolve(); };
        })""",
        session_id,
    )


def test_each_side_sees_the_other_typing_and_it_goes(browser: Any, service: tuple[str, FakeRasa]) -> None:
    url, _ = service
    errors: list[str] = []
    agent = console_page(browser, url, errors=errors)
    shopper, session_id = shopper_waiting(browser, url, errors)
    hid = handoff_of(agent, session_id)
    box = shopper.get_by_label("Type your message")

    # queued: every console's queue list marks the conversation while the shopper types
    box.press_sequentially("where is my")
    mark = agent.locator(f"#queued-list button[data-id='{hid}'] .typing-mark")
    mark.wait_for()
    assert mark.text_content() == "typing\u2026"
    assert agent.locator("#typing-indicator").is_hidden()  # not the open conversation
    mark.wait_for(state="detached")  # idle: the widget said it stopped

    agent.locator(f"#queued-list button[data-id='{hid}']").click()
    agent.locator("#claim").click()
    agent.wait_for_selector("#reply-form:not([hidden])")
    indicator = agent.locator("#typing-indicator")
    box.press_sequentially(" parcel")
    indicator.wait_for(state="visible")
    assert indicator.text_content() == SHOPPER_TYPING
    assert "parcel" not in agent.locator("main").inner_text()  # never the draft
    shot(agent, "typing-01-console-sees-the-shopper")
    box.fill("")  # emptied: stopped at once
    indicator.wait_for(state="hidden")

    reply = agent.get_by_label("Reply to the shopper")
    reply.press_sequentially(DRAFT)
    shown = shopper.locator(".sd-agent-typing")
    shown.wait_for(state="visible")
    assert shown.text_content() == "Alex is typing\u2026"  # the demo agent's first name, not the draft
    assert DRAFT not in shopper.locator("#shopdesk-widget").inner_text()
    shot(shopper, "typing-02-widget-sees-the-agent")
    reply.press("Enter")  # sent: the agent stopped typing
    shown.wait_for(state="hidden")
    assert shopper.locator("#shopdesk-widget").get_attribute("data-agent-typing") == "false"

    # one "typing" from a socket that then says nothing more (a frozen tab): it goes by itself (6 s)
    freeze_typing(shopper, session_id)
    indicator.wait_for(state="visible")
    indicator.wait_for(state="hidden")
    assert errors == []
    agent.context.close()
    shopper.context.close()


def test_an_indicator_expires_without_a_refresh_and_a_message_clears_it(
    browser: Any, service: tuple[str, FakeRasa]
) -> None:
    url, rasa = service
    errors: list[str] = []
    agent = console_page(
        browser, url, errors=errors, query="?typing_expire_s=600"
    )  # only the message can clear it here
    shopper, session_id = shopper_waiting(browser, url, errors)
    hid = handoff_of(agent, session_id)
    agent.locator(f"#queued-list button[data-id='{hid}']").click()
    agent.locator("#claim").click()
    agent.wait_for_selector("#reply-form:not([hidden])")

    # a frozen tab's one "typing": the console shows it ...
    freeze_typing(shopper, session_id)
    indicator = agent.locator("#typing-indicator")
    indicator.wait_for(state="visible")
    # ... until the shopper's message arrives (the tracker sync pushes it to the console)
    rasa.user_says(session_id, "hello? anyone there")
    agent.wait_for_selector(".transcript .line.shopper:has-text('hello? anyone there')")
    assert indicator.is_hidden()

    # the agent's console sends one "typing" and nothing more: the widget's indicator goes by itself
    agent.evaluate("hid => window.ShopDeskConsole.send({type: 'typing', handoff_id: hid, typing: true})", hid)
    shown = shopper.locator(".sd-agent-typing")
    shown.wait_for(state="visible")
    shown.wait_for(state="hidden")  # EXPIRE_MS (6 s) later, no "false" was sent
    assert errors == []
    agent.context.close()
    shopper.context.close()
