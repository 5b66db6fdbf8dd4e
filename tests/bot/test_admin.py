"""Roles and agent management: the admin area for admins only, adding agents, role changes, disabling (sessions
end, consoles close), the rules that keep an enabled admin, and every bad input answered once and stored never."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.agents_store import AgentRuleError, AgentsStore
from bot.keys import STORE
from bot.passwords import hash_password
from bot.settings import DEMO_AGENT_EMAIL, Agent, Settings, demo_agents
from tests.bot.conftest import ALICE, BOB, console_socket, login, queue_handoff

ADMIN = ("ada@shop.test", "Ada Admin", "ada-password")
NEW = {"email": "Carol@Shop.test", "name": "Carol Agent", "role": "agent", "password": "carol-password-1"}
HTML_NAME = '<img src=x onerror="alert(1)"> Dan'


def h(csrf: str) -> dict[str, str]:
    return {"X-CSRF-Token": csrf}


@pytest.fixture
def settings(tmp_path: Path, agents: tuple[Agent, ...], settings: Settings) -> Settings:  # type: ignore[override]
    admin = Agent(ADMIN[0], ADMIN[1], hash_password(ADMIN[2]), "admin")
    return replace(settings, agents=(*agents, admin))


@pytest.fixture
async def admin(server: TestServer, aiohttp_client: Any) -> tuple[TestClient, str]:
    client = await aiohttp_client(server)
    return client, await login(client, ADMIN[0], ADMIN[2])


async def try_login(client: TestClient, email: str, password: str) -> int:
    page = await client.get("/console/login")
    csrf = re.search(r'name="csrf" value="([^"]+)"', await page.text()).group(1)  # type: ignore[union-attr]
    response = await client.post(
        "/console/login", data={"email": email, "password": password, "csrf": csrf}, allow_redirects=False
    )
    return response.status


async def agents_list(client: TestClient) -> list[dict[str, Any]]:
    response = await client.get("/console/api/admin/agents")
    assert response.status == 200
    return (await response.json())["agents"]  # type: ignore[no-any-return]


# --- who may enter -----------------------------------------------------------------------------------


async def test_agents_get_403_on_every_admin_page_and_api(
    alice: tuple[TestClient, str], anon: TestClient
) -> None:
    client, csrf = alice
    for path in ("/console/admin", "/console/admin/agents"):
        page = await client.get(path)
        assert page.status == 403
        assert "admin area is for admins" in await page.text()
    listed = await client.get("/console/api/admin/agents")
    assert listed.status == 403
    assert (await listed.json())[
        "error"
    ] == "the admin area is for admins: ask an admin to give you the admin role"
    added = await client.post("/console/api/admin/agents", json=NEW, headers=h(csrf))
    assert added.status == 403
    changed = await client.patch(
        f"/console/api/admin/agents/{BOB[0]}", json={"disabled": True}, headers=h(csrf)
    )
    assert changed.status == 403
    assert await try_login(anon, BOB[0], BOB[2]) == 303  # bob is untouched
    console = await (await client.get("/console")).text()
    assert "/console/admin" not in console and "/console/dashboard" not in console


async def test_anonymous_goes_to_login_or_gets_401(anon: TestClient) -> None:
    for path in ("/console/admin", "/console/admin/agents"):
        page = await anon.get(path, allow_redirects=False)
        assert page.status == 303 and page.headers["Location"] == "/console/login"
    assert (await anon.get("/console/api/admin/agents")).status == 401


async def test_admins_see_the_admin_link_and_the_area(admin: tuple[TestClient, str]) -> None:
    client, _ = admin
    console = await (await client.get("/console")).text()
    assert '<a class="admin-link" href="/console/admin">Admin</a>' in console
    area = await client.get("/console/admin")
    assert area.status == 200
    body = await area.text()
    for href in ("/console/admin/canned", "/console/admin/agents", "/console/dashboard"):
        assert f'href="{href}"' in body
    page = await (await client.get("/console/admin/agents")).text()
    assert "/static/admin_agents.js" in page and 'name="csrf-token"' in page


# --- adding agents -----------------------------------------------------------------------------------


async def test_an_added_agent_logs_in_with_the_role_given(
    admin: tuple[TestClient, str], anon: TestClient
) -> None:
    client, csrf = admin
    added = await client.post("/console/api/admin/agents", json=NEW, headers=h(csrf))
    assert added.status == 201, await added.text()
    record = await added.json()
    assert record == {
        "email": "carol@shop.test",
        "name": "Carol Agent",
        "role": "agent",
        "disabled": False,
        "source": "console",
    }
    assert "password" not in str(await agents_list(client))
    assert [a["email"] for a in await agents_list(client)] == [ALICE[0], BOB[0], ADMIN[0], "carol@shop.test"]
    assert await try_login(anon, "carol@shop.test", NEW["password"]) == 303
    me = await anon.get("/api/console/me")
    assert (await me.json())["email"] == "carol@shop.test"
    assert (await anon.get("/console/admin")).status == 403  # an agent, not an admin


async def test_an_added_agent_gets_the_per_account_login_lock(
    admin: tuple[TestClient, str], anon: TestClient
) -> None:
    client, csrf = admin
    assert (await client.post("/console/api/admin/agents", json=NEW, headers=h(csrf))).status == 201
    statuses = [await try_login(anon, "carol@shop.test", "wrong-password") for _ in range(6)]
    assert statuses == [401] * 5 + [429]
    assert await try_login(anon, "carol@shop.test", NEW["password"]) == 429  # locked, even the right one


async def test_html_in_a_name_is_stored_as_text_and_escaped(
    admin: tuple[TestClient, str], anon: TestClient
) -> None:
    client, csrf = admin
    body = {**NEW, "email": "dan@shop.test", "name": HTML_NAME}
    assert (await client.post("/console/api/admin/agents", json=body, headers=h(csrf))).status == 201
    assert [a["name"] for a in await agents_list(client) if a["email"] == "dan@shop.test"] == [HTML_NAME]
    assert await try_login(anon, "dan@shop.test", NEW["password"]) == 303
    console = await (await anon.get("/console")).text()
    assert "<img src=x" not in console
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt; Dan" in console


@pytest.mark.parametrize(
    ("change", "field", "says"),
    [
        ({"email": "not-an-email"}, "email", "not an email address: 'not-an-email'"),
        ({"email": "a@b"}, "email", "not an email address"),
        ({"email": ""}, "email", "required"),
        ({"password": "short"}, "password", "at least 12 characters (got 5)"),
        ({"password": "x" * 201}, "password", "at most 200"),
        ({"role": "owner"}, "role", "unknown role 'owner': one of agent, admin"),
        ({"role": 7}, "role", "unknown role"),
        ({"name": "   "}, "name", "required"),
        ({"name": "x" * 81}, "name", "at most 80"),
        ({"name": "Eve\u202eDrol"}, "name", "control or format characters"),
    ],
)
async def test_bad_fields_are_named_and_nothing_is_stored(
    admin: tuple[TestClient, str], change: dict[str, Any], field: str, says: str
) -> None:
    client, csrf = admin
    response = await client.post("/console/api/admin/agents", json={**NEW, **change}, headers=h(csrf))
    assert response.status == 400
    fields = (await response.json())["fields"]
    assert list(fields) == [field] and says in fields[field]
    assert len(await agents_list(client)) == 3


async def test_every_bad_field_in_one_answer(admin: tuple[TestClient, str]) -> None:
    client, csrf = admin
    body = {"email": "nope", "name": "", "role": "boss", "password": "1234"}
    response = await client.post("/console/api/admin/agents", json=body, headers=h(csrf))
    assert response.status == 400
    assert sorted((await response.json())["fields"]) == ["email", "name", "password", "role"]
    bad_json = await client.post("/console/api/admin/agents", data="[1]", headers=h(csrf))
    assert bad_json.status == 400


async def test_a_duplicate_email_is_refused_and_stored_once(admin: tuple[TestClient, str]) -> None:
    client, csrf = admin
    assert (await client.post("/console/api/admin/agents", json=NEW, headers=h(csrf))).status == 201
    again = await client.post(
        "/console/api/admin/agents", json={**NEW, "email": " CAROL@shop.test "}, headers=h(csrf)
    )
    assert again.status == 409
    assert "'carol@shop.test' already exists" in (await again.json())["error"]
    configured = await client.post(
        "/console/api/admin/agents", json={**NEW, "email": ALICE[0]}, headers=h(csrf)
    )
    assert configured.status == 409
    emails = [a["email"] for a in await agents_list(client)]
    assert emails.count("carol@shop.test") == 1 and emails.count(ALICE[0]) == 1


async def test_two_adds_of_one_email_at_once_store_one(admin: tuple[TestClient, str]) -> None:
    client, csrf = admin
    first, second = await asyncio.gather(
        client.post("/console/api/admin/agents", json=NEW, headers=h(csrf)),
        client.post("/console/api/admin/agents", json=NEW, headers=h(csrf)),
    )
    assert sorted([first.status, second.status]) == [201, 409]
    assert [a["email"] for a in await agents_list(client)].count("carol@shop.test") == 1


async def test_changes_without_the_csrf_header_are_refused(admin: tuple[TestClient, str]) -> None:
    client, _ = admin
    added = await client.post("/console/api/admin/agents", json=NEW)
    assert added.status == 403 and "CSRF" in (await added.json())["error"]
    changed = await client.patch(
        f"/console/api/admin/agents/{BOB[0]}", json={"disabled": True}, headers=h("wrong")
    )
    assert changed.status == 403
    assert [(a["email"], a["disabled"]) for a in await agents_list(client)] == [
        (ALICE[0], False),
        (BOB[0], False),
        (ADMIN[0], False),
    ]


# --- roles and disabling -----------------------------------------------------------------------------


async def test_a_role_change_applies_to_the_live_session(
    admin: tuple[TestClient, str], bob: tuple[TestClient, str]
) -> None:
    client, csrf = admin
    bob_client, _ = bob
    assert (await bob_client.get("/console/admin")).status == 403
    promoted = await client.patch(
        f"/console/api/admin/agents/{BOB[0]}", json={"role": "admin"}, headers=h(csrf)
    )
    assert promoted.status == 200 and (await promoted.json())["role"] == "admin"
    assert (await bob_client.get("/console/admin")).status == 200  # no new login needed
    assert (await bob_client.get("/console/api/admin/agents")).status == 200
    demoted = await client.patch(
        f"/console/api/admin/agents/{BOB[0]}", json={"role": "agent"}, headers=h(csrf)
    )
    assert (await demoted.json())["role"] == "agent"
    assert (await bob_client.get("/console/api/admin/agents")).status == 403


async def test_disabling_ends_sessions_closes_consoles_and_refuses_login(
    admin: tuple[TestClient, str], bob: tuple[TestClient, str], anon: TestClient
) -> None:
    client, csrf = admin
    bob_client, _ = bob
    socket = await console_socket(bob_client)
    disabled = await client.patch(
        f"/console/api/admin/agents/{BOB[0]}", json={"disabled": True}, headers=h(csrf)
    )
    assert disabled.status == 200 and (await disabled.json())["disabled"] is True
    while True:  # a presence frame may come first; then the server closes bob's console
        message = await asyncio.wait_for(socket.receive(), 10)
        if message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.CLOSING):
            break
    assert (await bob_client.get("/api/console/queue")).status == 401
    assert await try_login(anon, BOB[0], BOB[2]) == 401
    enabled = await client.patch(
        f"/console/api/admin/agents/{BOB[0]}", json={"disabled": False}, headers=h(csrf)
    )
    assert (await enabled.json())["disabled"] is False
    assert (await bob_client.get("/api/console/queue")).status == 401  # the old session stays ended
    assert await try_login(anon, BOB[0], BOB[2]) == 303


async def test_disabling_an_agent_returns_their_conversations_to_the_queue(
    admin: tuple[TestClient, str], bob: tuple[TestClient, str], anon: TestClient, server: TestServer
) -> None:
    client, csrf = admin
    bob_client, bob_csrf = bob
    handoff = await queue_handoff(anon)
    claimed = await bob_client.post(
        f"/api/console/conversations/{handoff['handoff_id']}/claim", headers=h(bob_csrf)
    )
    assert claimed.status == 200
    disabled = await client.patch(
        f"/console/api/admin/agents/{BOB[0]}", json={"disabled": True}, headers=h(csrf)
    )
    assert disabled.status == 200
    back = server.app[STORE].get(handoff["handoff_id"])
    assert (back["status"], back["agent_email"]) == ("queued", None)
    notes = await client.get(f"/api/console/conversations/{handoff['handoff_id']}/notes")
    assert [n["text"] for n in (await notes.json())["notes"]] == [
        f"returned to the queue: {BOB[1]} was disabled by an admin"
    ]
    conversation = await client.get(f"/api/console/conversations/{handoff['handoff_id']}")
    assert (await conversation.json())["messages"][0]["text"] == "I want a person"


async def test_an_admin_cannot_demote_or_disable_themselves(admin: tuple[TestClient, str]) -> None:
    client, csrf = admin
    for body in ({"disabled": True}, {"role": "agent"}):
        response = await client.patch(f"/console/api/admin/agents/{ADMIN[0]}", json=body, headers=h(csrf))
        assert response.status == 409
        assert "cannot demote or disable yourself" in (await response.json())["error"]
    assert [(a["role"], a["disabled"]) for a in await agents_list(client) if a["email"] == ADMIN[0]] == [
        ("admin", False)
    ]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"disabled": "yes"}, "disabled"),
        ({"role": "root"}, "role"),
        ({"password": "new-password-123"}, "password"),
        ({}, "body"),
    ],
)
async def test_bad_changes_are_named(admin: tuple[TestClient, str], body: dict[str, Any], field: str) -> None:
    client, csrf = admin
    response = await client.patch(f"/console/api/admin/agents/{BOB[0]}", json=body, headers=h(csrf))
    assert response.status == 400
    assert field in (await response.json())["fields"]


async def test_an_unknown_agent_is_404(admin: tuple[TestClient, str]) -> None:
    client, csrf = admin
    response = await client.patch(
        "/console/api/admin/agents/nobody@shop.test", json={"disabled": True}, headers=h(csrf)
    )
    assert response.status == 404 and "'nobody@shop.test'" in (await response.json())["error"]


# --- the store: the last admin, restarts, production ------------------------------------------------


def roster(path: Path, agents: tuple[Agent, ...], **kw: Any) -> AgentsStore:
    return AgentsStore(path, agents, **kw)


def test_the_last_enabled_admin_stays(tmp_path: Path) -> None:
    hashed = hash_password("x")
    agents = (Agent("a@shop.test", "A", hashed, "admin"), Agent("b@shop.test", "B", hashed, "admin"))
    store = roster(tmp_path / "h.db", agents)
    store.update("b@shop.test", "a@shop.test", disabled=True)  # a wins the race of two admins…
    with pytest.raises(AgentRuleError, match=r"a@shop\.test is the last enabled admin"):
        store.update("a@shop.test", "b@shop.test", disabled=True)  # …b's request, checked after a's, loses
    with pytest.raises(AgentRuleError, match="last enabled admin"):
        store.update("a@shop.test", "b@shop.test", role="agent")
    assert [(r["email"], r["role"], r["disabled"]) for r in store.records()] == [
        ("a@shop.test", "admin", False),
        ("b@shop.test", "admin", True),
    ]


def test_changes_survive_a_restart_and_follow_the_configuration(tmp_path: Path) -> None:
    hashed = hash_password("x")
    agents = (Agent("a@shop.test", "A", hashed, "admin"), Agent("b@shop.test", "B", hashed))
    store = roster(tmp_path / "h.db", agents)
    store.update("b@shop.test", "a@shop.test", role="admin", disabled=True)
    store.add("c@shop.test", "C", "agent", hash_password("c-password-123"), "a@shop.test")
    store.shutdown()
    again = roster(tmp_path / "h.db", agents)
    assert [(r["email"], r["role"], r["disabled"], r["source"]) for r in again.records()] == [
        ("a@shop.test", "admin", False, "config"),
        ("b@shop.test", "admin", True, "config"),
        ("c@shop.test", "agent", False, "console"),
    ]
    assert again.active("b@shop.test") is None
    assert again.active(" C@shop.test ") is not None
    again.shutdown()
    without_b = roster(tmp_path / "h.db", agents[:1])  # b left AGENTS_FILE: the override no longer applies
    assert [r["email"] for r in without_b.records()] == ["a@shop.test", "c@shop.test"]


def test_production_refuses_and_ignores_the_demo_agents(tmp_path: Path) -> None:
    hashed = hash_password("x")
    dev = roster(tmp_path / "h.db", (Agent("a@shop.test", "A", hashed, "admin"),))
    dev.add(DEMO_AGENT_EMAIL, "Demo", "agent", hashed, "a@shop.test")
    dev.shutdown()
    prod = roster(tmp_path / "h.db", (Agent("a@shop.test", "A", hashed, "admin"),), production=True)
    assert [r["email"] for r in prod.records()] == ["a@shop.test"]
    assert prod.active(DEMO_AGENT_EMAIL) is None
    with pytest.raises(Exception, match="refused in production"):
        prod.add("admin@shopdesk.test", "Demo", "admin", hashed, "a@shop.test")
    assert len(demo_agents()) == 2  # development keeps both demo logins
