"""The language rules (rasa_addons/language_rules.py): explicit requests, script shares, thresholds, scripts the
assistant does not speak. Pure Python, so they run here; the Rasa components are tested through language_probe."""

from __future__ import annotations

import pytest

from rasa_addons import language_rules
from rasa_addons.language_rules import EN, ZH, detect_language, requested_language, script_counts

REQUESTS = [
    # asking for Chinese, in Chinese (Simplified and Traditional) and in English
    ("请用中文", ZH),
    ("請用中文", ZH),
    ("说中文", ZH),
    ("中文", ZH),
    ("中文！", ZH),
    ("可以说中文吗", ZH),
    ("能讲普通话吗？", ZH),
    ("换成中文吧", ZH),
    ("能不能用中文", ZH),  # A-not-A questions are not negations
    ("可不可以说中文", ZH),
    ("会不会说英语", EN),
    ("in Chinese please", ZH),
    ("Chinese please", ZH),
    ("can you speak Chinese?", ZH),
    ("please answer me in simplified chinese", ZH),
    ("switch to Mandarin", ZH),
    ("chinese", ZH),
    # asking for English
    ("English please", EN),
    ("english pls", EN),
    ("can you speak english", EN),
    ("请用英文", EN),
    ("說英語", EN),
    ("用英文回答我", EN),
    ("英文", EN),
    ("switch back to English", EN),
    ("reply in English", EN),
    # a negation asks for the other language
    ("我不会说英语", ZH),
    ("我看不懂英文，请用中文", ZH),
    ("我的英语不好", ZH),
    ("I don't speak Chinese", EN),
    ("I can't read chinese", EN),
    ("no english please", ZH),
    # no request: mentioning a language is not asking for it
    ("Is the manual in Chinese?", None),
    ("do you sell chinese tea", None),
    ("有英文版说明书吗", None),
    ("I have not received my English book", None),
    ("where is my order", None),
    ("我的订单在哪里", None),
    # requests that disagree cancel out
    ("English please, 请用中文", None),
]


@pytest.mark.parametrize(("text", "language"), REQUESTS)
def test_explicit_requests(text: str, language: str | None) -> None:
    assert requested_language(text) == language


DETECTED = [
    # Chinese: Han characters at least as many as Latin words
    ("我的订单在哪里？", ZH),
    ("我要退貨", ZH),  # Traditional
    ("好", ZH),
    ("我想买iPhone 15 Pro的手机壳", ZH),  # 8 Han characters, 1 lower-case word
    ("加购Arc LED Desk Lamp", ZH),  # capitalised words are a name, not English
    ("remove 掉Chelsea Boot", ZH),
    ("my order 我的订单", ZH),
    ("订单号SD-100042，邮箱anna@example.com", ZH),
    ("ＳＤ－１０００４２在哪里", ZH),
    # English: 3+ Latin words, one of them not small talk
    ("where is my order SD-100042?", EN),
    ("thank you so much", EN),
    ("can I return 这个 please", EN),  # 2 Han characters < 3 lower-case words
    ("Is the manual in Chinese?", EN),
    # no verdict: the conversation keeps its language
    ("ok", None),
    ("thank you", None),
    ("ok thank you", None),  # three words, all small talk
    ("track order", None),  # two words: too few to leave Chinese
    ("AirPods Pro", None),
    ("SD-100042", None),
    ("＃１０００４２", None),
    ("anna.berg@example.com", None),
    ("anna.berg@example.com SD-100042 INV-2024-0042", None),
    ("https://shop.example.com/orders/42", None),
    ("100042", None),
    ("😀😀🎉", None),
    ("👍", None),
    ("？？", None),
    ("", None),
    # languages we do not speak: LanguageGuard answers them
    ("注文はどこですか", None),  # kana ⇒ Japanese even with kanji
    ("주문을 취소하고 싶어요", None),
    ("где мой заказ", None),
    ("أين طلبي", None),
    ("คำสั่งซื้อของฉันอยู่ที่ไหน", None),
    # explicit requests win over the script
    ("English please", EN),
    ("请用英文", EN),
    ("can you speak chinese", ZH),
]


@pytest.mark.parametrize(("text", "language"), DETECTED)
def test_detected_language(text: str, language: str | None) -> None:
    assert detect_language(text) == language


UNSUPPORTED = [
    ("注文はどこですか", True),
    ("返品したいです", True),
    ("商品の返品", True),  # one kana among kanji is still Japanese
    ("주문을 취소하고 싶어요", True),
    ("где мой заказ", True),
    ("أين طلبي", True),
    ("คำสั่งซื้อของฉันอยู่ที่ไหน", True),
    ("我的订单在哪里？", False),
    ("請問訂單什麼時候到", False),
    ("where is my order", False),
    ("¿dónde está mi pedido?", False),  # Latin script: left to the classifier's non_english examples
    ("my order ＳＤ－１０００４２ ー thanks", False),  # the prolonged-sound mark is not kana
    ("I love my new mug (ﾉ◕ヮ◕)ﾉ so much", False),  # kaomoji in an English sentence
    ("order Ω-3 capsules", False),  # one Greek letter
    ("😀😀🎉", False),
    ("SD-100042", False),
]


@pytest.mark.parametrize(("text", "unsupported"), UNSUPPORTED)
def test_unsupported_scripts(text: str, unsupported: bool) -> None:
    assert language_rules.is_unsupported(script_counts(text)) is unsupported


def test_ids_emails_and_digits_are_not_words() -> None:
    counts = script_counts("cancel SD-100042 for anna@example.com, invoice #00108 and sd100042")
    assert (counts.latin_words, counts.content_words) == (4, 4)  # cancel, for, invoice, and
    assert script_counts("I bought the Arc LED Desk Lamp").lower_words == 2  # bought, the


def test_half_width_keeps_the_length() -> None:
    assert language_rules.half_width("ＳＤ－１０００４２　＃１") == "SD-100042 #1"
