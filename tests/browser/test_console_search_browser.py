"""The console's search in Debian's Chromium: the service in-process with a fake Rasa and a handoff DB seeded
with closed conversations and tickets (English and Chinese, one with HTML in its transcript).

An agent searches by order number, by customer email and name, and by words (Chinese too), sees the matches
marked, and opens hits: the closed conversation with its transcript, the ticket. Then a handoff the shopper's
side queues (POST /api/handoff, as the action server does) is claimed and handed back in the console, and the
next search finds it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.store import HandoffStore
from tests.bot.conftest import FakeRasa
from tests.browser.bot_service import bot_settings, console_page, queue_handoff, serve_bot
from tests.browser.chromium import chromium, shot

pytestmark = pytest.mark.browser

XSS = '<img src=x onerror="window.__xss=1">'
AGENT = ("alice@shop.test", "Alice Agent")
MARKS = "() => Array.from(document.querySelectorAll('#search-results mark')).map(m => m.textContent)"


def seed(path: Path) -> dict[str, str]:
    """Closed handoffs and tickets in the service's DB before it starts; returns their ids by name."""
    store = HandoffStore(path)
    ids: dict[str, str] = {}

    def handed_back(name: str, lines: list[str], customer: dict[str, str] | None, orders: list[str]) -> None:
        transcript = [{"role": "shopper", "text": text, "ts": 1000.0 + i} for i, text in enumerate(lines)]
        context = {"customer": customer, "orders": [{"number": o} for o in orders], "cart": []}
        handoff, _ = store.open_handoff(f"conv-{name}", "shopper asked for a person", transcript, context)
        store.claim(handoff["id"], *AGENT)
        store.add_message(handoff["id"], "agent", "Sorry about that, I am on it.", 1100.0, f"agent-{name}")
        store.close(handoff["id"], AGENT[0])
        ids[name] = handoff["id"]

    handed_back(
        "kettle",
        ["My kettle leaks since Monday", XSS],
        {"name": "Ada Lovelace", "email": "ada@example.com"},
        ["SD-100042"],
    )
    handed_back(
        "zh", ["我要退款，快递一直没到"], {"name": "王小明", "email": "wang@example.cn"}, ["SD-100077"]
    )
    handed_back("lamp", ["The lamp flickers"], None, [])
    ids["ticket"] = store.create_ticket("conv-t", "grace@example.com", "Please refund order SD-100090", [])[
        "id"
    ]
    store.shutdown()
    return ids


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict[str, str]]]:
    tmp = tmp_path_factory.mktemp("search")
    ids = seed(tmp / "handoff.db")
    with serve_bot(bot_settings(tmp), FakeRasa(), sync=False) as url:
        yield url, ids


@pytest.fixture(scope="module")
def page(service: tuple[str, dict[str, str]]) -> Iterator[Any]:
    url, _ = service
    with chromium() as browser:
        page = console_page(browser, url)
        page.get_by_role("tab", name="Search").click()
        yield page
        page.context.close()


def search(page: Any, q: str) -> None:
    box = page.get_by_role("searchbox", name="Search closed conversations and tickets")
    box.fill(q)
    box.press("Enter")
    page.wait_for_function(
        "q => document.getElementById('search-results').getAttribute('aria-busy') === 'false'"
        " && document.getElementById('search-results').dataset.query === q",
        arg=q,
    )


def hits(page: Any) -> list[str]:
    return list(page.eval_on_selector_all("#search-results .search-hit", "bs => bs.map(b => b.dataset.id)"))


def test_search_by_order_customer_and_text_and_open_the_hits(
    page: Any, service: tuple[str, dict[str, str]]
) -> None:
    _, ids = service
    search(page, "sd100042")
    assert hits(page) == [ids["kettle"]]
    assert "1 result for order SD-100042" in (page.locator("#search-status").text_content() or "")
    hit = page.locator("#search-results .search-hit").first
    assert "handed back by Alice Agent" in (hit.text_content() or "")
    hit.click()  # the closed conversation with its transcript and outcome
    page.wait_for_function("() => document.querySelectorAll('#transcript .line').length === 3")
    assert "closed" in (page.locator("#conv-header").text_content() or "")
    assert XSS in (page.locator("#transcript").text_content() or "")
    assert page.locator("#transcript img").count() == 0

    search(page, "ada lovelace")  # the customer's name
    assert hits(page) == [ids["kettle"]]
    search(page, "grace@example.com")  # a customer's email: the ticket
    assert hits(page) == [ids["ticket"]]
    page.locator("#search-results .search-hit").first.click()
    page.wait_for_function(
        "() => (document.getElementById('conv-header').textContent || '').includes('Ticket')"
    )
    assert "Please refund order SD-100090" in (page.locator("#transcript").text_content() or "")

    search(page, "退款")  # Chinese, two characters
    assert hits(page) == [ids["zh"]]
    assert page.evaluate(MARKS) == ["退款"]
    search(page, "onerror")  # the HTML in a transcript stays text in the snippet
    assert hits(page) == [ids["kettle"]]
    assert page.evaluate(MARKS) == ["onerror"]
    assert XSS in (page.locator("#search-results .search-snippet").text_content() or "")
    assert page.locator("#search-results img").count() == 0
    assert page.evaluate("() => window.__xss") is None
    shot(page, "console-search")
    search(page, '"NEAR( refund*')  # FTS5 syntax is text: nothing matches, no error
    assert hits(page) == []
    assert "Nothing closed matches" in (page.locator("#search-status").text_content() or "")
    assert page.errors == []


def test_a_conversation_handed_back_now_is_found_by_the_next_search(
    page: Any, service: tuple[str, dict[str, str]]
) -> None:
    url, _ = service
    transcript = [{"role": "shopper", "text": "The umbrella handle snapped", "ts": 2000.0}]
    context = {"customer": {"name": "Lin Fresh"}, "orders": [], "cart": []}
    handoff_id = queue_handoff(url, "conv-new", context, transcript=transcript)
    search(page, "umbrella")
    assert hits(page) == []  # still queued: not a closed conversation
    page.get_by_role("tab", name="Live").click()
    page.locator(f"#queued-list button[data-id='{handoff_id}']").click()
    page.get_by_role("button", name="Claim").click()
    page.get_by_role("button", name="Close & hand back to the bot").click()
    page.wait_for_function(
        "() => (document.getElementById('conv-header').textContent || '').includes('closed')"
    )
    page.get_by_role("tab", name="Search").click()
    search(page, "umbrella")
    assert hits(page) == [handoff_id]
    assert page.errors == []
