"""Errors of the bot web service.

BotError
├── ConfigError          a setting is missing, malformed, or a placeholder in production
├── AuthError            bad login or session (never says which of email/password was wrong)
├── HandoffNotFoundError unknown handoff id
├── HandoffStateError    the handoff is not in a state that allows the operation (claimed, closed…)
├── TicketNotFoundError  unknown ticket id
└── RasaError            the Rasa HTTP API refused or could not be reached
"""

from __future__ import annotations


class BotError(Exception):
    """Base class of every error raised by the bot package."""


class ConfigError(BotError):
    def __init__(self, name: str, value: object, expected: str) -> None:
        super().__init__(f"setting {name}={value!r} is invalid: expected {expected}")
        self.name = name
        self.value = value


class AuthError(BotError):
    pass


class HandoffNotFoundError(BotError):
    def __init__(self, handoff_id: str) -> None:
        super().__init__(f"unknown conversation {handoff_id!r}")
        self.handoff_id = handoff_id


class HandoffStateError(BotError):
    def __init__(self, handoff_id: str, status: str, allowed: tuple[str, ...], detail: str = "") -> None:
        message = f"conversation {handoff_id!r} is {status}; this needs one of {', '.join(allowed)}"
        super().__init__(f"{message} ({detail})" if detail else message)
        self.handoff_id = handoff_id
        self.status = status
        self.detail = detail


class TicketNotFoundError(BotError):
    def __init__(self, ticket_id: str) -> None:
        super().__init__(f"unknown ticket {ticket_id!r}")
        self.ticket_id = ticket_id


class RasaError(BotError):
    def __init__(self, what: str, status: int | None = None, detail: str = "") -> None:
        where = f"HTTP {status}" if status is not None else "unreachable"
        super().__init__(f"Rasa {what} failed ({where}){': ' + detail if detail else ''}")
        self.status = status
