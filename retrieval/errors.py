"""Errors raised by the retrieval package.

RetrievalError
 ├── ConfigError                 bad configuration value (factory string, metric, model, preset)
 ├── EncoderError                the embedding model cannot be loaded or used
 ├── IndexMissingError           no saved index at a path
 ├── IndexMetaMismatchError      a saved index does not match what the caller expects (model, dimension…)
 ├── IndexCorruptError           a saved index is incomplete or inconsistent with its meta.json
 ├── DuplicateIdError            two items share an id
 ├── UnknownItemError            an id that is not in the index
 ├── CatalogError                a catalog file cannot be imported (names the file, row and field)
 ├── QueryError                  a shopper query cannot be searched (empty, too long)
 └── FilterError                 a filter understood from the message is impossible ("under -5", "between 9 and 3")
"""

from __future__ import annotations

from collections.abc import Iterable


class RetrievalError(Exception):
    """Base class of every error raised by :mod:`retrieval`."""


class ConfigError(RetrievalError, ValueError):
    def __init__(self, field: str, value: object, valid: Iterable[object] | str) -> None:
        valid_text = valid if isinstance(valid, str) else ", ".join(repr(v) for v in valid)
        super().__init__(f"invalid {field} {value!r}; valid: {valid_text}")
        self.field = field
        self.value = value


class EncoderError(RetrievalError):
    pass


class IndexMissingError(RetrievalError, FileNotFoundError):
    def __init__(self, path: object) -> None:
        super().__init__(f"no index at {path} (build it with `python -m retrieval.build`)")
        self.path = path


class IndexMetaMismatchError(RetrievalError):
    def __init__(self, path: object, field: str, expected: object, found: object) -> None:
        super().__init__(
            f"index at {path} was built with {field}={found!r} but {field}={expected!r} is configured; "
            "rebuild the index (`python -m retrieval.build`) or configure the matching value"
        )
        self.path = path
        self.field = field
        self.expected = expected
        self.found = found


class IndexCorruptError(RetrievalError):
    def __init__(self, path: object, problem: str) -> None:
        super().__init__(f"index at {path} is inconsistent: {problem}")
        self.path = path


class DuplicateIdError(RetrievalError, ValueError):
    def __init__(self, item_id: str, where: str = "") -> None:
        super().__init__(f"duplicate id {item_id!r}{' ' + where if where else ''}")
        self.item_id = item_id


class UnknownItemError(RetrievalError, KeyError):
    def __init__(self, item_id: str) -> None:
        super().__init__(f"unknown item id {item_id!r}")
        self.item_id = item_id

    def __str__(self) -> str:  # KeyError quotes its message otherwise
        return str(self.args[0])


class CatalogError(RetrievalError, ValueError):
    def __init__(
        self, source: object, problem: str, row: int | None = None, field: str | None = None
    ) -> None:
        where = str(source)
        if row is not None:
            where += f", row {row}"
        if field is not None:
            where += f", field {field!r}"
        super().__init__(f"{where}: {problem}")
        self.source = source
        self.row = row
        self.field = field


class QueryError(RetrievalError, ValueError):
    def __init__(self, reason: str, problem: str) -> None:
        super().__init__(problem)
        self.reason = reason  # "empty" | "too_long" | "no_letters"


class FilterError(RetrievalError, ValueError):
    def __init__(self, text: str, problem: str) -> None:
        super().__init__(f"{problem} (in {text!r})")
        self.text = text
        self.problem = problem
