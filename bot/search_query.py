"""What an agent typed into the console's search box, and how a hit's snippet marks it (no SQL here).

A query is one of three things (``parse``):

- an order number in any form the shop accepts (``SD-100042``, ``sd100042``, ``100042``, ``#100042``,
  full-width ``ＳＤ１０００４２``: ``bot.shopdb.normalize_order_number``) → the documents that name that order;
- an email address → the documents of that customer (the context's or ticket's email, or one the shopper wrote);
- anything else → full text: every word must occur (as a substring, case-insensitively) somewhere in the
  document. Words of 3 or more characters go to the FTS5 trigram index (``fts_match``: each one quoted, so
  ``"``, ``*``, ``NEAR``, ``AND``, ``-``, ``(``, ``:`` are plain text, never FTS5 syntax); shorter words (a
  two-character Chinese word like 退款, "TV") filter by substring (``short_words``), because a trigram index
  cannot look up fewer than three characters.

``snippet`` cuts the best-matching line of a document to ``SNIPPET_CHARS`` and returns the matches as
``[start, end)`` ranges in Unicode code points, for the console to draw with ``textContent`` and ``<mark>``.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Literal, TypedDict

from bot.shopdb import normalize_order_number

MAX_QUERY_CHARS = 200
MIN_QUERY_CHARS = 2
TRIGRAM = 3  # the FTS5 trigram tokenizer looks up words of at least this many characters
SNIPPET_CHARS = 160
SNIPPET_BEFORE = 50  # characters kept before the first match when a line is cut

MatchedBy = Literal["order", "email", "text"]

EMAIL_RE = re.compile(r"[A-Za-z0-9._%+'-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")  # shop.ids.EMAIL_PATTERN
# an order number inside free text: SD-100042, sd 100042, #100042, or six digits standing alone
ORDER_IN_TEXT_RE = re.compile(r"(?<![0-9A-Za-z])(?:SD[-\s]?|#)?([0-9]{6})(?![0-9])", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


class QueryError(ValueError):
    """A query the search refuses; ``field`` names the request parameter."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Query:
    text: str  # as searched (control characters turned into spaces, trimmed)
    matched_by: MatchedBy
    key: str = ""  # "order:SD-100042" / "email:ada@example.com" for the exact lookups
    words: tuple[str, ...] = ()  # full text: every word must occur

    @property
    def long_words(self) -> tuple[str, ...]:
        return tuple(word for word in self.words if len(word) >= TRIGRAM)

    @property
    def short_words(self) -> tuple[str, ...]:
        """Words the trigram index cannot look up, lower-cased (matched against ``haystack``)."""
        return tuple(word.lower() for word in self.words if len(word) < TRIGRAM)

    def fts_match(self) -> str:
        """The FTS5 MATCH expression: every long word as a quoted string (implicit AND); '' when none."""
        return " ".join('"' + word.replace('"', '""') + '"' for word in self.long_words)

    def mark_patterns(self) -> list[re.Pattern[str]]:
        """What a snippet marks: the words, the order number's digits, or the email."""
        if self.matched_by == "order":
            digits = self.key.removeprefix("order:SD-")
            return [re.compile(rf"(?:SD[-\s]?|#)?{digits}", re.IGNORECASE)]
        if self.matched_by == "email":
            return [re.compile(re.escape(self.key.removeprefix("email:")), re.IGNORECASE)]
        return [re.compile(re.escape(word), re.IGNORECASE) for word in self.words]


def parse(raw: str | None) -> Query:
    """The query from ``?q=``; QueryError (field ``q``) when empty, too short or too long."""
    text = _CONTROL.sub(" ", raw or "").strip()
    if not text:
        raise QueryError("q", "must not be empty: type an order number, a customer's name or email, or words")
    if len(text) > MAX_QUERY_CHARS:
        raise QueryError("q", f"at most {MAX_QUERY_CHARS} characters (got {len(text)})")
    if len("".join(text.split())) < MIN_QUERY_CHARS:
        raise QueryError("q", f"at least {MIN_QUERY_CHARS} characters (got {text!r})")
    order = normalize_order_number(text)
    if order is not None:
        return Query(text, "order", key=f"order:{order}")
    folded = unicodedata.normalize("NFKC", text)
    if EMAIL_RE.fullmatch(folded):
        return Query(text, "email", key=f"email:{folded.lower()}")
    return as_text(text)


def as_text(text: str) -> Query:
    """The same query as full text (an order number or email nobody had is searched as words too)."""
    words = tuple(dict.fromkeys(text.split()))  # a repeated word counts once
    return Query(text, "text", words=words)


def orders_in(text: str) -> set[str]:
    """Every order number written in ``text``, normalised (``SD-100042``)."""
    folded = unicodedata.normalize("NFKC", text)
    return {f"SD-{match.group(1)}" for match in ORDER_IN_TEXT_RE.finditer(folded)}


def emails_in(text: str) -> set[str]:
    return {match.group(0).lower() for match in EMAIL_RE.finditer(unicodedata.normalize("NFKC", text))}


class Snippet(TypedDict):
    role: str  # shopper | bot | agent | notice | message (a ticket's) | customer | orders
    text: str
    marks: list[list[int]]  # [start, end) in code points, sorted, not overlapping


def _ranges(text: str, patterns: list[re.Pattern[str]]) -> list[list[int]]:
    spans = sorted(
        (match.start(), match.end())
        for pattern in patterns
        for match in pattern.finditer(text)
        if match.end() > match.start()
    )
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return merged


def snippet(lines: list[tuple[str, str]], query: Query) -> Snippet:
    """The line with the most distinct matches (the first one on ties), cut around its first match."""
    patterns = query.mark_patterns()
    best: tuple[str, str] | None = None
    best_hits = 0
    for role, text in lines:
        hits = sum(1 for pattern in patterns if pattern.search(text))
        if hits > best_hits:
            best, best_hits = (role, text), hits
    if best is None:  # a match the lines do not show (e.g. the order is only in the context)
        best = next(
            ((role, text) for role, text in lines if role == "shopper"), lines[0] if lines else ("", "")
        )
    role, text = best
    text = " ".join(text.split())
    marks = _ranges(text, patterns)
    if len(text) > SNIPPET_CHARS:
        start = max(0, (marks[0][0] if marks else 0) - SNIPPET_BEFORE)
        end = min(len(text), start + SNIPPET_CHARS)
        start = max(0, end - SNIPPET_CHARS)
        prefix, suffix = ("…" if start > 0 else ""), ("…" if end < len(text) else "")
        cut = prefix + text[start:end] + suffix
        shift = len(prefix) - start
        marks = [
            [max(s + shift, len(prefix)), min(e + shift, len(prefix) + end - start)]
            for s, e in marks
            if e > start and s < end
        ]
        text = cut
    return Snippet(role=role, text=text, marks=marks)
