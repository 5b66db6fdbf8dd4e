"""Canned replies in Debian's Chromium: the agent completes ``/…`` in the reply box (keyboard and mouse), the
filled-in text is sent and reaches (the fake) Rasa; a missing variable shows the error naming it; an admin edits
a reply on the admin page and the agent's console gets the new text. The bot service runs in-process with a
fake Rasa (no trained model needed)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from bot.settings import DEMO_ADMIN_EMAIL
from tests.bot.conftest import FakeRasa
from tests.browser import bot_service
from tests.browser.bot_service import TIMEOUT_MS, bot_settings, console_page, queue_handoff, serve_bot
from tests.browser.chromium import shot

pytestmark = pytest.mark.browser

BEN = {"id": "C-0002", "name": "Ben Okafor", "email": "ben.okafor@example.com"}
ORDER = {
    "number": "SD-100004",
    "status": "delivered",
    "total": "20.00 EUR",
    "created_at": "2026-11-01T10:00:00",
}
XSS = '<img src=x onerror="window.__xss=1">'


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, FakeRasa]]:
    rasa = FakeRasa()
    with serve_bot(bot_settings(tmp_path_factory.mktemp("canned")), rasa, sync=False) as url:
        yield url, rasa


browser = bot_service.browser  # closed before the service


def claim(agent: Any, handoff_id: str) -> None:
    agent.locator(f"#queued-list button[data-id='{handoff_id}']").click()
    agent.locator("#claim").click()
    agent.wait_for_selector("#reply-form:not([hidden])")


def sent_texts(rasa: FakeRasa, conversation_id: str) -> list[str]:
    return [
        event["text"]
        for cid, events in list(rasa.appended)
        for event in events
        if cid == conversation_id and event.get("metadata", {}).get("shopdesk_role") == "agent"
    ]


def wait_until(check: Any, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_the_agent_completes_a_shortcut_and_sends_the_filled_in_text(
    browser: Any, service: tuple[str, FakeRasa]
) -> None:
    url, rasa = service
    agent = console_page(browser, url)
    agent.wait_for_selector("body[data-live='true']")
    hid = queue_handoff(url, "canned-ben", {"customer": BEN, "orders": [ORDER], "cart": []})
    claim(agent, hid)
    box = agent.get_by_label("Reply to the shopper")
    suggestions = agent.get_by_role("listbox", name="Canned replies")

    box.press_sequentially("/re")
    suggestions.wait_for()
    options = suggestions.get_by_role("option")
    assert [options.nth(i).get_attribute("data-shortcut") for i in range(2)] == [
        "refund-time",
        "return-steps",
    ]
    assert options.first.get_attribute("aria-selected") == "true"
    assert box.get_attribute("aria-activedescendant") == options.first.get_attribute("id")
    shot(agent, "canned-00-suggestions")
    box.press("ArrowDown")
    assert options.nth(1).get_attribute("aria-selected") == "true"
    box.press("ArrowUp")
    box.press("ArrowUp")  # wraps to the last one
    assert options.last.get_attribute("aria-selected") == "true"
    box.press("Escape")
    assert suggestions.is_hidden() and box.input_value() == "/re"  # closed, nothing inserted, nothing sent
    assert sent_texts(rasa, "canned-ben") == []

    box.press_sequentially("t")  # "/ret": the list opens again
    agent.locator("#canned-suggestions [data-shortcut='return-steps'][aria-selected='true']").wait_for()
    box.press("Enter")  # inserts, does not send
    agent.wait_for_function("() => document.getElementById('reply-text').value.includes('SD-100004')")
    steps = box.input_value()
    assert steps.startswith("You can return order SD-100004 within 30 days")
    assert suggestions.is_hidden()
    assert sent_texts(rasa, "canned-ben") == []

    box.fill("")
    box.press_sequentially("/hel")
    agent.locator("#canned-suggestions [data-shortcut='hello']").click()  # the mouse works too
    agent.wait_for_function("() => document.getElementById('reply-text').value.startsWith('Hi Ben')")
    expected = "Hi Ben, this is Alex from the ShopDesk demo shop team. How can I help you today?"
    assert box.input_value() == expected
    box.press("End")
    box.press_sequentially(" (order SD-100004)")  # the agent edits before sending
    box.press("Enter")  # the list is closed: Enter sends as always
    wait_until(lambda: sent_texts(rasa, "canned-ben") != [], "the reply reached Rasa")
    assert sent_texts(rasa, "canned-ben") == [expected + " (order SD-100004)"]
    agent.locator("#transcript .line.agent", has_text="Hi Ben").wait_for()
    assert box.input_value() == ""
    shot(agent, "canned-01-sent")
    assert agent.errors == []


def test_a_missing_variable_shows_the_error_naming_it(browser: Any, service: tuple[str, FakeRasa]) -> None:
    url, rasa = service
    agent = console_page(browser, url)
    agent.wait_for_selector("body[data-live='true']")
    hid = queue_handoff(url, "canned-guest", {"customer": None, "orders": [], "cart": []})  # not verified
    claim(agent, hid)
    box = agent.get_by_label("Reply to the shopper")
    box.press_sequentially("/")  # the list is loaded once; later it opens without waiting for the network
    agent.locator("#canned-suggestions [data-shortcut='order-status']").wait_for()
    box.press("Escape")
    box.fill("")
    # an IME composing "/order-s": no list while it composes, and its Enter neither picks nor sends
    still_hidden = agent.evaluate(
        """async () => {
        const box = document.getElementById('reply-text');
        box.dispatchEvent(new CompositionEvent('compositionstart', {bubbles: true}));
        box.value = '/order-s';
        box.dispatchEvent(new Event('input', {bubbles: true}));
        box.dispatchEvent(new KeyboardEvent('keydown', {key: 'Enter', isComposing: true, bubbles: true}));
        await new Promise(resolve => setTimeout(resolve, 100));
        return document.getElementById('canned-suggestions').hidden;
    }"""
    )
    assert still_hidden
    agent.evaluate(
        "() => document.getElementById('reply-text').dispatchEvent(new CompositionEvent('compositionend', {bubbles: true}))"
    )
    agent.locator("#canned-suggestions [data-shortcut='order-status']").wait_for()  # opens once composed
    box.press("Tab")
    status = agent.locator("#status")
    agent.wait_for_function("() => document.getElementById('status').textContent.includes('needs')")
    assert "/order-status needs {order_id}, {order_status}" in (status.text_content() or "")
    assert box.input_value() == "/order-s"  # nothing inserted, nothing sent
    assert sent_texts(rasa, "canned-guest") == []
    shot(agent, "canned-02-missing-variable")
    assert agent.errors == []


def test_an_admin_edits_a_reply_and_the_console_uses_it(browser: Any, service: tuple[str, FakeRasa]) -> None:
    url, _ = service
    agent = console_page(browser, url)
    agent.wait_for_selector("body[data-live='true']")
    hid = queue_handoff(url, "canned-admin", {"customer": BEN, "orders": [ORDER], "cart": []})
    claim(agent, hid)
    box = agent.get_by_label("Reply to the shopper")
    box.press_sequentially("/by")  # the agent's console loads the list before the admin's edit
    agent.locator("#canned-suggestions [data-shortcut='bye']").wait_for()
    box.press("Escape")
    box.fill("")

    admin = console_page(browser, url, DEMO_ADMIN_EMAIL)
    admin.goto(url + "/console/admin/canned")
    admin.wait_for_selector("body[data-loaded='true']")
    admin.get_by_role("button", name="Edit /bye").click()
    admin.get_by_label("English text").fill("Bye {first_name}, thanks for shopping with us!")
    admin.get_by_label("Title").fill(XSS)
    admin.get_by_role("button", name="Save changes").click()
    row = admin.locator("#canned-rows tr[data-shortcut='bye']")
    row.locator("td.text-en", has_text="thanks for shopping").wait_for()
    assert row.locator("td.title").text_content() == XSS  # shown as text, never run
    assert "edited by admin@shopdesk.test" in (row.locator("td.origin").text_content() or "")
    # a bad variable is refused with the reason shown on the form
    admin.get_by_role("button", name="Edit /bye").click()
    admin.get_by_label("English text").fill("Bye {frist_name}")
    admin.get_by_role("button", name="Save changes").click()
    error = admin.get_by_role("alert")
    admin.wait_for_function("() => document.getElementById('canned-form-error').textContent.length > 0")
    assert "unknown variable {frist_name}" in (error.text_content() or "")
    admin.get_by_role("button", name="Cancel editing").click()
    # a Chinese-only reply is offered in an English conversation, marked as such
    admin.get_by_label("Shortcut").fill("zh-only")
    admin.get_by_label("Title").fill("Chinese only reply")
    admin.get_by_label("Chinese text (Simplified)").fill("{first_name}您好")
    admin.get_by_role("button", name="Add reply").click()
    admin.locator("#canned-rows tr[data-shortcut='zh-only']").wait_for()
    assert admin.evaluate("window.__xss") is None
    shot(admin, "canned-03-admin-page")

    box.press_sequentially("/by")  # the "canned" frame made the console reload its list
    agent.locator("#canned-suggestions [data-shortcut='bye']").wait_for()
    assert agent.locator("#canned-suggestions [data-shortcut='bye'] .canned-title").text_content() == XSS
    box.press("Enter")
    agent.wait_for_function("() => document.getElementById('reply-text').value.startsWith('Bye Ben')")
    assert box.input_value() == "Bye Ben, thanks for shopping with us!"
    box.fill("")
    box.press_sequentially("/zh-")
    only = agent.locator("#canned-suggestions [data-shortcut='zh-only'] .canned-only")
    assert only.text_content() == "Chinese only"
    assert agent.get_by_role("option", name="/zh-only, Chinese only reply (Chinese only)").count() == 1
    box.press("Enter")
    agent.wait_for_function("() => document.getElementById('reply-text').value === 'Ben您好'")
    assert "Chinese only" in (agent.locator("#status").text_content() or "")
    assert agent.evaluate("window.__xss") is None
    assert agent.errors == [] and admin.errors == []
