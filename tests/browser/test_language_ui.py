"""The widget's and the console's language logic in Debian's Chromium, without the Rasa stack: the bot service
runs in-process with a fake Rasa (its tracker sync on), and socket.io-client is replaced by a stub the test
drives (``window.__fire``), so this needs no trained model. The live round trip in Chinese is
tests/browser/test_zh_widget.py."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.messages import WIDGET
from bot.settings import Settings, demo_agents
from tests.bot.conftest import FakeRasa
from tests.browser.bot_service import serve_bot
from tests.browser.chromium import chromium

pytestmark = pytest.mark.browser

TIMEOUT_MS = 20_000
EN, ZH = WIDGET["en"], WIDGET["zh"]
# socket.io-client stand-in: records what the widget emits, confirms sessions, lets the test fire events
FAKE_SOCKET_IO = """
window.__emitted = [];
window.io = function () {
  var handlers = {};
  window.__fire = function (name, data) { handlers[name](data); };
  return {
    on: function (name, handler) { handlers[name] = handler; },
    emit: function (name, data) {
      window.__emitted.push([name, data]);
      if (name === "session_request") { setTimeout(function () { handlers.session_confirm(); }, 0); }
    },
    connect: function () { setTimeout(function () { handlers.connect(); }, 0); }
  };
};
"""
STATE = """() => ({
  lang: document.getElementById("shopdesk-widget").getAttribute("data-lang"),
  placeholder: document.querySelector(".sd-input").placeholder,
  launcher: document.querySelector(".sd-launcher").getAttribute("aria-label"),
  send: document.querySelector(".sd-send").textContent,
  banner: document.querySelector(".sd-banner").textContent
})"""


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, FakeRasa]]:
    """The bot service on a free port in a thread of its own, with a fake Rasa."""
    tmp: Path = tmp_path_factory.mktemp("widget-language")
    settings = Settings(
        port=0,  # serve_bot picks a free one
        db_path=tmp / "handoff.db",
        shop_db_path=tmp / "shop.db",
        agents=demo_agents(),
        poll_interval_s=0.1,
    )
    rasa = FakeRasa()
    with serve_bot(settings, rasa) as url:
        yield url, rasa


@pytest.fixture(scope="module")
def browser(service: tuple[str, FakeRasa]) -> Iterator[Any]:
    """Closed before the service, so no console websocket holds the service's shutdown."""
    with chromium() as instance:
        yield instance


def open_page(browser: Any, url: str, edit_html: Any = None) -> Any:
    page = browser.new_context().new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.route(
        "**/static/vendor/socket.io.min.js",
        lambda route: route.fulfill(body=FAKE_SOCKET_IO, content_type="application/javascript"),
    )
    if edit_html is not None:

        def rewrite(route: Any) -> None:
            response = route.fetch()
            route.fulfill(response=response, body=edit_html(response.text()))

        page.route(url, rewrite)
    page.goto(url)
    page.locator(".sd-launcher").click()
    page.wait_for_selector("#shopdesk-widget[data-connected='true']")
    page.wait_for_selector("#shopdesk-widget[data-history]")
    page.errors = errors  # checked at the end of each test
    return page


def uttered(page: Any) -> list[dict[str, Any]]:
    return list(page.evaluate("__emitted.filter(e => e[0] === 'user_uttered').map(e => e[1])"))


def test_the_page_language_then_the_channels_word(browser: Any, service: tuple[str, FakeRasa]) -> None:
    url, _ = service
    page = open_page(browser, url + "/zh")
    state = page.evaluate(STATE)
    assert (state["lang"], state["placeholder"], state["send"]) == ("zh", ZH["placeholder"], ZH["send"])
    page.evaluate("__fire('bot_uttered', {text: 'x', role: 'notice', event: 'joined', agent_name: 'Alex'})")
    assert page.evaluate(STATE)["banner"] == ZH["agent_banner"].format(name="Alex")

    page.evaluate("__fire('shopdesk_language', {language: 'en'})")  # the conversation switched
    state = page.evaluate(STATE)
    assert (state["lang"], state["placeholder"], state["launcher"]) == (
        "en",
        EN["placeholder"],
        EN["launcher_label"],
    )
    assert state["banner"] == EN["agent_banner"].format(name="Alex")  # the banner is relabelled too

    for odd in ("'zh-Hant'", "{language: 'fr'}", "null", "'zh'"):  # only an object with en/zh counts
        page.evaluate(f"__fire('shopdesk_language', {odd})")
    assert page.evaluate(STATE)["lang"] == "en"
    page.evaluate("__fire('shopdesk_language', {language: 'zh'})")
    assert page.evaluate(STATE)["placeholder"] == ZH["placeholder"]

    page.fill(".sd-input", "我的订单")
    page.press(".sd-input", "Enter")
    assert uttered(page)[-1] == {"message": "我的订单", "metadata": {"page_language": "zh"}}
    assert page.errors == []


def test_a_reload_takes_the_conversations_language_from_the_history(
    browser: Any, service: tuple[str, FakeRasa]
) -> None:
    url, rasa = service
    page = open_page(browser, url + "/")
    assert page.evaluate(STATE)["lang"] == "en"
    session = page.evaluate("window.ShopDeskWidget.sessionId()")
    rasa.trackers[session] = [
        {"event": "user", "text": "请用中文", "timestamp": 1.0},
        {"event": "slot", "name": "language", "value": "zh", "timestamp": 2.0},
    ]
    page.reload()
    page.wait_for_selector("#shopdesk-widget[data-history='loaded']")
    assert page.evaluate(STATE)["lang"] == "zh"
    assert page.evaluate(STATE)["launcher"] == ZH["launcher_label"]


def test_a_data_lang_attribute_beats_the_html_lang(browser: Any, service: tuple[str, FakeRasa]) -> None:
    url, _ = service
    page = open_page(
        browser,
        url + "/",
        lambda html: html.replace(
            '<script src="/static/widget.js">', '<script src="/static/widget.js" data-lang="zh-CN">'
        ),
    )
    assert page.evaluate("document.documentElement.lang") == "en"
    assert page.evaluate(STATE)["lang"] == "zh"
    page.fill(".sd-input", "hello")
    page.press(".sd-input", "Enter")
    assert uttered(page)[-1]["metadata"] == {"page_language": "zh"}


def test_enter_during_an_ime_composition_sends_nothing(browser: Any, service: tuple[str, FakeRasa]) -> None:
    url, _ = service
    page = open_page(browser, url + "/zh")
    page.focus(".sd-input")
    cdp = page.context.new_cdp_session(page)
    cdp.send("Input.imeSetComposition", {"text": "wo de", "selectionStart": 5, "selectionEnd": 5})
    page.keyboard.press("Enter")  # the IME's Enter: keydown with isComposing
    page.wait_for_timeout(100)
    assert uttered(page) == [] and page.locator(".sd-log .sd-shopper").count() == 0
    cdp.send("Input.insertText", {"text": "我的"})  # the composition is committed (compositionend)
    assert uttered(page) == []
    page.wait_for_timeout(100)
    page.keyboard.press("Enter")
    page.wait_for_function("() => __emitted.some(e => e[0] === 'user_uttered')")
    assert [frame["message"] for frame in uttered(page)] == ["我的"]
    assert page.locator(".sd-log .sd-shopper").last.inner_text() == "我的"
    assert page.errors == []


def test_the_console_badges_follow_the_conversations_language(
    browser: Any, service: tuple[str, FakeRasa]
) -> None:
    url, rasa = service
    agent = browser.new_context().new_page()
    agent.set_default_timeout(TIMEOUT_MS)
    agent.goto(url + "/console")
    agent.get_by_label("Email").fill("agent@shopdesk.test")
    agent.get_by_label("Password").fill("shopdesk-demo")
    agent.get_by_role("button", name="Log in").click()
    agent.wait_for_selector("body[data-live='true']")  # online: handoffs are queued
    rasa.trackers["console-zh"] = [{"event": "user", "text": "我要找人工客服", "timestamp": 1.0}]
    body = {"conversation_id": "console-zh", "reason": "contact_human_agent", "transcript": [], "context": {}}
    request = urllib.request.Request(
        url + "/api/handoff",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": "Bearer dev-handoff-token"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert json.load(response)["status"] == "queued"

    waiting = agent.locator("#queued-list button").first
    waiting.wait_for()
    assert waiting.locator(".lang-badge").inner_text() == "EN"  # nothing decided yet
    waiting.click()
    agent.wait_for_selector("#conv-header .lang-badge[data-language='en']")
    # the detector's verdict reaches the tracker: the sync updates the handoff, the console follows
    rasa.trackers["console-zh"].append({"event": "slot", "name": "language", "value": "zh", "timestamp": 2.0})
    agent.wait_for_selector("#queued-list button[data-language='zh'] .lang-badge:text-is('中文')")
    agent.wait_for_selector("#conv-header .lang-badge[data-language='zh']")
    assert agent.locator("#conv-header .lang-badge").inner_text() == "中文"
    assert agent.locator("#conv-header .lang-badge").get_attribute("lang") == "zh-CN"
