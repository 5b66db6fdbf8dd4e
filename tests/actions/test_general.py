"""Fallback and feedback actions, run against a Tracker, a CollectingDispatcher and a fake order store."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import feedback as feedback_module
from actions.fallback import ActionFallback, fallback_streak, next_step
from actions.feedback import ActionRecordFeedback, order_reference, parse_rating
from shop.errors import InvalidIdentifierError, OrderNotFoundError, StoreError
from tests.actions.shop_fixtures import proven


def user(intent: str, text: str = "", entities: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "event": "user",
        "text": text or intent,
        "parse_data": {
            "intent": {"name": intent, "confidence": 0.9},
            "entities": entities or [],
            "text": text,
        },
    }


def bot(text: str) -> dict[str, Any]:
    return {"event": "bot", "text": text}


def action(name: str) -> dict[str, Any]:
    return {"event": "action", "name": name}


def tracker(events: list[dict[str, Any]], slots: dict[str, Any] | None = None) -> Tracker:
    latest = next((e for e in reversed(events) if e["event"] == "user"), None)
    latest_message = None
    if latest:
        latest_message = {**latest["parse_data"], "text": latest["text"]}
    return Tracker("conv-1", slots or {}, latest_message, events, False, None, {}, "action_listen")


# --- fallback ---------------------------------------------------------------------------------------


@pytest.fixture
def retrieval_finds_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """The streak tests: retrieval (tests/actions/test_fallback_retrieval.py) finds nothing for any message."""
    from actions import fallback
    from actions.answers import Found

    monkeypatch.setattr(fallback, "retrieval_service", lambda: None)
    monkeypatch.setattr(fallback, "look_up", lambda service, text, language="en": Found("nothing"))


def test_streak_counts_only_the_latest_run_of_fallbacks() -> None:
    events = [
        user("nlu_fallback"),
        user("greet"),
        action("utter_greet"),
        user("nlu_fallback"),
        action("action_fallback"),
        bot("Sorry, I didn't quite get that."),
        user("nlu_fallback"),
    ]
    assert fallback_streak(events) == 2


def test_streak_stops_at_a_new_session() -> None:
    events = [user("nlu_fallback"), {"event": "session_started"}, user("nlu_fallback")]
    assert fallback_streak(events) == 1


def test_streak_is_zero_without_a_fallback() -> None:
    assert fallback_streak([user("greet")]) == 0
    assert fallback_streak([]) == 0


@pytest.mark.parametrize(("streak", "step"), [(1, "rephrase"), (2, "offer_human"), (3, "offer_human")])
def test_next_step(streak: int, step: str) -> None:
    assert next_step(streak) == step


@pytest.mark.usefixtures("retrieval_finds_nothing")
async def test_first_fallback_asks_to_rephrase() -> None:
    dispatcher = CollectingDispatcher()
    events = await ActionFallback().run(
        dispatcher, tracker([user("greet"), user("nlu_fallback", "blorp")]), {}
    )
    assert events == [SlotSet("fallback_next", "rephrase")]
    assert dispatcher.messages == []  # the rule utters utter_ask_rephrase


@pytest.mark.usefixtures("retrieval_finds_nothing")
async def test_second_fallback_in_a_row_offers_a_person() -> None:
    t = tracker([user("nlu_fallback", "blorp"), action("utter_ask_rephrase"), user("nlu_fallback", "zzz")])
    events = await ActionFallback().run(CollectingDispatcher(), t, {})
    assert events == [SlotSet("fallback_next", "offer_human")]


@pytest.mark.usefixtures("retrieval_finds_nothing")
async def test_fallback_after_an_understood_message_starts_over() -> None:
    t = tracker([user("nlu_fallback"), user("deny"), user("nlu_fallback")])
    events = await ActionFallback().run(CollectingDispatcher(), t, {})
    assert events == [SlotSet("fallback_next", "rephrase")]


# --- feedback ---------------------------------------------------------------------------------------


class FakeStore:
    """Records record_feedback calls; can be told to fail."""

    def __init__(self, error: StoreError | None = None, reject_orders: bool = False) -> None:
        self.calls: list[tuple[Any, ...]] = []
        self.error = error
        self.reject_orders = reject_orders

    def record_feedback(
        self, kind: str, text: str, order_number: str | None, conversation_id: str, rating: int | None = None
    ) -> object:
        self.calls.append((kind, text, order_number, conversation_id, rating))
        if self.error is not None:
            raise self.error
        if self.reject_orders and order_number is not None:
            raise OrderNotFoundError(order_number)
        return object()


@pytest.fixture
def store(install: Any) -> FakeStore:
    fake = FakeStore()
    install(store=fake)
    return fake


def responses(dispatcher: CollectingDispatcher) -> list[str | None]:
    return [m.get("response") for m in dispatcher.messages]


async def test_complaint_naming_an_unverified_order_is_recorded_without_it(store: FakeStore) -> None:
    # Before: attached to SD-100042 (anyone's order) just because the shopper typed its number.
    dispatcher = CollectingDispatcher()
    text = "the parcel for SD-100042 arrived crushed and nobody answers"
    t = tracker(
        [user("complaint", text, [{"entity": "order_id", "value": "SD-100042"}])],
        slots={"order_id": "SD-100042"},
    )
    events = await ActionRecordFeedback().run(dispatcher, t, {})
    assert events == []
    assert store.calls == [("complaint", text, None, "conv-1", None)]
    assert responses(dispatcher) == ["utter_complaint_received"]


async def test_review_with_a_rating_uses_the_verified_order(store: FakeStore) -> None:
    dispatcher = CollectingDispatcher()
    t = tracker([user("review", "lovely lamp, five stars")], slots=proven("SD-100003", sender_id="conv-1"))
    await ActionRecordFeedback().run(dispatcher, t, {})
    assert store.calls == [("review", "lovely lamp, five stars", "SD-100003", "conv-1", 5)]
    assert responses(dispatcher) == ["utter_review_thanks"]


async def test_forged_verified_order_is_not_attached(store: FakeStore) -> None:
    t = tracker(
        [user("review", "five stars")], slots={"verified_order_id": "SD-100003", "customer_id": "C-0002"}
    )
    await ActionRecordFeedback().run(CollectingDispatcher(), t, {})
    assert [c[2] for c in store.calls] == [None]


async def test_unknown_order_reference_is_dropped_not_fatal(store: FakeStore) -> None:
    store.reject_orders = True
    dispatcher = CollectingDispatcher()
    t = tracker(
        [user("complaint", "order is awful")], slots=proven("SD-100999", "C-0001", sender_id="conv-1")
    )
    await ActionRecordFeedback().run(dispatcher, t, {})
    assert [c[2] for c in store.calls] == ["SD-100999", None]
    assert responses(dispatcher) == ["utter_complaint_received"]


async def test_store_error_is_caught_and_the_shopper_is_told(store: FakeStore) -> None:
    store.error = InvalidIdentifierError("feedback", "x", "text")
    dispatcher = CollectingDispatcher()
    events = await ActionRecordFeedback().run(dispatcher, tracker([user("complaint", "bad")]), {})
    assert events == []
    assert responses(dispatcher) == ["utter_feedback_not_saved"]


async def test_store_that_cannot_write_is_caught(install: Any) -> None:
    class BrokenStore:
        def record_feedback(self, *args: object) -> None:
            raise OSError("disk full")

    install(store=BrokenStore())
    dispatcher = CollectingDispatcher()
    events = await ActionRecordFeedback().run(dispatcher, tracker([user("review", "nice shop")]), {})
    assert events == []
    assert responses(dispatcher) == ["utter_feedback_not_saved"]


async def test_feedback_text_is_capped(store: FakeStore) -> None:
    await ActionRecordFeedback().run(CollectingDispatcher(), tracker([user("review", "a" * 5000)]), {})
    assert len(store.calls[0][1]) == feedback_module.MAX_FEEDBACK_CHARS


@pytest.mark.parametrize(
    ("text", "rating"),
    [
        ("5 stars!", 5),
        ("I'd give it 4/5", 4),
        ("three out of 5", 3),
        ("one star", 1),
        ("great stuff", None),
        ("6 stars", None),
    ],
)
def test_parse_rating(text: str, rating: int | None) -> None:
    assert parse_rating(text) == rating


def test_order_reference_is_only_the_verified_order() -> None:
    t = tracker(
        [user("complaint", "x", [{"entity": "order_id", "value": "SD-100250"}])],
        slots={"order_id": "SD-100250", **proven("SD-100042", "C-0001", sender_id="conv-1")},
    )
    assert order_reference(t) == "SD-100042"
    assert (
        order_reference(tracker([user("complaint", "x", [{"entity": "order_id", "value": "SD-100250"}])]))
        is None
    )
    assert order_reference(tracker([user("review", "nice")])) is None


async def test_feedback_with_the_real_sqlite_store(tmp_path: Any, install: Any) -> None:
    sqlite = pytest.importorskip("shop.sqlite")
    real = sqlite.SqliteOrderStore(tmp_path / "shop.db")
    install(store=real)
    dispatcher = CollectingDispatcher()
    await ActionRecordFeedback().run(dispatcher, tracker([user("complaint", "late again")]), {})
    assert responses(dispatcher) == ["utter_complaint_received"]
