"""The widget and the console in Chinese, in Debian's Chromium against the real stack.

The Chinese shop page (``/zh``, ``<html lang="zh-CN">``) shows the widget's Chinese strings; a real IME
composition (Chrome DevTools Protocol ``Input.imeSetComposition``) is never sent by Enter, and Enter after it
sends the Chinese text and a Chinese reply arrives; an English page switches to Chinese strings when the
conversation does; the agent console shows the conversation's language badge. The replies need the model
trained on the Chinese data. Needs `chromium` on PATH (make browser-deps) and a trained model (make model).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from bot.messages import SHOPPER, WIDGET
from tests.browser.chromium import (
    TIMEOUT_MS,
    chromium,
    live_stack_with_bot,
    login_agent,
    shot,
    waiting_button_of,
)

pytestmark = pytest.mark.browser

ZH = WIDGET["zh"]
# A bot message in Chinese (JavaScript): Han characters and no English word of four letters or more besides
# the brand, so the pre-Chinese "Sorry, I can only help in English … 抱歉 …" does not count.
BOT_SAYS_CHINESE = r"""n => [...document.querySelectorAll('.sd-log .sd-bot')].slice(n).some(m =>
    /[\u4e00-\u9fff]/.test(m.textContent) && !/\b(?!ShopDesk\b)[A-Za-z]{4,}/.test(m.textContent))"""


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as instance:
        yield instance


@pytest.fixture(scope="module")
def stack(live_stack: Any) -> Any:
    return live_stack_with_bot(live_stack)


def open_shop(browser: Any, stack: Any, path: str, launcher_label: str) -> Any:
    page = browser.new_context().new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(stack.config.bot_url + path)
    page.get_by_role("button", name=launcher_label).click()
    page.wait_for_selector("#shopdesk-widget[data-connected='true']")
    page.wait_for_selector("#shopdesk-widget[data-history='loaded']")
    return page


def say(page: Any, label: str, text: str) -> None:
    box = page.get_by_label(label)
    box.fill(text)
    box.press("Enter")


def bot_count(page: Any) -> int:
    return int(page.locator(".sd-log .sd-bot").count())


def wait_for_chinese_reply(page: Any, before: int) -> str:
    page.wait_for_function(BOT_SAYS_CHINESE, arg=before, timeout=TIMEOUT_MS)
    return str(page.locator(".sd-log .sd-bot").last.inner_text())


def test_the_chinese_page_shows_the_widget_in_chinese(browser: Any, stack: Any) -> None:
    page = open_shop(browser, stack, "/zh", ZH["launcher_label"])
    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    widget = page.locator("#shopdesk-widget")
    assert widget.get_attribute("data-lang") == "zh" and widget.get_attribute("lang") == "zh-CN"
    box = page.get_by_label(ZH["input_label"])
    assert box.get_attribute("placeholder") == ZH["placeholder"]
    assert page.get_by_role("button", name=ZH["send_label"]).inner_text() == ZH["send"]
    assert page.get_by_role("log", name=ZH["log_label"]).count() == 1
    assert page.locator(".sd-title").inner_text() == ZH["title"]
    assert page.get_by_role("button", name=ZH["close_label"]).is_visible()
    assert page.get_by_role("dialog", name=ZH["panel_label"]).count() == 1
    texts = " ".join(page.locator("#shopdesk-widget").all_inner_texts())
    for english in ("Send", "Type your message", "Chat", "support"):
        assert english not in texts, english
    shot(page, "zh-01-widget-chinese-page")


def test_ime_composition_never_sends_and_enter_after_it_sends_chinese(browser: Any, stack: Any) -> None:
    page = open_shop(browser, stack, "/zh", ZH["launcher_label"])
    box = page.get_by_label(ZH["input_label"])
    box.focus()
    sent_before = page.locator(".sd-log .sd-shopper").count()
    replies_before = bot_count(page)
    cdp = page.context.new_cdp_session(page)
    # Pinyin being composed: the IME owns Enter (keydown with isComposing), nothing may be sent
    cdp.send("Input.imeSetComposition", {"text": "ni hao", "selectionStart": 6, "selectionEnd": 6})
    assert page.evaluate("document.activeElement.value").startswith("ni hao")
    page.keyboard.press("Enter")
    page.wait_for_timeout(300)
    assert page.locator(".sd-log .sd-shopper").count() == sent_before
    # the composition is committed as 你好 (compositionend); then Enter sends it
    cdp.send("Input.insertText", {"text": "你好"})
    assert "你好" in page.evaluate("document.activeElement.value")
    assert page.locator(".sd-log .sd-shopper").count() == sent_before
    page.wait_for_timeout(100)
    page.keyboard.press("Enter")
    page.wait_for_function(
        "n => document.querySelectorAll('.sd-log .sd-shopper').length > n", arg=sent_before
    )
    assert page.locator(".sd-log .sd-shopper").last.inner_text() == "你好"
    assert page.evaluate("document.activeElement.value") == ""
    # a Chinese reply arrives, and the widget stays Chinese
    wait_for_chinese_reply(page, replies_before)
    assert page.locator("#shopdesk-widget").get_attribute("data-lang") == "zh"
    shot(page, "zh-02-ime-then-chinese-reply")


def test_the_widget_follows_the_conversation_into_chinese(browser: Any, stack: Any) -> None:
    page = open_shop(browser, stack, "/", WIDGET["en"]["launcher_label"])
    assert page.locator("#shopdesk-widget").get_attribute("data-lang") == "en"
    before = bot_count(page)
    say(page, WIDGET["en"]["input_label"], "请用中文")
    page.wait_for_selector("#shopdesk-widget[data-lang='zh']")
    assert page.get_by_label(ZH["input_label"]).get_attribute("placeholder") == ZH["placeholder"]
    wait_for_chinese_reply(page, before)
    page.reload()  # after a reload the history's language decides, not the English page
    page.wait_for_selector("#shopdesk-widget[data-history='loaded']")
    page.wait_for_selector("#shopdesk-widget[data-lang='zh']")
    shot(page, "zh-03-english-page-chinese-conversation")


def test_console_shows_the_language_and_the_agent_replies_in_chinese(browser: Any, stack: Any) -> None:
    agent = login_agent(browser, stack)  # an agent on shift: the handoff is queued
    shopper = open_shop(browser, stack, "/zh", ZH["launcher_label"])
    before = bot_count(shopper)
    say(shopper, ZH["input_label"], "我要找人工客服")
    wait_for_chinese_reply(shopper, before)
    shopper.wait_for_selector("#shopdesk-widget[data-mode='queued']")
    assert shopper.locator(".sd-banner").inner_text() == ZH["queued_banner"]

    waiting = waiting_button_of(agent, shopper)
    waiting.locator(".lang-badge:text-is('中文')").wait_for()  # the tracker sync decides the language
    waiting.click()
    agent.wait_for_selector("#conv-header .lang-badge[data-language='zh']")
    assert agent.locator("#conv-header .lang-badge").inner_text() == "中文"
    shot(agent, "zh-04-console-language-badge")
    agent.locator("#claim").click()
    shopper.wait_for_selector(".sd-log .sd-notice:has-text('已加入对话')")
    assert "人工客服" in shopper.locator(".sd-banner").inner_text()

    reply = "您好，我是客服。请问有什么可以帮您？"
    agent.get_by_label("Reply to the shopper").fill(reply)
    agent.get_by_label("Reply to the shopper").press("Enter")
    shopper.wait_for_selector(f".sd-log .sd-agent:has-text('{reply}')")
    assert "客服团队" in shopper.locator(".sd-log .sd-agent .sd-who").last.inner_text()
    say(shopper, ZH["input_label"], "我的包裹还没到")
    agent.wait_for_selector(".transcript .line.shopper:has-text('我的包裹还没到')")

    agent.locator("#hand-back").click()
    shopper.wait_for_selector(f".sd-log .sd-notice:has-text('{SHOPPER['zh']['back_to_bot'][:6]}')")
    shot(shopper, "zh-05-shopper-after-hand-back")
