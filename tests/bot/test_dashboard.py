"""The analytics dashboard: admins only (agents 403, the console's link for admins only), the summary refreshed
from the broker, CSV export safe for spreadsheets."""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from analytics.settings import AnalyticsSettings
from bot.errors import ConfigError
from bot.passwords import hash_password
from bot.settings import Agent, Settings, load_agents
from tests.analytics.recorded import stream, user, write_broker
from tests.bot.conftest import login

ADMIN = ("ada@shop.test", "Ada Admin", "ada-password")


@pytest.fixture
def settings(tmp_path: Path, agents: tuple[Agent, ...], settings: Settings) -> Settings:  # type: ignore[override]
    admin = Agent(ADMIN[0], ADMIN[1], hash_password(ADMIN[2]), "admin")
    analytics = AnalyticsSettings(
        event_broker_db=tmp_path / "events.db", analytics_db=tmp_path / "analytics.db"
    )
    return replace(settings, agents=(*agents, admin), analytics=analytics)


@pytest.fixture
async def admin(server: TestServer, aiohttp_client: Any) -> TestClient:
    client = await aiohttp_client(server)
    await login(client, ADMIN[0], ADMIN[2])
    return client


async def test_agents_get_403_and_no_link(alice: tuple[TestClient, str]) -> None:
    client, _ = alice
    page = await client.get("/console/dashboard")
    assert page.status == 403
    assert "for admins" in await page.text()
    api = await client.get("/console/api/analytics/summary")
    assert api.status == 403 and "admin role" in (await api.json())["error"]
    assert (await client.get("/console/api/analytics/conversations.csv")).status == 403
    assert "/console/dashboard" not in await (await client.get("/console")).text()


async def test_anonymous_is_sent_to_login(anon: TestClient) -> None:
    page = await anon.get("/console/dashboard", allow_redirects=False)
    assert page.status == 303 and page.headers["Location"] == "/console/login"
    assert (await anon.get("/console/api/analytics/summary")).status == 401


async def test_admin_sees_the_link_and_the_page(admin: TestClient) -> None:
    assert 'href="/console/admin"' in await (await admin.get("/console")).text()  # the admin area …
    assert 'href="/console/dashboard"' in await (await admin.get("/console/admin")).text()  # … links it
    page = await admin.get("/console/dashboard")
    assert page.status == 200
    body = await page.text()
    assert "/static/dashboard.js" in body and "conversations" in re.search(
        r'data-tables="([^"]+)"', body
    ).group(1)


async def test_summary_refreshes_from_the_broker(admin: TestClient, settings: Settings) -> None:
    empty = await (await admin.get("/console/api/analytics/summary")).json()
    assert empty["totals"]["conversations"] == 0  # no broker yet: empty, not an error
    write_broker(settings.analytics.event_broker_db, stream())
    data = await (await admin.get("/console/api/analytics/summary")).json()
    assert data["totals"]["conversations"] == 5
    assert data["totals"]["containment_rate"] == 0.6  # the recorded day is past: every session has ended
    assert {r["intent"]: r["messages"] for r in data["intents"]}["nlu_fallback"] == 3
    assert data["csat"]["agent"]["2"] == 1 and data["csat"]["bot"]["5"] == 1
    assert {r["reason"] for r in data["handoff_reasons"]} == {"two fallbacks in a row", "contact_human_agent"}
    assert [r["text"] for r in data["fallbacks"]][:1] in (
        ["how long do refunds take?"],
        ["blorp the zingle"],
        ["zingle blorp wobble"],
    )


async def test_csv_export_defuses_formulas(admin: TestClient, settings: Settings) -> None:
    write_broker(
        settings.analytics.event_broker_db,
        [("evil", user(1_796_115_600.0, '=HYPERLINK("http://x.test","click")', "nlu_fallback", 0.1))],
        malformed=False,
    )
    await admin.get("/console/api/analytics/summary")
    response = await admin.get("/console/api/analytics/fallbacks.csv")
    assert response.status == 200 and response.content_type == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(await response.text())))
    assert rows[0]["text"] == '\'=HYPERLINK("http://x.test","click")'
    assert rows[0]["sender_id"] == "evil"


async def test_csv_of_an_unknown_table_is_404_with_the_valid_ones(admin: TestClient) -> None:
    for table in ("state", "sqlite_master", "nope"):
        response = await admin.get(f"/console/api/analytics/{table}.csv")
        assert response.status == 404
        assert "conversations" in (await response.json())["error"]


def test_agents_file_roles(tmp_path: Path) -> None:
    path = tmp_path / "agents.json"
    rows = [
        {"email": "a@shop.test", "name": "A", "password_hash": "h"},
        {"email": "b@shop.test", "name": "B", "password_hash": "h", "role": "admin"},
    ]
    path.write_text(json.dumps(rows))
    assert [agent.role for agent in load_agents(path)] == ["agent", "admin"]
    path.write_text(json.dumps([{**rows[0], "role": "root"}]))
    with pytest.raises(ConfigError, match="root"):
        load_agents(path)


def test_export_cells(tmp_path: Path) -> None:
    from analytics.export import safe_cell

    assert [safe_cell(v) for v in ("=1+1", "+1", "-1", "@SUM(A1)", "plain", -0.5, None)] == [
        "'=1+1", "'+1", "'-1", "'@SUM(A1)", "plain", -0.5, ""
    ]  # fmt: skip
