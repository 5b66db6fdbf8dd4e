"""The bot service in a Chinese conversation: the Chinese shop page, the history's language, notices in the
conversation's language, the console's language badge data and Chinese agent replies kept intact."""

from __future__ import annotations

import json
import re
import sqlite3
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from bot.hub import Hub
from bot.keys import HUB, RASA, STORE
from bot.messages import SHOPPER, WIDGET
from bot.queue_timeout import QueueTimeout
from bot.store import HandoffStore
from bot.sync import TrackerSync
from tests.bot.conftest import HANDOFF_HEADERS, FakeRasa, queue_handoff

ZH_SLOT = {"event": "slot", "name": "language", "value": "zh"}


def h(csrf: str) -> dict[str, str]:
    return {"X-CSRF-Token": csrf}


def widget_config(html: str) -> dict[str, Any]:
    raw = re.search(r'id="shopdesk-widget-config">(.*?)</script>', html).group(1)  # type: ignore[union-attr]
    return json.loads(raw)


async def test_the_chinese_shop_page_sets_its_language(anon: TestClient) -> None:
    for path in ("/zh", "/?lang=zh", "/?lang=zh-TW"):
        response = await anon.get(path)
        assert response.status == 200, path
        html = await response.text()
        assert '<html lang="zh-CN">' in html, path
        assert "四季好物" in html and "商品目录正在准备中。" in html  # no shop database: still Chinese
        assert '<a class="shop-logo" href="/zh">' in html  # the Chinese shop links stay Chinese
        assert "Content-Security-Policy" in response.headers
    english = await (await anon.get("/")).text()
    assert '<html lang="en">' in english and "Gear for every season" in english
    for odd in ("/?lang=fr", "/?lang=<script>", "/?lang="):
        assert '<html lang="en">' in await (await anon.get(odd)).text(), odd
    # the widget gets both string tables; it picks one from <html lang>, then the conversation
    config = widget_config(await (await anon.get("/zh")).text())
    assert config["strings"] == json.loads(json.dumps(WIDGET))
    assert config["strings"]["zh"]["placeholder"] == "请输入您的消息…"


async def test_history_names_the_conversations_language_or_null(
    anon: TestClient, fake_rasa: FakeRasa
) -> None:
    session = (await (await anon.post("/api/widget/session")).json())["session_id"]

    async def language() -> Any:
        response = await anon.get("/api/widget/history", headers={"X-ShopDesk-Session": session})
        return (await response.json())["language"]

    assert await language() is None  # nothing known yet: the widget keeps its page's language
    fake_rasa.trackers[session] = [
        {"event": "user", "text": "SD-100042", "metadata": {"page_language": "zh-CN"}, "timestamp": 1.0}
    ]
    assert await language() == "zh"  # the page language the messages carried
    fake_rasa.trackers[session] += [
        {
            "event": "user",
            "text": "hello there",
            "parse_data": {"entities": [{"entity": "language", "value": "en"}]},
        },
        {"event": "slot", "name": "language", "value": "en", "timestamp": 2.0},
    ]
    assert await language() == "en"
    fake_rasa.trackers[session].append({**ZH_SLOT, "timestamp": 3.0})
    assert await language() == "zh"


async def test_claim_and_hand_back_speak_the_conversations_language(
    anon: TestClient, alice: tuple[TestClient, str], fake_rasa: FakeRasa
) -> None:
    client, csrf = alice
    hid = (await queue_handoff(anon, "zh-shopper", language="zh"))["handoff_id"]
    queue = await (await client.get("/api/console/queue")).json()
    assert [(c["id"], c["language"]) for c in queue["queued"]] == [(hid, "zh")]

    assert (await client.post(f"/api/console/conversations/{hid}/claim", headers=h(csrf))).status == 200
    _, events = fake_rasa.appended[-1]
    assert events[0]["text"] == "客服Alice已加入对话。"
    conversation = await (await client.get(f"/api/console/conversations/{hid}")).json()
    assert conversation["language"] == "zh"

    assert (await client.post(f"/api/console/conversations/{hid}/close", headers=h(csrf))).status == 200
    _, events = fake_rasa.appended[-1]
    assert events[1]["text"] == SHOPPER["zh"]["back_to_bot"]
    closed = await (await client.get("/api/console/closed")).json()
    assert closed["closed"][0]["language"] == "zh"

    english = (await queue_handoff(anon, "en-shopper"))["handoff_id"]  # no language named: English
    assert (await client.post(f"/api/console/conversations/{english}/claim", headers=h(csrf))).status == 200
    assert fake_rasa.appended[-1][1][0]["text"] == "Alice from our support team has joined the chat."


async def test_agents_reply_in_chinese_and_nothing_is_lost(
    anon: TestClient, alice: tuple[TestClient, str], fake_rasa: FakeRasa
) -> None:
    client, csrf = alice
    hid = (await queue_handoff(anon, "zh-reply", language="zh"))["handoff_id"]
    await client.post(f"/api/console/conversations/{hid}/claim", headers=h(csrf))
    text = "您好！您的订单ＳＤ－１０００４２已发货 📦，预计12月3日（周四）送达。「繁體」也可以。"
    replied = await client.post(
        f"/api/console/conversations/{hid}/reply", json={"text": text}, headers=h(csrf)
    )
    assert replied.status == 200
    assert (await replied.json())["message"]["text"] == text
    assert fake_rasa.appended[-1][1][0]["text"] == text  # what Rasa sends to the shopper's widget
    conversation = await (await client.get(f"/api/console/conversations/{hid}")).json()
    assert conversation["messages"][-1]["text"] == text
    # the length limit counts characters, not bytes: 2000 Chinese characters are allowed
    long_reply = {"text": "好" * 2000}
    ok = await client.post(f"/api/console/conversations/{hid}/reply", json=long_reply, headers=h(csrf))
    assert ok.status == 200


async def test_the_handoff_api_refuses_an_unknown_language(anon: TestClient) -> None:
    body = {"conversation_id": "x-lang", "reason": "r", "transcript": [], "context": {}, "language": "fr"}
    response = await anon.post("/api/handoff", json=body, headers=HANDOFF_HEADERS)
    assert response.status == 400
    assert "'fr' is not one of en, zh" in (await response.json())["fields"]["language"]


async def test_the_sync_keeps_the_language_current_and_tells_the_consoles(
    anon: TestClient, alice: tuple[TestClient, str], server: TestServer, fake_rasa: FakeRasa
) -> None:
    hid = (await queue_handoff(anon, "switcher"))["handoff_id"]
    named = (await queue_handoff(anon, "named-zh", language="zh"))["handoff_id"]
    fake_rasa.user_says("named-zh", "SD-100042")  # decides nothing: the handoff request's language stays
    app = server.app
    sync = TrackerSync(app[STORE], app[RASA], app[HUB])
    published: list[dict[str, Any]] = []
    original = app[HUB].publish

    async def spy(event: dict[str, Any]) -> None:
        published.append(event)
        await original(event)

    app[HUB].publish = spy  # type: ignore[method-assign]
    fake_rasa.user_says("switcher", "请用中文")
    fake_rasa.trackers["switcher"].append({**ZH_SLOT, "timestamp": 1e12})
    await sync.sync_once()
    assert app[STORE].get(hid)["language"] == "zh"
    assert app[STORE].get(named)["language"] == "zh"
    assert {"type": "queue"} in published
    published.clear()
    await sync.sync_once()  # unchanged: no queue reload for the consoles
    assert {"type": "queue"} not in published


async def test_a_timed_out_chinese_handoff_is_told_in_chinese(tmp_path: Path) -> None:
    store = HandoffStore(tmp_path / "h.db", clock=lambda: 5000.0)
    rasa = FakeRasa()
    waiting, _ = store.open_handoff("z" * 64, "contact_human_agent", [], {}, language="zh")
    assert await QueueTimeout(store, rasa, Hub(), timeout_s=60).expire_one(waiting)
    told = next(e for e in rasa.appended[0][1] if e["event"] == "bot")
    assert told["text"] == SHOPPER["zh"]["queue_timed_out"]
    assert told["data"]["buttons"] == [
        {"title": "留言", "payload": "/affirm"},
        {"title": "不用了，谢谢", "payload": "/deny"},
    ]
    assert store.messages(waiting["id"])[-1]["text"] == SHOPPER["zh"]["queue_timed_out"]
    store.shutdown()


def test_an_older_handoff_database_gains_the_language_column(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE handoffs (id TEXT PRIMARY KEY, conversation_id TEXT NOT NULL, status TEXT NOT NULL,"
        " reason TEXT NOT NULL DEFAULT '', agent_email TEXT, agent_name TEXT, created_at REAL NOT NULL,"
        " claimed_at REAL, closed_at REAL, context TEXT NOT NULL DEFAULT '{}',"
        " last_event_ts REAL NOT NULL DEFAULT 0);"
        "INSERT INTO handoffs (id, conversation_id, status, created_at) VALUES ('H-old', 'c1', 'queued', 1.0);"
    )
    old.commit()
    old.close()
    store = HandoffStore(path)
    assert store.get("H-old")["language"] == "en"
    assert store.set_language("H-old", "zh") is True
    assert store.set_language("H-old", "zh") is False
    store.shutdown()
    assert HandoffStore(path).get("H-old")["language"] == "zh"  # reopening does not migrate twice
