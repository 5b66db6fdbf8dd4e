"""``GET /api/console/search`` through the service: every rejection, results with their outcome and snippet,
what changes after a search (a close, a ticket, a resolve), and the setting."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.csat import CSAT_STORE
from bot.errors import ConfigError
from bot.keys import STORE
from bot.search import SEARCH_INDEX
from bot.settings import Settings, from_env
from tests.bot.conftest import ALICE, queue_handoff

HOSTILE = '<img src=x onerror="alert(1)">'


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, search_catchup_interval_s=0)  # only the catch-up before each search


def h(csrf: str) -> dict[str, str]:
    return {"X-CSRF-Token": csrf}


async def handed_back(
    anon: TestClient, agent: tuple[TestClient, str], conversation_id: str, **extra: Any
) -> str:
    client, csrf = agent
    hid = (await queue_handoff(anon, conversation_id, **extra))["handoff_id"]
    assert (await client.post(f"/api/console/conversations/{hid}/claim", headers=h(csrf))).status == 200
    assert (await client.post(f"/api/console/conversations/{hid}/close", headers=h(csrf))).status == 200
    return str(hid)


async def search(client: TestClient, status: int = 200, **params: str) -> dict[str, Any]:
    response = await client.get("/api/console/search", params=params)
    body = await response.json()
    assert response.status == status, body
    return dict(body)


async def test_bad_input_is_a_400_that_names_the_parameter(alice: tuple[TestClient, str]) -> None:
    client, _ = alice
    for params, field, says in [
        ({}, "q", "must not be empty"),
        ({"q": ""}, "q", "must not be empty"),
        ({"q": "   "}, "q", "must not be empty"),
        ({"q": "a"}, "q", "at least 2 characters"),
        ({"q": "x" * 201}, "q", "at most 200 characters (got 201)"),
        ({"q": "refund", "kind": "orders"}, "kind", "'orders' is not one of all, conversation, ticket"),
        ({"q": "refund", "kind": ""}, "kind", "is not one of"),
        ({"q": "refund", "limit": "0"}, "limit", "not an integer from 1 to 100"),
        ({"q": "refund", "limit": "101"}, "limit", "not an integer from 1 to 100"),
        ({"q": "refund", "limit": "-1"}, "limit", "not an integer from 1 to 100"),
        ({"q": "refund", "limit": "ten"}, "limit", "'ten' is not an integer"),
        ({"q": "refund", "limit": "١٠"}, "limit", "not an integer"),  # Arabic-Indic digits
    ]:
        body = await search(client, 400, **params)
        assert says in body["fields"][field], (params, body)
    assert (await search(client, q="x" * 200, limit="100"))["results"] == []


async def test_agents_must_be_logged_in(anon: TestClient) -> None:
    response = await anon.get("/api/console/search", params={"q": "refund"})
    assert response.status == 401


async def test_results_carry_customer_outcome_and_marked_snippet(
    anon: TestClient, alice: tuple[TestClient, str], server: TestServer
) -> None:
    client, _ = alice
    transcript = [{"role": "shopper", "text": f"My kettle SD-100042 leaks {HOSTILE}", "ts": 1000.0}]
    hid = await handed_back(anon, alice, "kettle-1", transcript=transcript)
    conversation_id = server.app[STORE].get(hid)["conversation_id"]
    server.app[CSAT_STORE].add(conversation_id, "survey-0001", 4, "", "agent", "en", hid, "handback")

    body = await search(client, q="kettle leaks")
    assert body["matched_by"] == "text"
    [found] = body["results"]
    assert found["kind"] == "conversation" and found["id"] == hid
    assert found["customer"] == {"name": "Ada Lovelace", "email": None}
    assert found["outcome"] == {
        "code": "handed_back",
        "text": "handed back by Alice Agent",
        "agent": "Alice Agent",
        "csat": 4,
    }
    assert found["status"] == "closed" and found["when"] == server.app[STORE].get(hid)["closed_at"]
    snippet = found["snippet"]
    assert snippet["role"] == "shopper"
    assert HOSTILE in snippet["text"]  # HTML is text (the console draws it with textContent)
    assert [snippet["text"][s:e] for s, e in snippet["marks"]] == ["kettle", "leaks"]

    by_order = await search(client, q="sd100042")
    assert (by_order["matched_by"], by_order["key"]) == ("order", "SD-100042")
    assert [r["id"] for r in by_order["results"]] == [hid]
    by_context_order = await search(client, q="SD-100001")  # queue_handoff's context order
    assert [r["id"] for r in by_context_order["results"]] == [hid]
    opened = await client.get(f"/api/console/conversations/{hid}")  # a hit opens with its transcript
    assert opened.status == 200 and (await opened.json())["status"] == "closed"


async def test_a_timed_out_handoff_says_so(
    anon: TestClient, alice: tuple[TestClient, str], server: TestServer
) -> None:
    client, _ = alice
    transcript = [{"role": "shopper", "text": "nobody answers about my lamp", "ts": 1000.0}]
    hid = (await queue_handoff(anon, "lamp-1", transcript=transcript))["handoff_id"]
    assert server.app[STORE].expire(hid)
    [found] = (await search(client, q="lamp"))["results"]
    assert found["outcome"] == {
        "code": "timed_out",
        "text": "timed out in the queue",
        "agent": None,
        "csat": None,
    }
    assert found["reason"] == "contact_human_agent"
    server.app[STORE].requeue(hid)  # back in the queue: no longer a closed conversation
    assert (await search(client, q="lamp"))["results"] == []


async def test_a_ticket_created_then_resolved_shows_it_in_the_next_search(
    anon: TestClient, alice: tuple[TestClient, str]
) -> None:
    client, csrf = alice
    created = await anon.post(
        "/api/tickets",
        json={"conversation_id": "t-1", "email": "Zoe@Shop.test", "message": "Where is my 退款?"},
        headers={"Authorization": "Bearer dev-handoff-token"},
    )
    ticket = await created.json()
    [found] = (await search(client, q="zoe@shop.test"))["results"]
    assert (found["kind"], found["id"], found["status"]) == ("ticket", ticket["id"], "open")
    assert found["customer"] == {"name": None, "email": "zoe@shop.test"}
    assert found["outcome"]["code"] == "open"
    await client.post(f"/api/console/tickets/{ticket['id']}/resolve", headers=h(csrf))
    [found] = (await search(client, q="退款", kind="ticket"))["results"]
    assert found["outcome"] == {
        "code": "resolved",
        "text": "resolved by Alice Agent",
        "agent": "Alice Agent",
        "csat": None,
    }
    assert (await search(client, q="退款", kind="conversation"))["results"] == []


async def test_an_order_or_email_nobody_has_is_searched_as_text(
    anon: TestClient, alice: tuple[TestClient, str]
) -> None:
    client, _ = alice
    transcript = [{"role": "shopper", "text": "my tracking code is 7100042999", "ts": 1000.0}]
    hid = await handed_back(anon, alice, "track-1", transcript=transcript)
    body = await search(client, q="100042")
    assert body["matched_by"] == "text" and body["key"] is None
    assert [r["id"] for r in body["results"]] == [hid]


async def test_fts_syntax_and_sql_never_reach_the_database_as_code(
    anon: TestClient, alice: tuple[TestClient, str]
) -> None:
    client, _ = alice
    transcript = [{"role": "shopper", "text": 'size "M" (or L*) -- NEAR: AND OR', "ts": 1000.0}]
    hid = await handed_back(anon, alice, "syntax-1", transcript=transcript)
    for q in [
        '"M"',
        "(or",
        "L*",
        "--",
        "NEAR:",
        "AND OR",
        "NEAR(size M)",
        "' OR '1'='1",
        "x'; DROP TABLE tickets; --",
    ]:
        body = await search(client, q=q)  # 200, never a 500 or an FTS5 error
        assert [r["id"] for r in body["results"]] in ([], [hid]), q
    assert [r["id"] for r in (await search(client, q='"M" (or L*)'))["results"]] == [hid]
    assert (await client.get("/api/console/tickets")).status == 200


def test_the_catch_up_interval_is_validated() -> None:
    assert from_env({}).search_catchup_interval_s == 2.0
    assert from_env({"SEARCH_CATCHUP_INTERVAL_S": "0"}).search_catchup_interval_s == 0.0
    for raw in ("-1", "soon"):
        with pytest.raises(ConfigError, match="SEARCH_CATCHUP_INTERVAL_S="):
            from_env({"SEARCH_CATCHUP_INTERVAL_S": raw})


async def test_the_background_catch_up_indexes_without_a_search(
    settings: Settings, fake_rasa: Any, aiohttp_client: Any
) -> None:
    app = create_app(
        dataclasses.replace(settings, search_catchup_interval_s=0.05), rasa=fake_rasa, sync=False
    )
    await aiohttp_client(app)
    store = app[STORE]
    handoff, _ = store.open_handoff("bg-1", "r", [{"role": "shopper", "text": "background", "ts": 1.0}], {})
    store.claim(handoff["id"], ALICE[0], ALICE[1])
    store.close(handoff["id"], ALICE[0])
    for _ in range(200):
        if app[SEARCH_INDEX].count()["conversation"] == 1:
            break
        await asyncio.sleep(0.02)
    assert app[SEARCH_INDEX].count()["conversation"] == 1
