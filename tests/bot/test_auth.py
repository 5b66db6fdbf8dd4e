"""Login, sessions, CSRF, and that every console endpoint refuses anonymous callers."""

from __future__ import annotations

import dataclasses
import hmac
import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.app import create_app
from bot.keys import STORE
from bot.loginguard import LoginGuard
from tests.bot.conftest import ALICE, BOB, queue_handoff

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


async def _try(client: TestClient, csrf: str, email: str, password: str, address: str | None = None) -> Any:
    headers = {"X-Forwarded-For": address} if address else {}
    data = {"email": email, "password": password, "csrf": csrf}
    return await client.post("/console/login", data=data, headers=headers, allow_redirects=False)


async def test_failed_logins_are_limited_per_address_which_a_client_cannot_choose(anon: TestClient) -> None:
    csrf = await _login_form(anon)
    # ten different (unknown) accounts from one address; X-Forwarded-For is ignored: no trusted proxy
    statuses = [
        (await _try(anon, csrf, f"nobody{i}@shop.test", "bad", address=f"198.51.100.{i}")).status
        for i in range(11)
    ]
    assert statuses == [401] * 10 + [429]
    blocked = await _try(anon, csrf, ALICE[0], ALICE[2])
    assert blocked.status == 429  # even the right password, until the window passes
    assert int(blocked.headers["Retry-After"]) > 0


@pytest.fixture
async def behind_proxy(settings: Any, fake_rasa: Any, aiohttp_client: Any) -> TestClient:
    """The service behind a reverse proxy on 127.0.0.1: every agent shares the proxy's address."""
    proxied = dataclasses.replace(settings, trusted_proxies=frozenset({"127.0.0.1"}))
    return await aiohttp_client(create_app(proxied, rasa=fake_rasa, sync=False))


async def test_one_attacker_behind_the_proxy_cannot_lock_out_every_agent(behind_proxy: TestClient) -> None:
    client = behind_proxy
    csrf = await _login_form(client)
    for i in range(10):  # the attacker's own address is blocked after its 10 failures …
        assert (await _try(client, csrf, f"x{i}@shop.test", "bad", address="203.0.113.66")).status == 401
    assert (await _try(client, csrf, BOB[0], BOB[2], address="203.0.113.66")).status == 429
    # … while an agent behind the same proxy, from their own address, still logs in
    assert (await _try(client, csrf, BOB[0], BOB[2], address="192.0.2.10")).status == 303


async def test_guessing_one_account_from_many_addresses_locks_that_account(behind_proxy: TestClient) -> None:
    client = behind_proxy
    csrf = await _login_form(client)
    for i in range(5):
        assert (await _try(client, csrf, ALICE[0], f"guess{i}", address=f"203.0.113.{i}")).status == 401
    locked = await _try(client, csrf, ALICE[0], ALICE[2], address="192.0.2.10")
    assert locked.status == 429 and int(locked.headers["Retry-After"]) >= 1
    assert (await _try(client, csrf, BOB[0], BOB[2], address="192.0.2.10")).status == 303  # only Alice


def test_account_lock_backs_off_and_resets_on_success() -> None:
    now = [0.0]
    guard = LoginGuard(frozenset({"a@shop.test"}), free_failures=2, base_lock_s=10, clock=lambda: now[0])
    guard.failed("ip0", "a@shop.test")
    assert guard.retry_after("ip9", "a@shop.test") == 0
    guard.failed("ip1", "a@shop.test")
    assert guard.retry_after("ip9", "a@shop.test") == 10  # the second failure locks for 10 s
    guard.failed("ip9", "a@shop.test")
    assert guard.retry_after("ip8", "a@shop.test") == 20  # then doubles
    guard.failed("ip9", "nobody@shop.test")  # unknown accounts keep no state
    assert guard.retry_after("ip7", "nobody@shop.test") == 0
    now[0] = 25.0
    assert guard.retry_after("ip8", "a@shop.test") == 0
    guard.succeeded("a@shop.test")
    guard.failed("ip8", "a@shop.test")
    assert guard.retry_after("ip8", "a@shop.test") == 0  # the count started again


async def test_logout_compares_the_csrf_token_in_constant_time(
    alice: tuple[TestClient, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.console

    client, csrf = alice
    calls: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(bot.console.hmac, "compare_digest", spy)
    forged = await client.post("/console/logout", data={"csrf": "forged"}, allow_redirects=False)
    assert forged.status == 403
    assert calls, "the logout CSRF token must be compared with hmac.compare_digest"
    done = await client.post("/console/logout", data={"csrf": csrf}, allow_redirects=False)
    assert done.status == 303
