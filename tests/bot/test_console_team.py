"""The team slice through aiohttp's test client: transfer, agent status, going offline (notes:
test_console_notes.py, auto-assignment and the claim race: test_console_assignment.py)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.agent_status import check_presence
from bot.keys import HUB, SETTINGS, STORE
from bot.passwords import hash_password
from bot.queue_timeout import QueueTimeout
from bot.settings import Agent, Settings
from bot.team_store import TEAM_STORE, AgentState, TeamStore
from tests.bot.conftest import FakeRasa, claimed, console_socket, login, next_frame, queue_handoff

CAROL = ("carol@shop.test", "Carol Agent", "carol-password")


@pytest.fixture(scope="module")
def carol() -> Agent:
    return Agent(CAROL[0], CAROL[1], hash_password(CAROL[2]))


@pytest.fixture
def settings(settings: Settings, carol: Agent) -> Settings:
    return dataclasses.replace(settings, agents=(*settings.agents, carol))


def h(csrf: str) -> dict[str, str]:
    return {"X-CSRF-Token": csrf}


def state_of(team: TeamStore, email: str) -> AgentState:
    state = team.state(email)
    assert state is not None, email
    return state


def notices(fake_rasa: FakeRasa, conversation_id: str) -> list[dict[str, Any]]:
    return [
        event
        for cid, events in fake_rasa.appended
        if cid == conversation_id
        for event in events
        if event.get("event") == "bot" and event["metadata"]["shopdesk_role"] == "notice"
    ]


# --- transfer ----------------------------------------------------------------------------------------


async def test_transfer_to_an_online_agent(
    anon: TestClient,
    alice: tuple[TestClient, str],
    bob: tuple[TestClient, str],
    fake_rasa: FakeRasa,
    server: TestServer,
) -> None:
    (a, a_csrf), (b, b_csrf) = alice, bob
    hid = await claimed(anon, alice)
    a_socket, b_socket = await console_socket(a), await console_socket(b)
    moved = await a.post(
        f"/api/console/conversations/{hid}/transfer",
        json={"to": "Bob@Shop.test", "reason": "refund over my limit"},
        headers=h(a_csrf),
    )
    assert moved.status == 200, await moved.text()
    handoff = (await moved.json())["handoff"]
    assert (handoff["status"], handoff["agent_email"], handoff["agent_name"]) == (
        "active",
        "bob@shop.test",
        "Bob Agent",
    )
    told = await next_frame(b_socket, lambda f: f["type"] == "transfer")
    assert told == {
        "type": "transfer",
        "handoff_id": hid,
        "from": "Alice Agent",
        "reason": "refund over my limit",
    }
    alice_saw = []
    while not alice_saw or alice_saw[-1]["type"] != "queue":  # the transfer's last push
        alice_saw.append(await a_socket.receive_json(timeout=10))
    assert "transfer" not in [f["type"] for f in alice_saw]  # the transfer event goes to Bob only
    note = next(f for f in alice_saw if f["type"] == "note")
    assert note["note"]["text"] == "transferred from Alice Agent to Bob Agent: refund over my limit"
    assert note["note"]["kind"] == "system"
    last = notices(fake_rasa, "shopper-1")[-1]
    assert last["text"] == "You are now chatting with Bob."
    assert (last["metadata"]["shopdesk_event"], last["metadata"]["agent_name"]) == ("joined", "Bob")

    assert (
        await b.post(f"/api/console/conversations/{hid}/reply", json={"text": "Bob here"}, headers=h(b_csrf))
    ).status == 200
    refused = await a.post(f"/api/console/conversations/{hid}/reply", json={"text": "me?"}, headers=h(a_csrf))
    assert refused.status == 409
    await a_socket.close()
    await b_socket.close()


@pytest.mark.parametrize(
    ("body", "status", "error"),
    [
        ({"to": "carol@shop.test", "reason": "x"}, 409, "carol@shop.test is offline"),
        (
            {"to": "zed@shop.test", "reason": "x"},
            400,
            {"to": "unknown agent 'zed@shop.test': an agent's email, or 'queue'"},
        ),
        ({"to": "alice@shop.test", "reason": "x"}, 400, {"to": "this conversation is already yours"}),
        ({"to": "bob@shop.test"}, 400, {"reason": "required string"}),
        ({"to": "bob@shop.test", "reason": "  "}, 400, {"reason": "must not be empty"}),
        ({"to": "queue", "reason": "r" * 201}, 400, {"reason": "at most 200 characters (got 201)"}),
        ({"reason": "why"}, 400, {"to": "required string"}),
    ],
)
async def test_bad_transfers_are_refused_and_change_nothing(
    anon: TestClient,
    alice: tuple[TestClient, str],
    bob: tuple[TestClient, str],
    fake_rasa: FakeRasa,
    body: dict[str, Any],
    status: int,
    error: Any,
) -> None:
    client, csrf = alice
    hid = await claimed(anon, alice)
    sent_before = len(fake_rasa.appended)
    response = await client.post(f"/api/console/conversations/{hid}/transfer", json=body, headers=h(csrf))
    assert response.status == status
    answer = await response.json()
    assert (answer["error"] if status == 409 else answer["fields"]) == error
    conversation = await (await client.get(f"/api/console/conversations/{hid}")).json()
    assert (conversation["status"], conversation["agent_email"]) == ("active", "alice@shop.test")
    assert (await (await client.get(f"/api/console/conversations/{hid}/notes")).json()) == {"notes": []}
    assert len(fake_rasa.appended) == sent_before


async def test_transfer_to_an_away_agent_or_by_a_non_owner_is_a_conflict(
    anon: TestClient, alice: tuple[TestClient, str], bob: tuple[TestClient, str]
) -> None:
    (a, a_csrf), (b, b_csrf) = alice, bob
    hid = await claimed(anon, alice)
    assert (await b.post("/api/console/status", json={"status": "away"}, headers=h(b_csrf))).status == 200
    away = await a.post(
        f"/api/console/conversations/{hid}/transfer",
        json={"to": "bob@shop.test", "reason": "x"},
        headers=h(a_csrf),
    )
    assert away.status == 409
    assert await away.json() == {"error": "bob@shop.test is away", "agent": "bob@shop.test", "status": "away"}
    stolen = await b.post(
        f"/api/console/conversations/{hid}/transfer",
        json={"to": "queue", "reason": "mine now"},
        headers=h(b_csrf),
    )
    assert stolen.status == 409
    assert "claimed by another agent" in (await stolen.json())["error"]
    queued = (await queue_handoff(anon, "shopper-2"))["handoff_id"]
    not_active = await a.post(
        f"/api/console/conversations/{queued}/transfer",
        json={"to": "queue", "reason": "x"},
        headers=h(a_csrf),
    )
    assert not_active.status == 409 and "is queued" in (await not_active.json())["error"]


async def test_transfer_back_to_the_queue_keeps_its_place_and_transcript(
    anon: TestClient, alice: tuple[TestClient, str], fake_rasa: FakeRasa, server: TestServer
) -> None:
    client, csrf = alice
    hid = (await queue_handoff(anon, "shopper-zh", language="zh"))["handoff_id"]
    created_at = server.app[STORE].get(hid)["created_at"]
    await client.post(f"/api/console/conversations/{hid}/claim", headers=h(csrf))
    await client.post(f"/api/console/conversations/{hid}/reply", json={"text": "你好"}, headers=h(csrf))
    moved = await client.post(
        f"/api/console/conversations/{hid}/transfer",
        json={"to": "queue", "reason": "needs billing"},
        headers=h(csrf),
    )
    assert moved.status == 200
    handoff = server.app[STORE].get(hid)
    assert (handoff["status"], handoff["agent_email"], handoff["claimed_at"]) == ("queued", None, None)
    assert handoff["created_at"] == created_at
    queue = await (await client.get("/api/console/queue")).json()
    assert [item["id"] for item in queue["queued"]] == [hid]
    last = notices(fake_rasa, "shopper-zh")[-1]
    assert last["text"] == "我们团队的其他成员很快就会为您服务，请稍候。"
    assert last["metadata"]["shopdesk_event"] == "queued"
    conversation = await (await client.get(f"/api/console/conversations/{hid}")).json()
    assert [m["role"] for m in conversation["messages"]] == ["shopper", "notice", "agent", "notice"]
    notes = (await (await client.get(f"/api/console/conversations/{hid}/notes")).json())["notes"]
    assert [n["text"] for n in notes] == ["returned to the queue by Alice Agent: needs billing"]
    again = await client.post(f"/api/console/conversations/{hid}/claim", headers=h(csrf))
    assert again.status == 200  # anyone may claim it again


async def test_a_requeued_conversation_times_out_from_its_return_not_its_creation(
    anon: TestClient, alice: tuple[TestClient, str], fake_rasa: FakeRasa, server: TestServer
) -> None:
    client, csrf = alice
    store = server.app[STORE]
    hid = await claimed(anon, alice)
    created_at = store.get(hid)["created_at"]
    clock = [created_at + 1000.0]  # the agent talked for 1000 s, then put it back in the queue
    store.clock = lambda: clock[0]
    await client.post(
        f"/api/console/conversations/{hid}/transfer", json={"to": "queue", "reason": "x"}, headers=h(csrf)
    )
    expiry = QueueTimeout(store, fake_rasa, server.app[HUB], timeout_s=900)
    assert await expiry.expire_once() == 0  # 1000 s after creation, but just back in the queue
    clock[0] += 901
    assert await expiry.expire_once() == 1


# --- status and going offline -----------------------------------------------------------------------


async def test_status_follows_login_the_agents_choice_and_logout(
    anon: TestClient, alice: tuple[TestClient, str], bob: tuple[TestClient, str], fake_rasa: FakeRasa
) -> None:
    (a, a_csrf), (b, _) = alice, bob

    async def statuses() -> dict[str, str]:
        listed = await (await b.get("/api/console/agents")).json()
        return {agent["email"]: agent["status"] for agent in listed["agents"]}

    assert await statuses() == {
        "alice@shop.test": "online",
        "bob@shop.test": "online",
        "carol@shop.test": "offline",
    }
    for bad in ({"status": "busy"}, {"status": None}, {"status": 5}, {}):
        refused = await a.post("/api/console/status", json=bad, headers=h(a_csrf))
        assert refused.status == 400
        assert "is not one of online, away, offline" in (await refused.json())["fields"]["status"]
    assert (await statuses())["alice@shop.test"] == "online"
    assert (await a.post("/api/console/status", json={"status": "away"}, headers=h(a_csrf))).status == 200
    assert (await statuses())["alice@shop.test"] == "away"

    hid = await claimed(anon, alice)  # away agents keep (and may take) conversations
    logout = await a.post("/console/logout", data={"csrf": a_csrf})
    assert logout.status == 200  # followed to the login page
    assert (await statuses())["alice@shop.test"] == "offline"
    conversation = await (await b.get(f"/api/console/conversations/{hid}")).json()
    assert (conversation["status"], conversation["agent_email"]) == ("queued", None)
    notes = (await (await b.get(f"/api/console/conversations/{hid}/notes")).json())["notes"]
    assert [n["text"] for n in notes] == ["returned to the queue: Alice Agent logged out"]
    assert (
        notices(fake_rasa, "shopper-1")[-1]["text"] == "Another member of our team will be with you shortly."
    )

    await login(a, "alice@shop.test", "alice-password")
    assert (await statuses())["alice@shop.test"] == "online"


async def test_choosing_offline_returns_every_conversation_to_the_queue(
    anon: TestClient, alice: tuple[TestClient, str], bob: tuple[TestClient, str], server: TestServer
) -> None:
    (a, a_csrf), (b, _) = alice, bob
    first, second = await claimed(anon, alice, "shopper-a"), await claimed(anon, alice, "shopper-b")
    socket = await console_socket(b)
    answer = await a.post("/api/console/status", json={"status": "offline"}, headers=h(a_csrf))
    assert sorted((await answer.json())["requeued"]) == sorted([first, second])
    await next_frame(socket, lambda f: f["type"] == "queue")  # the queue updates live
    queue = await (await b.get("/api/console/queue")).json()
    assert sorted(item["id"] for item in queue["queued"]) == sorted([first, second])
    assert queue["active"] == []
    await socket.close()


async def test_an_agent_without_a_console_for_the_grace_goes_offline_and_back_online_on_reconnect(
    anon: TestClient, alice: tuple[TestClient, str], bob: tuple[TestClient, str], server: TestServer
) -> None:
    (a, _), (b, _) = alice, bob
    app = server.app
    store, team = app[STORE], app[TEAM_STORE]
    hid = await claimed(anon, alice)
    socket = await console_socket(b)  # bob stays
    real = store.clock
    grace = app[SETTINGS].agent_offline_grace_s
    start = real()
    store.clock = lambda: start + grace - 5  # within the grace: nothing happens
    await check_presence(app)
    assert state_of(team, "alice@shop.test")["status"] == "online"

    store.clock = lambda: start + grace + 5
    await check_presence(app)
    assert state_of(team, "alice@shop.test")["status"] == "offline"
    assert state_of(team, "alice@shop.test")["cause"] == "disconnected"
    assert state_of(team, "bob@shop.test")["status"] == "online"  # his console is open
    assert store.get(hid)["status"] == "queued"
    notes = team.notes(hid)
    assert [n["text"] for n in notes] == [
        "returned to the queue: Alice Agent lost the connection (no console for 60 s)"
    ]

    store.clock = real
    a_socket = await console_socket(a)
    await check_presence(app)
    assert state_of(team, "alice@shop.test")["status"] == "online"
    await a_socket.close()
    await socket.close()


async def test_the_handoff_api_counts_online_and_away_agents_never_offline_ones(
    anon: TestClient, alice: tuple[TestClient, str]
) -> None:
    client, csrf = alice
    await client.post("/api/console/status", json={"status": "away"}, headers=h(csrf))
    assert (await queue_handoff(anon, "shopper-away"))["status"] == "queued"
    await client.post("/api/console/status", json={"status": "offline"}, headers=h(csrf))
    answer = await queue_handoff(anon, "shopper-offline")
    assert (answer["status"], answer["reason"]) == ("offline", "no_agent")


async def test_claiming_while_offline_makes_an_agent_online_again(
    anon: TestClient, alice: tuple[TestClient, str], bob: tuple[TestClient, str], server: TestServer
) -> None:
    (a, a_csrf), _ = alice, bob  # bob keeps the shop staffed
    await a.post("/api/console/status", json={"status": "offline"}, headers=h(a_csrf))
    await claimed(anon, alice)
    assert state_of(server.app[TEAM_STORE], "alice@shop.test")["status"] == "online"


async def test_an_agent_without_a_status_row_is_online_once_their_console_connects(
    alice: tuple[TestClient, str], server: TestServer
) -> None:
    client, _ = alice
    team = server.app[TEAM_STORE]
    team._db.execute("DELETE FROM agent_status")  # logged in before this release
    await check_presence(server.app)
    assert team.state("alice@shop.test") is None
    socket = await console_socket(client)
    await check_presence(server.app)
    assert state_of(team, "alice@shop.test")["status"] == "online"
    await socket.close()
