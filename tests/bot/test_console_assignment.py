"""Auto-assignment (order on seeded queues with known answers, the cap, the trigger), the claim race (two real
concurrent claims, repeated), and the team settings."""

from __future__ import annotations

import asyncio
import dataclasses
import threading
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.assignment import Candidate, assign_waiting, pick_agent
from bot.errors import ConfigError, HandoffStateError
from bot.keys import STORE
from bot.passwords import hash_password
from bot.settings import Agent, Settings, from_env
from bot.store import HandoffStore
from bot.team_store import TEAM_STORE
from tests.bot.conftest import FakeRasa, queue_handoff

CAROL = Agent("carol@shop.test", "Carol Agent", hash_password("carol-password"))


def h(csrf: str) -> dict[str, str]:
    return {"X-CSRF-Token": csrf}


# --- choosing the agent --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("candidates", "expected"),
    [
        ([], None),
        ([Candidate("a@x", 2, 10.0), Candidate("b@x", 1, 50.0)], "b@x"),  # fewest active conversations
        ([Candidate("a@x", 1, 50.0), Candidate("b@x", 1, 10.0)], "b@x"),  # tie: idle longest
        ([Candidate("b@x", 0, 10.0), Candidate("a@x", 0, 10.0)], "a@x"),  # full tie: by email
        ([Candidate("a@x", 3, 0.0), Candidate("b@x", 3, 0.0)], None),  # everyone at AGENT_MAX_CHATS
        ([Candidate("a@x", 3, 0.0), Candidate("b@x", 2, 99.0)], "b@x"),
    ],
)
def test_pick_agent(candidates: list[Candidate], expected: str | None) -> None:
    assert pick_agent(candidates, max_chats=3) == expected


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, agents=(*settings.agents, CAROL), agent_max_chats=2)


T0 = 1_900_000_000.0


def seed_online(app: Any, email: str, idle_since: float, online: bool = True) -> None:
    """An agent with a console request at T0 (present) and the given status and idle time."""
    store, team = app[STORE], app[TEAM_STORE]
    store.create_session(f"token-{email}", email, "csrf", 3600)
    team.set_status(email, "online" if online else "away", "login")
    team._db.execute("UPDATE agent_status SET since = ? WHERE email = ?", (idle_since, email))


async def test_auto_assignment_follows_the_queue_order_the_least_busy_agent_and_the_cap(
    server: TestServer, fake_rasa: FakeRasa
) -> None:
    """Queue order (priority = minutes waited + 5 x negative mood): H2 (7 min, mood -1: 12), H1 (10 min: 10),
    H4 (4 min, mood -0.8: 8), H3 (5 min: 5), H5 (1 min: 1), H6 (0.5 min: 0.5) — not the arrival order.
    Alice (idle since T0-100) and Carol (idle since T0-300) have nothing; Bob has H0 (claimed at T0-500); at
    most 2 each."""
    app = server.app
    store = app[STORE]
    now = [T0]
    store.clock = lambda: now[0]
    seed_online(app, "alice@shop.test", T0 - 100)
    seed_online(app, "bob@shop.test", T0 - 900)
    seed_online(app, CAROL.email, T0 - 300)
    ids: dict[str, str] = {}
    for name, age, mood in [
        ("H0", 900, None),
        ("H1", 600, None),
        ("H2", 420, -1.0),
        ("H3", 300, None),
        ("H4", 240, -0.8),
        ("H5", 60, None),
        ("H6", 30, None),
    ]:
        now[0] = T0 - age
        handoff, _ = store.open_handoff(f"c-{name}", "contact_human_agent", [], {})
        ids[name] = handoff["id"]
        store.set_mood(handoff["id"], mood, [])
    now[0] = T0 - 500
    store.claim(ids["H0"], "bob@shop.test", "Bob Agent")
    app[TEAM_STORE].assigned("bob@shop.test")
    now[0] = T0
    names = {handoff_id: name for name, handoff_id in ids.items()}
    assert [names[h["id"]] for h, _ in store.queued_by_priority()] == ["H2", "H1", "H4", "H3", "H5", "H6"]

    done = await assign_waiting(app)

    assert [(names[hid], email.split("@")[0]) for hid, email in done] == [
        ("H2", "carol"),  # Alice and Carol have none: Carol has been idle longer
        ("H1", "alice"),  # the only one with none left
        ("H4", "bob"),  # all have one: Bob's last one is the oldest (T0-500)
        ("H3", "alice"),  # Alice and Carol got theirs at T0: by email
        ("H5", "carol"),  # the last one below the cap
    ]
    assert store.get(ids["H6"])["status"] == "queued"  # everyone is at AGENT_MAX_CHATS = 2
    joined = [
        events[0] for cid, events in fake_rasa.appended if events[0]["metadata"]["shopdesk_event"] == "joined"
    ]
    assert [e["text"] for e in joined][:2] == [
        "Carol from our support team has joined the chat.",
        "Alice from our support team has joined the chat.",
    ]
    assert len(joined) == 5  # the same claim path as the button: the shopper is told who joined
    assert await assign_waiting(app) == []


async def test_auto_assignment_skips_away_and_offline_agents(server: TestServer) -> None:
    app = server.app
    store = app[STORE]
    store.clock = lambda: T0
    seed_online(app, "alice@shop.test", T0 - 100, online=False)  # away
    handoff, _ = store.open_handoff("c-1", "contact_human_agent", [], {})
    assert await assign_waiting(app) == []
    seed_online(app, "bob@shop.test", T0 - 100)
    assert await assign_waiting(app) == [(handoff["id"], "bob@shop.test")]


async def test_with_auto_assign_on_a_new_conversation_goes_to_an_online_agent_by_itself(
    settings: Settings, fake_rasa: FakeRasa, aiohttp_server: Any, aiohttp_client: Any
) -> None:
    from tests.bot.conftest import login

    server = await aiohttp_server(
        create_app(dataclasses.replace(settings, auto_assign=True), rasa=fake_rasa, sync=False)
    )
    anon = await aiohttp_client(server)
    agent = await aiohttp_client(server)
    await login(agent, "alice@shop.test", "alice-password")
    hid = (await queue_handoff(anon, "shopper-auto"))["handoff_id"]
    for _ in range(200):  # the loop wakes on the queue event (1 s timer as a safety net)
        if server.app[STORE].get(hid)["status"] == "active":
            break
        await asyncio.sleep(0.05)
    handoff = server.app[STORE].get(hid)
    assert (handoff["status"], handoff["agent_email"]) == ("active", "alice@shop.test")
    texts = [e["text"] for cid, events in fake_rasa.appended if cid == "shopper-auto" for e in events]
    assert texts == ["Alice from our support team has joined the chat."]


# --- the claim race ---------------------------------------------------------------------------------


async def test_two_agents_claiming_at_once_one_wins_the_other_is_told_who(
    anon: TestClient, alice: tuple[TestClient, str], bob: tuple[TestClient, str], fake_rasa: FakeRasa
) -> None:
    """Two logged-in clients against one running service fire their claims together, 20 times over."""
    (a, a_csrf), (b, b_csrf) = alice, bob
    names = {"alice@shop.test": "Alice Agent", "bob@shop.test": "Bob Agent"}
    winners = set()
    for round_ in range(20):
        conversation_id = f"race-{round_}"
        hid = (await queue_handoff(anon, conversation_id))["handoff_id"]
        first, second = await asyncio.gather(
            a.post(f"/api/console/conversations/{hid}/claim", headers=h(a_csrf)),
            b.post(f"/api/console/conversations/{hid}/claim", headers=h(b_csrf)),
        )
        assert sorted([first.status, second.status]) == [200, 409], round_
        won, lost = (first, second) if first.status == 200 else (second, first)
        winner = (await won.json())["handoff"]["agent_email"]
        winners.add(winner)
        error = (await lost.json())["error"]
        assert (
            error == f"conversation {hid!r} is active; this needs one of queued (claimed by {names[winner]})"
        )
        joined = [e for cid, evs in fake_rasa.appended if cid == conversation_id for e in evs]
        assert len(joined) == 1 and names[winner].split()[0] in joined[0]["text"]
    assert winners <= set(names)


def test_the_guarded_update_has_one_winner_across_connections(tmp_path: Path) -> None:
    """Two threads, each with its own connection to the file, claim the same handoff at a barrier, 50 times."""
    path = tmp_path / "handoff.db"
    stores = [HandoffStore(path), HandoffStore(path)]
    barrier = threading.Barrier(2)

    def claim(store: HandoffStore, email: str, handoff_id: str, outcomes: list[str]) -> None:
        barrier.wait()
        try:
            store.claim(handoff_id, email, email)
            outcomes.append("won")
        except HandoffStateError as error:
            outcomes.append(str(error))

    for round_ in range(50):
        handoff, _ = stores[0].open_handoff(f"race-{round_}", "r", [], {})
        outcomes: list[str] = []

        threads = [
            threading.Thread(target=claim, args=(s, e, handoff["id"], outcomes))
            for s, e in zip(stores, ("a@x", "b@x"), strict=True)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes)[-1] == "won" and outcomes.count("won") == 1, outcomes
        winner = stores[1].get(handoff["id"])["agent_email"]
        assert f"(claimed by {winner})" in next(o for o in outcomes if o != "won")
    for store in stores:
        store.shutdown()


# --- settings ------------------------------------------------------------------------------------------


def test_team_settings_defaults_and_values() -> None:
    defaults = from_env({})
    assert (defaults.auto_assign, defaults.agent_max_chats, defaults.agent_offline_grace_s) == (
        False,
        3,
        60.0,
    )
    chosen = from_env({"AUTO_ASSIGN": "on", "AGENT_MAX_CHATS": "5", "AGENT_OFFLINE_GRACE_S": "30"})
    assert (chosen.auto_assign, chosen.agent_max_chats, chosen.agent_offline_grace_s) == (True, 5, 30.0)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"AUTO_ASSIGN": "maybe"}, "AUTO_ASSIGN='maybe'"),
        ({"AGENT_MAX_CHATS": "0"}, "AGENT_MAX_CHATS='0'"),
        ({"AGENT_MAX_CHATS": "2.5"}, "AGENT_MAX_CHATS='2.5'"),
        ({"AGENT_MAX_CHATS": "many"}, "AGENT_MAX_CHATS='many'"),
        ({"AGENT_OFFLINE_GRACE_S": "0"}, "AGENT_OFFLINE_GRACE_S=0.0"),
        ({"AGENT_OFFLINE_GRACE_S": "soon"}, "AGENT_OFFLINE_GRACE_S='soon'"),
    ],
)
def test_bad_team_settings_name_the_variable_and_value(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace(".", r"\.")):
        from_env(env)


# --- the loop's triggers --------------------------------------------------------------------------------


async def test_the_team_loop_wakes_on_queue_status_and_presence_events_only(server: TestServer) -> None:
    from bot.hub import Hub
    from bot.team import TeamLoop

    hub, loop = Hub(), TeamLoop(server.app, tick_s=3600)
    hub.observe(loop.observe)
    for quiet in ({"type": "message", "handoff_id": "H-1"}, {"type": "note"}, {"type": "tickets"}):
        await hub.publish(quiet)
        assert not loop.wake.is_set(), quiet
    for event in (
        {"type": "queue"},
        {"type": "agents", "agent": "a@x", "status": "online"},
        {"type": "presence"},
    ):
        await hub.publish(event)
        assert loop.wake.is_set(), event
        loop.wake.clear()
