"""The held-out conversation files load, and the judge tells a right outcome from a wrong action."""

from __future__ import annotations

from typing import Any

import pytest

from eval.conversations.cases import GROUPS, CaseError, Conversation, load, parse
from eval.conversations.judge import Result, Shop, judge, orders_in_play, summarize, turn_signals

SHIPPED = ("shipped", (("P-1021", 2),), "Keizersgracht 221", (), ())


class NoStore:
    """The judge reads only emails and product titles from the shop; it never calls the store."""


def shop() -> Shop:
    return Shop(NoStore(), frozenset({"ben.okafor@example.com"}), {"P-1044": "Insulated Water Bottle 750 ml"})  # type: ignore[arg-type]


def one(raw: dict[str, Any]) -> Conversation:
    return parse({"conversations": [{"id": "c", "group": "one_shot", "turns": ["hi"], **raw}]}, "t.yml")[0]


def run(
    conversation: Conversation, texts: list[str], before: Any = None, after: Any = None, typed: str = ""
) -> Result:
    result = Result(conversation.id, conversation.group)
    before = before or {"SD-100003": SHIPPED}
    judge(conversation, result, [{"text": t} for t in texts], before, after or dict(before), shop(), typed)
    return result


@pytest.mark.parametrize("split", ["dev", "test"])
def test_both_halves_load_and_cover_every_group(split: str) -> None:
    conversations = load(split)
    assert len(conversations) >= 30
    assert {c.group for c in conversations} == set(GROUPS)


def test_the_halves_change_different_orders() -> None:
    dev, test = (set().union(*(c.changes_allowed for c in load(s))) for s in ("dev", "test"))
    assert dev and test and not dev & test


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ({"group": "nope"}, "group"),
        ({"expect": {"containz": ["x"]}}, "containz"),
        ({"expect": {"status": {"SD-100001": "gone"}}}, "status"),
        ({"expect": {"contains": "x"}, "turns": [{"say": "x", "pad_to": 9000}]}, "pad_to"),
        ({"expect": {"contains": "x"}, "must_not": {"change": ["SD-100001"]}}, "must_not"),
        ({"expect": {"language": "fr"}}, "language"),
        ({"expect": {"final_language": "ZH"}}, "final_language"),
    ],
)
def test_a_malformed_conversation_is_refused_naming_the_field(raw: dict[str, Any], named: str) -> None:
    with pytest.raises(CaseError, match=named):
        one({"expect": {"contains": "x"}, **raw})


def test_pad_to_makes_a_message_of_exactly_that_length() -> None:
    conversation = one({"expect": {"contains": "x"}, "turns": [{"say": "where is my order", "pad_to": 4999}]})
    assert len(conversation.turns[0].text) == 4999


def test_a_click_sends_the_payload_of_the_matching_button_or_types_the_title() -> None:
    turn = one({"expect": {"contains": "x"}, "turns": [{"click": "yes"}]}).turns[0]
    assert (
        turn.message(
            [{"title": "No, keep it", "payload": "/deny"}, {"title": "Yes, cancel it", "payload": "/affirm"}]
        )
        == "/affirm"
    )
    assert turn.message([]) == "yes"


def test_a_pick_presses_an_offered_button_and_otherwise_sends_nothing() -> None:
    turn = one({"expect": {"contains": "x"}, "turns": [{"pick": "customs"}]}).turns[0]
    assert turn.message([{"title": "Customs and import duties", "payload": '/ask_question{"kb_entry":"c"}'}])
    assert turn.message([{"title": "Countries we ship to", "payload": "/x"}]) is None


def test_orders_in_play_normalises_every_documented_form() -> None:
    conversation = one({"expect": {"contains": "x"}, "turns": ["#100305 or sd100306 or SD 100307, 100308"]})
    assert {"SD-100305", "SD-100306", "SD-100307", "SD-100308", "SD-100001"} <= set(
        orders_in_play(conversation)
    )


def test_right_outcome_is_contained() -> None:
    result = run(
        one({"expect": {"contains": ["JJD014600003"]}}), ["It is on its way — tracking number JJD014600003."]
    )
    assert result.contained and not result.failed_checks and not result.wrong_actions


def test_missing_fact_is_a_failed_check_not_a_wrong_action() -> None:
    result = run(one({"expect": {"contains": ["JJD014600003"]}}), ["Sorry, I can't help with that one."])
    assert not result.contained and result.failed_checks and not result.wrong_actions


def test_an_unexpected_order_change_is_a_wrong_action() -> None:
    cancelled = ("cancelled", *SHIPPED[1:])
    result = run(one({"expect": {"contains": ["done"]}}), ["Done"], after={"SD-100003": cancelled})
    assert result.wrong_actions == ["changed SD-100003: status 'shipped' -> 'cancelled'"]
    assert not result.contained


def test_an_expected_change_is_the_outcome() -> None:
    cancelled = ("cancelled", *SHIPPED[1:])
    conversation = one({"expect": {"status": {"SD-100003": "cancelled"}}})
    assert run(conversation, ["Done"], after={"SD-100003": cancelled}).contained
    assert run(conversation, ["Done"]).failed_checks == ["SD-100003 is shipped, expected cancelled"]


def test_revealing_a_forbidden_string_or_an_untyped_customer_email_is_a_wrong_action() -> None:
    conversation = one(
        {"expect": {"contains": ["couldn't match"]}, "must_not": {"reveal": ["Keizersgracht"]}}
    )
    leak = run(conversation, ["I couldn't match that. It goes to Keizersgracht 221, ben.okafor@example.com"])
    assert len(leak.wrong_actions) == 2 and not leak.contained
    typed = run(
        conversation,
        ["I couldn't match ben.okafor@example.com to that order."],
        typed="ben.okafor@example.com",
    )
    assert typed.contained


def test_products_count_by_card_id_or_by_title_in_the_text() -> None:
    conversation = one({"expect": {"products_any": ["P-1044"]}})
    result = Result("c", "products")
    judge(
        conversation,
        result,
        [{"custom": {"type": "product_cards", "cards": [{"id": "P-1044"}]}}],
        {},
        {},
        shop(),
        "",
    )
    assert result.contained
    assert run(conversation, ["- Insulated Water Bottle 750 ml (€24.90)"]).contained
    assert not run(conversation, ["- Foam Roller (€19.90)"]).contained


def test_a_handoff_counts_only_where_it_is_the_outcome() -> None:
    wanted, unwanted = one({"expect": {"handoff": True}}), one({"expect": {"contains": "x"}})
    for conversation, handed_off, contained in [
        (wanted, True, True),
        (wanted, False, False),
        (unwanted, True, False),
    ]:
        result = Result("c", "handoff", handoff=handed_off)
        judge(conversation, result, [{"text": "x"}], {}, {}, shop(), "")
        assert result.contained is contained


def test_turn_signals_read_fallbacks_and_handoff_from_the_tracker() -> None:
    events = [
        {"event": "user", "parse_data": {"intent": {"name": "nlu_fallback"}}},
        {"event": "bot", "text": "Could you rephrase?", "metadata": {"utter_action": "utter_ask_rephrase"}},
        {"event": "user", "parse_data": {"intent": {"name": "ask_question"}}},
        {"event": "bot", "text": "Sorry", "metadata": {"utter_action": "utter_default"}},
        {"event": "user", "parse_data": {"intent": {"name": "contact_human_agent"}}},
        {"event": "slot", "name": "handoff_status", "value": "offline"},
    ]
    intents, fallbacks, handoff = turn_signals({"events": events})
    assert intents == ["nlu_fallback", "ask_question", "contact_human_agent"]
    assert fallbacks == [True, True, False] and handoff


def test_summary_counts_per_group() -> None:
    results = [
        Result("a", "policy", contained=True, turns=1, latencies_ms=[10.0]),
        Result(
            "b",
            "policy",
            turns=2,
            fallback_turns=1,
            latencies_ms=[20.0, 30.0],
            wrong_actions=["revealed 'x'"],
        ),
        Result("c", "handoff", contained=True, turns=1, latencies_ms=[40.0]),
    ]
    summary = summarize(results)
    assert summary["overall"]["containment"] == pytest.approx(2 / 3)
    assert summary["groups"]["policy"]["fallback_rate"] == pytest.approx(1 / 3)
    assert summary["overall"]["wrong_action_list"] == ["b: revealed 'x'"]
    assert summary["overall"]["p95_latency_ms"] == 40.0


def test_language_asks_every_bot_text_to_be_chinese_or_english() -> None:
    chinese, english = one({"expect": {"language": "zh"}}), one({"expect": {"language": "en"}})
    assert run(chinese, ["您的订单 SD-100003 已发货", "Arc LED Desk Lamp — 可以调光"]).contained
    mixed = run(chinese, ["您的订单已发货", "Your order has shipped."])
    assert not mixed.contained
    assert mixed.failed_checks == ["language: not zh: 'Your order has shipped.'"]
    assert run(english, ["Your order has shipped."]).contained
    assert not run(english, ["Your order has shipped.", "已发货"]).contained


def test_final_language_looks_only_at_the_replies_to_the_last_turn() -> None:
    conversation = one({"expect": {"final_language": "en"}})
    earlier, last = [{"text": "好的，我们用中文聊"}], [{"text": "Sure, English from now on."}]
    for answers, contained in [(last, True), (earlier, False)]:
        result = Result("c", "digression")
        judge(conversation, result, earlier + answers, {}, {}, shop(), "", last_replies=answers)
        assert result.contained is contained


@pytest.mark.parametrize("split", ["zh_dev", "zh_test"])
def test_the_chinese_halves_load_and_expect_chinese_replies(split: str) -> None:
    conversations = load(split)
    assert len(conversations) >= 15
    assert all(c.expect.language or c.expect.final_language for c in conversations)


def test_the_chinese_halves_change_orders_no_other_half_changes() -> None:
    changed = {
        s: set().union(*(c.changes_allowed for c in load(s))) for s in ("dev", "test", "zh_dev", "zh_test")
    }
    assert changed["zh_dev"] and changed["zh_test"]
    assert not changed["zh_dev"] & changed["zh_test"]
    assert not (changed["zh_dev"] | changed["zh_test"]) & (changed["dev"] | changed["test"])
