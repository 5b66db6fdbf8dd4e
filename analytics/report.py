"""What the dashboard shows, read from the analytics tables (JSON-ready dicts; the tables' only reader)."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from analytics import schema

TOP = 10


def _rows(connection: sqlite3.Connection, sql: str, *args: object) -> list[dict[str, Any]]:
    return [dict(row) for row in connection.execute(sql, args).fetchall()]


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 1)


def summary(db: Path) -> dict[str, Any]:
    """Totals, per-day series, top intents and fallback messages, CSAT per rater, mood per day, themes."""
    connection = schema.read_only(db)
    try:
        totals = dict(
            connection.execute(
                "SELECT COUNT(*) AS conversations, COALESCE(SUM(ended), 0) AS ended, "
                "COALESCE(SUM(contained), 0) AS contained, COALESCE(SUM(handed_off), 0) AS handed_off, "
                "COALESCE(SUM(fallbacks > 0), 0) AS with_fallback FROM conversations"
            ).fetchone()
        )
        conversations = totals["conversations"] or 0
        totals["containment_rate"] = totals["contained"] / totals["ended"] if totals["ended"] else None
        totals["handoff_rate"] = totals["handed_off"] / conversations if conversations else None
        totals["fallback_rate"] = totals["with_fallback"] / conversations if conversations else None
        latencies = [
            r[0] for r in connection.execute("SELECT latency_ms FROM turns WHERE latency_ms IS NOT NULL")
        ]
        totals["latency_p50_ms"] = _percentile(latencies, 0.5)
        totals["latency_p95_ms"] = _percentile(latencies, 0.95)
        csat: dict[str, dict[str, int]] = {by: {str(r): 0 for r in range(1, 6)} for by in ("bot", "agent")}
        for row in connection.execute("SELECT by, rating, COUNT(*) FROM csat GROUP BY by, rating"):
            if row[0] in csat:
                csat[row[0]][str(row[1])] = row[2]
        themes = _rows(
            connection,
            "SELECT language, label, terms, count, examples, sources FROM themes ORDER BY language, theme_no",
        )
        for theme in themes:
            for key in ("terms", "examples", "sources"):
                theme[key] = json.loads(theme[key])
        return {
            "totals": totals,
            "daily": _rows(
                connection,
                "SELECT day, conversations, ended, contained, handed_off, containment_rate, handoff_rate, "
                "fallback_rate, mean_mood FROM daily ORDER BY day",
            ),
            "intents": _rows(
                connection,
                "SELECT intent, messages, conversations FROM intents ORDER BY messages DESC, intent LIMIT ?",
                TOP,
            ),
            "fallbacks": _rows(
                connection,
                "SELECT text, COUNT(*) AS count, MAX(language) AS language FROM fallbacks "
                "GROUP BY LOWER(TRIM(text)) ORDER BY count DESC, MAX(ts) DESC LIMIT ?",
                TOP,
            ),
            "handoff_reasons": _rows(
                connection,
                "SELECT reason, COUNT(*) AS count FROM handoffs GROUP BY reason ORDER BY count DESC",
            ),
            "csat": csat,
            "mood": _rows(
                connection,
                "SELECT day, ROUND(AVG(mood), 3) AS mean_mood, ROUND(AVG(score), 3) AS mean_score, "
                "COUNT(*) AS messages, SUM(label = 'negative') AS negative FROM mood GROUP BY day ORDER BY day",
            ),
            "themes": themes,
        }
    finally:
        connection.close()
