"""The mood's rules (actions.mood_rules) on scripted score sequences: smoothing, hysteresis, what never counts."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from actions.mood_rules import (
    ACCEPTED,
    DECLINED,
    OFFERED,
    TRACE_LENGTH,
    MoodConfig,
    TraceEntry,
    armed,
    blocked,
    clean_trace,
    judgeable,
    offer_outcome,
    smooth,
    step,
)
from sentiment.types import Label, Prediction

CONFIG = MoodConfig()


def prediction(score: float) -> Prediction:
    label: Label = "negative" if score <= -0.3 else "positive" if score >= 0.3 else "neutral"
    return Prediction(label, score)


def offers(scores: Sequence[float], config: MoodConfig = CONFIG) -> list[int]:
    """The indexes of the messages after which the mood offers a person (an offer is remembered as a bot event
    just after its message, as action_track_mood's utterance is)."""
    mood: float | None = None
    trace: list[TraceEntry] = []
    last_offer: float | None = None
    made = []
    for i, score in enumerate(scores):
        moved = step(mood, trace, prediction(score), float(i), config)
        mood, trace = moved.mood, moved.trace
        if moved.trigger and armed(trace, last_offer, config):
            made.append(i)
            last_offer = i + 0.5
    return made


def test_a_sour_conversation_offers_a_person_once() -> None:
    assert offers([0.0, -0.7, -0.8, -0.9, -0.9, -0.9, -0.9]) == [2]


def test_a_neutral_conversation_with_one_very_negative_message_offers_nothing() -> None:
    assert offers([0.1, 0.0, -0.95, 0.0, 0.2]) == []
    assert offers([-0.99]) == []  # not even as the opening message


def test_a_sarcastic_word_between_friendly_messages_offers_nothing() -> None:
    assert offers([0.3, 0.6, -0.9, 0.4, 0.5]) == []


def test_mild_grumbling_never_reaches_the_alert_level() -> None:
    assert offers([-0.35] * 20) == []


def test_after_an_offer_nothing_more_until_the_mood_recovers_then_it_may_offer_again() -> None:
    sour = [-0.9, -0.9]
    still_sour = [-0.9, -0.9, -0.9]
    recovery = [0.8, 0.8]
    assert offers(sour + still_sour) == [1]
    assert offers(sour + still_sour + recovery + sour) == [1, 8]


def test_a_partial_recovery_does_not_rearm() -> None:
    # the mood climbs from -0.87 to about -0.2 but never back to MOOD_RECOVER (-0.1)
    assert offers([-0.9] * 5 + [0.0, 0.0] + [-0.9] * 3) == [1]


def test_a_sharp_drop_from_a_good_mood_offers_before_the_alert_level() -> None:
    trace: list[TraceEntry] = []
    mood = None
    triggers = []
    for i, score in enumerate([0.9, 0.9, -0.6, -0.6]):
        moved = step(mood, trace, prediction(score), float(i), CONFIG)
        mood, trace = moved.mood, moved.trace
        triggers.append(moved.trigger)
    assert triggers == [None, None, None, "drop"]
    assert mood is not None and mood > CONFIG.alert  # not sustained yet: the drop alone called for it


def test_the_mood_is_a_moving_average_from_neutral() -> None:
    assert smooth(None, -0.8, 0.5) == pytest.approx(-0.4)
    assert smooth(-0.4, -0.8, 0.5) == pytest.approx(-0.6)
    assert smooth(0.2, 1.0, 1.0) == 1.0
    assert smooth(-0.9, -1.0, 0.5) >= -1.0


def test_the_trace_keeps_the_last_judged_messages_without_text() -> None:
    trace: list[TraceEntry] = []
    mood = None
    for i in range(TRACE_LENGTH + 5):
        moved = step(mood, trace, prediction(-0.5), 100.0 + i, CONFIG)
        mood, trace = moved.mood, moved.trace
    assert len(trace) == TRACE_LENGTH
    assert trace[-1] == {
        "ts": 100.0 + TRACE_LENGTH + 4,
        "score": -0.5,
        "label": "negative",
        "mood": trace[-1]["mood"],
    }
    assert set(trace[0]) == {"ts", "score", "label", "mood"}


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "👍👍",
        "😡😡😡",
        "!!!",
        "12345",
        "SD-100042",
        "#100042",
        "sd 100042?",
        "ada@example.com",
        "https://shop.example/orders/1",
        "RF-300001",
        "/contact_human_agent",
        '/switch_language{"language": "zh"}',
        None,
        42,
    ],
)
def test_what_has_nothing_to_judge(text: object) -> None:
    assert judgeable(text) is None


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        ("where is SD-100042?? so annoying", "so annoying"),
        ("my order 还没到, very disappointed", "还没到"),
        ("订单SD-100042太慢了", "太慢了"),
        ("mail ada@example.com, useless", "useless"),
    ],
)
def test_ids_and_addresses_are_taken_out_words_in_either_language_stay(text: str, kept: str) -> None:
    judged = judgeable(text)
    assert judged is not None and kept in judged
    assert "100042" not in judged and "@" not in judged


def test_a_huge_message_is_judged_on_its_start() -> None:
    judged = judgeable("terrible " * 2000)
    assert judged is not None and len(judged) <= 2000


def test_a_mixed_language_conversation_fires_like_a_single_language_one() -> None:
    # the scorer judges each message in its own language; the rules only see scores
    assert offers([-0.8, -0.9]) == offers([-0.9, -0.8]) == [1]


def test_blocked_turns() -> None:
    assert blocked("inform", "queued", None, None) == "a person is already involved"
    assert blocked("inform", "offline", None, None) == "a person is already involved"
    assert blocked("complaint", None, None, None) == "the flow of complaint leads to a person itself"
    assert blocked("contact_human_agent", None, None, None) is not None
    assert blocked("track_order", None, "order_verification_form", None) is not None
    assert blocked("track_order", None, None, None) is None


def test_a_low_confidence_message_is_blocked_only_right_after_a_miss() -> None:
    # a fallback that retrieval answered offers no person; the second miss in a row does (general.yml)
    assert blocked("nlu_fallback", None, None, "answered") is None
    assert blocked("nlu_fallback", None, None, None) is None
    assert blocked("nlu_fallback", None, None, "rephrase") is not None


@pytest.mark.parametrize(
    ("current", "intent", "after"),
    [
        (OFFERED, "contact_human_agent", ACCEPTED),
        (OFFERED, "contact_customer_service", ACCEPTED),
        (OFFERED, "decline_human_offer", DECLINED),
        (OFFERED, "track_order", OFFERED),  # ignored for now: the buttons still work later
        (DECLINED, "contact_human_agent", DECLINED),  # a later request is no answer to the offer
        (None, "decline_human_offer", None),  # nothing was offered
        ("forged", "contact_human_agent", None),  # a slot is a claim
    ],
)
def test_the_offer_is_answered_by_the_next_intent(current: object, intent: str, after: str | None) -> None:
    assert offer_outcome(current, intent) == after


def test_armed_until_offered_then_only_after_a_recovery() -> None:
    entry = TraceEntry(ts=5.0, score=0.5, label="positive", mood=0.0)
    assert armed([], None, CONFIG)
    assert not armed([entry], 6.0, CONFIG)  # recovered before the offer
    assert armed([entry], 4.0, CONFIG)  # recovered after it
    assert not armed([{**entry, "mood": -0.2}], 4.0, CONFIG)  # not recovered enough


def test_a_malformed_trace_slot_is_dropped_entry_by_entry() -> None:
    good = {"ts": 1.0, "score": -0.5, "label": "negative", "mood": -0.25}
    assert clean_trace([good, {"ts": "x"}, "junk", {**good, "label": "furious"}, {**good, "mood": 7}]) == [
        good
    ]
    assert clean_trace("not a list") == []
    assert len(clean_trace([good] * 100)) == TRACE_LENGTH


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"alpha": 0.0}, "MOOD_ALPHA"),
        ({"alpha": 1.5}, "MOOD_ALPHA"),
        ({"alert": 0.0, "recover": -0.2}, "MOOD_ALERT"),
        ({"drop": 0.0}, "MOOD_DROP"),
        ({"negative": 0.2}, "MOOD_NEGATIVE"),
        ({"streak": 0}, "MOOD_STREAK"),
    ],
)
def test_bad_numbers_are_named(changes: dict[str, float], named: str) -> None:
    problems = MoodConfig(**changes).problems()  # type: ignore[arg-type]
    assert len(problems) == 1 and problems[0].startswith(named)
    assert MoodConfig().problems() == []


def test_the_streak_is_what_keeps_a_single_message_from_offering() -> None:
    undamped = MoodConfig(alpha=1.0)  # the mood jumps to each message's score
    assert offers([0.0, -0.99, 0.0], undamped) == []
    assert offers([0.0, -0.99, 0.0], MoodConfig(alpha=1.0, streak=1)) == [1]


def test_one_message_the_scorer_misses_in_a_sour_stretch_does_not_reset_it() -> None:
    # -0.45, then a miss (-0.18), then -0.93: two of the last three negative, the latest too
    assert offers([0.0, -0.45, -0.18, -0.93]) == [3]
    assert offers([0.0, -0.45, -0.18, -0.1, -0.93]) == []  # two misses: no longer a streak
