"""Canned replies without HTTP: templates, the seed file, rendering, variables from the context, the table."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from bot.canned import (
    MAX_TEXT_CHARS,
    VARIABLES,
    CannedFileError,
    CannedTemplateError,
    Draft,
    MissingVariablesError,
    check_draft,
    context_values,
    load_seed,
    newest_order,
    render,
    shop_values,
    variables_of,
)
from bot.canned_store import CannedStore, DuplicateShortcutError
from bot.errors import ConfigError
from bot.messages import CANNED_VALUES
from bot.settings import ROOT, from_env
from shop.model import ORDER_STATUSES

SEED = ROOT / "bot" / "canned_replies.yml"
HAN = re.compile(r"[\u4e00-\u9fff]")


def draft(shortcut: str = "greet", title: str = "Greeting", en: str = "", zh: str = "") -> Draft:
    return Draft(shortcut=shortcut, title=title, en=en, zh=zh)


# --- templates -------------------------------------------------------------------------------------------


def test_variables_are_found_in_order_and_literal_braces_are_text() -> None:
    assert variables_of("Hi {first_name}, order {order_id} ({first_name})") == ["first_name", "order_id"]
    assert variables_of("a {{literal}} brace") == []
    assert render(draft(en="{{x}} {agent_name}"), "en", {"agent_name": "Alex"}).text == "{x} Alex"


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("Hi {firstname}", "unknown variable {firstname}"),
        ("Hi {}", "unknown variable {}"),
        ("Hi {0}", "unknown variable {0}"),
        ("Hi {first_name.upper}", "unknown variable {first_name.upper}"),
        ("Hi {first_name:>10}", "{first_name} takes no format"),
        ("Hi {first_name!r}", "{first_name} takes no format"),
        ("Hi {first_name", "malformed template"),
        ("Hi first_name}", "malformed template"),
        ("a { b", "malformed template"),
    ],
)
def test_unknown_variables_and_malformed_templates_are_refused_naming_them(text: str, named: str) -> None:
    with pytest.raises(CannedTemplateError) as refused:
        check_draft({"shortcut": "x", "title": "X", "zh": text})
    assert named in str(refused.value)
    assert refused.value.field == "zh"
    assert str(refused.value).startswith("zh: ")


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"shortcut": "Order Status"}, "shortcut", "'Order Status' must be 1-32"),
        ({"shortcut": ""}, "shortcut", "must be 1-32"),
        ({"shortcut": "a" * 33}, "shortcut", "must be 1-32"),
        ({"shortcut": "<b>"}, "shortcut", "must be 1-32"),
        ({"shortcut": 7}, "shortcut", "must be a string"),
        ({"title": "  "}, "title", "must not be empty"),
        ({"title": "t" * 81}, "title", "at most 80 characters (got 81)"),
        ({"en": "", "zh": None}, "en", "needs a text in English (en) or Chinese (zh)"),
        ({"en": "x" * (MAX_TEXT_CHARS + 1)}, "en", f"at most {MAX_TEXT_CHARS} characters"),
        ({"zh": ["list"]}, "zh", "must be a string, not list"),
    ],
)
def test_bad_drafts_name_the_field(fields: dict[str, Any], field: str, message: str) -> None:
    raw = {"shortcut": "ok", "title": "Fine", "en": "Hello", **fields}
    with pytest.raises(CannedTemplateError) as refused:
        check_draft(raw)
    assert refused.value.field == field
    assert message in str(refused.value)


def test_a_draft_is_trimmed_and_the_slash_dropped() -> None:
    assert check_draft({"shortcut": " /thanks ", "title": " Thanks ", "en": " Thank you! ", "zh": None}) == {
        "shortcut": "thanks",
        "title": "Thanks",
        "en": "Thank you!",
        "zh": "",
    }


def test_html_is_kept_as_text() -> None:
    text = '<img src=x onerror="alert(1)"> {first_name}'
    checked = check_draft({"shortcut": "x", "title": "<b>bold</b>", "en": text})
    assert checked["en"] == text and checked["title"] == "<b>bold</b>"
    assert (
        render(checked, "en", {"first_name": "<i>Ann</i>"}).text
        == '<img src=x onerror="alert(1)"> <i>Ann</i>'
    )


# --- rendering -------------------------------------------------------------------------------------------


def test_the_conversations_language_picks_the_text() -> None:
    both = draft(en="Hi {first_name}", zh="{first_name}您好")
    english = render(both, "en", {"first_name": "Ann"})
    chinese = render(both, "zh", {"first_name": "安"})
    assert (english.text, english.language, english.fallback) == ("Hi Ann", "en", False)
    assert (chinese.text, chinese.language, chinese.fallback) == ("安您好", "zh", False)


def test_a_reply_without_the_conversations_language_falls_back_and_says_so() -> None:
    only_english = draft(en="Hello")
    rendered = render(only_english, "zh", {})
    assert (rendered.text, rendered.language, rendered.fallback) == ("Hello", "en", True)
    only_chinese = render(draft(zh="您好"), "en", {})
    assert (only_chinese.language, only_chinese.fallback) == ("zh", True)


def test_missing_variables_are_all_named() -> None:
    reply = draft(shortcut="track", en="{first_name}: {order_id} {tracking_url} {agent_name}")
    with pytest.raises(MissingVariablesError) as missing:
        render(reply, "en", {"first_name": "Ann", "order_id": None, "tracking_url": "", "agent_name": "Alex"})
    assert missing.value.missing == ["order_id", "tracking_url"]
    assert (
        str(missing.value)
        == "the reply /track needs {order_id}, {tracking_url}, which this conversation lacks"
    )
    # only the language used counts: the Chinese text needs nothing
    assert render(draft(en="{order_id}", zh="你好"), "zh", {}).text == "你好"


def test_values_from_the_context_use_the_newest_order() -> None:
    context = {
        "customer": {"id": "C-0002", "name": " Ben  Okafor ", "email": "ben@example.com"},
        "orders": [
            {
                "number": "SD-100004",
                "status": "delivered",
                "total": "20.00 EUR",
                "created_at": "2026-11-01T10:00:00",
            },
            {
                "number": "SD-100003",
                "status": "shipped",
                "total": "35.50 EUR",
                "created_at": "2026-11-20T09:00:00",
            },
            {"number": "", "created_at": "2026-12-01T00:00:00"},
            "SD-999999",
        ],
        "cart": [],
    }
    assert context_values(context) == {
        "first_name": "Ben",
        "customer_name": "Ben  Okafor",
        "order_id": "SD-100003",
        "order_status": "shipped",
        "order_total": "35.50 EUR",
    }
    assert context_values({"customer": None, "orders": [], "cart": []}) == {
        "first_name": None,
        "customer_name": None,
        "order_id": None,
        "order_status": None,
        "order_total": None,
    }
    assert context_values({"customer": "nobody", "orders": "SD-1"})["order_id"] is None
    assert newest_order([{"number": "SD-1"}, {"number": "SD-2"}]) == {"number": "SD-1"}  # no dates: the first


def test_values_from_the_order_store() -> None:
    shipped = {
        "status": "shipped",
        "tracking_url": "https://track.example.com/dhl/1",
        "tracking_number": "1",
        "carrier": "DHL",
        "estimated_delivery": "2026-12-04",
    }
    assert shop_values(shipped)["tracking_url"] == "https://track.example.com/dhl/1"
    assert shop_values({"status": "paid", "tracking_url": None})["tracking_url"] is None
    assert shop_values(None) == {}


def test_every_variable_is_documented_and_every_status_has_words_in_both_languages() -> None:
    doc = (ROOT / "docs" / "console" / "canned.md").read_text(encoding="utf-8")
    assert [name for name in VARIABLES if "{" + name + "}" not in doc] == []
    assert set(CANNED_VALUES["en"]) == set(CANNED_VALUES["zh"])
    assert {f"status_{status}" for status in ORDER_STATUSES} <= set(CANNED_VALUES["en"])
    assert all(HAN.search(value) for value in CANNED_VALUES["zh"].values())


# --- the seed file ---------------------------------------------------------------------------------------


def test_the_shipped_seed_file_is_valid_and_bilingual() -> None:
    drafts = load_seed(SEED)
    assert len(drafts) >= 10
    shortcuts = {d["shortcut"] for d in drafts}
    assert {"hello", "order-status", "tracking", "refund-time", "return-steps", "sorry", "bye"} <= shortcuts
    for d in drafts:
        assert d["en"] and HAN.search(d["zh"]), d["shortcut"]
        assert set(variables_of(d["en"])) == set(variables_of(d["zh"])), d["shortcut"]
    tracking = next(d for d in drafts if d["shortcut"] == "tracking")
    assert {"order_id", "tracking_url"} <= set(variables_of(tracking["en"]))


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "canned.yml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("text", "where", "problem"),
    [
        (
            "- shortcut: ok\n  title: A\n  en: hi\n- shortcut: Bad One\n  title: B\n  en: x\n",
            "entry 2 (/Bad One)",
            "must be 1-32",
        ),
        ("- shortcut: ok\n  title: A\n  en: 'hi {order}'\n", "entry 1 (/ok)", "unknown variable {order}"),
        (
            "- shortcut: ok\n  title: A\n  en: hi\n- shortcut: ok\n  title: B\n  zh: 你好\n",
            "entry 2 (/ok)",
            "already used by entry 1",
        ),
        ("- shortcut: ok\n  title: A\n  fr: salut\n", "entry 1 (/ok)", "unknown field 'fr'"),
        ("- shortcut: ok\n  title: A\n", "entry 1 (/ok)", "needs a text"),
        ("- just a string\n", "entry 1", "must be a mapping"),
        ("shortcut: ok\n", "file", "must be a YAML list"),
        ("- shortcut: [unclosed\n", "file", "is not valid YAML"),
    ],
)
def test_a_bad_seed_file_names_the_entry_and_the_problem(
    tmp_path: Path, text: str, where: str, problem: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(CannedFileError) as refused:
        load_seed(path)
    assert refused.value.where == where
    assert problem in refused.value.problem


def test_the_setting_is_validated_at_start(tmp_path: Path) -> None:
    assert from_env({}).canned_replies_file == SEED
    good = write(tmp_path, "- shortcut: ok\n  title: A\n  en: hi\n")
    assert from_env({"CANNED_REPLIES_FILE": str(good)}).canned_replies_file == good
    bad = write(tmp_path, "- shortcut: ok\n  title: A\n  en: 'hi {nope}'\n")
    with pytest.raises(ConfigError) as refused:
        from_env({"CANNED_REPLIES_FILE": str(bad)})
    assert "CANNED_REPLIES_FILE" in str(refused.value)
    assert "entry 1 (/ok)" in str(refused.value) and "{nope}" in str(refused.value)
    with pytest.raises(ConfigError, match="cannot be read"):
        from_env({"CANNED_REPLIES_FILE": str(tmp_path / "absent.yml")})


# --- the table: seed file and admin edits ----------------------------------------------------------------


def test_the_file_seeds_once_and_the_admins_edits_win(tmp_path: Path) -> None:
    store = CannedStore(tmp_path / "handoff.db")
    first = [draft("hello", en="Hi"), draft("bye", en="Bye"), draft("sorry", en="Sorry")]
    assert store.seed(first) == {"added": 3, "updated": 0, "removed": 0}
    assert store.seed(first) == {"added": 0, "updated": 0, "removed": 0}  # a restart changes nothing

    hello = store.by_shortcut("hello")
    assert hello is not None and hello["origin"] == "file" and hello["edited_by"] is None
    store.update(hello["id"], draft("hello", en="Hello there"), "admin@shop.test")
    bye = store.by_shortcut("bye")
    assert bye is not None
    store.delete(bye["id"])
    store.create(draft("thanks", en="Thanks!"), "admin@shop.test")

    # the shop changes the file: a new entry, a fix to all three, the admin's "thanks" also in the file
    second = [
        draft("hello", en="Hi!"),
        draft("bye", en="Goodbye"),
        draft("sorry", en="So sorry"),
        draft("wait", en="One moment"),
        draft("thanks", en="Thanks (file)"),
    ]
    assert store.seed(second) == {"added": 1, "updated": 1, "removed": 0}
    texts = {r["shortcut"]: r["en"] for r in store.all()}
    assert texts == {"hello": "Hello there", "sorry": "So sorry", "wait": "One moment", "thanks": "Thanks!"}

    # entries leaving the file: the unedited ones go (and may come back), the admin's stay
    assert store.seed([draft("hello", en="Hi!")]) == {"added": 0, "updated": 0, "removed": 2}
    assert sorted(r["shortcut"] for r in store.all()) == ["hello", "thanks"]
    assert store.seed([draft("hello", en="Hi!"), draft("wait", en="Back")])["added"] == 1
    store.shutdown()


def test_shortcuts_are_unique(tmp_path: Path) -> None:
    store = CannedStore(tmp_path / "handoff.db")
    store.seed([draft("hello", en="Hi")])
    with pytest.raises(DuplicateShortcutError, match="/hello is already used"):
        store.create(draft("hello", en="Hey"), "admin@shop.test")
    other = store.create(draft("hey", en="Hey"), "admin@shop.test")
    with pytest.raises(DuplicateShortcutError):
        store.update(other["id"], draft("hello", en="Hey"), "admin@shop.test")
    assert [r["shortcut"] for r in store.all()] == ["hello", "hey"]
    store.shutdown()
