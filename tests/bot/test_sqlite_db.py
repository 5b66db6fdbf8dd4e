"""bot.sqlite_db: the stores rewritten from Rasa's trackers commit without waiting for fsync; nothing is lost when
the process dies right after a write."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bot.agents_store import AgentsStore
from bot.store import HandoffStore

ROOT = Path(__file__).resolve().parents[2]

CRASH = """
import os, sys
from bot.store import HandoffStore
store = HandoffStore(sys.argv[1])
handoff, _ = store.open_handoff("c0ffee00c0ffee00", "asked for a person", [], {})
store.add_message(handoff["id"], "shopper", "where is my parcel", 1.0, "k1")
store.set_last_event_ts(handoff["id"], 4e9)
print(handoff["id"], flush=True)
os._exit(0)  # no close, no checkpoint
"""


def _synchronous(db: object) -> int:
    return int(db.execute("PRAGMA synchronous").fetchone()[0])  # type: ignore[attr-defined]


def test_the_handoff_store_commits_without_fsync_and_accounts_keep_full(tmp_path: Path) -> None:
    handoffs = HandoffStore(tmp_path / "handoffs.db")
    agents = AgentsStore(tmp_path / "agents.db", ())
    assert _synchronous(handoffs._db) == 1  # NORMAL
    assert _synchronous(agents._db) == 2  # FULL
    assert handoffs._db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_a_write_survives_the_process_dying_right_after_it(tmp_path: Path) -> None:
    path = tmp_path / "handoffs.db"
    done = subprocess.run(
        [sys.executable, "-c", CRASH, str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    handoff_id = done.stdout.strip()
    store = HandoffStore(path)
    assert [m["text"] for m in store.messages(handoff_id)] == ["where is my parcel"]
    assert store.get(handoff_id)["last_event_ts"] == 4e9 and store.get(handoff_id)["status"] == "queued"
