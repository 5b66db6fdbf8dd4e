"""The analytics dashboard in Debian's Chromium: an admin logs in, the page refreshes the pipeline from a
recorded broker stream and draws non-empty SVG plots; an agent gets the 403 page. The bot service runs
in-process with a fake Rasa (no trained model needed)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from analytics.refresh import refresh
from analytics.settings import AnalyticsSettings
from analytics.themes import refresh_themes
from bot.settings import DEMO_ADMIN_EMAIL, DEMO_AGENT_EMAIL, DEMO_AGENT_PASSWORD, Settings, demo_agents
from tests.analytics.recorded import T0, stream, user, write_broker
from tests.analytics.test_themes import OneHot
from tests.bot.conftest import FakeRasa
from tests.browser.bot_service import serve_bot
from tests.browser.chromium import chromium, shot

pytestmark = pytest.mark.browser

TIMEOUT_MS = 20_000
PLOTS = ("plot-rates", "plot-intents", "plot-fallbacks", "plot-csat", "plot-mood", "plot-reasons")
HOSTILE = '<img src=x onerror="document.body.dataset.pwned=1">'
MARKS = """(id) => document.querySelectorAll(`#${id} svg .mark`).length"""


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp: Path = tmp_path_factory.mktemp("dashboard")
    analytics = AnalyticsSettings(event_broker_db=tmp / "events.db", analytics_db=tmp / "analytics.db")
    write_broker(analytics.event_broker_db, [*stream(), ("html", user(T0, HOSTILE, "nlu_fallback", 0.1))])
    refresh(analytics)
    refresh_themes(analytics.analytics_db, OneHot())  # the stand-in embedder: no model to load
    settings = Settings(
        port=0,  # serve_bot picks a free one
        db_path=tmp / "handoff.db",
        shop_db_path=tmp / "shop.db",
        agents=demo_agents(),
        analytics=analytics,
    )
    with serve_bot(settings, FakeRasa(), sync=False) as url:
        yield url


@pytest.fixture(scope="module")
def browser(service: str) -> Iterator[Any]:
    with chromium() as instance:
        yield instance


def logged_in(browser: Any, url: str, email: str) -> Any:
    page = browser.new_context().new_page()
    page.set_default_timeout(TIMEOUT_MS)
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.goto(url + "/console/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(DEMO_AGENT_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/console")
    page.errors = errors
    return page


def test_admin_dashboard_draws_every_plot(browser: Any, service: str) -> None:
    page = logged_in(browser, service, DEMO_ADMIN_EMAIL)
    page.get_by_role("link", name="Admin", exact=True).click()  # the console header → the admin area
    page.get_by_role("link", name="Analytics dashboard").click()
    page.wait_for_selector("#dashboard[aria-busy='false']")
    status = page.locator("#dash-status").text_content() or ""
    assert status.startswith("Updated"), status
    for plot in PLOTS:
        assert page.evaluate(MARKS, plot) > 0, f"{plot} has no data marks"
    assert page.locator("#totals .total .value").first.text_content() == "6"
    # a shopper's HTML is shown as text, never run
    assert HOSTILE[:20] in (page.locator("#plot-fallbacks").text_content() or "")
    assert page.locator("#plot-fallbacks img").count() == 0
    assert page.evaluate("() => document.body.dataset.pwned") is None
    assert page.locator("#themes .theme").count() == 2  # a Chinese complaint, an English low rating
    assert "took ages" in (page.locator("#themes").text_content() or "")
    assert page.locator("#exports a").count() >= 10
    shot(page, "dashboard-admin")
    assert page.errors == []


def test_agent_gets_the_admins_only_page(browser: Any, service: str) -> None:
    page = logged_in(browser, service, DEMO_AGENT_EMAIL)
    assert page.get_by_role("link", name="Dashboard").count() == 0
    assert page.get_by_role("link", name="Admin", exact=True).count() == 0
    response = page.goto(service + "/console/dashboard")
    assert response is not None and response.status == 403
    assert "for admins" in (page.locator("#forbidden").text_content() or "")
