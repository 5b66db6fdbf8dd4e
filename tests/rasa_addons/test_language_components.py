"""The language components (rasa_addons/tokenizer.py, rasa_addons/language.py), run in Rasa's environment through
language_probe.py: English tokens unchanged, Chinese segmented with ids and emails whole, the detector's entity,
the guard's intent."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
RASA_PYTHON = ROOT / ".venv" / "rasa" / "bin" / "python"

pytestmark = pytest.mark.skipif(
    not RASA_PYTHON.exists(), reason="Rasa's environment (.venv/rasa) is not set up"
)

TOKENS: dict[str, list[tuple[str, int, int]]] = {
    # ids and emails glued to Chinese stay one token; Chinese punctuation separates
    "订单号SD-100042": [("订单号", 0, 3), ("SD-100042", 3, 12)],
    "我的邮箱是anna@example.com，谢谢": [
        ("我", 0, 1),
        ("的", 1, 2),
        ("邮箱", 2, 4),
        ("是", 4, 5),
        ("anna@example.com", 5, 21),
        ("谢谢", 22, 24),
    ],
    "（SD-100042）到哪了？": [("SD-100042", 1, 10), ("到", 11, 12), ("哪", 12, 13), ("了", 13, 14)],
    # full-width forms: half-width text, the original offsets
    "订单＃１０００４２": [("订单", 0, 2), ("#100042", 2, 9)],
    "ＳＤ－１０００４２在哪里": [("SD-100042", 0, 9), ("在", 9, 10), ("哪里", 10, 12)],
    "邮箱：ａｎｎａ＠ｅｘａｍｐｌｅ．ｃｏｍ": [("邮箱", 0, 2), ("anna@example.com", 3, 19)],
    # Traditional → Simplified text, segmented as Simplified
    "我要退貨": [("我要", 0, 2), ("退货", 2, 4)],
    "請問訂單什麼時候到": [("请问", 0, 2), ("订单", 2, 4), ("什么", 4, 6), ("时候", 6, 8), ("到", 8, 9)],
    # mixed script: Latin words and numbers are tokens of their own
    "我想买iPhone 15 Pro的手机壳": [
        ("我", 0, 1),
        ("想", 1, 2),
        ("买", 2, 3),
        ("iPhone", 3, 9),
        ("15", 10, 12),
        ("Pro", 13, 16),
        ("的", 16, 17),
        ("手机", 17, 19),
        ("壳", 19, 20),
    ],
    "订单 SD 100042 到哪了": [
        ("订单", 0, 2),
        ("SD", 3, 5),
        ("100042", 6, 12),
        ("到", 13, 14),
        ("哪", 14, 15),
        ("了", 15, 16),
    ],
    # kana is a word, not an "emoji" (Rasa's emoji range covers U+24C2..U+1F251)
    "注文はどこですか": [("注文", 0, 2), ("はどこですか", 2, 8)],
    # emoji and punctuation only: one token of the whole text, as WhitespaceTokenizer does
    "😀": [("😀", 0, 1)],
    "我要退货😡": [("我要", 0, 2), ("退货", 2, 4)],
    "？？": [("??", 0, 2)],
    # English, through WhitespaceTokenizer itself
    "where is my order SD-100042?": [
        ("where", 0, 5),
        ("is", 6, 8),
        ("my", 9, 11),
        ("order", 12, 17),
        ("SD-100042", 18, 27),
    ],
}


def probe(request: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [str(RASA_PYTHON), str(Path(__file__).with_name("language_probe.py"))],
        cwd=ROOT,
        input=json.dumps(request),
        capture_output=True,
        text=True,
        timeout=600,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("PROBE ")]
    assert done.returncode == 0 and lines, done.stderr[-3000:]
    return json.loads(lines[-1][len("PROBE ") :])


# English as phones type it: curly quotes and apostrophes, dashes, ellipses, accents, emoji
ENGLISH_AS_TYPED = [
    "I don’t have my order — it’s “SD-100042”…",
    "where’s my parcel?? 😡",
    "the café’s invoice INV-2024-0042 · please",
    "my email is anna.berg@example.com – thanks!",
]
# [text, the conversation's language slot (None: outside a conversation)] -> the language entity added, if any
DETECT: list[tuple[str, str | None, str | None]] = [
    ("我的订单在哪里", "en", "zh"),
    ("我的订单在哪里", "zh", None),  # already Chinese: nothing to change
    ("where is my order now", "zh", "en"),
    ("where is my order now", "en", None),
    ("English please", "zh", "en"),
    ("请用中文", "en", "zh"),
    ("SD-100042", "zh", None),  # no words: the conversation keeps its language
    ("anna.berg@example.com", "zh", None),
    ("ok", "zh", None),
    ("😀", "zh", None),
    ("注文はどこですか", "zh", None),  # Japanese: the guard answers it, the slot stays
    ('/inform{"language": "en"}', "zh", None),  # a command payload is not a message to read
    ("我的订单在哪里", None, None),  # outside a conversation (rasa test, /model/parse): nothing
]
# [text, DIET's intent] -> the intent after LanguageGuard
GUARD: list[tuple[str, str, str]] = [
    ("注文はどこですか", "track_order", "non_english"),
    ("商品の返品", "get_refund", "non_english"),
    ("주문을 취소하고 싶어요", "cancel_order", "non_english"),
    ("где мой заказ", "track_order", "non_english"),
    ("我的订单在哪里", "non_english", "track_order"),  # Chinese never keeps non_english
    ("請問訂單什麼時候到", "non_english", "track_order"),
    ("English please", "non_english", "track_order"),
    ("¿dónde está mi pedido?", "non_english", "non_english"),  # Latin script: the classifier's call
    ("where is my order", "track_order", "track_order"),
    ("我的订单在哪里", "track_order", "track_order"),
]


# A first message without a verdict takes the page's language (the widget's metadata.page_language); a clear
# message, a later message or a page in another language does not.
PAGED = [
    ("SD-100042", "en", "zh-CN", False, ["zh"]),  # an order number alone on the Chinese shop page
    ("anna@example.com", "en", "zh-Hant", False, ["zh"]),
    ("SD-100042", "en", "en-GB", False, []),  # already English
    ("SD-100042", "en", "fr", False, []),  # not a language we speak
    ("SD-100042", "en", None, False, []),
    ("SD-100042", "en", "zh-CN", True, []),  # not the first message: the conversation's language stays
    ("where is my order please", "en", "zh-CN", False, []),  # clear English wins over the page
    ("/greet", "en", "zh-CN", False, []),  # a button payload says nothing about language
]


@pytest.fixture(scope="module")
def facts() -> dict[str, Any]:
    return probe(
        {
            "tokenize": list(TOKENS),
            "same": ENGLISH_AS_TYPED,
            "english": True,
            "detect": [[text, slot] for text, slot, _ in DETECT],
            "guard": [[text, intent] for text, intent, _ in GUARD],
            "paged": [[text, slot, page, earlier] for text, slot, page, earlier, _ in PAGED],
            "pipeline": True,  # in the same Rasa process: one start of Rasa's environment, not two
        }
    )


def test_every_english_training_example_tokenizes_as_with_whitespace_tokenizer(facts: dict[str, Any]) -> None:
    english = facts["english"]
    assert english["checked"] > 3000
    assert english["differences"] == []


@pytest.mark.parametrize("text", ENGLISH_AS_TYPED)
def test_english_as_phones_type_it_is_tokenized_as_with_whitespace_tokenizer(
    facts: dict[str, Any], text: str
) -> None:
    assert facts["same"][text]


@pytest.mark.parametrize("text", list(TOKENS))
def test_mixed_tokens(facts: dict[str, Any], text: str) -> None:
    assert [tuple(token) for token in facts["tokens"][text]] == TOKENS[text]


@pytest.mark.parametrize(("text", "slot", "language"), DETECT)
def test_the_detector_adds_the_language_only_when_it_changes(
    facts: dict[str, Any], text: str, slot: str | None, language: str | None
) -> None:
    entities = facts["detected"][f"{text}|{slot}"]
    assert entities[0] == ["order_id", "SD-100042", 0, 1, "DIETClassifier"]  # DIET's entity is kept
    added = entities[1:]
    if language is None:
        assert added == []
    else:
        assert added == [["language", language, 0, len(text), "LanguageDetector"]]


@pytest.mark.parametrize(("text", "intent", "expected"), GUARD)
def test_the_guard(facts: dict[str, Any], text: str, intent: str, expected: str) -> None:
    assert facts["guarded"][f"{text}|{intent}"] == expected


def test_a_trained_pipeline_gets_the_conversation_from_the_processor(facts: dict[str, Any]) -> None:
    """Trained, loaded and parsed as the server does: the tracker reaches the detector through Rasa's graph."""
    seen = facts["pipeline"]
    # en (initial) -> "where is my order SD-100042" (en) -> "我的订单在哪里" (zh) -> "查一下SD-100042" (zh) -> English
    assert seen["in_conversation"] == [[], ["zh"], [], ["en"]]
    assert seen["outside"] == [[], [], [], []]


@pytest.mark.parametrize(("text", "slot", "page", "earlier", "expected"), PAGED)
def test_a_first_message_without_a_verdict_takes_the_page_language(
    facts: dict[str, Any], text: str, slot: str, page: str | None, earlier: bool, expected: list[str]
) -> None:
    assert facts["paged"][PAGED.index((text, slot, page, earlier, expected))] == expected
