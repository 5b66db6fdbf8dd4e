"""The console's mood in Debian's Chromium: the queue's badge, the sparkline and the driving messages.

``test_the_console_shows_a_real_trackers_mood`` runs against the real stack: a shopper talks through the
widget and asks for a person, the test puts the ``mood`` / ``mood_trace`` slot events slice mood's action
would set into the real Rasa tracker through the tracker events API (the scores are the test's), and the
agent's console shows them. ``test_mood_texts_stay_text_and_the_order_follows_the_mood`` needs no model: the
bot service in-process with a fake Rasa (its tracker sync on).
"""

from __future__ import annotations

import json
import re
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.settings import Settings, demo_agents
from tests.bot.conftest import FakeRasa
from tests.browser.bot_service import serve_bot
from tests.browser.chromium import chromium, live_stack_with_bot, login_agent, shot, waiting_button_of

pytestmark = pytest.mark.browser

XSS = '<img src=x onerror="window.__xss=1">'


@pytest.fixture
def browser() -> Iterator[Any]:
    """One test's browser: Playwright's sync API allows one instance at a time in a thread, and the second
    test starts its own (local_browser), so this one must be closed first."""
    with chromium() as instance:
        yield instance


def post_json(url: str, body: Any, headers: dict[str, str] | None = None) -> Any:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json", **(headers or {})}
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        assert response.status in (200, 201)
        return json.load(response)


def mood_slots(points: list[tuple[float, float, str, float]]) -> list[dict[str, Any]]:
    """The two slot events of the contract: (user event ts, score, label, mood after it) per message."""
    trace = [{"ts": ts, "score": score, "label": label, "mood": mood} for ts, score, label, mood in points]
    return [
        {"event": "slot", "name": "mood", "value": trace[-1]["mood"]},
        {"event": "slot", "name": "mood_trace", "value": trace},
    ]


# --- the real stack ----------------------------------------------------------------------------------


def test_the_console_shows_a_real_trackers_mood(browser: Any, live_stack: Any) -> None:
    from tests.browser.test_handoff_browser import bot_count, open_shop, say, wait_for_bot_messages

    stack = live_stack_with_bot(live_stack)
    agent = login_agent(browser, stack)  # an agent on shift: the handoff is queued
    shopper = open_shop(browser, stack)
    sour = f"{XSS} my parcel is two weeks late and nobody answers"
    for text in ["hi, where is my order SD-100003?", sour]:
        before = bot_count(shopper)
        say(shopper, text)
        wait_for_bot_messages(shopper, before + 1)
    say(shopper, "I want to talk to a human")
    shopper.wait_for_function(
        "() => [...document.querySelectorAll('.sd-log .sd-bot')].some(m => /connecting you with a person/i.test(m.textContent))"
    )
    waiting = waiting_button_of(agent, shopper)  # its own: an earlier test's handoff may still wait
    # the real action server scored the shopper's messages (the sour one among them): the queue shows a mood
    waiting.locator(".mood-badge:not([data-mood-label='unknown'])").wait_for()

    session_id = shopper.evaluate("window.ShopDeskWidget.sessionId()")
    base = f"{stack.config.rasa_url}/conversations/{urllib.parse.quote(session_id)}"
    token = urllib.parse.urlencode({"token": stack.config.rasa_token})
    with urllib.request.urlopen(f"{base}/tracker?{token}", timeout=60) as response:
        users = [e for e in json.load(response)["events"] if e["event"] == "user"]
    assert [u["text"] for u in users][-3:-1] == ["hi, where is my order SD-100003?", sour]
    first, second, third = (u["timestamp"] for u in users[-3:])
    points = [
        (first, 0.0, "neutral", 0.0),
        (second, -0.9, "negative", -0.45),
        (third, -0.3, "negative", -0.5),
    ]
    post_json(f"{base}/tracker/events?{token}&include_events=NONE", mood_slots(points))

    # the real scorer's own mood may already be negative: wait for the posted score, not for the label
    waiting.locator(".mood-badge", has_text="Mood: negative \u22120.50").wait_for()
    assert waiting.locator(".mood-badge").text_content() == "Mood: negative \u22120.50"
    assert agent.get_by_role("button", name=re.compile(r"Mood: negative \u22120\.50")).count() == 1
    waiting.click()
    agent.wait_for_selector("#mood-body svg.mood-sparkline[data-points='3']")
    assert agent.locator("#mood-body circle.mood-point").count() == 3
    assert agent.locator("#mood-body circle.mood-point.driver").count() == 2
    driver_line = agent.locator(".transcript .line.shopper.driver").first
    driver_line.wait_for()
    assert sour in driver_line.inner_text()
    assert "pulled the mood down by 0.45" in driver_line.inner_text()
    assert agent.locator(".mood-drivers .driver-text").first.inner_text() == sour  # text, not HTML
    assert agent.evaluate("window.__xss") is None
    shot(agent, "console-mood-01-trend-and-drivers")
    agent.locator("#claim").click()  # leave the shared stack's queue as it was found
    agent.locator("#hand-back").click()
    shopper.wait_for_selector(".sd-log .sd-notice:has-text('back with the assistant')")


# --- no stack: the bot service in-process -------------------------------------------------------------


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, FakeRasa]]:
    tmp: Path = tmp_path_factory.mktemp("console-mood")
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
def local_browser(service: tuple[str, FakeRasa]) -> Iterator[Any]:
    """Closed before the service, so no console websocket holds the service's shutdown."""
    with chromium() as instance:
        yield instance


def test_mood_texts_stay_text_and_the_order_follows_the_mood(
    local_browser: Any, service: tuple[str, FakeRasa]
) -> None:
    url, rasa = service
    agent = local_browser.new_context().new_page()
    agent.set_default_timeout(20_000)
    errors: list[str] = []
    agent.on("pageerror", lambda error: errors.append(str(error)))
    agent.goto(url + "/console")
    agent.get_by_label("Email").fill("agent@shopdesk.test")
    agent.get_by_label("Password").fill("shopdesk-demo")
    agent.get_by_role("button", name="Log in").click()
    agent.wait_for_selector("body[data-live='true']")

    now = time.time()
    rasa.trackers["calm"] = [{"event": "user", "text": "hello", "timestamp": now - 5}]
    rasa.trackers["sour"] = [
        {"event": "user", "text": "fine", "timestamp": now - 4},
        {
            "event": "user",
            "text": XSS + " <script>window.__xss=2</script> broken again",
            "timestamp": now - 3,
        },
    ]
    for conversation_id in ("calm", "sour"):
        post_json(
            url + "/api/handoff",
            {
                "conversation_id": conversation_id,
                "reason": "contact_human_agent",
                "transcript": [],
                "context": {},
            },
            {"Authorization": "Bearer dev-handoff-token"},
        )
    agent.wait_for_selector("#queued-list button >> nth=1")
    assert agent.locator("#queued-list button").first.get_attribute("data-id") is not None
    first_before = agent.locator("#queued-list button").first.get_attribute("data-id")

    sour_id = agent.evaluate(
        "fetch('/api/console/queue').then(r => r.json()).then(q => q.queued.find(i => i.conversation_id === 'sour').id)"
    )
    assert first_before != sour_id  # calm arrived first; no mood yet
    rasa.trackers["sour"] += mood_slots([(now - 4, 0.1, "neutral", 0.1), (now - 3, -1.0, "negative", -0.9)])
    agent.wait_for_selector(
        f"#queued-list li:first-child button[data-id='{sour_id}'] .mood-badge.mood-negative"
    )
    assert (
        agent.locator("#queued-list li:first-child .mood-badge").text_content() == "Mood: negative \u22120.90"
    )
    title = agent.locator("#queued-list li:first-child button").get_attribute("title") or ""
    assert re.match(r"Priority \d+\.\d\d = minutes waited \+ 5 × negative mood", title), title
    unknown = agent.locator("#queued-list li:nth-child(2) .mood-badge")
    assert unknown.text_content() == "Mood: mood unknown"
    assert unknown.get_attribute("data-mood-label") == "unknown"

    agent.locator(f"#queued-list button[data-id='{sour_id}']").click()
    agent.wait_for_selector("#mood-body svg.mood-sparkline[data-points='2']")
    line = agent.locator(".transcript .line.shopper.driver")
    line.wait_for()
    assert line.count() == 1
    assert "<script>window.__xss=2</script> broken again" in line.inner_text()
    assert agent.locator(".mood-drivers .driver-text").inner_text().startswith("<img src=x")
    assert agent.locator("#mood-body svg.mood-sparkline").get_attribute("aria-label") == (
        "Mood after each of 2 judged shopper messages, from +0.10 to \u22120.90"
    )
    # a new judged message moves the open conversation's trend without reopening it
    rasa.trackers["sour"].append({"event": "user", "text": "hello??", "timestamp": now - 1})
    rasa.trackers["sour"] += mood_slots(
        [
            (now - 4, 0.1, "neutral", 0.1),
            (now - 3, -1.0, "negative", -0.9),
            (now - 1, -0.5, "negative", -0.95),
        ]
    )
    agent.wait_for_selector("#mood-body svg.mood-sparkline[data-points='3']")
    agent.wait_for_selector(".transcript .line.shopper.driver:has-text('hello??')")
    assert agent.evaluate("window.__xss") is None
    shot(agent, "console-mood-02-no-stack")
    # claimed, handed back and reopened from the Closed tab: the stored trend is still there
    agent.locator("#claim").click()
    agent.locator("#hand-back").click()
    agent.wait_for_selector("#conv-header:has-text('closed')")
    agent.get_by_role("tab", name="Closed").click()
    agent.locator(f"#closed-list button[data-id='{sour_id}']").click()
    agent.wait_for_selector("#mood-body svg.mood-sparkline[data-points='3']")
    assert agent.locator(".transcript .line.shopper.driver").count() == 2
    assert errors == []
