"""The shop page, the widget's history endpoint, product images, escaping and security headers."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient

from bot.app import create_app
from bot.passwords import hash_password
from bot.settings import Agent, Settings
from bot.widget import widget_message
from tests.bot.conftest import FakeRasa, login, queue_handoff


async def test_shop_page_config_is_valid_json_and_headers_are_strict(anon: TestClient) -> None:
    response = await anon.get("/")
    assert response.status == 200
    html = await response.text()
    raw = re.search(r'id="shopdesk-widget-config">(.*?)</script>', html).group(1)  # type: ignore[union-attr]
    config = json.loads(raw)
    assert config["socketUrl"] == ""  # this page's origin: the bot service proxies socket.io to Rasa
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "5005" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert '<script src="/static/widget.js">' in html
    assert "cdn" not in html.lower()


async def test_static_assets_are_served_locally(anon: TestClient) -> None:
    for path in (
        "/static/widget.js",
        "/static/widget.css",
        "/static/console.js",
        "/static/shopdesk_api.js",
        "/static/vendor/socket.io.min.js",
    ):
        response = await anon.get(path)
        assert response.status == 200, path
    css = await (await anon.get("/static/widget.css")).text()
    assert "fonts.googleapis" not in css and "@font-face" not in css
    svg = await anon.get("/static/products/P-1001.svg")
    assert svg.content_type == "image/svg+xml"
    assert (await anon.get("/static/products/..%2Fsecret.svg")).status == 404
    assert (await anon.get("/products/P-1001")).status == 200
    assert (await anon.get("/healthz")).status == 200


async def test_history_returns_the_conversation_and_mode(
    anon: TestClient, alice: tuple[TestClient, str], fake_rasa: FakeRasa
) -> None:
    session = (await (await anon.post("/api/widget/session")).json())["session_id"]
    fake_rasa.trackers[session] = [
        {"event": "user", "text": "<script>alert(1)</script>", "timestamp": 1.0},
        {
            "event": "bot",
            "text": "Here you go",
            "timestamp": 2.0,
            "data": {"buttons": [{"title": "Yes", "payload": "/affirm"}]},
        },
        {"event": "user", "text": "/affirm", "timestamp": 3.0, "metadata": {"title": "Yes"}},
        {"event": "action", "name": "action_listen", "timestamp": 4.0},
    ]
    history = await (await anon.get("/api/widget/history", headers={"X-ShopDesk-Session": session})).json()
    assert history["mode"] == "bot"
    assert history["messages"] == [
        {"role": "shopper", "text": "<script>alert(1)</script>"},
        {"role": "bot", "text": "Here you go", "buttons": [{"title": "Yes", "payload": "/affirm"}]},
        {"role": "shopper", "text": "Yes"},
    ]
    await queue_handoff(anon, session)
    again = await anon.get("/api/widget/history", headers={"X-ShopDesk-Session": session})
    assert (await again.json())["mode"] == "queued"
    assert (await anon.get("/api/widget/history", headers={"X-ShopDesk-Session": "bad id!"})).status == 400


def test_widget_message_roles_and_cards() -> None:
    agent = widget_message(
        {
            "event": "bot",
            "text": "Hi",
            "metadata": {"shopdesk_role": "agent", "agent_name": "Alice"},
            "data": {},
        }
    )
    assert agent == {"role": "agent", "text": "Hi", "agent_name": "Alice"}
    joined = widget_message(
        {
            "event": "bot",
            "text": "joined",
            "metadata": {"shopdesk_role": "notice", "shopdesk_event": "joined"},
        }
    )
    assert joined == {"role": "notice", "text": "joined", "event": "joined"}
    cards = {"type": "product_cards", "text": "Try these", "cards": [{"id": "P-1001", "title": "Jacket"}]}
    message = widget_message({"event": "bot", "text": None, "data": {"custom": cards}})
    assert message == {"role": "bot", "text": "", "custom": cards}
    assert widget_message({"event": "slot", "name": "x"}) is None


async def test_console_page_escapes_agent_names(tmp_path: Path, aiohttp_client: Any) -> None:
    evil = Agent("evil@shop.test", '<script>alert("x")</script>', hash_password("pw-evil-123"))
    settings = Settings(db_path=tmp_path / "h.db", shop_db_path=tmp_path / "s.db", agents=(evil,))
    client = await aiohttp_client(create_app(settings, rasa=FakeRasa(), sync=False))
    await login(client, evil.email, "pw-evil-123")
    html = await (await client.get("/console")).text()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html


async def test_shop_page_lists_products_from_the_order_store_escaped(
    anon: TestClient, settings: Settings
) -> None:
    from shop.sqlite import SqliteOrderStore

    empty = await (await anon.get("/")).text()
    assert "The catalogue is being prepared." in empty  # no shop database yet: the page still renders

    store = SqliteOrderStore(settings.shop_db_path)  # the real schema, created by the shop itself
    with store.transaction() as db:
        db.executemany(
            "INSERT INTO products (id, title, description, brand, category, price_minor, currency, stock)"
            " VALUES (?, ?, '', 'Test', ?, ?, 'EUR', ?)",
            [
                ("P-1001", "Rain <b>Jacket</b>", "apparel", 12900, 3),
                ("P-1002", "Sold-out Boot", "shoes", 9900, 0),
                ("P-1003", "Arc LED Desk Lamp", "home", 7900, 5),
            ],
        )
    page = await (await anon.get("/")).text()
    assert "Rain &lt;b&gt;Jacket&lt;/b&gt;" in page and "<b>Jacket</b>" not in page
    assert "Arc LED Desk Lamp" in page and "79.00 EUR" in page
    assert "Sold-out Boot" not in page
