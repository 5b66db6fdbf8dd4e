"""action_track_mood with a Tracker, a CollectingDispatcher and a fake scorer: the events it returns, turn by turn.

``Chat`` plays what Rasa's ``action_extract_slots`` does with the two actions: a user event per message,
``action_track_mood``'s slot events applied (stamped after the message, as Rasa stamps them), then
``action_validate_slot_mappings`` run on that tracker and its utterance logged as a bot event.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import handoff_reason
from actions.mood import ActionDeliverMoodOffer, ActionTrackMood, accepted_mood_offer
from actions.services import Services, sentiment_scorer
from actions.settings import Settings, SettingsError
from sentiment.lexicon import LexiconScorer
from sentiment.types import NOT_JUDGED, Label, Prediction
from tests.actions.conftest import Install

SOUR = {
    "this is ridiculous, nobody tells me anything": -0.8,
    "useless answers, terrible service": -0.9,
    "I'm really angry now": -0.95,
    "still furious": -0.9,
    "worst shop ever": -0.95,
}
NEUTRAL = {"hi there": 0.1, "how long does delivery take?": 0.0, "the box was a bit damaged": -0.9, "ok": 0.0}
HAPPY = {"great, that helps a lot, thank you!": 0.9, "perfect, thanks": 0.9}


@dataclass
class FakeScorer:
    scores: dict[str, float]
    name: str = "fake"
    calls: list[str] = field(default_factory=list)
    threads: list[int] = field(default_factory=list)

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        self.threads.append(threading.get_ident())
        self.calls.extend(texts)
        out = []
        for text in texts:
            if text not in self.scores:
                out.append(NOT_JUDGED)
                continue
            score = self.scores[text]
            label: Label = "negative" if score <= -0.3 else "positive" if score >= 0.3 else "neutral"
            out.append(Prediction(label, score))
        return out


class BrokenScorer:
    name = "broken"

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        raise RuntimeError("model file truncated")


@dataclass
class Chat:
    slots: dict[str, Any] = field(default_factory=lambda: {"language": "en"})
    events: list[dict[str, Any]] = field(default_factory=list)
    offers: int = 0
    clock: float = 1000.0

    def log_action(self, name: str) -> None:
        self.clock += 0.1
        self.events.append({"event": "action", "name": name, "timestamp": self.clock})

    async def say(
        self,
        text: str | None,
        intent: str = "inform",
        entities: Sequence[dict[str, Any]] = (),
        active_loop: str | None = None,
    ) -> tuple[list[dict[str, Any]], list[str]]:
        """One shopper message; the action's events and the responses it uttered."""
        self.clock += 1.0
        parse = {"intent": {"name": intent, "confidence": 0.9}, "entities": list(entities), "text": text}
        self.events.append({"event": "user", "text": text, "timestamp": self.clock, "parse_data": parse})
        loop = {"name": active_loop} if active_loop else {}
        tracker = Tracker(
            "shopper-1", dict(self.slots), parse, list(self.events), False, None, loop, "action_listen"
        )
        dispatcher = CollectingDispatcher()
        events = await ActionTrackMood().run(dispatcher, tracker, {})
        assert dispatcher.messages == []  # Rasa would drop them: a custom mapping's action only sets slots
        for event in events:
            assert event["event"] == "slot", event
            self.slots[event["name"]] = event["value"]
            self.events.append({**event, "timestamp": self.clock + 0.01})
        after = Tracker(
            "shopper-1", dict(self.slots), parse, list(self.events), False, None, loop, "action_listen"
        )
        assert await ActionDeliverMoodOffer().run(dispatcher, after, {}) == []  # validates nothing
        responses = [str(m.get("response")) for m in dispatcher.messages]
        self.events += [{"event": "bot", "timestamp": self.clock + 0.02} for _ in responses]
        self.offers += responses.count("utter_offer_human_mood")
        return events, responses


def slot_events(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e["event"] == "slot"}


@pytest.fixture
def scorer(install: Install) -> FakeScorer:
    fake = FakeScorer({**SOUR, **NEUTRAL, **HAPPY})
    install(sentiment=fake)
    return fake


async def test_a_sour_conversation_gets_one_offer_in_the_same_turn(scorer: FakeScorer) -> None:
    chat = Chat()
    turns = [await chat.say(text) for text in SOUR]
    responses = [r for _, r in turns]
    assert responses == [[], ["utter_offer_human_mood"], [], [], []]
    assert slot_events(turns[1][0])["mood_offer"] == "offered"
    assert chat.slots["mood"] < -0.5
    trace = chat.slots["mood_trace"]
    assert [entry["ts"] for entry in trace] == [e["timestamp"] for e in chat.events if e["event"] == "user"]
    assert trace[0] == {"ts": 1001.0, "score": -0.8, "label": "negative", "mood": -0.4}
    assert all("text" not in entry for entry in trace)


async def test_a_neutral_conversation_with_one_negative_message_gets_none(scorer: FakeScorer) -> None:
    chat = Chat()
    for text in NEUTRAL:
        await chat.say(text)
    assert chat.offers == 0
    assert "mood_offer" not in chat.slots
    assert len(chat.slots["mood_trace"]) == len(NEUTRAL)


async def test_declined_then_more_negativity_no_second_offer_until_recovery(scorer: FakeScorer) -> None:
    chat = Chat()
    for text in list(SOUR)[:2]:
        await chat.say(text)
    assert chat.offers == 1
    events, _ = await chat.say("/decline_human_offer", intent="decline_human_offer")
    assert slot_events(events) == {"mood_offer": "declined"}  # a payload moves no mood
    chat.log_action("utter_mood_offer_declined")
    for text in list(SOUR)[2:]:
        await chat.say(text)
    assert chat.offers == 1
    for text in HAPPY:
        await chat.say(text)
    assert chat.slots["mood"] >= -0.1
    for text in list(SOUR)[:2]:
        await chat.say(text)
    assert chat.offers == 2
    assert chat.slots["mood_offer"] == "offered"


async def test_yes_a_person_accepts_and_the_handoff_records_the_reason_mood(scorer: FakeScorer) -> None:
    chat = Chat()
    for text in list(SOUR)[:2]:
        await chat.say(text)
    events, _ = await chat.say("/contact_human_agent", intent="contact_human_agent")
    assert slot_events(events) == {"mood_offer": "accepted"}
    latest = chat.events[-2]["parse_data"]  # the user event; the slot event follows it
    tracker = Tracker("shopper-1", chat.slots, latest, chat.events, False, None, {}, "action_listen")
    assert accepted_mood_offer(tracker)
    assert handoff_reason(tracker) == "mood"
    await chat.say("hi there")  # a later request for a person is not an answer to the offer
    later = [*chat.events, {"event": "user", "timestamp": chat.clock + 1, "parse_data": {}}]
    tracker = Tracker(
        "shopper-1",
        chat.slots,
        {"intent": {"name": "contact_human_agent"}},
        later,
        False,
        None,
        {},
        "action_listen",
    )
    assert handoff_reason(tracker) == "contact_human_agent"


async def test_the_scorer_runs_in_a_worker_thread(scorer: FakeScorer) -> None:
    await Chat().say("worst shop ever")
    assert scorer.threads and threading.get_ident() not in scorer.threads


async def test_a_scorer_error_changes_nothing_and_fails_nothing(install: Install) -> None:
    install(sentiment=BrokenScorer())
    chat = Chat(slots={"language": "en", "mood": -0.2, "mood_trace": []})
    events, responses = await chat.say("this is ridiculous")
    assert events == [] and responses == []


@pytest.mark.parametrize("text", ["", "   ", "😡😡😡", "SD-100042", "ada@example.com", "/affirm", None])
async def test_nothing_to_judge_is_never_scored_and_moves_nothing(
    scorer: FakeScorer, text: str | None
) -> None:
    chat = Chat(slots={"language": "en", "mood": -0.45, "mood_trace": []})
    events, responses = await chat.say(text)
    assert events == [] and responses == [] and scorer.calls == []


async def test_a_not_judged_prediction_moves_nothing(scorer: FakeScorer) -> None:
    events, _ = await Chat().say("words the fake scorer does not know")
    assert events == [] and scorer.calls == ["words the fake scorer does not know"]


async def test_ids_are_taken_out_before_scoring(scorer: FakeScorer) -> None:
    scorer.scores["where is  ? worst shop ever"] = -0.95
    await Chat().say("where is SD-100042? worst shop ever")
    assert scorer.calls == ["where is  ? worst shop ever"]


@pytest.mark.parametrize(
    ("slots", "intent", "active_loop"),
    [
        ({"handoff_status": "queued"}, "inform", None),
        ({}, "complaint", None),
        ({"fallback_next": "rephrase"}, "nlu_fallback", None),  # a miss right before each
        ({}, "inform", "order_verification_form"),
    ],
)
async def test_no_offer_when_a_person_is_involved_or_the_flow_offers_one(
    scorer: FakeScorer, slots: dict[str, Any], intent: str, active_loop: str | None
) -> None:
    chat = Chat(slots={"language": "en", **slots})
    for text in list(SOUR)[:3]:
        events, _ = await chat.say(text, intent=intent, active_loop=active_loop)
        assert "mood" in slot_events(events)  # the mood is still tracked
    assert chat.offers == 0


async def test_a_miss_two_messages_ago_does_not_block_the_offer(scorer: FakeScorer) -> None:
    chat = Chat(slots={"language": "en", "fallback_next": "rephrase"})  # the slot keeps its value...
    await chat.say("this is ridiculous, nobody tells me anything", intent="nlu_fallback")
    await chat.say("how long does delivery take?", intent="delivery_period")  # ...past a clear message
    await chat.say("useless answers, terrible service", intent="nlu_fallback")
    await chat.say("I'm really angry now", intent="nlu_fallback")
    assert chat.offers == 1


async def test_a_fallback_answered_by_retrieval_does_not_block_the_offer(scorer: FakeScorer) -> None:
    chat = Chat(slots={"language": "en", "fallback_next": "answered"})
    for text in list(SOUR)[:2]:
        await chat.say(text, intent="nlu_fallback")
    assert chat.offers == 1


async def test_the_flows_own_offer_counts_as_the_offer(scorer: FakeScorer) -> None:
    chat = Chat()
    await chat.say("this is ridiculous, nobody tells me anything", intent="complaint")
    chat.log_action("action_record_feedback")
    chat.log_action("utter_offer_human")  # the complaint rule's offer
    for text in list(SOUR)[1:]:
        await chat.say(text)
    assert chat.offers == 0


async def test_the_offer_is_uttered_only_in_the_step_that_decided_it(scorer: FakeScorer) -> None:
    chat = Chat()
    for text in list(SOUR)[:2]:
        await chat.say(text)
    assert chat.slots["mood_offer"] == "offered" and chat.offers == 1
    # the next message leaves the offer open (still "offered") but says nothing more
    _, responses = await chat.say("how long does delivery take?")
    assert responses == [] and chat.slots["mood_offer"] == "offered"


async def test_a_message_that_switches_the_language_still_gets_the_offer(scorer: FakeScorer) -> None:
    # Rasa renders the validation action's utterance with the slots of this step: the new language included
    scorer.scores.update({"太离谱了": -0.9})
    chat = Chat()
    await chat.say("this is ridiculous, nobody tells me anything")
    _, responses = await chat.say("太离谱了", entities=[{"entity": "language", "value": "zh"}])
    assert responses == ["utter_offer_human_mood"]


async def test_offers_can_be_switched_off(scorer: FakeScorer, install: Install, services: Services) -> None:
    from actions.mood_rules import MoodConfig

    install(settings=Settings(mood=MoodConfig(offers=False)), sentiment=scorer)
    chat = Chat()
    for text in SOUR:
        await chat.say(text)
    assert chat.offers == 0 and chat.slots["mood"] < -0.5


async def test_mixed_language_messages_are_judged_with_the_lexicon_baseline(install: Install) -> None:
    install(sentiment=LexiconScorer())
    chat = Chat()
    events, _ = await chat.say("my order 还没到, very disappointed")
    assert slot_events(events)["mood_trace"][0]["label"] == "negative"
    events, _ = await chat.say("这个 jacket 质量很好 love it")
    assert slot_events(events)["mood_trace"][-1]["label"] == "positive"


async def test_concurrent_conversations_do_not_share_a_mood(scorer: FakeScorer) -> None:
    sour, calm = Chat(), Chat()
    for bad, good in zip(list(SOUR)[:2], list(NEUTRAL)[:2], strict=True):
        await asyncio.gather(sour.say(bad), calm.say(good))
    assert (sour.offers, calm.offers) == (1, 0)


# --- settings and the composition root ---------------------------------------------------------------------
@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MOOD_ALPHA": "lots"}, "MOOD_ALPHA='lots': expected a number"),
        ({"MOOD_ALPHA": "nan"}, "MOOD_ALPHA='nan': expected a finite number"),
        ({"MOOD_ALPHA": "1.5"}, "MOOD_ALPHA=1.5: expected a weight in (0, 1]"),
        ({"MOOD_ALERT": "0.2"}, "MOOD_ALERT=0.2, MOOD_RECOVER=-0.1"),
        ({"MOOD_STREAK": "two"}, "MOOD_STREAK='two': expected an integer"),
    ],
)
def test_bad_mood_settings_are_refused_naming_the_variable(env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match="^" + message.replace("(", r"\(").replace(")", r"\)")):
        Settings.from_env(env)


def test_mood_settings_and_the_sentiment_dir_are_read() -> None:
    settings = Settings.from_env(
        {"MOOD_ALERT": "-0.6", "MOOD_OFFERS": "0", "SENTIMENT_DIR": "elsewhere/model"}
    )
    assert settings.mood.alert == -0.6 and not settings.mood.offers
    assert settings.sentiment_dir == Path(__file__).resolve().parents[2] / "elsewhere" / "model"
    assert Settings.from_env({}).sentiment_dir.parts[-2:] == ("var", "sentiment")


def test_no_trained_model_serves_the_lexicon_baseline(tmp_path: Path) -> None:
    assert isinstance(sentiment_scorer(Settings(sentiment_dir=tmp_path / "missing")), LexiconScorer)


def test_a_model_that_does_not_load_stops_the_start_naming_the_variable(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(SettingsError, match=f"^SENTIMENT_DIR={tmp_path}: cannot load the sentiment model"):
        sentiment_scorer(Settings(sentiment_dir=tmp_path))
