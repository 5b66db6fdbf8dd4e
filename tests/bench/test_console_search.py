"""The search index against brute force on the benchmark's seeded data: every query's complete set of matches
equals a LIKE scan's (bench/console_search.py, a few hundred conversations)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bench.console_search import QUERIES_EN, QUERIES_ZH, generate, like_scan, like_words
from bot.search_index import SearchIndex
from bot.search_query import parse


def test_the_index_finds_exactly_what_a_like_scan_finds(tmp_path: Path) -> None:
    path = tmp_path / "handoff.db"
    drawn = generate(path, conversations=300, tickets=60, seed=3)
    index = SearchIndex(path)
    db = sqlite3.connect(path)
    try:
        assert index.catch_up() == 360
        english_names = [name for name in drawn["names"] if name.isascii()][:10]
        queries = [*QUERIES_EN, *QUERIES_ZH, *drawn["orders"][:10], *drawn["emails"][:10], *english_names]
        for q in queries:
            query = parse(q)
            found = {hit.ref for hit in index.search(query, "all", 10_000)}
            assert found == set(like_scan(db, like_words(query), 10_000)), q
            assert found, q  # every query matches something in this data
    finally:
        db.close()
        index.shutdown()
