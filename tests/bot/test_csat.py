"""CSAT at the close: POST /api/widget/csat through aiohttp_client, the ratings store, the tracker write and its
retry, who is rated (bot or agent), bad input, and the widget card's strings (docs/csat.md)."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer

from bot.csat import CSAT_STORE, CsatTrackerWriter
from bot.csat_store import MAX_COMMENT_CHARS, AlreadyRatedError, CsatStore
from bot.errors import ConfigError
from bot.messages import WIDGET
from bot.settings import from_env
from bot.widget_session import new_session_id
from tests.bot.conftest import FakeRasa, queue_handoff

ROOT = Path(__file__).resolve().parents[2]
URL = "/api/widget/csat"
CONTRACT_KEYS = {"survey_id", "rating", "comment", "by", "language", "handoff_id"}


def headers(session: str) -> dict[str, str]:
    return {"X-ShopDesk-Session": session}


def body(**overrides: Any) -> dict[str, Any]:
    return {"survey_id": "s-0000000001", "rating": 4, "comment": "", "trigger": "goodbye", **overrides}


async def new_session(client: TestClient) -> str:
    return str((await (await client.post("/api/widget/session")).json())["session_id"])


async def chatted(client: TestClient, fake_rasa: FakeRasa, text: str = "bye") -> str:
    """A signed session whose tracker has a shopper message and a bot reply."""
    session = await new_session(client)
    fake_rasa.user_says(session, text)
    fake_rasa.trackers[session].append({"event": "bot", "text": "Bye!", "timestamp": time.time()})
    return session


def csat_events(fake_rasa: FakeRasa, session: str) -> list[dict[str, Any]]:
    return [
        e for cid, events in fake_rasa.appended if cid == session for e in events if e.get("name") == "csat"
    ]


def stored(server: TestServer, session: str) -> list[Any]:
    return server.app[CSAT_STORE].for_conversation(session)


# --- the round trip ----------------------------------------------------------------------------------------


async def test_a_rating_is_stored_once_and_written_to_the_tracker_as_the_csat_slot(
    anon: TestClient, server: TestServer, fake_rasa: FakeRasa
) -> None:
    session = await chatted(anon, fake_rasa)
    response = await anon.post(URL, json=body(comment="Quick and friendly"), headers=headers(session))
    assert response.status == 201, await response.text()
    assert await response.json() == {"status": "stored", "tracker": "written", "by": "bot", "language": "en"}
    [row] = stored(server, session)
    assert (row["rating"], row["comment"], row["by"], row["handoff_id"]) == (
        4,
        "Quick and friendly",
        "bot",
        None,
    )
    assert row["trigger"] == "goodbye" and row["tracker_written_at"] is not None
    [event] = csat_events(fake_rasa, session)
    assert event["event"] == "slot" and set(event["value"]) == CONTRACT_KEYS
    assert event["value"] == {
        "survey_id": "s-0000000001",
        "rating": 4,
        "comment": "Quick and friendly",
        "by": "bot",
        "language": "en",
        "handoff_id": None,
    }
    assert event["timestamp"] == row["created_at"]


async def test_the_server_decides_the_language_from_the_tracker_not_the_widget(
    anon: TestClient, server: TestServer, fake_rasa: FakeRasa
) -> None:
    session = await chatted(anon, fake_rasa, "再见")
    fake_rasa.trackers[session].insert(
        0, {"event": "slot", "name": "language", "value": "zh", "timestamp": 1.0}
    )
    response = await anon.post(URL, json=body(language="en"), headers=headers(session))
    assert response.status == 201
    assert stored(server, session)[0]["language"] == "zh"
    assert csat_events(fake_rasa, session)[0]["value"]["language"] == "zh"


async def test_a_hand_back_asks_and_the_rating_is_the_agents(
    anon: TestClient, alice: tuple[TestClient, str], server: TestServer, fake_rasa: FakeRasa
) -> None:
    client, csrf = alice
    session = await chatted(anon, fake_rasa, "I want a person")
    hid = (await queue_handoff(anon, session))["handoff_id"]
    assert (await client.post(f"/api/console/conversations/{hid}/claim", headers={"X-CSRF-Token": csrf})).ok
    assert (await client.post(f"/api/console/conversations/{hid}/close", headers={"X-CSRF-Token": csrf})).ok
    _, events = fake_rasa.appended[-1]
    notice = next(e for e in events if e["event"] == "bot")
    assert notice["data"] == {"custom": {"shopdesk": "csat", "end": "handback"}}  # the widget's cue to ask

    response = await anon.post(URL, json=body(trigger="handback", rating=5), headers=headers(session))
    assert response.status == 201
    [row] = stored(server, session)
    assert (row["by"], row["handoff_id"]) == ("agent", hid)
    assert csat_events(fake_rasa, session)[0]["value"]["by"] == "agent"


async def test_a_handoff_nobody_took_and_the_bot_episode_after_a_rating_are_the_bots(
    anon: TestClient, alice: tuple[TestClient, str], server: TestServer, fake_rasa: FakeRasa
) -> None:
    client, csrf = alice
    # queued, never claimed: no person handled it
    unclaimed = await chatted(anon, fake_rasa, "a person please")
    await queue_handoff(anon, unclaimed)
    assert (await anon.post(URL, json=body(), headers=headers(unclaimed))).status == 201
    assert stored(server, unclaimed)[0]["by"] == "bot"
    # an agent's episode is rated, then the shopper goes on with the bot: the next episode is the bot's
    session = await chatted(anon, fake_rasa, "I want a person")
    hid = (await queue_handoff(anon, session))["handoff_id"]
    await client.post(f"/api/console/conversations/{hid}/claim", headers={"X-CSRF-Token": csrf})
    await client.post(f"/api/console/conversations/{hid}/close", headers={"X-CSRF-Token": csrf})
    assert (await anon.post(URL, json=body(survey_id="first-survey"), headers=headers(session))).status == 201
    fake_rasa.user_says(session, "and where is my order?")
    second = await anon.post(URL, json=body(survey_id="second-survey", rating=2), headers=headers(session))
    assert second.status == 201
    assert [(r["by"], r["handoff_id"]) for r in stored(server, session)] == [("agent", hid), ("bot", None)]


# --- bad input -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rating", "says"),
    [(0, "got 0"), (6, "got 6"), (-1, "got -1"), ("4", "got '4'"), (4.5, "got '4.5'"), (True, "got 'True'")],
)
async def test_a_rating_out_of_range_or_not_an_integer_is_refused_naming_the_range(
    anon: TestClient, server: TestServer, fake_rasa: FakeRasa, rating: object, says: str
) -> None:
    session = await chatted(anon, fake_rasa)
    response = await anon.post(URL, json=body(rating=rating), headers=headers(session))
    assert response.status == 400
    error = (await response.json())["fields"]["rating"]
    assert "an integer from 1 to 5" in error and says in error
    assert stored(server, session) == [] and csat_events(fake_rasa, session) == []


async def test_a_missing_rating_and_malformed_fields_are_each_named(
    anon: TestClient, server: TestServer, fake_rasa: FakeRasa
) -> None:
    session = await chatted(anon, fake_rasa)
    response = await anon.post(
        URL, json={"survey_id": "x", "comment": 42, "trigger": "because"}, headers=headers(session)
    )
    assert response.status == 400
    fields = (await response.json())["fields"]
    assert fields["rating"] == "required: an integer from 1 to 5"
    assert "8 to 64" in fields["survey_id"]
    assert "1000 characters" in fields["comment"]
    assert "goodbye, resolved, handback, inactivity" in fields["trigger"]
    for raw in ("[4]", "not json"):
        refused = await anon.post(
            URL, data=raw, headers={**headers(session), "Content-Type": "application/json"}
        )
        assert refused.status == 400 and "JSON object" in (await refused.json())["fields"]["body"]
    assert stored(server, session) == []


@pytest.mark.parametrize("size", [MAX_COMMENT_CHARS + 1, 10 * 1024])
async def test_a_comment_over_the_limit_is_refused_naming_it(
    anon: TestClient, server: TestServer, fake_rasa: FakeRasa, size: int
) -> None:
    session = await chatted(anon, fake_rasa)
    response = await anon.post(URL, json=body(comment="x" * size), headers=headers(session))
    assert response.status == 400
    assert (await response.json())["fields"]["comment"] == f"at most 1000 characters (got {size})"
    assert stored(server, session) == []


@pytest.mark.parametrize("comment", [None, "", "   ", "y" * MAX_COMMENT_CHARS])
async def test_an_empty_or_missing_comment_and_one_at_the_limit_are_fine(
    anon: TestClient, server: TestServer, fake_rasa: FakeRasa, comment: str | None
) -> None:
    session = await chatted(anon, fake_rasa)
    payload = (
        body(comment=comment) if comment is not None else {k: v for k, v in body().items() if k != "comment"}
    )
    assert (await anon.post(URL, json=payload, headers=headers(session))).status == 201
    assert stored(server, session)[0]["comment"] == (comment or "").strip()


async def test_a_comment_with_html_is_stored_and_sent_as_the_text_it_is(
    anon: TestClient, server: TestServer, fake_rasa: FakeRasa
) -> None:
    session = await chatted(anon, fake_rasa)
    html = '<img src=x onerror="alert(1)"> & <b>great</b>'
    assert (await anon.post(URL, json=body(comment=html), headers=headers(session))).status == 201
    assert stored(server, session)[0]["comment"] == html  # not escaped, not stripped: text
    assert csat_events(fake_rasa, session)[0]["value"]["comment"] == html
    lone = await anon.post(
        URL,
        data='{"survey_id": "s-0000000002", "rating": 3, "trigger": "goodbye", "comment": "\\ud800"}',
        headers={**headers(await chatted(anon, fake_rasa)), "Content-Type": "application/json"},
    )
    assert lone.status == 400 and "Unicode" in (await lone.json())["fields"]["comment"]


async def test_personal_data_in_a_comment_is_redacted_in_the_tracker_and_kept_in_the_store(
    anon: TestClient, server: TestServer, fake_rasa: FakeRasa
) -> None:
    session = await chatted(anon, fake_rasa)
    comment = "Slow. Mail me at ada.lovelace@example.com or call +49 30 12345678"
    assert (
        await anon.post(URL, json=body(comment=comment, rating=2), headers=headers(session))
    ).status == 201
    assert stored(server, session)[0]["comment"] == comment
    sent = csat_events(fake_rasa, session)[0]["value"]["comment"]
    assert sent == "Slow. Mail me at [email] or call [phone]"


async def test_sent_twice_the_second_is_already_rated_and_nothing_is_stored_twice(
    anon: TestClient, server: TestServer, fake_rasa: FakeRasa
) -> None:
    session = await chatted(anon, fake_rasa)
    assert (await anon.post(URL, json=body(), headers=headers(session))).status == 201
    again = await anon.post(URL, json=body(rating=1), headers=headers(session))
    assert again.status == 409 and (await again.json())["error"] == "already rated"
    # a second survey in the same episode (nothing said since the rating) is refused too
    other = await anon.post(URL, json=body(survey_id="another-one"), headers=headers(session))
    assert other.status == 409 and (await other.json())["error"] == "already rated"
    assert len(stored(server, session)) == 1 and len(csat_events(fake_rasa, session)) == 1
    assert stored(server, session)[0]["rating"] == 4
    # the shopper speaks again: a new episode may be rated
    fake_rasa.user_says(session, "one more thing")
    assert (await anon.post(URL, json=body(survey_id="another-one"), headers=headers(session))).status == 201
    assert len(stored(server, session)) == 2


async def test_nothing_to_rate_before_the_shopper_said_anything(
    anon: TestClient, server: TestServer, fake_rasa: FakeRasa
) -> None:
    session = await new_session(anon)
    response = await anon.post(URL, json=body(), headers=headers(session))
    assert response.status == 409 and "nothing to rate" in (await response.json())["error"]
    assert stored(server, session) == []


async def test_without_a_widget_session_401_with_a_forged_one_403(
    anon: TestClient, server: TestServer, fake_rasa: FakeRasa
) -> None:
    missing = await anon.post(URL, json=body())
    assert missing.status == 401 and "X-ShopDesk-Session" in (await missing.json())["error"]
    forged = new_session_id("not-our-secret")
    fake_rasa.user_says(forged, "hi")
    for bad in (forged, "0" * 64, "not-a-session"):
        response = await anon.post(URL, json=body(), headers=headers(bad))
        assert response.status == 403, bad
    session = await chatted(anon, fake_rasa)
    foreign = await anon.post(
        URL, json=body(), headers={**headers(session), "Origin": "https://evil.example"}
    )
    assert foreign.status == 403
    assert stored(server, forged) == [] and stored(server, session) == []


async def test_too_many_ratings_from_one_client_are_refused(anon: TestClient, fake_rasa: FakeRasa) -> None:
    statuses = []
    for n in range(12):
        session = await chatted(anon, fake_rasa)
        statuses.append(
            (await anon.post(URL, json=body(survey_id=f"survey-{n:04d}"), headers=headers(session))).status
        )
    assert statuses[:10] == [201] * 10 and statuses[10:] == [429, 429]


# --- Rasa unreachable ----------------------------------------------------------------------------------------


async def test_with_rasa_down_the_rating_is_stored_and_the_slot_written_later_once(
    anon: TestClient, server: TestServer, fake_rasa: FakeRasa
) -> None:
    session = await chatted(anon, fake_rasa)
    fake_rasa.down = True
    response = await anon.post(URL, json=body(language="zh", rating=2), headers=headers(session))
    assert response.status == 201
    assert (await response.json())["tracker"] == "pending"
    [row] = stored(server, session)
    assert row["tracker_written_at"] is None and row["language"] == "zh"  # the widget's hint, as nothing else
    store: CsatStore = server.app[CSAT_STORE]
    writer = CsatTrackerWriter(store, fake_rasa)
    assert store.pending_tracker_writes() == []  # not due yet: the first retry waits 30 s
    store.clock = lambda: time.time() + 31
    assert await writer.retry_pending() == 0  # still down: the next retry waits longer
    assert store.pending_tracker_writes() == []
    fake_rasa.down = False
    store.clock = lambda: time.time() + 200
    assert await writer.retry_pending() == 1
    assert await writer.retry_pending() == 0
    [event] = csat_events(fake_rasa, session)
    assert event["value"]["rating"] == 2
    assert stored(server, session)[0]["tracker_written_at"] is not None


# --- the store -----------------------------------------------------------------------------------------------


def test_the_store_keeps_one_row_per_survey_and_checks_the_range(tmp_path: Path) -> None:
    store = CsatStore(tmp_path / "handoff.db")
    store.add("c1", "survey-1", 5, "", "bot", "en", None, "goodbye")
    with pytest.raises(AlreadyRatedError, match="survey 'survey-1' of this conversation is already rated"):
        store.add("c1", "survey-1", 1, "again", "bot", "en", None, "goodbye")
    store.add("c2", "survey-1", 3, "", "agent", "zh", "H-1", "handback")  # another conversation: its own
    with pytest.raises(ValueError, match="rating 6 is not an integer from 1 to 5"):
        store.add("c1", "survey-2", 6, "", "bot", "en", None, "goodbye")
    assert [r["rating"] for r in store.for_conversation("c1")] == [5]
    assert store.last_rated_at("nobody") is None
    store.shutdown()
    reopened = CsatStore(tmp_path / "handoff.db")  # the table survives a restart
    assert len(reopened.for_conversation("c2")) == 1


# --- settings, page, domain, widget strings -------------------------------------------------------------------


def test_csat_settings_are_validated() -> None:
    assert from_env({}).csat_idle_s == 300.0
    assert from_env({"CSAT_IDLE_S": "2"}).csat_idle_s == 2.0
    with pytest.raises(ConfigError, match="CSAT_IDLE_S"):
        from_env({"CSAT_IDLE_S": "0"})
    with pytest.raises(ConfigError, match="CSAT_RETRY_INTERVAL_S"):
        from_env({"CSAT_RETRY_INTERVAL_S": "soon"})


async def test_the_shop_page_loads_the_card_before_the_widget_and_passes_the_idle_time(
    anon: TestClient,
) -> None:
    html = await (await anon.get("/")).text()
    assert html.index("/static/widget_csat.js") < html.index("/static/widget.js")
    assert "/static/widget_csat.css" in html
    assert '"csatIdleS": 300.0' in html
    for path in ("/static/widget_csat.js", "/static/widget_csat.css"):
        assert (await anon.get(path)).status == 200


def test_goodbye_and_completed_tasks_carry_the_marker_in_both_languages() -> None:
    responses: dict[str, Any] = {}
    slots: dict[str, Any] = {}
    for path in sorted((ROOT / "domain").glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        responses.update(data.get("responses") or {})
        slots.update(data.get("slots") or {})
    assert slots["csat"]["type"] == "any" and slots["csat"]["influence_conversation"] is False
    ends = {
        "utter_goodbye": "goodbye",
        "utter_order_placed_recorded": "resolved",
        "utter_order_placed_pending": "resolved",
        "utter_order_cancelled_unpaid": "resolved",
        "utter_order_cancelled_refund": "resolved",
        "utter_order_cancelled_fee": "resolved",
        "utter_order_line_changed": "resolved",
        "utter_address_changed": "resolved",
        "utter_return_created": "resolved",
    }
    for name, end in ends.items():
        variations = responses[name]
        assert any(v.get("condition") for v in variations), name  # a Chinese variation exists ...
        for variation in variations:  # ... and every variation asks
            assert variation.get("custom") == {"shopdesk": "csat", "end": end}, name
    # not every message asks: a question in the middle of a task does not
    assert "custom" not in responses["utter_anything_else"][0]


def test_every_string_the_card_uses_is_in_the_widget_table() -> None:
    source = (ROOT / "bot" / "static" / "widget_csat.js").read_text(encoding="utf-8")
    used = set(re.findall(r"""\bw\.t\("(\w+)"[,)]""", source))
    used |= set(re.findall(r"""(?:"aria-label"|"text"),\s*"(\w+)"\)""", source))
    used |= set(re.findall(r"""showError\("(\w+)"\)""", source))
    used |= set(re.findall(r"""finish\("(\w+)\"""", source))
    used |= {f"csat_{score}" for score in range(1, 6)} if '"csat_" + score' in source else set()
    assert {"csat_question", "csat_submit", "csat_thanks", "csat_already", "csat_choose", "csat_5"} <= used
    assert used <= WIDGET["en"].keys() and used <= WIDGET["zh"].keys(), used - WIDGET["en"].keys()
    for literal in ("How did we do", "Send rating", "Thank you", "No, thanks", "Excellent"):
        assert literal not in source, literal
    assert "maxlength: String(MAX_COMMENT)" in source and "var MAX_COMMENT = 1000;" in source
