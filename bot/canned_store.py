"""The canned replies table: its own tables and connection in the handoff service's SQLite file.

How the seed file and the admin page combine (``seed``, at every start):

- a file entry never seen before is added (``canned_seeded`` remembers it) — unless a reply with that
  shortcut already exists (an admin made it first: theirs stays);
- a file entry seen before updates its reply while no admin has edited it (``edited_by`` is null); once an
  admin edits it, the admin's version wins; once an admin deletes (or renames) it, it stays deleted;
- a reply that came from the file, unedited, whose entry left the file, is removed (re-adding the entry
  brings it back).

Shortcuts are unique (the UNIQUE constraint decides, not a read before the write: ``DuplicateShortcutError``).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from bot.canned import MAX_REPLIES, CannedError, CannedReply, Draft
from bot.sqlite_db import open_db

SCHEMA = """
CREATE TABLE IF NOT EXISTS canned_replies (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    shortcut TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    text_en TEXT NOT NULL DEFAULT '',
    text_zh TEXT NOT NULL DEFAULT '',
    origin TEXT NOT NULL CHECK (origin IN ('file', 'admin')),
    edited_by TEXT,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS canned_seeded (
    shortcut TEXT PRIMARY KEY,
    seeded_at REAL NOT NULL
);
"""

Clock = Callable[[], float]


class CannedNotFoundError(CannedError):
    def __init__(self, reply_id: object) -> None:
        super().__init__(f"unknown canned reply {reply_id!r}")
        self.reply_id = reply_id


class DuplicateShortcutError(CannedError):
    def __init__(self, shortcut: str) -> None:
        super().__init__(f"the shortcut /{shortcut} is already used by another canned reply")
        self.shortcut = shortcut


class TooManyRepliesError(CannedError):
    def __init__(self) -> None:
        super().__init__(f"at most {MAX_REPLIES} canned replies; delete one first")


def _reply(row: sqlite3.Row) -> CannedReply:
    return CannedReply(
        id=row["id"],
        shortcut=row["shortcut"],
        title=row["title"],
        en=row["text_en"],
        zh=row["text_zh"],
        origin=row["origin"],
        edited_by=row["edited_by"],
        updated_at=row["updated_at"],
    )


class CannedStore:
    def __init__(self, path: Path | str, clock: Clock = time.time) -> None:
        self._db = open_db(path, SCHEMA)
        self.clock = clock

    def shutdown(self) -> None:
        self._db.close()

    # --- reading -------------------------------------------------------------------------------------
    def all(self) -> list[CannedReply]:
        rows = self._db.execute("SELECT * FROM canned_replies ORDER BY shortcut").fetchall()
        return [_reply(row) for row in rows]

    def get(self, reply_id: int) -> CannedReply:
        row = self._db.execute("SELECT * FROM canned_replies WHERE id = ?", (reply_id,)).fetchone()
        if row is None:
            raise CannedNotFoundError(reply_id)
        return _reply(row)

    def by_shortcut(self, shortcut: str) -> CannedReply | None:
        row = self._db.execute("SELECT * FROM canned_replies WHERE shortcut = ?", (shortcut,)).fetchone()
        return None if row is None else _reply(row)

    # --- the admin page ------------------------------------------------------------------------------
    def create(self, draft: Draft, admin: str) -> CannedReply:
        now = self.clock()
        self._db.execute("BEGIN IMMEDIATE")
        try:
            (count,) = self._db.execute("SELECT COUNT(*) FROM canned_replies").fetchone()
            if count >= MAX_REPLIES:
                raise TooManyRepliesError()
            cursor = self._db.execute(
                "INSERT INTO canned_replies (shortcut, title, text_en, text_zh, origin, edited_by, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, 'admin', ?, ?, ?)",
                (draft["shortcut"], draft["title"], draft["en"], draft["zh"], admin, now, now),
            )
            self._db.execute("COMMIT")
        except sqlite3.IntegrityError:
            self._db.execute("ROLLBACK")
            raise DuplicateShortcutError(draft["shortcut"]) from None
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return self.get(int(cursor.lastrowid or 0))

    def update(self, reply_id: int, draft: Draft, admin: str) -> CannedReply:
        try:
            cursor = self._db.execute(
                "UPDATE canned_replies SET shortcut = ?, title = ?, text_en = ?, text_zh = ?, edited_by = ?,"
                " updated_at = ? WHERE id = ?",
                (draft["shortcut"], draft["title"], draft["en"], draft["zh"], admin, self.clock(), reply_id),
            )
        except sqlite3.IntegrityError:
            raise DuplicateShortcutError(draft["shortcut"]) from None
        if cursor.rowcount == 0:
            raise CannedNotFoundError(reply_id)
        return self.get(reply_id)

    def delete(self, reply_id: int) -> CannedReply:
        """Deletes the reply; a file entry deleted here is not seeded again (its ``canned_seeded`` row stays)."""
        found = self.get(reply_id)
        self._db.execute("DELETE FROM canned_replies WHERE id = ?", (reply_id,))
        return found

    # --- the seed file -------------------------------------------------------------------------------
    def seed(self, drafts: list[Draft]) -> dict[str, int]:
        """Applies the seed file (see the module's docstring); returns how many were added/updated/removed."""
        counts = {"added": 0, "updated": 0, "removed": 0}
        now = self.clock()
        in_file = {draft["shortcut"] for draft in drafts}
        self._db.execute("BEGIN IMMEDIATE")
        try:
            seeded = {row[0] for row in self._db.execute("SELECT shortcut FROM canned_seeded")}
            for draft in drafts:
                values = (draft["title"], draft["en"], draft["zh"])
                if draft["shortcut"] in seeded:
                    cursor = self._db.execute(
                        "UPDATE canned_replies SET title = ?, text_en = ?, text_zh = ?, updated_at = ?"
                        " WHERE shortcut = ? AND origin = 'file' AND edited_by IS NULL"
                        " AND NOT (title = ? AND text_en = ? AND text_zh = ?)",
                        (*values, now, draft["shortcut"], *values),
                    )
                    counts["updated"] += cursor.rowcount
                    continue
                cursor = self._db.execute(
                    "INSERT OR IGNORE INTO canned_replies (shortcut, title, text_en, text_zh, origin, created_at,"
                    " updated_at) VALUES (?, ?, ?, ?, 'file', ?, ?)",
                    (draft["shortcut"], *values, now, now),
                )
                counts["added"] += cursor.rowcount
                self._db.execute(
                    "INSERT INTO canned_seeded (shortcut, seeded_at) VALUES (?, ?)", (draft["shortcut"], now)
                )
            for shortcut in (
                seeded - in_file
            ):  # the file dropped it: unedited replies go, and it may come back
                cursor = self._db.execute(
                    "DELETE FROM canned_replies WHERE shortcut = ? AND origin = 'file' AND edited_by IS NULL",
                    (shortcut,),
                )
                counts["removed"] += cursor.rowcount
                self._db.execute("DELETE FROM canned_seeded WHERE shortcut = ?", (shortcut,))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return counts
