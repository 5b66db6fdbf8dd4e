"""The console's agent roster: the configured agents (AGENTS_FILE or the demo agents) plus those an admin added,
with the role changes and disabled flags admins set in the console (``/console/admin/agents``).

Its own table (``console_agents``) and its own connection, in the handoff service's SQLite file. A row is either
an agent added here (``password_hash`` set, scrypt via ``bot.passwords``) or an override of a configured agent
(``password_hash`` NULL: the configured hash stays the one checked; only ``role`` and ``disabled`` apply). An
override whose agent left the configuration is ignored. In production the demo agents are never added and a
stored row for one is ignored (``bot.settings.validate`` refuses them in the configuration).

Rules, checked inside one write transaction (two admins at once cannot both remove the last admin):
- an email is unique across configured and added agents (``AgentExistsError``);
- an admin cannot demote or disable themselves, and at least one enabled admin always remains
  (``AgentRuleError``).
"""

from __future__ import annotations

import re
import sqlite3
import time
import unicodedata
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal, TypedDict

from bot.errors import BotError
from bot.passwords import hash_password
from bot.settings import DEMO_ADMIN_EMAIL, DEMO_AGENT_EMAIL, ROLES, Agent
from bot.sqlite_db import open_db

MIN_PASSWORD_CHARS = 12
MAX_PASSWORD_CHARS = 200  # the login form reads at most this many characters
MAX_NAME_CHARS = 80
MAX_EMAIL_CHARS = 254
EMAIL_RE = re.compile(r"[^@\s<>\"'(),;:\\]{1,64}@[a-z0-9.-]{1,189}\.[a-z]{2,63}")
DEMO_EMAILS = frozenset({DEMO_AGENT_EMAIL, DEMO_ADMIN_EMAIL})

SCHEMA = """
CREATE TABLE IF NOT EXISTS console_agents (
    email TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('agent', 'admin')),
    password_hash TEXT,
    disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    changed_by TEXT NOT NULL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
);
"""

Source = Literal["config", "console"]
Clock = Callable[[], float]


class AgentRecord(TypedDict):
    """One agent as the admin API shows it (never the password hash)."""

    email: str
    name: str
    role: str
    disabled: bool
    source: Source  # "config": AGENTS_FILE / demo; "console": added by an admin


class AgentInputError(BotError):
    """A field of an agent is malformed; ``field`` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class AgentExistsError(BotError):
    def __init__(self, email: str) -> None:
        super().__init__(f"an agent with the email {email!r} already exists")
        self.email = email


class UnknownAgentError(BotError):
    def __init__(self, email: str) -> None:
        super().__init__(f"unknown agent {email!r}")
        self.email = email


class AgentRuleError(BotError):
    """The change would lock the admins out (yourself, or the last enabled admin)."""


def clean_email(raw: object) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise AgentInputError("email", "required: the agent's email address")
    email = raw.strip().lower()
    if len(email) > MAX_EMAIL_CHARS or not EMAIL_RE.fullmatch(email):
        raise AgentInputError("email", f"not an email address: {email[:60]!r}")
    return email


def clean_name(raw: object) -> str:
    if not isinstance(raw, str) or not raw.strip():
        raise AgentInputError("name", "required: the name shoppers and agents see")
    name = " ".join(raw.split())
    if len(name) > MAX_NAME_CHARS:
        raise AgentInputError("name", f"at most {MAX_NAME_CHARS} characters (got {len(name)})")
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in name):
        raise AgentInputError("name", "must not contain control or format characters")
    return name


def clean_role(raw: object) -> str:
    if raw not in ROLES:
        shown = raw if isinstance(raw, str) else type(raw).__name__
        raise AgentInputError("role", f"unknown role {str(shown)[:40]!r}: one of {', '.join(ROLES)}")
    return str(raw)


def check_password(raw: object) -> str:
    if not isinstance(raw, str):
        raise AgentInputError("password", "required: the agent's initial password")
    if len(raw) < MIN_PASSWORD_CHARS:
        raise AgentInputError("password", f"at least {MIN_PASSWORD_CHARS} characters (got {len(raw)})")
    if len(raw) > MAX_PASSWORD_CHARS:
        raise AgentInputError("password", f"at most {MAX_PASSWORD_CHARS} characters (got {len(raw)})")
    return raw


class AgentsStore:
    def __init__(
        self,
        path: Path | str,
        configured: tuple[Agent, ...],
        *,
        production: bool = False,
        clock: Clock = time.time,
    ) -> None:
        self._db = open_db(path, SCHEMA)
        self._configured = {agent.email: agent for agent in configured}
        self._production = production
        self.clock = clock

    def shutdown(self) -> None:
        self._db.close()

    # --- reading ----------------------------------------------------------------------------------
    def _rows(self) -> dict[str, sqlite3.Row]:
        rows = self._db.execute("SELECT * FROM console_agents ORDER BY created_at, email").fetchall()
        return {row["email"]: row for row in rows}

    def _effective(self, rows: dict[str, sqlite3.Row]) -> list[tuple[Agent, bool, Source]]:
        found: list[tuple[Agent, bool, Source]] = []
        for email, agent in self._configured.items():
            row = rows.get(email)
            if row is None:
                found.append((agent, False, "config"))
            else:
                found.append(
                    (
                        Agent(email, agent.name, agent.password_hash, row["role"]),
                        bool(row["disabled"]),
                        "config",
                    )
                )
        for email, row in rows.items():
            if email in self._configured or row["password_hash"] is None:
                continue  # an override of a configured agent, or one that left the configuration
            if self._production and email in DEMO_EMAILS:
                continue
            found.append(
                (
                    Agent(email, row["name"], row["password_hash"], row["role"]),
                    bool(row["disabled"]),
                    "console",
                )
            )
        return found

    def records(self) -> list[AgentRecord]:
        """Every agent, configured ones first (in configuration order), then those added here."""
        return [
            AgentRecord(email=a.email, name=a.name, role=a.role, disabled=disabled, source=source)
            for a, disabled, source in self._effective(self._rows())
        ]

    def record(self, email: str) -> AgentRecord:
        for record in self.records():
            if record["email"] == email:
                return record
        raise UnknownAgentError(email)

    def enabled(self) -> list[Agent]:
        """Every agent who may use the console now, with their current role (configured ones first)."""
        return [agent for agent, disabled, _ in self._effective(self._rows()) if not disabled]

    def active(self, email: str) -> Agent | None:
        """The agent who may use the console under ``email`` (None when unknown or disabled)."""
        email = email.strip().lower()
        for agent, disabled, _ in self._effective(self._rows()):
            if agent.email == email:
                return None if disabled else agent
        return None

    def emails(self) -> frozenset[str]:
        return frozenset(agent.email for agent, _, _ in self._effective(self._rows()))

    # --- writing ----------------------------------------------------------------------------------
    @contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def add(self, email: str, name: str, role: str, password_hash: str, by: str) -> AgentRecord:
        """Adds an agent (fields already cleaned; ``password_hash`` from ``hash_password``)."""
        if self._production and email in DEMO_EMAILS:
            raise AgentInputError("email", f"{email!r} is a demo agent: refused in production")
        now = self.clock()
        with self._transaction():
            if email in self._configured or email in self._rows():
                raise AgentExistsError(email)
            self._db.execute(
                "INSERT INTO console_agents (email, name, role, password_hash, disabled, changed_by, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, 0, ?, ?, ?)",
                (email, name, role, password_hash, by, now, now),
            )
        return self.record(email)

    def update(
        self, email: str, by: str, *, role: str | None = None, disabled: bool | None = None
    ) -> AgentRecord:
        """Changes a role and / or the disabled flag; ``by`` (the admin acting) cannot lock themselves out."""
        with self._transaction():
            rows = self._rows()
            current = {a.email: (a, off) for a, off, _ in self._effective(rows)}
            if email not in current:
                raise UnknownAgentError(email)
            agent, was_disabled = current[email]
            new_role = agent.role if role is None else role
            new_disabled = was_disabled if disabled is None else disabled
            if email == by and (new_role != "admin" or new_disabled) and agent.is_admin:
                raise AgentRuleError("you cannot demote or disable yourself: ask another admin")
            admins_left = [
                e
                for e, (a, off) in current.items()
                if (e != email and a.is_admin and not off)
                or (e == email and new_role == "admin" and not new_disabled)
            ]
            if not admins_left:
                raise AgentRuleError(f"{email} is the last enabled admin: there must always be one")
            now = self.clock()
            if email in rows:
                self._db.execute(
                    "UPDATE console_agents SET role = ?, disabled = ?, changed_by = ?, updated_at = ? WHERE email = ?",
                    (new_role, int(new_disabled), by, now, email),
                )
            else:  # the first change to a configured agent: an override row
                self._db.execute(
                    "INSERT INTO console_agents (email, name, role, password_hash, disabled, changed_by, created_at,"
                    " updated_at) VALUES (?, ?, ?, NULL, ?, ?, ?, ?)",
                    (email, agent.name, new_role, int(new_disabled), by, now, now),
                )
        return self.record(email)


def new_password_hash(password: str) -> str:
    """scrypt (slow on purpose: call it in an executor)."""
    return hash_password(password)
