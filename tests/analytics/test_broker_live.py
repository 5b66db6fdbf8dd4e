"""The real Rasa server writes every tracker event to its SQL event broker (EVENT_BROKER_DB in the stack's var
dir), redacted, and the pipeline reads them into the tables."""

from __future__ import annotations

import sqlite3
import time
import uuid

import aiohttp
import pytest

from analytics.refresh import refresh
from analytics.settings import AnalyticsSettings
from scripts.stack import Stack

pytestmark = pytest.mark.integration

EMAIL = "jane.broker-test@example.com"


def broker_rows(stack: Stack, sender: str) -> list[str]:
    path = stack.config.var_dir / "events.db"
    if not path.exists():
        return []
    connection = sqlite3.connect(path)
    try:
        return [
            row[0] for row in connection.execute("SELECT data FROM events WHERE sender_id = ?", (sender,))
        ]
    except sqlite3.OperationalError:  # the table is created by Rasa at start; nothing else to wait for
        return []
    finally:
        connection.close()


async def test_rasa_publishes_events_the_pipeline_reads(live_stack: Stack, tmp_path) -> None:  # type: ignore[no-untyped-def]
    sender = f"broker-{uuid.uuid4().hex[:12]}"
    async with aiohttp.ClientSession() as session:
        for text in ("hi", f"my email is {EMAIL}", "bye"):
            async with session.post(
                live_stack.config.rest_url, json={"sender": sender, "message": text}
            ) as reply:
                assert reply.status == 200, await reply.text()
    deadline = time.monotonic() + 30
    while (
        time.monotonic() < deadline
        and sum('"event": "user"' in row for row in broker_rows(live_stack, sender)) < 3
    ):
        time.sleep(0.5)
    rows = broker_rows(live_stack, sender)
    assert sum('"event": "user"' in row for row in rows) == 3, "Rasa did not publish the three messages"
    assert not any(EMAIL in row for row in rows), "the broker kept an email address"
    assert any("[email]" in row for row in rows)

    settings = AnalyticsSettings(
        event_broker_db=live_stack.config.var_dir / "events.db", analytics_db=tmp_path / "a.db"
    )
    refresh(settings)
    connection = sqlite3.connect(settings.analytics_db)
    try:
        turns = connection.execute(
            "SELECT turns, ended FROM conversations WHERE sender_id = ?", (sender,)
        ).fetchall()
        intents = [
            r[0]
            for r in connection.execute("SELECT intent FROM turns WHERE sender_id = ? ORDER BY ts", (sender,))
        ]
        latencies = [
            r[0] for r in connection.execute("SELECT latency_ms FROM turns WHERE sender_id = ?", (sender,))
        ]
    finally:
        connection.close()
    assert turns == [(3, 1)]  # said goodbye: ended
    assert intents[0] == "greet" and intents[-1] == "goodbye"
    assert all(latency is not None and latency >= 0 for latency in latencies)
