"""Per-message cost cuts in the Rasa process, installed by rasa_addons.serve before Rasa starts.

What the profile of a message showed (docs/benchmarks.md, "per-message cost and cold start"):

- `RemoteAction._validate_action_result` calls `jsonschema.validate(result, schema)` on every action-server
  answer. That checks the (large) events schema against its meta-schema and builds a new validator each time;
  `install_validator_cache()` builds the validator once and reuses it. The same errors come out (jsonschema's
  `best_match` of the same validator class, with Rasa's hint appended), so a bad answer is refused as before.
- Rasa's HTTP API validates the events of ``POST /conversations/<id>/tracker/events`` (the console's agent replies)
  the same way, per request; `install_events_validator_cache()` builds that validator once too.
- TensorFlow, OpenMP and BLAS each start a thread pool as wide as the machine; on a small box beside the action
  server that oversubscribes the cores. `limit_threads(n, env)` caps them for this process before TF loads
  (`RASA_THREADS`, default 1: Rasa handles one message at a time on its event loop).
"""

from __future__ import annotations

import logging
from typing import Any, Dict, MutableMapping, Text

logger = logging.getLogger(__name__)

THREAD_VARIABLES = (
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
)


def limit_threads(threads: int, env: MutableMapping[str, str]) -> None:
    """Cap the numeric libraries' thread pools of this process at `threads` (must run before they load)."""
    if threads < 1:
        raise ValueError(f"threads={threads!r}: expected a whole number of at least 1")
    for name in THREAD_VARIABLES:
        env[name] = str(threads)


def install_validator_cache() -> None:
    """Validate action-server answers with one validator built once, instead of one per answer."""
    from jsonschema import ValidationError
    from jsonschema.exceptions import best_match
    from rasa.core.actions import action as rasa_action
    from rasa.shared.constants import DOCS_BASE_URL

    # The class that defines the method: rasa_addons.action_guard rebinds the module's `RemoteAction` name to a
    # subclass, and the fail-safe actions derive from the original class, so patch where the method lives.
    RemoteAction = next(
        cls for cls in rasa_action.RemoteAction.__mro__ if "_validate_action_result" in vars(cls)
    )
    if getattr(RemoteAction._validate_action_result, "shopdesk_cached", False):
        return
    validator = _validator(RemoteAction.action_response_format_spec())

    def _validate_action_result(self: Any, result: Dict[Text, Any]) -> bool:
        error = best_match(validator.iter_errors(result))
        if error is None:
            return True
        error.message += (
            f". Failed to validate Action server response from API, "
            f"make sure your response from the Action endpoint is valid. "
            f"For more information about the format visit "
            f"{DOCS_BASE_URL}/custom-actions"
        )
        assert isinstance(error, ValidationError)
        raise error

    _validate_action_result.shopdesk_cached = True  # type: ignore[attr-defined]
    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]
    logger.debug("action-server answers are validated with a cached %s", type(validator).__name__)


def _validator(schema: Dict[str, Any]) -> Any:
    """The validator `jsonschema.validate(instance, schema)` builds (after checking the schema) on every call."""
    from jsonschema.validators import validator_for

    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def install_events_validator_cache() -> None:
    """Validate the events of Rasa's HTTP API (``POST /conversations/<id>/tracker/events``: every agent reply
    and hand-back from the console) with one validator built once: `rasa.server.validate_events_in_request_body`
    ran `jsonschema.validate` — schema check and a new validator — per request, a quarter of the Rasa process's
    CPU during handoffs. The same 400 with the same text for a bad body."""
    from http import HTTPStatus

    import rasa.server as rasa_server
    from jsonschema.exceptions import best_match

    if getattr(rasa_server.validate_events_in_request_body, "shopdesk_cached", False):
        return
    validator = _validator(rasa_server.EVENTS_SCHEMA)

    def validate_events_in_request_body(request: Any) -> None:
        events = request.json if isinstance(request.json, list) else [request.json]
        error = best_match(validator.iter_errors(events))
        if error is not None:
            raise rasa_server.ErrorResponse(
                HTTPStatus.BAD_REQUEST,
                "BadRequest",
                f"Failed to validate the events format. "
                f"For more information about the format visit the docs. Error: {error}",
                help_url=rasa_server._docs("/pages/http-api"),
            ) from error

    validate_events_in_request_body.shopdesk_cached = True  # type: ignore[attr-defined]
    rasa_server.validate_events_in_request_body = validate_events_in_request_body
