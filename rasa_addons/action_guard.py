"""Action-server failures are never silence: the shopper gets `utter_technical_problem` and can try again.

Rasa 3.6 runs a custom action (or a form, whose validation is a custom action) through `RemoteAction.run`; when
the action server is down, restarting, too slow or answers an error (401 included), the processor logs the
exception and carries on with no events — the shopper gets `[]`. serve.py installs `install()` before Rasa
starts: the action lookup then hands out fail-safe subclasses whose `run` turns any such failure into

    BotUttered(utter_technical_problem), UserUtteranceReverted(), FollowupAction("action_listen")

so the shopper hears what happened, the whole turn is undone (no half-applied events: the tracker looks as it
did before the message, slots included) and Rasa listens again. Once the action server is back, sending the
message again carries on where the conversation was.

A 400 from the action server (`ActionExecutionRejection`, a form rejecting the slot) keeps Rasa's handling.

Our `action_session_start` is a custom action too, but it runs before the shopper's message is logged: undoing
"the turn" there would swallow the message. When it fails, Rasa's built-in session start runs instead (a new
session without carried-over slots, the safe default) and the message is handled as usual — a later custom
action that fails then gives the technical-problem reply.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Callable, List, Optional, Text

from rasa.core.actions import action as rasa_action
from rasa.core.actions.action import (
    ActionBotResponse,
    ActionExecutionRejection,
    ActionSessionStart,
    RemoteAction,
)
from rasa.core.actions.forms import FormAction
from rasa.shared.core.constants import ACTION_LISTEN_NAME, ACTION_SESSION_START_NAME
from rasa.shared.core.events import BotUttered, Event, FollowupAction, UserUtteranceReverted
from rasa.shared.exceptions import RasaException

logger = logging.getLogger(__name__)

TECHNICAL_PROBLEM_RESPONSE = "utter_technical_problem"
# Used only when the loaded model's domain lacks the response (a model trained before it existed): silence is
# worse than a sentence outside the domain.
FALLBACK_TEXT = "I'm having a technical problem right now — please send your message again in a moment."
DEFAULT_TIMEOUT_S = 30.0


async def technical_problem_events(
    output_channel: Any, nlg: Any, tracker: Any, domain: Any, action_name: Text, error: BaseException
) -> List[Event]:
    """The events that replace a failed action's: the apology, the turn undone, listening again."""
    logger.error(
        "action %s failed (%s: %s); the shopper gets %s and the turn is undone",
        action_name,
        type(error).__name__,
        error,
        TECHNICAL_PROBLEM_RESPONSE,
    )
    utterance: List[Event] = []
    if TECHNICAL_PROBLEM_RESPONSE in domain.responses:
        utterance = await ActionBotResponse(TECHNICAL_PROBLEM_RESPONSE).run(
            output_channel, nlg, tracker, domain
        )
    if not utterance:
        utterance = [BotUttered(FALLBACK_TEXT, metadata={"utter_action": TECHNICAL_PROBLEM_RESPONSE})]
    return [*utterance, UserUtteranceReverted(), FollowupAction(ACTION_LISTEN_NAME)]


class _FailSafe:
    """Mixin: run the action; on any failure but a rejection, answer with technical_problem_events."""

    timeout_s: float = DEFAULT_TIMEOUT_S

    async def run(self, output_channel: Any, nlg: Any, tracker: Any, domain: Any) -> List[Event]:
        try:
            return await asyncio.wait_for(
                super().run(output_channel, nlg, tracker, domain),  # type: ignore[misc]
                timeout=self.timeout_s,
            )
        except ActionExecutionRejection:
            raise
        except Exception as error:  # connection refused, reset, timeout, 401/5xx, a malformed answer
            if self.name() == ACTION_SESSION_START_NAME:  # type: ignore[attr-defined]
                logger.error(
                    "custom %s failed (%s: %s); starting the session with Rasa's default",
                    ACTION_SESSION_START_NAME,
                    type(error).__name__,
                    error,
                )
                return await ActionSessionStart().run(output_channel, nlg, tracker, domain)
            return await technical_problem_events(
                output_channel,
                nlg,
                tracker,
                domain,
                self.name(),
                error,  # type: ignore[attr-defined]
            )


class FailSafeRemoteAction(_FailSafe, RemoteAction):
    """A custom action that never fails silently."""


class FailSafeFormAction(_FailSafe, FormAction):
    """A form (its validation runs on the action server) that never fails silently."""


class BoundedSlotMappingAction(RemoteAction):
    """The custom actions Rasa's ``action_extract_slots`` calls itself on every user turn (custom slot mappings,
    ``action_validate_slot_mappings``: the mood's scorer) — built there as a plain ``RemoteAction``, never through
    the lookup above. Bounded by the same timeout; a failure becomes a ``RasaException``, which
    ``action_extract_slots`` logs and answers by setting no slots, so the turn goes on without the mood."""

    async def run(self, output_channel: Any, nlg: Any, tracker: Any, domain: Any) -> List[Event]:
        try:
            return await asyncio.wait_for(
                super().run(output_channel, nlg, tracker, domain), timeout=_FailSafe.timeout_s
            )
        except RasaException:
            raise
        except Exception as error:  # timeout, connection refused, a malformed answer
            raise RasaException(
                f"custom action {self.name()!r} failed: {type(error).__name__}: {error}"
            ) from error


_original_lookup: Optional[Callable[..., Any]] = None


def install(timeout_s: float = DEFAULT_TIMEOUT_S) -> None:
    """Make Rasa's action lookup hand out the fail-safe actions (idempotent; call before Rasa starts)."""
    global _original_lookup
    _FailSafe.timeout_s = timeout_s
    if _original_lookup is not None:
        return
    original = rasa_action.action_for_name_or_text
    _original_lookup = original

    def lookup(action_name_or_text: Text, domain: Any, action_endpoint: Any) -> Any:
        found = original(action_name_or_text, domain, action_endpoint)
        if type(found) in (RemoteAction, BoundedSlotMappingAction):
            return FailSafeRemoteAction(found.name(), action_endpoint)
        if type(found) is FormAction:
            return FailSafeFormAction(found.name(), action_endpoint)
        return found

    rasa_action.action_for_name_or_text = lookup
    # ActionExtractSlots._run_custom_action builds ``RemoteAction(name, endpoint)`` from this module's global
    rasa_action.RemoteAction = BoundedSlotMappingAction  # type: ignore[misc]
