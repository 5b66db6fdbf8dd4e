"""Canned replies over HTTP: the agents' list and rendering, the admins' API and page, every rejection."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.canned import MAX_TEXT_CHARS
from bot.canned_api import ADMINS_ONLY
from bot.passwords import hash_password
from bot.settings import Agent, Settings
from tests.bot.conftest import ALICE, BOB, FakeRasa, console_socket, login, queue_handoff

ADA = ("ada@shop.test", "Ada Admin", "ada-password")
BEN = {"customer": {"id": "C-0002", "name": "Ben Okafor", "email": "ben.okafor@example.com"}}
ORDERS = [
    {"number": "SD-100004", "status": "delivered", "total": "20.00 EUR", "created_at": "2026-11-01T10:00:00"},
    {"number": "SD-100003", "status": "shipped", "total": "35.50 EUR", "created_at": "2026-11-20T09:00:00"},
]


@pytest.fixture(scope="module")
def agents() -> tuple[Agent, ...]:
    """Alice and Bob (agents) and Ada (an admin)."""
    return tuple(
        Agent(email, name, hash_password(password), role)
        for (email, name, password), role in ((ALICE, "agent"), (BOB, "agent"), (ADA, "admin"))
    )


@pytest.fixture
async def ada(server: TestServer, aiohttp_client: Any) -> tuple[TestClient, str]:
    client = await aiohttp_client(server)
    return client, await login(client, ADA[0], ADA[2])


def h(csrf: str) -> dict[str, str]:
    return {"X-CSRF-Token": csrf}


async def handoff(anon: TestClient, context: dict[str, Any], language: str = "en", cid: str = "c1") -> str:
    """A queued handoff with this context, in this language (as the action server sends it)."""
    context = {"cart": [], "orders": [], "customer": None, **context}
    return str((await queue_handoff(anon, cid, context=context, language=language))["handoff_id"])


async def render(client: TestClient, hid: str, shortcut: str, **query: str) -> tuple[int, dict[str, Any]]:
    response = await client.get(f"/api/console/conversations/{hid}/canned/{shortcut}", params=query)
    return response.status, await response.json()


# --- agents: list and render -----------------------------------------------------------------------------


async def test_agents_list_and_filter_the_seeded_replies(alice: tuple[TestClient, str]) -> None:
    client, _ = alice
    everything = await (await client.get("/api/console/canned")).json()
    shortcuts = [r["shortcut"] for r in everything["replies"]]
    assert len(shortcuts) >= 10 and shortcuts == sorted(shortcuts)
    tracking = next(r for r in everything["replies"] if r["shortcut"] == "tracking")
    assert tracking["languages"] == ["en", "zh"]
    assert {"order_id", "tracking_url"} <= set(tracking["variables"])

    async def matching(query: str) -> list[str]:
        found = await (await client.get("/api/console/canned", params={"q": query})).json()
        return [r["shortcut"] for r in found["replies"]]

    assert await matching("/re") == ["refund-time", "return-steps"]  # a leading "/" is ignored
    assert await matching("greet") == ["hello", "hi"]  # a word of the title
    # shortcut prefix, then inside a shortcut, then a title word ("How to return…", "Please hold on")
    assert await matching("h") == ["hello", "hi", "anything-else", "return-steps", "wait"]
    assert await matching("stat") == ["order-status"]
    assert await matching("zzz") == []
    assert (await client.get("/api/console/canned", params={"q": "x" * 65})).status == 400


async def test_render_fills_the_context_and_the_agents_name(
    anon: TestClient, alice: tuple[TestClient, str], fake_rasa: FakeRasa
) -> None:
    client, _ = alice
    hid = await handoff(anon, {**BEN, "orders": ORDERS})
    status, hello = await render(client, hid, "hello")
    assert status == 200, hello
    assert (
        hello["text"] == "Hi Ben, this is Alice from the ShopDesk demo shop team. How can I help you today?"
    )
    assert (hello["language"], hello["fallback"]) == ("en", False)
    status, steps = await render(client, hid, "return-steps")
    assert "return order SD-100003 within 30 days" in steps["text"]  # the newest order of the context
    status, order = await render(client, hid, "order-status")  # no shop DB here: the context's status
    assert order["text"] == "I've checked your order SD-100003: it is on its way."
    # rendering sends nothing; the agent sends the (edited) text with the usual /reply
    assert fake_rasa.appended == []


async def test_a_missing_variable_is_refused_naming_it(
    anon: TestClient, alice: tuple[TestClient, str]
) -> None:
    client, _ = alice
    hid = await handoff(anon, {})  # not verified: no customer, no orders
    status, refused = await render(client, hid, "order-status")
    assert status == 422
    assert refused["missing"] == ["order_id", "order_status"]
    assert refused["error"] == (
        "the reply /order-status needs {order_id}, {order_status}, which this conversation lacks"
    )
    status, refused = await render(client, hid, "sorry")
    assert (status, refused["missing"]) == (422, ["first_name"])
    status, fine = await render(client, hid, "hi")  # needs nothing the context lacks
    assert status == 200 and fine["text"].startswith("Hi, this is Alice")


async def test_tracking_url_comes_from_the_order_store(
    anon: TestClient, alice: tuple[TestClient, str], settings: Settings
) -> None:
    from shop.demo.seed import open_seeded_store

    client, _ = alice
    hid = await handoff(anon, {**BEN, "orders": ORDERS})
    status, refused = await render(client, hid, "tracking")
    assert status == 422 and refused["missing"] == ["carrier", "tracking_url"]
    assert "the order store is unavailable" in refused["error"]

    shipped = open_seeded_store(settings.shop_db_path).get_order("SD-100003")
    assert shipped.shipment is not None
    status, tracking = await render(client, hid, "tracking")
    assert status == 200, tracking
    assert tracking["text"] == (
        f"Your order SD-100003 is with {shipped.shipment.carrier}. You can follow it here: "
        f"{shipped.shipment.tracking_url}"
    )
    older = await handoff(anon, {**BEN, "orders": [ORDERS[0] | {"number": "SD-100001"}]}, cid="c2")
    status, refused = await render(client, older, "tracking")  # SD-100001 is pending: nothing shipped
    assert (status, refused["missing"]) == (422, ["carrier", "tracking_url"])
    assert "unavailable" not in refused["error"]


async def test_the_conversations_language_picks_the_text(
    anon: TestClient, alice: tuple[TestClient, str], ada: tuple[TestClient, str]
) -> None:
    client, _ = alice
    hid = await handoff(anon, {**BEN, "orders": ORDERS}, language="zh")
    status, hello = await render(client, hid, "hello")
    assert hello["text"] == "Ben您好，我是ShopDesk 演示商店的客服Alice，请问有什么可以帮您？"
    assert (hello["language"], hello["fallback"]) == ("zh", False)
    status, order = await render(client, hid, "order-status")
    assert order["text"] == "我查询了您的订单 SD-100003：目前状态为运输中。"
    status, english = await render(client, hid, "hello", language="en")  # the agent may ask for the other
    assert english["text"].startswith("Hi Ben")
    assert (await render(client, hid, "hello", language="fr"))[0] == 400

    admin, csrf = ada
    made = await admin.post(
        "/api/console/admin/canned",
        json={"shortcut": "promo", "title": "Promo", "en": "Use code WINTER, {first_name}."},
        headers=h(csrf),
    )
    assert made.status == 201
    listed = await (await client.get("/api/console/canned", params={"q": "promo"})).json()
    assert listed["replies"][0]["languages"] == ["en"]  # the console marks it "English only"
    status, fallback = await render(client, hid, "promo")
    assert status == 200
    assert (fallback["text"], fallback["language"], fallback["fallback"]) == (
        "Use code WINTER, Ben.",
        "en",
        True,
    )


async def test_render_refuses_unknown_ids_and_shortcuts(
    alice: tuple[TestClient, str], anon: TestClient
) -> None:
    client, _ = alice
    status, body = await render(client, "H-nope", "hello")
    assert status == 404 and "H-nope" in body["error"]
    hid = await handoff(anon, BEN)
    status, body = await render(client, hid, "nope")
    assert (status, body["error"]) == (404, "no canned reply /nope")


async def test_agents_need_a_session(anon: TestClient) -> None:
    assert (await anon.get("/api/console/canned")).status == 401
    assert (await anon.get("/api/console/admin/canned")).status == 401
    page = await anon.get("/console/admin/canned", allow_redirects=False)
    assert page.status == 303 and page.headers["Location"] == "/console/login"


# --- admins ----------------------------------------------------------------------------------------------


async def test_an_admin_creates_edits_and_deletes_and_consoles_hear_of_it(
    ada: tuple[TestClient, str], alice: tuple[TestClient, str]
) -> None:
    admin, csrf = ada
    client, _ = alice
    socket = await console_socket(client)

    made = await admin.post(
        "/api/console/admin/canned",
        json={
            "shortcut": "/thanks",
            "title": "Thanks",
            "en": "Thanks, {first_name}!",
            "zh": "谢谢{first_name}！",
        },
        headers=h(csrf),
    )
    assert made.status == 201
    reply = await made.json()
    assert (reply["shortcut"], reply["origin"], reply["edited_by"]) == ("thanks", "admin", ADA[0])
    frames = [await socket.receive_json() for _ in range(2)]
    assert {"type": "canned"} in frames

    edited = await admin.put(
        f"/api/console/admin/canned/{reply['id']}",
        json={"shortcut": "thanks", "title": "Thank you", "en": "Thank you, {first_name}!", "zh": ""},
        headers=h(csrf),
    )
    assert edited.status == 200
    assert (await edited.json())["languages"] == ["en"]
    listed = await (await client.get("/api/console/canned", params={"q": "thanks"})).json()
    assert listed["replies"][0]["en"] == "Thank you, {first_name}!"

    deleted = await admin.delete(f"/api/console/admin/canned/{reply['id']}", headers=h(csrf))
    assert deleted.status == 200
    assert (await admin.delete(f"/api/console/admin/canned/{reply['id']}", headers=h(csrf))).status == 404
    listed = await (await client.get("/api/console/canned", params={"q": "thanks"})).json()
    assert [r["shortcut"] for r in listed["replies"] if r["shortcut"] == "thanks"] == []
    await socket.close()


async def count(admin: TestClient) -> int:
    return len((await (await admin.get("/api/console/admin/canned")).json())["replies"])


@pytest.mark.parametrize(
    ("body", "field", "message"),
    [
        ({"shortcut": "Bad Shortcut", "title": "T", "en": "x"}, "shortcut", "must be 1-32 of a-z"),
        ({"shortcut": "a" * 33, "title": "T", "en": "x"}, "shortcut", "must be 1-32 of a-z"),
        ({"shortcut": "ok", "title": "", "en": "x"}, "title", "must not be empty"),
        ({"shortcut": "ok", "title": "T", "en": " ", "zh": ""}, "en", "needs a text in English"),
        ({"shortcut": "ok", "title": "T", "en": "y" * (MAX_TEXT_CHARS + 1)}, "en", "at most 1800 characters"),
        ({"shortcut": "ok", "title": "T", "en": "Hi {frist_name}"}, "en", "unknown variable {frist_name}"),
        ({"shortcut": "ok", "title": "T", "zh": "你好 {first_name"}, "zh", "malformed template"),
    ],
)
async def test_bad_replies_are_refused_naming_the_problem_and_stored_nowhere(
    ada: tuple[TestClient, str], body: dict[str, Any], field: str, message: str
) -> None:
    admin, csrf = ada
    before = await count(admin)
    refused = await admin.post("/api/console/admin/canned", json=body, headers=h(csrf))
    assert refused.status == 400
    answer = await refused.json()
    assert message in answer["error"] and message in answer["fields"][field]
    assert await count(admin) == before


async def test_duplicates_and_malformed_bodies_are_refused(ada: tuple[TestClient, str]) -> None:
    admin, csrf = ada
    before = await count(admin)
    duplicate = await admin.post(
        "/api/console/admin/canned", json={"shortcut": "hello", "title": "Again", "en": "Hi"}, headers=h(csrf)
    )
    assert duplicate.status == 409
    assert (await duplicate.json())["error"] == "the shortcut /hello is already used by another canned reply"
    replies = (await (await admin.get("/api/console/admin/canned")).json())["replies"]
    bye = next(r for r in replies if r["shortcut"] == "bye")
    renamed = await admin.put(
        f"/api/console/admin/canned/{bye['id']}", json={**bye, "shortcut": "hello"}, headers=h(csrf)
    )
    assert renamed.status == 409
    not_json = await admin.post("/api/console/admin/canned", data="{", headers=h(csrf))
    assert not_json.status == 400
    for path in ("/api/console/admin/canned/999999", "/api/console/admin/canned/abc"):
        missing = await admin.put(path, json={"shortcut": "x", "title": "X", "en": "x"}, headers=h(csrf))
        assert missing.status == 404, path
    assert await count(admin) == before


async def test_html_is_stored_and_returned_as_text(
    ada: tuple[TestClient, str], alice: tuple[TestClient, str]
) -> None:
    admin, csrf = ada
    html = '<img src=x onerror="alert(1)"><b>Bold</b> {first_name}'
    made = await admin.post(
        "/api/console/admin/canned",
        json={"shortcut": "html", "title": "<i>T</i>", "en": html},
        headers=h(csrf),
    )
    assert made.status == 201
    listed = await (await alice[0].get("/api/console/canned", params={"q": "html"})).json()
    assert (listed["replies"][0]["en"], listed["replies"][0]["title"]) == (html, "<i>T</i>")


async def test_agents_get_403_on_the_admin_api_and_page(
    alice: tuple[TestClient, str], ada: tuple[TestClient, str]
) -> None:
    client, csrf = alice
    before = await count(ada[0])
    body = {"shortcut": "mine", "title": "Mine", "en": "x"}
    for method, path in (
        ("GET", "/api/console/admin/canned"),
        ("POST", "/api/console/admin/canned"),
        ("PUT", "/api/console/admin/canned/1"),
        ("DELETE", "/api/console/admin/canned/1"),
    ):
        response = await client.request(method, path, json=body, headers=h(csrf))
        assert response.status == 403, (method, path)
    page = await client.get("/console/admin/canned")
    assert page.status == 403 and ADMINS_ONLY in await page.text()
    assert (await ada[0].get("/console/admin/canned")).status == 200
    assert await count(ada[0]) == before


async def test_changes_without_the_csrf_header_are_refused(ada: tuple[TestClient, str]) -> None:
    admin, _ = ada
    before = await count(admin)
    body = {"shortcut": "nocsrf", "title": "T", "en": "x"}
    assert (await admin.post("/api/console/admin/canned", json=body)).status == 403
    assert (await admin.post("/api/console/admin/canned", json=body, headers=h("wrong"))).status == 403
    assert (await admin.put("/api/console/admin/canned/1", json=body)).status == 403
    assert (await admin.delete("/api/console/admin/canned/1")).status == 403
    assert await count(admin) == before
