"""Every response in domain/ speaks English and Simplified Chinese (docs/architecture.md, "Where shopper text
lives"; issue 13).

A response keeps its English variations without a condition and gets Chinese ones conditioned on the
``language`` slot (``condition: [{type: slot, name: language, value: zh}]``); Rasa 3.6 sends a matching
conditional variation when there is one and an unconditioned one otherwise. The checks below replay that choice
for each language (and each value of any other slot a condition names, e.g. ``order_id_ambiguous``), so they see
what a shopper would get:

- in a Chinese conversation only Chinese variations can be chosen, in an English one only English ones;
- every Chinese variation has Chinese characters (or punctuation) and no English word but the allowed names below;
- what is chosen in either language fills the same ``{variables}`` and offers buttons with the same payloads;
- conditions are slot conditions; the language condition only says ``zh`` (or ``en``, to keep an English
  variation that depends on another slot out of Chinese conversations).

A response whose only variations carry no condition and are written in both languages at once (the reply to a
language the assistant does not speak) is one message for everybody and needs no Chinese variation.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
import yaml

DOMAIN_DIR = Path(__file__).resolve().parent.parent / "domain"
LANGUAGE_SLOT = "language"
LANGUAGES = ("en", "zh")
ZH_CONDITION = {"type": "slot", "name": LANGUAGE_SLOT, "value": "zh"}

HAN = re.compile(r"[\u4e00-\u9fff]")
# a template of variables only (``{title}：{price_text}。``) is Chinese by its punctuation
CHINESE = re.compile(r"[\u4e00-\u9fff\u3000-\u303f\uff00-\uffef]")
VARIABLE = re.compile(r"{([^\n{}]+?)}")  # as actions.messages and Rasa's interpolator read them
# Text that stays as written in Chinese: {variables}, links and site paths, email addresses, and our numbers
# (SD-100042 orders, P-1001 products, RF-/RT- refunds and returns, "SD-" itself) and the card check "3-D Secure".
KEPT_AS_WRITTEN = re.compile(
    r"{[^\n{}]+?}"
    r"|3-D Secure"
    r"|https?://\S+"
    r"|(?<![\w/])/[a-z][\w/-]*"
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
    r"|\b[A-Z]{1,2}-\d*"
)
ENGLISH_WORD = re.compile(r"[A-Za-zÀ-ÖØ-öø-ÿ]+(?:[-'’][A-Za-zÀ-ÖØ-öø-ÿ]+)*")  # Latin letters, not ×
# Names a Chinese shopper sees as they are: ours, the payment brands and the card check as checkout shows
# them, and the parts of the example address (a German address is written the German way on the parcel).
ALLOWED_WORDS = frozenset(
    {
        "ShopDesk",
        "Visa",
        "Mastercard",
        "American",
        "Express",
        "Amex",
        "PayPal",
        "Apple",
        "Google",
        "Pay",
        "Hauptstr",
        "Lindenstraße",
        "Berlin",
        "DE",
    }
)

Variation = Mapping[str, Any]


def load_responses(path: Path) -> dict[str, list[Variation]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return dict(data.get("responses") or {})


def _conditions(variation: Variation) -> list[Mapping[str, Any]]:
    return list(variation.get("condition") or [])


def _language(variation: Variation) -> str | None:
    values = [c.get("value") for c in _conditions(variation) if c.get("name") == LANGUAGE_SLOT]
    return str(values[0]) if values else None


def _matches(variation: Variation, slots: Mapping[str, Any]) -> bool:
    return all(slots.get(c.get("name")) == c.get("value") for c in _conditions(variation))


def chosen(variations: Sequence[Variation], slots: Mapping[str, Any]) -> list[Variation]:
    """The variations Rasa 3.6 picks from (rasa.core.nlg.generator.ResponseVariationFilter, no channel)."""
    conditional = [v for v in variations if _conditions(v) and _matches(v, slots)]
    return conditional or [v for v in variations if not _conditions(v)]


def slot_states(variations: Sequence[Variation]) -> Iterator[dict[str, Any]]:
    """Each language with each combination of values (and no value) of the other slots the conditions name."""
    others: dict[str, set[Any]] = {}
    for v in variations:
        for c in _conditions(v):
            if c.get("name") != LANGUAGE_SLOT:
                others.setdefault(str(c.get("name")), {None}).add(c.get("value"))
    names = sorted(others)
    for language in LANGUAGES:
        for values in itertools.product(*(sorted(others[n], key=repr) for n in names)):
            yield {LANGUAGE_SLOT: language, **dict(zip(names, values, strict=True))}


def variables(variation: Variation) -> set[str]:
    return set(VARIABLE.findall(str(variation.get("text") or "")))


def payloads(variation: Variation) -> list[str]:
    return [str(b.get("payload")) for b in variation.get("buttons") or []]


def english_words(text: str) -> list[str]:
    kept_out = KEPT_AS_WRITTEN.sub(" ", text)
    return [w for w in ENGLISH_WORD.findall(kept_out) if w not in ALLOWED_WORDS]


def bilingual_by_design(variations: Sequence[Variation]) -> bool:
    """Every variation says it in both languages (the answer to a language we do not speak, whose reader may
    know either): no variation needs to be Chinese-only, whatever its condition."""
    texts = [str(v.get("text") or "") for v in variations]
    return all(HAN.search(t) and ENGLISH_WORD.search(HAN.sub(" ", t)) for t in texts)


def _condition_problems(name: str, variations: Sequence[Variation]) -> list[str]:
    problems = []
    for v in variations:
        for c in _conditions(v):
            if c.get("type") != "slot" or set(c) != {"type", "name", "value"}:
                problems.append(f"{name}: condition {dict(c)} is not a slot condition (type, name, value)")
            elif c.get("name") == LANGUAGE_SLOT and c.get("value") not in LANGUAGES:
                problems.append(f"{name}: language condition {c.get('value')!r} is not one of {LANGUAGES}")
    return problems


def _zh_text_problems(name: str, variations: Sequence[Variation]) -> list[str]:
    problems = []
    for v in variations:
        if _language(v) != "zh":
            continue
        texts = [str(v.get("text") or ""), *(str(b.get("title") or "") for b in v.get("buttons") or [])]
        for text in texts:
            if text.strip() and not CHINESE.search(text):
                problems.append(f"{name}: zh text {text!r} has no Chinese characters or punctuation")
            if words := english_words(text):
                problems.append(f"{name}: zh text {text!r} has English words {words}")
    return problems


def _choice_problems(name: str, variations: Sequence[Variation]) -> list[str]:
    problems = []
    by_language: dict[tuple[Any, ...], dict[str, list[Variation]]] = {}
    for slots in slot_states(variations):
        picked = chosen(variations, slots)
        language = slots[LANGUAGE_SLOT]
        wrong = [v.get("text") for v in picked if (_language(v) == "zh") != (language == "zh")]
        if wrong:
            problems.append(f"{name}: with slots {slots} Rasa may send the other language's {wrong}")
        others = tuple(sorted((k, repr(val)) for k, val in slots.items() if k != LANGUAGE_SLOT))
        by_language.setdefault(others, {})[language] = picked
    for others, picks in by_language.items():
        en, zh = picks.get("en", []), picks.get("zh", [])
        sent = {variation_key(v) for v in [*en, *zh]}
        if len(sent) > 1:
            problems.append(
                f"{name}: with {dict(others) or 'no other slot'} the variations differ in "
                f"{{variables}} or button payloads: {sorted(sent)}"
            )
    return problems


def variation_key(variation: Variation) -> tuple[tuple[str, ...], tuple[str, ...]]:
    return tuple(sorted(variables(variation))), tuple(payloads(variation))


def response_problems(name: str, variations: Sequence[Variation]) -> list[str]:
    """What keeps response ``name`` from serving both languages (empty when it does)."""
    if bilingual_by_design(variations):
        return _condition_problems(name, variations)
    problems = []
    if not any(not _conditions(v) for v in variations):
        problems.append(f"{name}: no variation without a condition (the English default)")
    if not any(_language(v) == "zh" for v in variations):
        problems.append(f"{name}: no Chinese variation (condition {LANGUAGE_SLOT} == zh)")
    return [
        *problems,
        *_condition_problems(name, variations),
        *_zh_text_problems(name, variations),
        *_choice_problems(name, variations),
    ]


def domain_problems(responses: Mapping[str, Sequence[Variation]]) -> list[str]:
    return [p for name, variations in responses.items() for p in response_problems(name, variations)]


# --- the real domain ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", sorted(DOMAIN_DIR.glob("*.yml")), ids=lambda p: p.name)
def test_every_response_speaks_english_and_chinese(path: Path) -> None:
    assert domain_problems(load_responses(path)) == []


def test_the_check_runs_over_the_whole_domain() -> None:
    files = {p.name for p in DOMAIN_DIR.glob("*.yml")}
    assert {"core.yml", "handoff.yml", "language.yml", "ordering.yml", "orders.yml", "products.yml"} <= files
    responses = [n for p in DOMAIN_DIR.glob("*.yml") for n in load_responses(p)]
    assert len(responses) > 150


# --- the checks themselves, on small domains ---------------------------------------------------------------


def zh(text: str, **extra: Any) -> dict[str, Any]:
    return {"text": text, **extra, "condition": [dict(ZH_CONDITION)]}


YES_NO = [{"title": "Yes", "payload": "/affirm"}, {"title": "No", "payload": "/deny"}]
SHI_BU = [{"title": "是", "payload": "/affirm"}, {"title": "否", "payload": "/deny"}]


def test_a_response_in_both_languages_passes() -> None:
    responses = {
        "utter_ok": [
            {"text": "Order {order_id} costs {amount}. See /account/orders.", "buttons": YES_NO},
            zh("订单 {order_id} 金额 {amount}，详见 /account/orders。可用 PayPal 支付。", buttons=SHI_BU),
        ]
    }
    assert domain_problems(responses) == []


def test_a_response_without_a_chinese_variation_fails() -> None:
    problems = domain_problems({"utter_only_english": [{"text": "Hello!"}]})
    assert problems[0] == "utter_only_english: no Chinese variation (condition language == zh)"


def test_a_response_with_only_a_chinese_variation_fails() -> None:
    problems = domain_problems({"utter_only_chinese": [zh("你好！")]})
    assert problems[0] == "utter_only_chinese: no variation without a condition (the English default)"


def test_english_words_in_a_chinese_variation_fail() -> None:
    responses = {"utter_mixed": [{"text": "Track it"}, zh("请 track 您的订单 SD-100042。")]}
    (problem,) = domain_problems(responses)
    assert "English words ['track']" in problem


def test_a_chinese_button_title_in_english_fails() -> None:
    responses = {"utter_buttons": [{"text": "Sure?", "buttons": YES_NO}, zh("确定吗？", buttons=YES_NO)]}
    problems = domain_problems(responses)
    assert any("'Yes'" in p and "no Chinese characters" in p for p in problems)


def test_a_chinese_variation_without_chinese_fails() -> None:
    (problem,) = domain_problems({"utter_latin": [{"text": "{title}"}, zh("{title} !")]})
    assert "has no Chinese characters" in problem


def test_different_variables_fail() -> None:
    responses = {"utter_vars": [{"text": "Order {order_id} by {eta}."}, zh("订单 {order_id} 即将送达。")]}
    (problem,) = domain_problems(responses)
    assert "differ in {variables}" in problem and "eta" in problem


def test_different_button_payloads_fail() -> None:
    other = [{"title": "是", "payload": "/affirm"}, {"title": "否", "payload": "/stop"}]
    responses = {"utter_pay": [{"text": "Sure?", "buttons": YES_NO}, zh("确定吗？", buttons=other)]}
    (problem,) = domain_problems(responses)
    assert "button payloads" in problem and "/stop" in problem


def test_a_condition_other_than_slot_language_fails() -> None:
    fr = {"text": "Bonjour", "condition": [{"type": "slot", "name": "language", "value": "fr"}]}
    odd = {"text": "你好", "condition": [{"type": "intent", "name": "greet", "value": True}]}
    problems = domain_problems({"utter_hello": [{"text": "Hello"}, zh("你好"), fr, odd]})
    assert any("language condition 'fr'" in p for p in problems)
    assert any("is not a slot condition" in p for p in problems)


def test_an_english_variation_conditioned_on_another_slot_alone_fails() -> None:
    # it also matches in a Chinese conversation, where Rasa would pick at random between it and the zh one
    which = {
        "text": "Which one ({choices})?",
        "condition": [{"type": "slot", "name": "ambiguous", "value": True}],
    }
    which_zh = {
        "text": "是哪一个（{choices}）？",
        "condition": [{"type": "slot", "name": "ambiguous", "value": True}, dict(ZH_CONDITION)],
    }
    problems = domain_problems({"utter_ask": [{"text": "What?"}, zh("什么？"), which, which_zh]})
    assert any("may send the other language's" in p and "Which one" in p for p in problems)


def test_a_slot_dependent_variation_in_both_languages_passes() -> None:
    def cond(**slots: Any) -> list[dict[str, Any]]:
        return [{"type": "slot", "name": k, "value": v} for k, v in slots.items()]

    responses = {
        "utter_ask": [
            {"text": "What's your order number?"},
            {"text": "Which one ({choices})?", "condition": cond(ambiguous=True, language="en")},
            {"text": "请问您的订单号是？", "condition": cond(language="zh", ambiguous=None)},
            {"text": "是哪一个订单（{choices}）？", "condition": cond(ambiguous=True, language="zh")},
        ]
    }
    assert domain_problems(responses) == []


def test_a_bilingual_reply_needs_no_chinese_variation() -> None:
    responses = {"utter_both": [{"text": "I speak English and Chinese. 我会说英语和中文。"}]}
    assert domain_problems(responses) == []
