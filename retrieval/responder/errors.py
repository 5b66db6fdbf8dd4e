"""Errors raised by the responder (the fine-tuned cross-encoder re-ranker).

ResponderError (a :class:`retrieval.errors.RetrievalError`)
 ├── ResponderConfigError        a bad configuration value (preset, threshold, device); names the valid set
 ├── CheckpointMissingError      no trained responder at a path (callers fall back to the bi-encoder)
 ├── CheckpointCorruptError      a checkpoint whose files are missing, unreadable or inconsistent
 ├── BaseModelMismatchError      a checkpoint fine-tuned from another base model than the one configured
 ├── ResponderInputError         a query or candidate list that cannot be scored (empty query, too many passages)
 └── TrainingDataError           responder training data that is missing, empty or inconsistent with its manifest
"""

from __future__ import annotations

from collections.abc import Iterable

from retrieval.errors import RetrievalError


class ResponderError(RetrievalError):
    """Base class of every error raised by :mod:`retrieval.responder`."""


class ResponderConfigError(ResponderError, ValueError):
    def __init__(self, field: str, value: object, valid: Iterable[object] | str) -> None:
        valid_text = valid if isinstance(valid, str) else ", ".join(repr(v) for v in valid)
        super().__init__(f"invalid {field} {value!r}; valid: {valid_text}")
        self.field = field
        self.value = value


class CheckpointMissingError(ResponderError, FileNotFoundError):
    def __init__(self, path: object) -> None:
        super().__init__(
            f"no trained responder at {path} "
            "(train it with `python -m retrieval.responder.training.train` or `make responder`)"
        )
        self.path = path


class CheckpointCorruptError(ResponderError):
    def __init__(self, path: object, problem: str) -> None:
        super().__init__(f"responder checkpoint at {path} is unusable: {problem}; retrain it with --force")
        self.path = path
        self.problem = problem


class BaseModelMismatchError(ResponderError):
    def __init__(self, path: object, field: str, expected: object, found: object) -> None:
        super().__init__(
            f"responder checkpoint at {path} has {field}={found!r} but {field}={expected!r} is configured; "
            "retrain the responder for the configured base model or configure the matching one"
        )
        self.path = path
        self.field = field
        self.expected = expected
        self.found = found


class ResponderInputError(ResponderError, ValueError):
    def __init__(self, reason: str, problem: str) -> None:
        super().__init__(problem)
        self.reason = reason  # "empty_query" | "too_many_passages" | "not_text"


class TrainingDataError(ResponderError):
    def __init__(self, path: object, problem: str) -> None:
        super().__init__(f"responder training data at {path}: {problem}")
        self.path = path
        self.problem = problem
