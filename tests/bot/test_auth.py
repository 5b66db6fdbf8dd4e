"""Login, sessions, CSRF, and that every console endpoint refuses anonymous callers."""

from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.keys import STORE
from tests.bot.conftest import ALICE, queue_handoff

CONSOLE_ENDPOINTS = [
    ("GET", "/api/console/me"),
    ("GET", "/api/console/queue"),
    ("GET", "/api/console/closed"),
    ("GET", "/api/console/conversations/H-000000000000"),
    ("POST", "/api/console/conversations/H-000000000000/claim"),
    ("POST", "/api/console/conversations/H-000000000000/reply"),
    ("POST", "/api/console/conversations/H-000000000000/close"),
    ("GET", "/api/console/tickets"),
    ("GET", "/api/console/tickets/T-0000000000"),
    ("POST", "/api/console/tickets/T-0000000000/resolve"),
    ("GET", "/api/console/orders/SD-100001"),
    ("GET", "/api/console/ws"),
]


@pytest.mark.parametrize(("method", "path"), CONSOLE_ENDPOINTS)
async def test_every_console_endpoint_needs_an_agent(anon: TestClient, method: str, path: str) -> None:
    response = await anon.request(method, path, json={"text": "hi"})
    assert response.status == 401
    assert "session" in (await response.json())["error"]


@pytest.mark.parametrize(("method", "path"), [e for e in CONSOLE_ENDPOINTS if e[0] == "POST"])
async def test_state_changes_need_the_csrf_token(
    alice: tuple[TestClient, str], method: str, path: str
) -> None:
    client, _csrf = alice
    response = await client.request(method, path, json={"text": "hi"})
    assert response.status == 403
    response = await client.request(method, path, json={"text": "hi"}, headers={"X-CSRF-Token": "forged"})
    assert response.status == 403


async def test_console_page_redirects_to_login(anon: TestClient) -> None:
    response = await anon.get("/console", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/console/login"


async def _login_form(client: TestClient) -> str:
    page = await client.get("/console/login")
    return re.search(r'name="csrf" value="([^"]+)"', await page.text()).group(1)  # type: ignore[union-attr]


async def test_wrong_password_is_refused_without_saying_which_field(anon: TestClient) -> None:
    csrf = await _login_form(anon)
    response = await anon.post("/console/login", data={"email": ALICE[0], "password": "nope", "csrf": csrf})
    assert response.status == 401
    assert "Wrong email or password" in await response.text()
    unknown = await anon.post("/console/login", data={"email": "x@y.z", "password": "nope", "csrf": csrf})
    assert unknown.status == 401
    assert (await anon.get("/api/console/me")).status == 401


async def test_login_without_the_form_token_is_refused(anon: TestClient) -> None:
    response = await anon.post("/console/login", data={"email": ALICE[0], "password": ALICE[2], "csrf": "x"})
    assert response.status == 403
    assert (await anon.get("/api/console/me")).status == 401


async def test_login_sets_a_locked_down_session_cookie(anon: TestClient) -> None:
    csrf = await _login_form(anon)
    response = await anon.post(
        "/console/login", data={"email": ALICE[0], "password": ALICE[2], "csrf": csrf}, allow_redirects=False
    )
    assert response.status == 303
    cookie = response.cookies["shopdesk_session"]
    assert cookie["httponly"]
    assert cookie["samesite"] == "Strict"
    me = await anon.get("/api/console/me")
    assert (await me.json())["email"] == ALICE[0]


async def test_expired_session_is_refused(alice: tuple[TestClient, str], server: Any) -> None:
    client, _ = alice
    store = server.app[STORE]
    store._db.execute("UPDATE sessions SET expires_at = 0")
    response = await client.get("/api/console/queue")
    assert response.status == 401
    assert "expired" in (await response.json())["error"]


async def test_logout_ends_the_session(alice: tuple[TestClient, str]) -> None:
    client, csrf = alice
    response = await client.post("/console/logout", data={"csrf": csrf})
    assert response.status == 200  # redirected to the login page
    assert (await client.get("/api/console/me")).status == 401


async def test_second_tab_shares_the_session(alice: tuple[TestClient, str], anon: TestClient) -> None:
    client, csrf = alice
    handoff = await queue_handoff(anon)
    first = await client.post(
        f"/api/console/conversations/{handoff['handoff_id']}/claim", headers={"X-CSRF-Token": csrf}
    )
    again = await client.post(
        f"/api/console/conversations/{handoff['handoff_id']}/claim", headers={"X-CSRF-Token": csrf}
    )
    assert first.status == 200
    assert again.status == 409


async def test_websocket_refuses_a_foreign_origin(alice: tuple[TestClient, str]) -> None:
    client, _ = alice
    response = await client.get("/api/console/ws", headers={"Origin": "http://evil.example"})
    assert response.status == 403
    missing = await client.get("/api/console/ws")
    assert missing.status == 403


async def test_failed_logins_are_rate_limited_but_good_ones_are_not(anon: TestClient) -> None:
    csrf = await _login_form(anon)
    statuses = [
        (
            await anon.post("/console/login", data={"email": ALICE[0], "password": f"bad{i}", "csrf": csrf})
        ).status
        for i in range(11)
    ]
    assert statuses == [401] * 10 + [429]
    blocked = await anon.post("/console/login", data={"email": ALICE[0], "password": ALICE[2], "csrf": csrf})
    assert blocked.status == 429  # even the right password, until the window passes
