"""The conversation's language as the bot service reads it (bot.language) and the catalog (bot.messages)."""

from __future__ import annotations

import re
import string
from pathlib import Path
from typing import Any

import pytest

from bot.language import conversation_language, decided_language, normalize_language
from bot.messages import ENGLISH_ONLY_PLACEHOLDERS, SHOP_PAGE, SHOPPER, WIDGET, offer_buttons, text

ROOT = Path(__file__).resolve().parents[2]
HAN = re.compile(r"[\u4e00-\u9fff]")
# Latin words a Chinese text may keep: the brand and the demo order id.
ALLOWED_LATIN = {"ShopDesk", "SD", "strong", "English"}


def user(text: str, language: str | None = None, page: str | None = None) -> dict[str, Any]:
    entities = [{"entity": "language", "value": language}] if language else []
    event: dict[str, Any] = {"event": "user", "text": text, "parse_data": {"entities": entities}}
    if page:
        event["metadata"] = {"page_language": page}
    return event


def slot(value: Any, name: str = "language") -> dict[str, Any]:
    return {"event": "slot", "name": name, "value": value}


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("zh", "zh"),
        ("zh-CN", "zh"),
        ("zh_Hant", "zh"),  # Traditional is answered in Simplified
        ("ZH-tw", "zh"),
        ("en", "en"),
        ("en-GB", "en"),
        (" en ", "en"),
        ("fr", None),
        ("", None),
        ("zho", None),
        (None, None),
        (["zh"], None),
    ],
)
def test_normalize_language(tag: object, expected: str | None) -> None:
    assert normalize_language(tag) == expected


def test_the_newest_slot_or_entity_decides() -> None:
    assert conversation_language([]) == "en"
    assert conversation_language([user("你好", "zh"), slot("zh")]) == "zh"
    # switching back and forth: the newest signal wins
    assert conversation_language([slot("zh"), user("English please", "en"), slot("en")]) == "en"
    assert conversation_language([slot("en"), user("请用中文", "zh"), slot("zh")]) == "zh"
    # paused for a person: Rasa parses (the entity) but sets no slot; the entity is newer than the slot
    assert conversation_language([slot("en"), {"event": "pause"}, user("我还在等", "zh")]) == "zh"
    # a message without a language entity (an order id) keeps the language
    assert conversation_language([slot("zh"), user("SD-100042")]) == "zh"
    # other slots and malformed values do not count
    assert (
        conversation_language([slot("zh"), slot("en", name="handoff_status"), slot("fr"), slot(None)]) == "zh"
    )


def test_the_page_language_decides_only_while_the_tracker_has_none() -> None:
    assert conversation_language([user("SD-100042", page="zh-CN")]) == "zh"
    assert conversation_language([user("SD-100042", page="zh"), user("x", page="en")]) == "en"
    assert conversation_language([slot("en"), user("SD-100042", page="zh")]) == "en"
    # a refused message (never in the tracker) is newer than every event: its page beats older pages
    assert conversation_language([user("x", page="en")], current_page="zh") == "zh"
    assert conversation_language([slot("en")], current_page="zh") == "en"
    assert decided_language(reversed([user("SD-1", page="zh")])) == (None, "zh")
    assert decided_language([]) == (None, None)


def test_a_restart_ends_the_conversation_it_belongs_to() -> None:
    events = [slot("zh"), {"event": "restart"}, user("hello")]
    assert conversation_language(events) == "en"


def test_malformed_events_are_ignored() -> None:
    events: list[Any] = [
        "x",
        {"event": "user", "parse_data": "oops", "metadata": ["zh"]},
        {"event": "user", "parse_data": {"entities": "zh"}},
        {"event": "user", "parse_data": {"entities": ["zh", {"entity": "language", "value": "fr"}]}},
        slot("zh"),
    ]
    assert conversation_language(events) == "zh"


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("table", [SHOPPER, WIDGET, SHOP_PAGE], ids=["shopper", "widget", "shop_page"])
def test_both_languages_have_the_same_keys_and_placeholders(table: dict[str, dict[str, str]]) -> None:
    assert set(table) == {"en", "zh"}
    assert table["en"].keys() == table["zh"].keys()
    for key, english in table["en"].items():
        chinese = table["zh"][key]
        allowed_missing = ENGLISH_ONLY_PLACEHOLDERS.get(key, frozenset()) if table is SHOPPER else frozenset()
        assert placeholders(chinese) <= placeholders(english), key
        assert placeholders(english) - placeholders(chinese) <= allowed_missing, key


@pytest.mark.parametrize("table", [SHOPPER, WIDGET, SHOP_PAGE], ids=["shopper", "widget", "shop_page"])
def test_chinese_texts_are_chinese(table: dict[str, dict[str, str]]) -> None:
    for key, chinese in table["zh"].items():
        if key in ("html_lang", "home_url", "other_language", "other_language_tag", "other_language_url"):
            continue
        assert HAN.search(chinese), key
        latin = set(re.findall(r"[A-Za-z]+", re.sub(r"\{\w+\}", "", chinese)))
        assert latin <= ALLOWED_LATIN, (key, latin)


def test_text_and_offer_buttons() -> None:
    assert text("zh-CN", "agent_joined", name="Alex") == "客服Alex已加入对话。"
    assert text("fr", "too_fast") == SHOPPER["en"]["too_fast"]  # unknown language: English
    assert text(None, "too_long", size=3000, limit=2000).startswith("That message is too long (3000")
    assert "'/restart'" not in text("zh", "not_allowed", problem="'/restart' is a system command")
    with pytest.raises(KeyError, match="no shopper text 'nope'"):
        text("en", "nope")
    assert [b["payload"] for b in offer_buttons("zh")] == [b["payload"] for b in offer_buttons("en")]
    assert [b["title"] for b in offer_buttons("zh")] == ["留言", "不用了，谢谢"]


def test_every_string_the_widget_uses_is_in_the_table() -> None:
    source = (ROOT / "bot" / "static" / "widget.js").read_text(encoding="utf-8")
    used = set(re.findall(r"""\bt\("(\w+)"[,)]""", source))
    used |= {key for _, key in re.findall(r""""(aria-label|placeholder|text)",\s*"(\w+)"\)""", source)}
    used |= set(re.findall(r"""showConnection\("(\w+)"\)""", source))
    assert {"launcher_label", "placeholder", "send", "agent_banner", "connection_lost"} <= used
    assert used <= WIDGET["en"].keys(), used - WIDGET["en"].keys()
    # no shopper-facing English literal left in the widget's DOM code
    for literal in ("Type your message", "Send message", "support team", "reconnecting", "Suggested replies"):
        assert literal not in source, literal
