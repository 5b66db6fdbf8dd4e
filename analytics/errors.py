"""Errors of the analytics package: a base class and leaves whose messages name the bad value."""

from __future__ import annotations


class AnalyticsError(Exception):
    """Base class of every error raised by ``analytics``."""


class ConfigError(AnalyticsError):
    """A setting with a bad value (names the variable, the value and what is expected)."""

    def __init__(self, name: str, value: object, expected: str) -> None:
        super().__init__(f"{name}={value!r} is not valid: expected {expected}")
        self.name = name
        self.value = value
        self.expected = expected


class UnknownTableError(AnalyticsError):
    """A table name that is not one of the exported tables."""

    def __init__(self, table: str, valid: tuple[str, ...]) -> None:
        super().__init__(f"unknown analytics table {table!r}: one of {', '.join(valid)}")
        self.table = table
