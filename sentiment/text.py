"""What a sentiment scorer needs to know about a text before judging it: is there anything to judge, which language."""

from __future__ import annotations

import re
import unicodedata

_HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")


def has_words(text: str) -> bool:
    """True when the text holds a letter or a Han character (not only emoji, digits, punctuation or spaces)."""
    return any(unicodedata.category(ch).startswith("L") for ch in text)


def language_of(text: str) -> str:
    """``zh`` when Han characters make up at least a third of the letters, else ``en``."""
    letters = [ch for ch in text if unicodedata.category(ch).startswith("L")]
    if not letters:
        return "en"
    han = sum(1 for ch in letters if _HAN.match(ch))
    return "zh" if han * 3 >= len(letters) else "en"
