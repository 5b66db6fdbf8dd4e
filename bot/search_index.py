"""The search index over closed conversations and tickets: SQLite FTS5 (trigram) tables in the handoff DB.

One document per closed handoff (its transcript lines, the customer's name and email and the order numbers of
its context, plus order numbers and emails the shopper wrote) and one per ticket (message, email, transcript).
The tables (``search_*``) are this module's alone, on a connection of its own; the handoff store's tables
(``handoffs``, ``messages``, ``tickets``, owned by ``bot.store``) are only read, here and nowhere else in search.

Kept current incrementally by ``catch_up`` (run in a worker thread: by the background loop, and before each
query, so a handoff closed or a ticket created a moment ago is found), from three persisted watermarks:

- ``closed_at``: handoffs closed since the last round (re-read ``OVERLAP_S`` back, so a row committed late by
  another connection is not missed; a document already indexed at the same version is skipped);
- ``message_id``: lines added to a handoff after it closed (the queue timeout's notice is written after the
  close) re-index that handoff;
- ``created_at``: new tickets (a ticket's texts never change; its status is read when results are shown).

A handoff put back in the queue (``HandoffStore.requeue``) keeps its document until it closes again; the
search drops hits that are no longer closed (``bot.search``). ``rebuild`` empties the tables and indexes
everything again from the source tables; it also happens by itself when ``INDEX_VERSION`` changes.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from bot.search_query import Query, emails_in, orders_in
from bot.sqlite_db import open_db

logger = logging.getLogger(__name__)

INDEX_VERSION = 1.0  # bump when a document's shape changes: the index is rebuilt on open
OVERLAP_S = 60.0
BATCH = 100  # documents per write transaction (the store's writes wait at most one batch)
WEIGHTS = (5.0, 3.0, 1.0)  # bm25 column weights: customer, orders, body

Kind = Literal["conversation", "ticket"]
KINDS: tuple[str, ...] = ("conversation", "ticket")

SCHEMA = """
CREATE TABLE IF NOT EXISTS search_docs (
    doc INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('conversation', 'ticket')),
    ref TEXT NOT NULL,
    version REAL NOT NULL,
    at REAL NOT NULL,
    customer_name TEXT NOT NULL DEFAULT '',
    customer_email TEXT NOT NULL DEFAULT '',
    lines TEXT NOT NULL DEFAULT '[]',
    haystack TEXT NOT NULL DEFAULT '',
    UNIQUE (kind, ref)
);
CREATE INDEX IF NOT EXISTS search_docs_at ON search_docs(at);
CREATE TABLE IF NOT EXISTS search_keys (
    key TEXT NOT NULL,
    doc INTEGER NOT NULL,
    PRIMARY KEY (key, doc)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS search_keys_doc ON search_keys(doc);
CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5(customer, orders, body, tokenize='trigram');
CREATE TABLE IF NOT EXISTS search_state (name TEXT PRIMARY KEY, value REAL NOT NULL);
"""


@dataclass(frozen=True)
class Document:
    kind: Kind
    ref: str
    version: float
    at: float
    customer_name: str
    customer_email: str
    orders: tuple[str, ...]
    emails: tuple[str, ...]
    lines: tuple[tuple[str, str], ...]  # (role, text)


@dataclass(frozen=True)
class Hit:
    kind: Kind
    ref: str
    at: float
    customer_name: str
    customer_email: str
    lines: list[tuple[str, str]]
    score: float  # bm25 (lower is better); 0 for lookups by order, email or short words


def _text(value: object) -> str:
    return value.strip() if isinstance(value, str) else ""


def conversation_document(row: sqlite3.Row, messages: list[sqlite3.Row]) -> Document:
    """A closed handoff as a document: its context's customer and orders, its transcript."""
    try:
        context = json.loads(row["context"])
    except ValueError:
        context = {}
    context = context if isinstance(context, dict) else {}
    raw_customer = context.get("customer")
    customer: dict[str, Any] = raw_customer if isinstance(raw_customer, dict) else {}
    raw_orders = context.get("orders")
    orders_listed: list[Any] = raw_orders if isinstance(raw_orders, list) else []
    lines = tuple((str(m["role"]), str(m["text"])) for m in messages)
    orders = {
        found
        for item in orders_listed
        if isinstance(item, dict)
        for found in orders_in(_text(item.get("number")))
    }
    shopper_text = " ".join(text for role, text in lines if role == "shopper")
    email = _text(customer.get("email")).lower()
    return Document(
        kind="conversation",
        ref=row["id"],
        version=float(row["closed_at"]),
        at=float(row["closed_at"]),
        customer_name=_text(customer.get("name")),
        customer_email=email,
        orders=tuple(sorted(orders | orders_in(shopper_text))),
        emails=tuple(sorted(({email} if email else set()) | emails_in(shopper_text))),
        lines=lines,
    )


def ticket_document(row: sqlite3.Row) -> Document:
    try:
        transcript = json.loads(row["transcript"])
    except ValueError:
        transcript = []
    lines = [("message", str(row["message"]))] + [
        (str(line.get("role", "")), str(line.get("text", "")))
        for line in (transcript if isinstance(transcript, list) else [])
        if isinstance(line, dict)
    ]
    shopper_text = " ".join(text for role, text in lines if role in ("message", "shopper"))
    email = str(row["email"]).strip().lower()
    return Document(
        kind="ticket",
        ref=row["id"],
        version=float(row["created_at"]),
        at=float(row["created_at"]),
        customer_name="",
        customer_email=email,
        orders=tuple(sorted(orders_in(shopper_text))),
        emails=tuple(sorted({email} | emails_in(shopper_text))),
        lines=tuple(lines),
    )


class SearchIndex:
    """The index on its own connection; every method may run in a worker thread (one at a time)."""

    def __init__(self, path: Path | str) -> None:
        self._db = open_db(path, SCHEMA, fast_commits=True)  # bot.sqlite_db: rewritten from trackers
        self._lock = threading.Lock()

    def shutdown(self) -> None:
        with self._lock:
            self._db.close()

    # --- state ---------------------------------------------------------------------------------------
    def _state(self, name: str, default: float = 0.0) -> float:
        row = self._db.execute("SELECT value FROM search_state WHERE name = ?", (name,)).fetchone()
        return float(row[0]) if row else default

    def _set_state(self, name: str, value: float) -> None:
        self._db.execute(
            "INSERT INTO search_state (name, value) VALUES (?, ?)"
            " ON CONFLICT(name) DO UPDATE SET value = excluded.value",
            (name, value),
        )

    def count(self) -> dict[str, int]:
        rows = self._db.execute("SELECT kind, COUNT(*) FROM search_docs GROUP BY kind").fetchall()
        return {kind: 0 for kind in KINDS} | {row[0]: row[1] for row in rows}

    # --- keeping it current --------------------------------------------------------------------------
    def rebuild(self) -> int:
        """Empties the index and indexes every closed handoff and ticket again; returns how many."""
        with self._lock:
            self._clear()
            return self._catch_up()

    def _clear(self) -> None:
        with self._db:
            self._db.execute("BEGIN IMMEDIATE")
            for table in ("search_fts", "search_keys", "search_docs", "search_state"):
                self._db.execute(f"DELETE FROM {table}")
            self._set_state("index_version", INDEX_VERSION)

    def catch_up(self) -> int:
        """Indexes what closed or was created since the last round; returns how many documents were written."""
        with self._lock:
            return self._catch_up()

    def _catch_up(self) -> int:
        db = self._db
        if self._state("index_version") != INDEX_VERSION:  # a new database, or documents of another shape
            self._clear()
        closed_mark, message_mark, ticket_mark = (
            self._state("closed_at"),
            self._state("message_id"),
            self._state("created_at"),
        )
        with db:
            db.execute("BEGIN")  # one snapshot of the source tables
            top_message = db.execute("SELECT COALESCE(MAX(id), 0) FROM messages").fetchone()[0]
            closed = db.execute(
                "SELECT id, closed_at FROM handoffs WHERE status = 'closed' AND closed_at >= ?",
                (closed_mark - OVERLAP_S,),
            ).fetchall()
            touched = db.execute(
                "SELECT DISTINCT m.handoff_id FROM messages m JOIN handoffs h ON h.id = m.handoff_id"
                " WHERE m.id > ? AND m.id <= ? AND h.status = 'closed'",
                (message_mark, top_message),
            ).fetchall()
            tickets = db.execute(
                "SELECT id, created_at FROM tickets WHERE created_at >= ?", (ticket_mark - OVERLAP_S,)
            ).fetchall()
            known = self._versions(
                [("conversation", r[0]) for r in closed + touched] + [("ticket", r[0]) for r in tickets]
            )
        stale = list(
            dict.fromkeys(
                [r[0] for r in closed if known.get(("conversation", r[0])) != float(r[1])]
                + [r[0] for r in touched if ("conversation", r[0]) in known]  # indexed, then a line was added
            )
        )
        new_tickets = [r[0] for r in tickets if ("ticket", r[0]) not in known]
        written = 0
        for start in range(0, len(stale), BATCH):
            written += self._write(self._conversations(stale[start : start + BATCH]))
        for start in range(0, len(new_tickets), BATCH):
            written += self._write(self._tickets(new_tickets[start : start + BATCH]))
        marks = {
            "closed_at": (closed_mark, max([closed_mark, *(float(r[1]) for r in closed)])),
            "message_id": (message_mark, max(message_mark, float(top_message))),
            "created_at": (ticket_mark, max([ticket_mark, *(float(r[1]) for r in tickets)])),
        }
        if any(new != old for old, new in marks.values()):  # a round with nothing new writes nothing
            with db:
                db.execute("BEGIN IMMEDIATE")
                for name, (_, value) in marks.items():
                    self._set_state(name, value)
        if written:
            logger.info("search index: %s documents written", written)
        return written

    def _versions(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], float]:
        found: dict[tuple[str, str], float] = {}
        for kind in KINDS:
            refs = [ref for k, ref in keys if k == kind]
            for start in range(0, len(refs), 500):
                chunk = refs[start : start + 500]
                marks = ",".join("?" * len(chunk))
                for row in self._db.execute(
                    f"SELECT ref, version FROM search_docs WHERE kind = ? AND ref IN ({marks})",
                    (kind, *chunk),
                ):
                    found[(kind, row[0])] = float(row[1])
        return found

    def _conversations(self, ids: list[str]) -> list[Document]:
        marks = ",".join("?" * len(ids))
        with self._db:
            self._db.execute("BEGIN")
            rows = self._db.execute(
                f"SELECT id, closed_at, context FROM handoffs WHERE status = 'closed' AND id IN ({marks})",
                ids,
            ).fetchall()
            by_handoff: dict[str, list[sqlite3.Row]] = {}
            for message in self._db.execute(
                f"SELECT handoff_id, role, text FROM messages WHERE handoff_id IN ({marks}) ORDER BY ts, id",
                ids,
            ):
                by_handoff.setdefault(message["handoff_id"], []).append(message)
        return [conversation_document(row, by_handoff.get(row["id"], [])) for row in rows]

    def _tickets(self, ids: list[str]) -> list[Document]:
        marks = ",".join("?" * len(ids))
        rows = self._db.execute(
            f"SELECT id, email, message, transcript, created_at FROM tickets WHERE id IN ({marks})",
            ids,
        ).fetchall()
        return [ticket_document(row) for row in rows]

    def _write(self, documents: list[Document]) -> int:
        db = self._db
        with db:
            db.execute("BEGIN IMMEDIATE")
            for document in documents:
                old = db.execute(
                    "SELECT doc FROM search_docs WHERE kind = ? AND ref = ?", (document.kind, document.ref)
                ).fetchone()
                if old is not None:
                    db.execute("DELETE FROM search_fts WHERE rowid = ?", (old[0],))
                    db.execute("DELETE FROM search_keys WHERE doc = ?", (old[0],))
                    db.execute("DELETE FROM search_docs WHERE doc = ?", (old[0],))
                customer = " ".join(filter(None, (document.customer_name, document.customer_email)))
                body = "\n".join(text for _, text in document.lines)
                haystack = "\n".join((customer, " ".join(document.orders), body)).lower()
                cursor = db.execute(
                    "INSERT INTO search_docs (kind, ref, version, at, customer_name, customer_email, lines,"
                    " haystack) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        document.kind,
                        document.ref,
                        document.version,
                        document.at,
                        document.customer_name,
                        document.customer_email,
                        json.dumps(document.lines, ensure_ascii=False),
                        haystack,
                    ),
                )
                doc = cursor.lastrowid
                db.execute(
                    "INSERT INTO search_fts (rowid, customer, orders, body) VALUES (?, ?, ?, ?)",
                    (doc, customer, " ".join(document.orders), body),
                )
                keys = [f"order:{o}" for o in document.orders] + [f"email:{e}" for e in document.emails]
                db.executemany(
                    "INSERT OR IGNORE INTO search_keys (key, doc) VALUES (?, ?)", [(k, doc) for k in keys]
                )
        return len(documents)

    # --- searching -----------------------------------------------------------------------------------
    def search(self, query: Query, kind: str = "all", limit: int = 20, *, catch_up: bool = True) -> list[Hit]:
        """The best ``limit`` hits: by bm25 for full text, newest first on ties and for exact lookups."""
        with self._lock:
            if catch_up:
                self._catch_up()
            return self._search(query, kind, limit)

    def _search(self, query: Query, kind: str, limit: int) -> list[Hit]:
        kinds = KINDS if kind == "all" else (kind,)
        kind_sql = f"d.kind IN ({','.join('?' * len(kinds))})"
        columns = "d.kind, d.ref, d.at, d.customer_name, d.customer_email, d.lines"
        params: list[Any]
        if query.matched_by != "text":
            sql = (
                f"SELECT {columns}, 0.0 AS score FROM search_keys k JOIN search_docs d ON d.doc = k.doc"
                f" WHERE k.key = ? AND {kind_sql} ORDER BY d.at DESC, d.doc DESC LIMIT ?"
            )
            params = [query.key, *kinds, limit]
        else:
            short = "".join(" AND instr(d.haystack, ?) > 0" for _ in query.short_words)
            if query.long_words:
                w = WEIGHTS
                sql = (
                    f"SELECT {columns}, bm25(search_fts, {w[0]}, {w[1]}, {w[2]}) AS score"
                    " FROM search_fts JOIN search_docs d ON d.doc = search_fts.rowid"
                    f" WHERE search_fts MATCH ? AND {kind_sql}{short}"
                    " ORDER BY score, d.at DESC, d.doc DESC LIMIT ?"
                )
                params = [query.fts_match(), *kinds, *query.short_words, limit]
            else:
                sql = (
                    f"SELECT {columns}, 0.0 AS score FROM search_docs d WHERE {kind_sql}{short}"
                    " ORDER BY d.at DESC, d.doc DESC LIMIT ?"
                )
                params = [*kinds, *query.short_words, limit]
        return [
            Hit(
                kind=row["kind"],
                ref=row["ref"],
                at=row["at"],
                customer_name=row["customer_name"],
                customer_email=row["customer_email"],
                lines=[(str(role), str(text)) for role, text in json.loads(row["lines"])],
                score=float(row["score"]),
            )
            for row in self._db.execute(sql, params)
        ]


def main(argv: list[str] | None = None) -> int:
    """``python -m bot.search_index rebuild``: index the handoff DB (HANDOFF_DB_PATH) again from scratch."""
    import argparse

    from bot.settings import from_env

    parser = argparse.ArgumentParser(prog="python -m bot.search_index", description=main.__doc__)
    parser.add_argument("command", choices=["rebuild"])
    parser.parse_args(argv)
    index = SearchIndex(from_env().db_path)
    try:
        written = index.rebuild()
    finally:
        index.shutdown()
    logger.warning("search index rebuilt: %s documents", written)
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    raise SystemExit(main())
