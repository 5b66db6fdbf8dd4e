"""CSAT at the close in Debian's Chromium against the real stack (docs/csat.md).

Goodbye -> the rating card -> 4 and a comment -> thanks: one row in the ratings store (by "bot") and the
``csat`` slot in Rasa's tracker; a second submit is refused; the Chinese card's strings and its keyboard use;
the inactivity ask (``?csat_idle_s=``), asked once; a hand-back asks and is rated as the agent's. Needs
`chromium` on PATH (make browser-deps) and a model trained on this domain (make model).
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from bot.csat_store import CsatStore, Rating
from bot.messages import WIDGET
from tests.browser.chromium import TIMEOUT_MS, chromium, live_stack_with_bot, login_agent, shot

pytestmark = pytest.mark.browser

EN, ZH = WIDGET["en"], WIDGET["zh"]
HTML_COMMENT = '<b>Quick</b> & friendly <img src=x onerror="window.__xss=1">'


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with chromium() as instance:
        yield instance


@pytest.fixture(scope="module")
def stack(live_stack: Any) -> Any:
    return live_stack_with_bot(live_stack)


def open_shop(browser: Any, stack: Any, path: str = "/", launcher: str = EN["launcher_label"]) -> Any:
    page = browser.new_context().new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(stack.config.bot_url + path)
    page.get_by_role("button", name=launcher).click()
    page.wait_for_selector("#shopdesk-widget[data-connected='true']")
    page.wait_for_selector("#shopdesk-widget[data-history='loaded']")
    return page


def say(page: Any, text: str, label: str = EN["input_label"]) -> None:
    box = page.get_by_label(label)
    box.fill(text)
    box.press("Enter")


def wait_for_reply(page: Any, before: int) -> None:
    page.wait_for_function("n => document.querySelectorAll('.sd-log .sd-bot').length > n", arg=before)


def ratings(stack: Any, session: str) -> list[Rating]:
    store = CsatStore(stack.config.var_dir / "handoff.db")
    try:
        return store.for_conversation(session)
    finally:
        store.shutdown()


def tracker_csat(stack: Any, session: str) -> list[dict[str, Any]]:
    url = f"{stack.config.rasa_url}/conversations/{session}/tracker?token={stack.config.rasa_token}"
    with urllib.request.urlopen(url, timeout=30) as response:
        events = json.load(response)["events"]
    return [e["value"] for e in events if e.get("event") == "slot" and e.get("name") == "csat"]


def post_rating(page: Any, survey_id: str) -> int:
    """A rating posted from the page itself (same origin, the widget's own session)."""
    return int(
        page.evaluate(
            """survey => fetch('/api/widget/csat', {method: 'POST', headers: {'Content-Type': 'application/json',
                'X-ShopDesk-Session': window.ShopDeskWidget.sessionId()},
                body: JSON.stringify({survey_id: survey, rating: 1, trigger: 'goodbye'})}).then(r => r.status)""",
            survey_id,
        )
    )


def test_goodbye_asks_and_a_rating_of_four_with_a_comment_is_stored_once(browser: Any, stack: Any) -> None:
    page = open_shop(browser, stack)
    say(page, "what payment methods do you accept?")
    wait_for_reply(page, 0)
    assert page.locator(".sd-csat").count() == 0  # an answer in the middle is no end
    say(page, "ok bye")
    card = page.locator(".sd-csat[data-trigger='goodbye']")
    card.wait_for()
    assert card.get_by_role("form", name=EN["csat_card_label"]).count() == 1
    assert card.locator(".sd-csat-question").inner_text() == EN["csat_question"]
    assert card.get_by_role("group", name=EN["csat_scale_label"]).count() == 1
    assert card.get_by_role("radio").count() == 5
    shot(page, "csat-01-goodbye-card")

    card.get_by_role("button", name=EN["csat_submit"]).click()  # nothing chosen: told, nothing sent
    assert card.get_by_role("alert").inner_text() == EN["csat_choose"]
    card.get_by_label(f"4 {EN['csat_4']}").check()
    comment = card.get_by_label(EN["csat_comment_label"])
    assert comment.get_attribute("maxlength") == "1000"
    comment.fill(HTML_COMMENT)
    card.get_by_role("button", name=EN["csat_submit"]).click()
    page.wait_for_selector("#shopdesk-widget[data-csat='rated']")
    assert card.locator(".sd-csat-thanks").inner_text() == EN["csat_thanks"]
    assert card.locator(".sd-csat-rated").inner_text() == EN["csat_you_rated"].format(rating=4)
    assert card.locator(".sd-csat-echo").inner_text() == HTML_COMMENT  # shown as text
    assert card.locator("b, img").count() == 0 and page.evaluate("window.__xss") is None
    shot(page, "csat-02-thanks")

    session = page.evaluate("window.ShopDeskWidget.sessionId()")
    [row] = ratings(stack, session)
    assert (row["rating"], row["comment"], row["by"], row["language"]) == (4, HTML_COMMENT, "bot", "en")
    assert row["trigger"] == "goodbye" and row["handoff_id"] is None
    deadline = time.monotonic() + 30
    while not tracker_csat(stack, session) and time.monotonic() < deadline:
        time.sleep(0.5)
    [slot] = tracker_csat(stack, session)
    assert slot == {
        "survey_id": row["survey_id"],
        "rating": 4,
        "comment": HTML_COMMENT,
        "by": "bot",
        "language": "en",
        "handoff_id": None,
    }
    # a second submit, of the same survey or another one in the same episode, is refused
    assert post_rating(page, row["survey_id"]) == 409
    assert post_rating(page, "another-survey-1") == 409
    assert len(ratings(stack, session)) == 1 and len(tracker_csat(stack, session)) == 1
    # "bye" again right after the rating is the same end: no second card
    before = page.locator(".sd-log .sd-bot").count()
    say(page, "bye")
    page.wait_for_selector("#shopdesk-widget[data-csat='not-asked']")
    assert page.locator(".sd-log .sd-bot").count() > before
    assert page.locator(".sd-csat form").count() == 0 and page.locator(".sd-csat").count() == 1


def test_the_chinese_card_is_in_chinese_and_usable_by_keyboard(browser: Any, stack: Any) -> None:
    page = open_shop(browser, stack, "/zh", ZH["launcher_label"])
    say(page, "你好", ZH["input_label"])
    wait_for_reply(page, 0)
    say(page, "再见", ZH["input_label"])
    card = page.locator(".sd-csat[data-trigger='goodbye']")
    card.wait_for()
    assert card.locator(".sd-csat-question").inner_text() == ZH["csat_question"]
    assert card.locator(".sd-csat-legend").inner_text() == ZH["csat_scale_label"]
    assert card.locator(".sd-csat-word").all_inner_texts() == [ZH[f"csat_{n}"] for n in range(1, 6)]
    assert card.get_by_role("button", name=ZH["csat_submit"]).count() == 1
    assert card.get_by_role("button", name=ZH["csat_skip"]).count() == 1
    texts = " ".join(card.all_inner_texts())
    for english in ("How did we do", "Excellent", "Send rating", "optional"):
        assert english not in texts, english
    shot(page, "csat-03-chinese-card")

    card.get_by_label(f"1 {ZH['csat_1']}").focus()
    page.keyboard.press("ArrowRight")  # a radio group: arrows move and choose
    page.keyboard.press("ArrowRight")
    assert card.get_by_label(f"3 {ZH['csat_3']}").is_checked()
    page.keyboard.press("Tab")  # the comment
    page.keyboard.type("很好")
    page.keyboard.press("Tab")  # the send button
    page.keyboard.press("Enter")
    page.wait_for_selector("#shopdesk-widget[data-csat='rated']")
    assert card.locator(".sd-csat-thanks").inner_text() == ZH["csat_thanks"]
    session = page.evaluate("window.ShopDeskWidget.sessionId()")
    [row] = ratings(stack, session)
    assert (row["rating"], row["comment"], row["language"], row["by"]) == (3, "很好", "zh", "bot")
    shot(page, "csat-04-chinese-thanks")


def test_inactivity_asks_once_and_no_thanks_closes_the_episode(browser: Any, stack: Any) -> None:
    page = open_shop(browser, stack, "/?csat_idle_s=2")
    say(page, "how long does delivery take?")
    wait_for_reply(page, 0)
    card = page.locator(".sd-csat[data-trigger='inactivity']")
    card.wait_for()
    card.get_by_role("button", name=EN["csat_skip"]).click()
    assert page.locator(".sd-csat").count() == 0
    page.wait_for_timeout(3500)  # more silence: no second ask in this episode
    assert page.locator(".sd-csat").count() == 0
    assert page.locator("#shopdesk-widget").get_attribute("data-csat") == "skipped"


def test_a_hand_back_asks_and_the_rating_is_the_agents(browser: Any, stack: Any) -> None:
    agent = login_agent(browser, stack)
    shopper = open_shop(browser, stack)
    say(shopper, "I want to talk to a human")
    shopper.wait_for_selector("#shopdesk-widget[data-mode='queued']")
    session = shopper.evaluate("window.ShopDeskWidget.sessionId()")
    handoff_id = agent.evaluate(
        """session => fetch('/api/console/queue').then(r => r.json())
            .then(q => q.queued.find(h => h.conversation_id === session).id)""",
        session,
    )
    agent.locator(f"#queued-list button[data-id='{handoff_id}']").click()
    agent.locator("#claim").click()
    shopper.wait_for_selector("#shopdesk-widget[data-mode='agent']")
    assert shopper.locator(".sd-csat").count() == 0
    agent.get_by_label("Reply to the shopper").fill("Your parcel leaves today.")
    agent.get_by_label("Reply to the shopper").press("Enter")
    shopper.wait_for_selector(".sd-log .sd-agent:has-text('Your parcel leaves today.')")
    agent.locator("#hand-back").click()
    card = shopper.locator(".sd-csat[data-trigger='handback']")
    card.wait_for()
    card.get_by_label(f"5 {EN['csat_5']}").check()
    card.get_by_role("button", name=EN["csat_submit"]).click()
    shopper.wait_for_selector("#shopdesk-widget[data-csat='rated']")
    [row] = ratings(stack, session)
    assert (row["by"], row["rating"], row["handoff_id"]) == ("agent", 5, handoff_id)
    shot(shopper, "csat-05-hand-back-rated")
