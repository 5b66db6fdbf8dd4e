"""Internal notes through aiohttp's test client: stored as written, live to the other agents, never sent to the
shopper, kept after the close; empty / huge / missing ones refused and not stored."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from tests.bot.conftest import FakeRasa, claimed, console_socket, next_frame, queue_handoff
from tests.bot.test_console_team import h

HTML = '<img src=x onerror="alert(1)"><b>refund</b> & check'


# --- notes -------------------------------------------------------------------------------------------


async def test_a_note_is_stored_as_written_reaches_other_agents_live_and_never_the_shopper(
    anon: TestClient,
    alice: tuple[TestClient, str],
    bob: tuple[TestClient, str],
    fake_rasa: FakeRasa,
    server: TestServer,
) -> None:
    (a, a_csrf), (b, _) = alice, bob
    hid = await claimed(anon, alice)
    socket = await console_socket(b)
    appended_before = len(fake_rasa.appended)

    added = await a.post(
        f"/api/console/conversations/{hid}/notes", json={"text": f"  {HTML}  "}, headers=h(a_csrf)
    )
    assert added.status == 201
    note = await added.json()
    assert (note["text"], note["kind"], note["author_name"]) == (HTML, "note", "Alice Agent")
    pushed = await next_frame(socket, lambda f: f["type"] == "note")
    assert pushed == {"type": "note", "handoff_id": hid, "note": note}
    listed = await (await b.get(f"/api/console/conversations/{hid}/notes")).json()
    assert listed == {"notes": [note]}
    assert len(fake_rasa.appended) == appended_before  # nothing went to Rasa, so nothing to the shopper
    transcript = await (await a.get(f"/api/console/conversations/{hid}")).json()
    assert HTML not in [m["text"] for m in transcript["messages"]]
    await socket.close()

    await a.post(f"/api/console/conversations/{hid}/close", headers=h(a_csrf))
    later = await (await b.get(f"/api/console/conversations/{hid}/notes")).json()
    assert [n["text"] for n in later["notes"]] == [HTML]  # kept with the handoff after the close
    on_closed = await a.post(
        f"/api/console/conversations/{hid}/notes", json={"text": "follow-up"}, headers=h(a_csrf)
    )
    assert on_closed.status == 201


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"text": ""}, "must not be empty"),
        ({"text": "   \n "}, "must not be empty"),
        ({"text": "x" * 2001}, "at most 2000 characters (got 2001)"),
        ({"text": 42}, "must be a string"),
        ({}, "required string"),
    ],
)
async def test_empty_huge_or_missing_notes_are_refused_and_not_stored(
    anon: TestClient, alice: tuple[TestClient, str], body: dict[str, Any], error: str
) -> None:
    client, csrf = alice
    hid = (await queue_handoff(anon))["handoff_id"]
    response = await client.post(f"/api/console/conversations/{hid}/notes", json=body, headers=h(csrf))
    assert response.status == 400
    assert (await response.json())["fields"] == {"text": error}
    assert (await (await client.get(f"/api/console/conversations/{hid}/notes")).json()) == {"notes": []}


async def test_notes_need_a_session_csrf_and_a_known_conversation(
    anon: TestClient, alice: tuple[TestClient, str]
) -> None:
    client, csrf = alice
    hid = (await queue_handoff(anon))["handoff_id"]
    assert (await anon.get(f"/api/console/conversations/{hid}/notes")).status == 401
    no_csrf = await client.post(f"/api/console/conversations/{hid}/notes", json={"text": "x"})
    assert no_csrf.status == 403
    unknown = await client.post(
        "/api/console/conversations/H-nope/notes", json={"text": "x"}, headers=h(csrf)
    )
    assert unknown.status == 404 and "H-nope" in (await unknown.json())["error"]
    assert (await client.get("/api/console/conversations/H-nope/notes")).status == 404
