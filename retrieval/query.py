"""Checks on shopper text before it is embedded."""

from __future__ import annotations

import re
import unicodedata

from retrieval.errors import QueryError


def _script(ch: str) -> str:
    try:
        name = unicodedata.name(ch)
    except ValueError:
        return "OTHER"
    return name.split(" ")[0]


# the scripts each search language reads (Chinese conversations also search with Latin words: "USB-C 充电器")
SCRIPTS = {"en": frozenset({"LATIN"}), "zh": frozenset({"LATIN", "CJK"})}


def clean_query(text: str | None, max_chars: int = 1000, language: str = "en") -> str:
    """Whitespace-normalised text; raises :class:`QueryError` (``reason`` empty/too_long/no_letters/other_script).

    ``language``: the index the text will search (``en``: Latin script only; ``zh``: Chinese and Latin, and a
    message of Chinese function words or interjections alone — "的了吗", "哈哈" — has nothing to search for).
    """
    if language not in SCRIPTS:
        raise ValueError(f"unknown search language {language!r}; known: {sorted(SCRIPTS)}")
    if text is None or not text.strip():
        raise QueryError("empty", "the question is empty")
    if len(text) > max_chars:
        raise QueryError("too_long", f"the message has {len(text)} characters; the limit is {max_chars}")
    cleaned = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip()
    letters = [ch for ch in cleaned if ch.isalpha()]
    if not letters:
        raise QueryError("no_letters", f"{cleaned[:40]!r} has no words to search for")
    readable = SCRIPTS[language]
    known = sum(1 for ch in letters if _script(ch) in readable)
    if known / len(letters) < 0.5:
        scripts = sorted({_script(ch) for ch in letters if _script(ch) not in readable})
        raise QueryError(
            "other_script",
            f"the message is written in {', '.join(s.title() for s in scripts[:3])} "
            "script; only " + ("English" if language == "en" else "Chinese and English") + " is supported",
        )
    if language == "zh":
        from retrieval.lexical import content_words

        if not content_words(cleaned):
            raise QueryError("no_letters", f"{cleaned[:40]!r} has no words to search for")
    return cleaned
