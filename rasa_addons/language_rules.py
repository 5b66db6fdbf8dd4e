"""Which language a message is in: the pure rules behind LanguageDetector and LanguageGuard (standard library only).

ShopDesk speaks English (`en`) and Simplified Chinese (`zh`; Traditional is understood). The verdict, in order:
1. An explicit request wins: "请用中文", "说中文", "中文", "speak Chinese", "Chinese please" → zh; "English
   please", "请用英文", "说英语", "switch to English" → en. A negated one asks for the other language ("我不会说
   英语", "I can't read Chinese"). Requests that disagree cancel out.
2. Another script (any kana or Hangul, unless Latin letters outnumber everything else; or mostly Cyrillic,
   Arabic, Thai, …) → no verdict: LanguageGuard answers it as a language we do not speak.
3. Han characters, at least as many as there are lower-case Latin words → zh. Chinese shoppers write product
   names in English inside Chinese sentences, and names are capitalised: "加购Arc LED Desk Lamp" (2 characters,
   no lower-case word) and "我想买iPhone 15 Pro的壳" are Chinese, "can I return 这个 please" is English.
4. At least MIN_ENGLISH_WORDS Latin words, one of them not small talk ("ok", "thanks", "hi" …) → en. Ids,
   emails, links and anything with a digit are not words. Fewer words ("ok", "thank you", "track order",
   "AirPods Pro") → no verdict, so a Chinese conversation is not switched by a product name or an "ok".
5. Anything else (an order id, an email, digits, emoji, punctuation) → no verdict: the conversation keeps its
   language.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Optional

EN = "en"
ZH = "zh"
MIN_ENGLISH_WORDS = 3
MIN_FOREIGN_LETTERS = 2
SMALL_TALK = frozenset(
    "ok okay k kk yes yeah yep yup ya no nope nah hi hello hey there thanks thank you u thx ty bye goodbye please"
    " pls plz sorry sure cool great good fine nice lol haha wow oh ah hmm right alright".split()
)

_FULL_WIDTH_OFFSET = 0xFEE0  # U+FF01..U+FF5E − U+0021..U+007E


def half_width(text: str) -> str:
    """`text` with full-width ASCII forms and the ideographic space mapped to ASCII (same length)."""
    return "".join(
        chr(ord(ch) - _FULL_WIDTH_OFFSET) if "\uff01" <= ch <= "\uff5e" else " " if ch == "\u3000" else ch
        for ch in text
    )


def is_han(ch: str) -> bool:
    code = ord(ch)
    return (
        0x4E00 <= code <= 0x9FFF
        or 0x3400 <= code <= 0x4DBF
        or 0xF900 <= code <= 0xFAFF
        or 0x20000 <= code <= 0x3134F
        or ch in "〇々"
    )


def is_kana_or_hangul(ch: str) -> bool:
    code = ord(ch)
    if ch in "ー・":  # the prolonged-sound mark and middle dot also stand in for a dash or a dot in Chinese
        return False
    return (
        0x3040 <= code <= 0x30FF  # hiragana, katakana
        or 0x31F0 <= code <= 0x31FF
        or 0xFF66 <= code <= 0xFF9F  # half-width katakana
        or 0xAC00 <= code <= 0xD7AF  # Hangul syllables
        or 0x1100 <= code <= 0x11FF
        or 0x3130 <= code <= 0x318F
    )


@dataclass(frozen=True)
class ScriptCounts:
    """What a message is written in: Han characters, letters by script, and Latin words."""

    han: int
    latin_letters: int
    kana_hangul: int  # Japanese kana and Korean Hangul letters
    other_letters: int  # letters of any other script: Cyrillic, Greek, Arabic, Hebrew, Thai, Devanagari, …
    latin_words: int  # words of Latin letters; ids, emails, links and tokens with digits excluded
    lower_words: int  # latin_words that start with a lower-case letter (not a name: "Arc LED Desk Lamp")
    content_words: int  # latin_words that are not SMALL_TALK


_NOT_WORDS = re.compile(r"\S*@\S+|\S*(?:https?://|www\.)\S*|[^\s\u3000-\u303f\uff00-\uffef]*\d\S*")
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")


def script_counts(text: str) -> ScriptCounts:
    han = latin = kana_hangul = other = 0
    for ch in text:
        if is_han(ch):
            han += 1
        elif not ch.isalpha():
            continue
        elif is_kana_or_hangul(ch):
            kana_hangul += 1
        elif "LATIN" in unicodedata.name(ch, ""):
            latin += 1
        else:
            other += 1
    words = [
        word
        for word in _WORD.findall(_NOT_WORDS.sub(" ", half_width(text)))
        if all("LATIN" in unicodedata.name(ch, "") for ch in word if ch.isalpha())
    ]
    content = sum(1 for word in words if word.lower() not in SMALL_TALK)
    lower = sum(1 for word in words if word[0].islower())
    return ScriptCounts(han, latin, kana_hangul, other, len(words), lower, content)


def is_unsupported(counts: ScriptCounts, min_letters: int = MIN_FOREIGN_LETTERS) -> bool:
    """Whether the message is in a script other than Latin and Han (kana ⇒ Japanese even with kanji)."""
    if counts.kana_hangul and counts.kana_hangul + counts.other_letters + counts.han >= counts.latin_letters:
        return True
    return counts.other_letters >= min_letters and counts.other_letters > counts.latin_letters + counts.han


# --- explicit requests ------------------------------------------------------------------------------------------
_ZH_NAME = r"(?:简体中文|簡體中文|中文|汉语|漢語|普通话|普通話|华语|華語|国语|國語)"
_EN_NAME = r"(?:英文|英语|英語)"
_ASK = r"(?:用|说|說|讲|講|改|换|換|切换|切換|转|轉|回复|回覆|回答|使用|打|写|寫)"
_NEGATION = r"(?:不|别|別|没|沒|无法|無法|没法|沒法)(?:太|大)?(?:会|會|懂|能|要|用|想|习惯|習慣)?"
_SENSE = r"(?:说|說|讲|講|看|用|读|讀|听|聽|写|寫)?(?:得懂|懂|得)?"
_EN_ZH = r"(?:simplified\s+)?(?:chinese|mandarin)"
_EN_EN = r"english"
_SHORT = r"^\W*(?:(?:in|speak|use)\s+)?{name}(?:\s+(?:please|pls|plz))?\W*$"


def _cn_patterns(name: str) -> list[str]:
    return [
        rf"{_ASK}(?:成|到|为|為|回)?{name}",
        rf"{name}(?:回复|回覆|回答|服务|服務|沟通|溝通|交流|聊|对话|對話|客服|吧)",
        rf"(?:会|會|懂|能)(?:说|說|讲|講|看)?{name}(?:吗|嗎|么|麼)",
        rf"^\W*(?:请|請)?{name}\W*$",
    ]


def _en_patterns(name: str) -> list[str]:
    return [
        rf"\b(?:speak|speaks|talk|reply|answer|respond|write|chat|continue|communicate|text|understand)"
        rf"\s+(?:(?:to|with)\s+me\s+|me\s+)?(?:in\s+)?{name}\b",
        rf"\b(?:switch|change|swap|go|move)\s+(?:it\s+|back\s+)*(?:to|into)\s+{name}\b",
        rf"\b{name}\s+(?:please|pls|plz|instead)\b",
        rf"\b(?:in|use)\s+{name}\s+(?:please|pls|plz|instead)\b",
        _SHORT.format(name=name),
    ]


def _negations(cn_name: str, en_name: str) -> list[str]:
    return [
        rf"{_NEGATION}{_SENSE}{cn_name}",
        rf"{cn_name}(?:看|读|讀|听|聽|说|說)?(?:不|不太)(?:懂|会|會|好)",
        rf"\b(?:don'?t|do\s+not|can'?t|cannot|can\s+not|not|no|doesn'?t|never)\s+"
        rf"(?:(?:speak|read|understand|know|write|talk|use|want|like|good|much|any|very|in)\s+)*{en_name}\b",
    ]


_REQUESTS: list[tuple[re.Pattern[str], str]] = [
    *((re.compile(p), EN) for p in _negations(_ZH_NAME, _EN_ZH)),
    *((re.compile(p), ZH) for p in _negations(_EN_NAME, _EN_EN)),
    *((re.compile(p), ZH) for p in _cn_patterns(_ZH_NAME) + _en_patterns(_EN_ZH)),
    *((re.compile(p), EN) for p in _cn_patterns(_EN_NAME) + _en_patterns(_EN_EN)),
]


_A_NOT_A = re.compile(r"([\u4e00-\u9fff])[不没沒]\1")  # 能不能, 会不会, 可不可以: a question, not a negation


def _normalise(text: str) -> str:
    text = _A_NOT_A.sub(r"\1", half_width(text).lower().replace("’", "'"))
    return re.sub(r"\s+", " ", text).strip()


def requested_language(text: str) -> Optional[str]:
    """The language the message explicitly asks for, or None (none asked for, or requests that disagree).

    A negated request counts for the other language, and wins over a plain request it overlaps ("我不会说英语"
    holds "说英语", "no English please" holds "English please"): negations are read first, and a later match
    that overlaps an earlier one is skipped.
    """
    normal = _normalise(text)
    found: set[str] = set()
    covered: list[tuple[int, int]] = []
    for pattern, language in _REQUESTS:
        for match in pattern.finditer(normal):
            if any(match.start() < end and start < match.end() for start, end in covered):
                continue
            found.add(language)
            covered.append(match.span())
    return found.pop() if len(found) == 1 else None


def detect_language(text: str) -> Optional[str]:
    """`en`, `zh` or None when the message does not make its language clear (see the module docstring)."""
    requested = requested_language(text)
    if requested is not None:
        return requested
    counts = script_counts(text)
    if is_unsupported(counts):
        return None
    if counts.han and counts.han >= counts.lower_words:
        return ZH
    if counts.latin_words >= MIN_ENGLISH_WORDS and counts.content_words >= 1:
        return EN
    return None


def page_language(tag: object) -> str | None:
    """The language of a web page's ``lang`` tag the widget sends (``zh-CN``, ``zh-Hant``, ``en-GB``), if ours."""
    if not isinstance(tag, str):
        return None
    primary = tag.strip().lower().replace("_", "-").split("-")[0]
    return primary if primary in (EN, ZH) else None
