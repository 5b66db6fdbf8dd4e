"""The API the handoff action calls: auth, validation, queueing, offline answers, tickets."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from bot.hours import parse_business_hours
from bot.keys import SETTINGS
from tests.bot.conftest import HANDOFF_HEADERS, queue_handoff


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": "dev-handoff-token"}]
)
async def test_handoff_needs_the_bearer_token(anon: TestClient, headers: dict[str, str]) -> None:
    response = await anon.post("/api/handoff", json={"conversation_id": "abc"}, headers=headers)
    assert response.status == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "conversation_id"),
        ({"conversation_id": 5}, "conversation_id"),
        ({"conversation_id": "x" * 500}, "conversation_id"),
        ({"conversation_id": "abc", "transcript": "nope"}, "transcript"),
        ({"conversation_id": "abc", "transcript": [{"role": "shopper"}]}, "transcript[0]"),
        ({"conversation_id": "abc", "context": []}, "context"),
    ],
)
async def test_malformed_handoff_is_a_400_naming_the_field(
    anon: TestClient, alice: tuple[TestClient, str], body: dict[str, Any], field: str
) -> None:
    response = await anon.post("/api/handoff", json=body, headers=HANDOFF_HEADERS)
    assert response.status == 400
    assert field in (await response.json())["fields"]


async def test_non_json_body_is_a_400(anon: TestClient) -> None:
    response = await anon.post("/api/handoff", data=b"\xff{not json", headers=HANDOFF_HEADERS)
    assert response.status == 400


async def test_oversized_body_is_refused(anon: TestClient) -> None:
    body = {"conversation_id": "abc", "context": {"blob": "x" * 400_000}}
    response = await anon.post("/api/handoff", json=body, headers=HANDOFF_HEADERS)
    assert response.status == 413


async def test_no_agent_online_answers_offline(anon: TestClient) -> None:
    response = await anon.post("/api/handoff", json={"conversation_id": "abc"}, headers=HANDOFF_HEADERS)
    assert await response.json() == {
        "status": "offline",
        "wait_seconds": 0,
        "position": 0,
        "handoff_id": None,
        "reason": "no_agent",
    }


async def test_outside_business_hours_answers_offline(
    anon: TestClient, alice: tuple[TestClient, str], server: Any
) -> None:
    settings = server.app[SETTINGS]
    closed_now = parse_business_hours("Mon-Sun 00:00-00:00 UTC")  # an empty window: never open
    object.__setattr__(settings, "business_hours", closed_now)
    response = await anon.post("/api/handoff", json={"conversation_id": "abc"}, headers=HANDOFF_HEADERS)
    assert (await response.json())["reason"] == "closed"


async def test_queued_with_position_and_wait(anon: TestClient, alice: tuple[TestClient, str]) -> None:
    first = await queue_handoff(anon, "conversation-one")
    second = await queue_handoff(anon, "conversation-two")
    assert (first["status"], first["position"]) == ("queued", 1)
    assert (second["status"], second["position"]) == ("queued", 2)
    assert second["wait_seconds"] > first["wait_seconds"] > 0
    again = await queue_handoff(anon, "conversation-one")
    assert again["handoff_id"] == first["handoff_id"]  # one open handoff per conversation

    client, _ = alice
    queue = await (await client.get("/api/console/queue")).json()
    assert [q["conversation_id"] for q in queue["queued"]] == ["conversation-one", "conversation-two"]
    assert queue["queued"][0]["customer_name"] == "Ada Lovelace"


async def test_ticket_validation_and_listing(anon: TestClient, alice: tuple[TestClient, str]) -> None:
    bad = await anon.post(
        "/api/tickets",
        json={"conversation_id": "abc", "email": "not-an-email", "message": "hi"},
        headers=HANDOFF_HEADERS,
    )
    assert bad.status == 400
    assert "email" in (await bad.json())["fields"]
    unauthorised = await anon.post(
        "/api/tickets", json={"conversation_id": "abc", "email": "a@b.co", "message": "x"}
    )
    assert unauthorised.status == 401
    created = await anon.post(
        "/api/tickets",
        json={
            "conversation_id": "abc",
            "email": "ada@example.com",
            "message": "<b>call me</b>",
            "transcript": [],
        },
        headers=HANDOFF_HEADERS,
    )
    assert created.status == 201
    ticket = await created.json()
    client, csrf = alice
    listed = await (await client.get("/api/console/tickets")).json()
    assert [t["id"] for t in listed["tickets"]] == [ticket["id"]]
    assert (
        listed["tickets"][0]["message"] == "<b>call me</b>"
    )  # stored as text; the console renders textContent
    resolved = await client.post(
        f"/api/console/tickets/{ticket['id']}/resolve", headers={"X-CSRF-Token": csrf}
    )
    assert (await resolved.json())["status"] == "resolved"
    unknown = await client.get("/api/console/tickets/T-nope")
    assert unknown.status == 404
