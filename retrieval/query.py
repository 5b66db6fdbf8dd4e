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


def clean_query(text: str | None, max_chars: int = 1000) -> str:
    """Whitespace-normalised text; raises :class:`QueryError` (``reason`` empty/too_long/no_letters/other_script)."""
    if text is None or not text.strip():
        raise QueryError("empty", "the question is empty")
    if len(text) > max_chars:
        raise QueryError("too_long", f"the message has {len(text)} characters; the limit is {max_chars}")
    cleaned = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text)).strip()
    letters = [ch for ch in cleaned if ch.isalpha()]
    if not letters:
        raise QueryError("no_letters", f"{cleaned[:40]!r} has no words to search for")
    latin = sum(1 for ch in letters if _script(ch) == "LATIN")
    if latin / len(letters) < 0.5:
        scripts = sorted({_script(ch) for ch in letters if _script(ch) != "LATIN"})
        raise QueryError(
            "other_script",
            f"the message is written in {', '.join(s.title() for s in scripts[:3])} "
            "script; only English is supported",
        )
    return cleaned
