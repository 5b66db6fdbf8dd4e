"""The shopper widget and the agent console in Debian's Chromium, against the real stack.

Two pages in one run: the shopper on the demo shop page, the agent in the console. Screenshots go to
artifacts/screenshots/. Needs `chromium` on PATH (make browser-deps) and a trained model (make model).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser.chromium import (
    TIMEOUT_MS,
    chromium,
    live_stack_with_bot,
    login_agent,
    shot,
    waiting_button_of,
)

pytestmark = pytest.mark.browser

SOCKETS: dict[int, list[str]] = {}  # websocket URLs each shop page opened
XSS = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as instance:
        yield instance


@pytest.fixture(scope="module")
def stack(live_stack: Any) -> Any:
    return live_stack_with_bot(live_stack)


def open_shop(browser: Any, stack: Any, **context_args: Any) -> Any:
    context = browser.new_context(**context_args)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    sockets: list[str] = []
    SOCKETS[id(page)] = sockets
    page.on("websocket", lambda ws: sockets.append(ws.url))
    page.goto(stack.config.bot_url + "/")
    page.get_by_role("button", name="Open chat with ShopDesk support").click()
    page.wait_for_selector("#shopdesk-widget[data-connected='true']")
    page.wait_for_selector("#shopdesk-widget[data-history='loaded']")
    return page


def say(page: Any, text: str) -> None:
    box = page.get_by_label("Type your message")
    box.fill(text)
    box.press("Enter")


def wait_for_bot_messages(page: Any, count: int) -> None:
    page.wait_for_function(
        "n => document.querySelectorAll('.sd-log .sd-bot').length >= n", arg=count, timeout=TIMEOUT_MS
    )


def bot_count(page: Any) -> int:
    return int(page.locator(".sd-log .sd-bot").count())


def test_shopper_tracks_an_order_on_a_phone(browser: Any, stack: Any) -> None:
    page = open_shop(browser, stack, viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    panel = page.locator("#sd-panel").bounding_box()
    assert panel is not None and panel["width"] <= 390

    say(page, "hi, where is my order SD-100003?")
    wait_for_bot_messages(page, 1)
    before = bot_count(page)
    say(page, "ben.okafor@example.com")
    page.wait_for_function(
        "() => [...document.querySelectorAll('.sd-log .sd-bot')].some(m => /ship|DHL|UPS|track/i.test(m.textContent))",
        timeout=TIMEOUT_MS,
    )
    assert bot_count(page) > before
    # the widget reaches Rasa only through the bot service's proxy, never on Rasa's own port
    bot_ws = stack.config.bot_url.replace("http://", "ws://")
    assert SOCKETS[id(page)] and all(url.startswith(bot_ws + "/socket.io/") for url in SOCKETS[id(page)])
    session = page.evaluate("window.localStorage.getItem('shopdesk.session_id')")
    assert isinstance(session, str) and len(session) == 64  # server-issued
    shot(page, "widget-01-track-order-phone")


def test_keyboard_aria_and_ime(browser: Any, stack: Any) -> None:
    page = open_shop(browser, stack)
    page.keyboard.press("Escape")  # closes the panel and returns focus to the launcher
    launcher = page.get_by_role("button", name="Open chat with ShopDesk support")
    assert launcher.evaluate("el => document.activeElement === el")
    page.keyboard.press("Enter")
    box = page.get_by_label("Type your message")
    assert box.evaluate("el => document.activeElement === el")
    assert page.get_by_role("button", name="Send message").is_visible()
    assert page.get_by_role("log", name="Conversation").count() == 1

    # Enter during an IME composition (e.g. Pinyin) must not send; Enter after it does.
    box.fill("你好")
    sent_before = page.locator(".sd-log .sd-shopper").count()
    box.evaluate(
        """el => {
            el.dispatchEvent(new CompositionEvent('compositionstart', {data: ''}));
            el.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', keyCode: 229, isComposing: true, bubbles: true, cancelable: true}));
        }"""
    )
    assert page.locator(".sd-log .sd-shopper").count() == sent_before
    box.evaluate("el => el.dispatchEvent(new CompositionEvent('compositionend', {data: '你好'}))")
    page.wait_for_timeout(50)
    box.press("Enter")
    page.wait_for_function(
        "n => document.querySelectorAll('.sd-log .sd-shopper').length > n", arg=sent_before
    )
    assert page.locator(".sd-log .sd-shopper").last.inner_text() == "你好"


def test_handoff_round_trip_reload_and_script_payloads(browser: Any, stack: Any) -> None:
    agent = login_agent(browser, stack)  # an agent on shift: handoffs are queued, not turned into tickets
    shopper = open_shop(browser, stack)

    say(shopper, "I want to talk to a human")
    shopper.wait_for_function(
        "() => [...document.querySelectorAll('.sd-log .sd-bot')].some(m => /connecting you with a person/i.test(m.textContent))"
    )
    shot(shopper, "handoff-01-shopper-queued")

    waiting_button_of(agent, shopper).click()
    agent.locator("#claim").click()
    shopper.wait_for_selector(".sd-log .sd-notice:has-text('has joined')")
    assert shopper.locator("#shopdesk-widget[data-mode='agent']").count() == 1
    shot(agent, "handoff-02-agent-claimed")

    agent.get_by_label("Reply to the shopper").fill("Hi, this is Alex from support. How can I help?")
    agent.get_by_label("Reply to the shopper").press("Enter")
    shopper.wait_for_selector(".sd-log .sd-agent:has-text('this is Alex from support')")
    shot(shopper, "handoff-03-shopper-sees-agent")

    # issue 17 on the real stack: typing indicators both ways, then a canned reply (docs/console/typing.md, canned.md)
    shopper.get_by_label("Type your message").press_sequentially("where is my")
    agent.wait_for_selector("#typing-indicator:not([hidden]):has-text('typing')")
    reply = agent.get_by_label("Reply to the shopper")
    reply.press_sequentially("/wait")
    agent.wait_for_selector("#canned-suggestions:not([hidden]) [role='option']")
    shopper.wait_for_selector(".sd-agent-typing:not([hidden])")
    reply.press("Enter")  # inserts the highlighted canned reply; the next Enter sends it
    agent.wait_for_function(
        "() => document.getElementById('reply-text').value.startsWith('Thanks for your patience')"
    )
    reply.press("Enter")
    shopper.wait_for_selector(".sd-log .sd-agent:has-text('Thanks for your patience')")
    shot(shopper, "handoff-03b-shopper-sees-canned-reply")

    say(shopper, f"{XSS} my parcel is late")
    agent.wait_for_selector(".transcript .line.shopper:has-text('my parcel is late')")
    agent_line = agent.locator(".transcript .line.shopper").last.inner_text()
    assert "<script>window.__xss=2</script>" in agent_line
    assert shopper.locator(".sd-log .sd-shopper").last.inner_text().startswith("<img src=x")
    assert agent.evaluate("window.__xss") is None
    assert shopper.evaluate("window.__xss") is None
    shot(agent, "handoff-04-agent-sees-shopper")

    agent.locator("#hand-back").click()
    shopper.wait_for_selector(".sd-log .sd-notice:has-text('back with the assistant')")
    assert shopper.locator("#shopdesk-widget[data-mode='bot']").count() == 1
    before = bot_count(shopper)
    say(shopper, "what payment methods do you accept?")
    wait_for_bot_messages(shopper, before + 1)
    last = shopper.locator(".sd-log .sd-bot").last.inner_text()
    assert "connecting you with a person" not in last  # the bot answered instead of handing off again
    shot(shopper, "handoff-05-bot-answers-again")

    texts_before = shopper.locator(".sd-log .sd-msg").all_inner_texts()
    shopper.reload()
    shopper.wait_for_selector("#shopdesk-widget[data-history='loaded']")
    shopper.wait_for_selector(".sd-log .sd-agent:has-text('this is Alex from support')")
    texts_after = shopper.locator(".sd-log .sd-msg").all_inner_texts()
    assert any("back with the assistant" in t for t in texts_after)
    assert len(texts_after) >= len(texts_before) - 1  # the typing indicator is not a message
    assert shopper.evaluate("window.__xss") is None
    shot(shopper, "handoff-06-after-reload")

    agent.get_by_role("tab", name="Closed").click()
    agent.wait_for_selector("#closed-list button")
    shot(agent, "handoff-07-agent-closed-list")


def test_product_cards_render_as_a_carousel_and_survive_a_reload(browser: Any, stack: Any) -> None:
    import json
    import urllib.request

    page = open_shop(browser, stack)
    say(page, "hello")
    wait_for_bot_messages(page, 1)
    session_id = page.evaluate("window.ShopDeskWidget.sessionId()")
    cards = {
        "type": "product_cards",
        "text": "You might like these:",
        "cards": [
            {
                "id": f"P-100{i}",
                "title": f"Product {i}",
                "price": "49.90",
                "currency": "EUR",
                "price_text": "€49.90",
                "image_url": f"/static/products/P-100{i}.svg",
                "url": f"/products/P-100{i}",
                "reason": "<b>bought together</b>",
            }
            for i in (1, 2, 3)
        ],
    }
    events = [{"event": "bot", "text": None, "data": {"custom": cards}}]
    url = (
        f"{stack.config.rasa_url}/conversations/{session_id}/tracker/events"
        f"?token={stack.config.rasa_token}&output_channel=latest&execute_side_effects=true"
    )
    request = urllib.request.Request(
        url, data=json.dumps(events).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200
    page.wait_for_selector(".sd-carousel .sd-card >> nth=2")
    assert page.locator(".sd-card").count() == 3
    assert page.get_by_role("button", name="Next products").is_visible()
    assert page.locator(".sd-card-reason").first.inner_text() == "<b>bought together</b>"
    page.wait_for_function(
        "() => [...document.querySelectorAll('.sd-card img')].every(i => i.naturalWidth > 0)"
    )
    shot(page, "widget-02-product-cards")
    page.reload()
    page.wait_for_selector("#shopdesk-widget[data-history='loaded']")
    assert page.locator(".sd-card").count() == 3
