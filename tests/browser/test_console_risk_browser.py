"""The console's risk panel in Debian's Chromium, against the bot service in-process (a fake Rasa) and a shop
store seeded with known histories (``shop.demo.histories``): the signals with their level as text, the "why"
line and the numbers, a customer name with HTML shown as text, a conversation without a verified customer, and
"risk signals unavailable" while the shop's data cannot be read (the rest of the console keeps working)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from shop.demo.histories import HistoryWriter
from shop.model import Address
from shop.sqlite import SqliteOrderStore
from tests.bot.conftest import FakeRasa
from tests.browser import bot_service
from tests.browser.bot_service import bot_settings, console_page, queue_handoff, serve_bot
from tests.browser.chromium import shot

pytestmark = pytest.mark.browser

HOSTILE = '<img src=x onerror="window.__xss=1"> Rita'


def seed(path: Path) -> tuple[str, str]:
    """Rita: 3 returns this month, 2 of 3 orders refunded, her address shared with 2 other customers."""
    now = datetime.now(UTC)
    store = SqliteOrderStore(path)
    w = HistoryWriter(store)
    rita = w.customer(HOSTILE, address=Address("Hauptstraße 5", "10115", "Berlin", "DE"), created_at=now)
    orders = [w.order(rita, 4_000, created_at=now - timedelta(days=d)) for d in (40, 25, 12)]
    for number in orders:
        returned = w.return_request(number, created_at=now - timedelta(days=8))
        if number != orders[-1]:
            w.refund(number, 4_000, created_at=now - timedelta(days=6), return_id=returned)
    for name, street in (("Fred Flat", "hauptstr. 5"), ("Lea Lodger", "HAUPTSTRASSE 5")):
        other = w.customer(name, address=Address(street, "10115", "Berlin", "DE"), created_at=now)
        w.order(other, 2_000, created_at=now - timedelta(days=50))
    return rita, orders[-1]


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path, str, str]]:
    tmp: Path = tmp_path_factory.mktemp("console-risk")
    rita, order = seed(tmp / "shop.db")
    with serve_bot(bot_settings(tmp), FakeRasa(), sync=False) as url:
        yield url, tmp / "shop.db", rita, order


browser = bot_service.browser  # closed before the service


def test_the_panel_explains_each_signal(browser: Any, service: tuple[str, Path, str, str]) -> None:
    url, _, rita, order = service
    agent = console_page(browser, url)
    context = {"customer": {"id": rita, "name": HOSTILE}, "orders": [], "verified_order": order}
    hid = queue_handoff(url, f"risk-{time.time_ns()}", context)
    agent.locator(f"#queued-list button[data-id='{hid}']").click()
    agent.wait_for_selector("#risk-body .risk-signals")
    panel = agent.locator("#risk-panel")
    # every signal is a list item a screen reader reads whole: level (as a word), title and the why line
    returns = panel.get_by_role(
        "listitem", name="Watch: Returns in the last 90 days. 3 returns in 90 days", exact=False
    )
    assert returns.count() == 1
    assert returns.locator(".risk-why").inner_text() == (
        "Why: 3 returns in 90 days; the shop's median customer has 0 (over 3 customers with orders)."
    )
    refund = panel.locator("[data-code='refund_share']")
    assert refund.get_attribute("data-level") == "watch"
    assert (
        "Refunded 80.00 EUR of 120.00 EUR ordered (67%) over 3 orders, 2 of them refunded."
        in refund.inner_text()
    )
    assert f"This order {order}: 0.00 EUR of 40.00 EUR already refunded (0%)." in refund.inner_text()
    refund.locator("summary").click()
    assert refund.locator("dd[data-key='refunded_minor']").inner_text() == "80.00 EUR"
    assert refund.locator("dd[data-key='share']").inner_text() == "67%"
    address = panel.locator("[data-code='shared_address']")
    assert "Hauptstraße 5, 10115 Berlin, DE is used by 3 customers" in address.inner_text()
    assert panel.locator("[data-code='verification_failures']").get_attribute("data-level") == "info"
    assert panel.locator(".risk-summary").inner_text() == "3 of 4 signals to watch"
    # the watch ones first; the panel says it decides nothing
    assert panel.locator(".risk-signal").first.get_attribute("data-level") == "watch"
    assert "nothing refuses a refund or a return" in panel.locator(".risk-advisory").inner_text()
    # the customer's name from the shop (with HTML in it) is text
    assert panel.locator(".risk-customer").inner_text().startswith(f"For {HOSTILE} ({rita})")
    assert agent.evaluate("window.__xss") is None
    shot(agent, "console-risk-01-signals")

    anonymous = queue_handoff(
        url, f"risk-anon-{time.time_ns()}", {"customer": None, "orders": [], "cart": []}
    )
    agent.locator(f"#queued-list button[data-id='{anonymous}']").click()
    agent.wait_for_selector("#risk-body .risk-customer:text-is('No verified customer.')")
    assert agent.locator("#risk-body .risk-signal").count() == 1
    assert (
        agent.locator("#risk-body .risk-note")
        .inner_text()
        .startswith("No verified customer in this conversation")
    )
    assert agent.errors == []


def test_risk_signals_unavailable_while_the_shop_store_is_down(
    browser: Any, service: tuple[str, Path, str, str]
) -> None:
    url, shop_db, rita, _ = service
    agent = console_page(browser, url)
    hid = queue_handoff(url, f"risk-down-{time.time_ns()}", {"customer": {"id": rita}, "orders": []})
    moved = shop_db.with_name("shop.db.away")
    os.replace(shop_db, moved)
    try:
        agent.locator(f"#queued-list button[data-id='{hid}']").click()
        agent.wait_for_selector("#risk-body .risk-error")
        assert (
            agent.locator("#risk-body .risk-error")
            .inner_text()
            .startswith("Risk signals unavailable: the shop's data cannot be read")
        )
        # the rest of the console works: the conversation is open and can be claimed
        agent.locator("#claim").click()
        agent.wait_for_selector("#reply-form:not([hidden])")
    finally:
        os.replace(moved, shop_db)
    agent.locator(f"#active-list button[data-id='{hid}']").click()
    agent.wait_for_selector("#risk-body .risk-signals")
    shot(agent, "console-risk-02-unavailable-then-back")
