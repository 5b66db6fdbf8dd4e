"""Low-confidence handling: ask to rephrase once, offer a person on the second fallback in a row.

The action only decides; the rules in training_data/rules/general.yml act on the ``fallback_next`` slot
(``rephrase`` -> utter_ask_rephrase, ``offer_human`` -> utter_offer_human -> affirm/deny).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

logger = logging.getLogger(__name__)

FALLBACK_INTENT = "nlu_fallback"
FALLBACK_SLOT = "fallback_next"
REPHRASE = "rephrase"
OFFER_HUMAN = "offer_human"
# Fallbacks in a row (including the current one) at which a person is offered.
OFFER_HUMAN_AFTER = 2

_SESSION_BOUNDARIES = frozenset({"session_started", "restart"})


def fallback_streak(events: Iterable[Mapping[str, Any]]) -> int:
    """How many of the latest user messages in a row were low-confidence (``nlu_fallback``).

    Walks the events backwards and stops at the first user message with another intent, or at a session
    start / restart. Bot utterances and actions between the messages don't break the streak.
    """
    streak = 0
    for event in reversed(list(events)):
        kind = event.get("event")
        if kind in _SESSION_BOUNDARIES:
            break
        if kind != "user":
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if intent != FALLBACK_INTENT:
            break
        streak += 1
    return streak


def next_step(streak: int) -> str:
    return OFFER_HUMAN if streak >= OFFER_HUMAN_AFTER else REPHRASE


class ActionFallback(Action):
    def name(self) -> str:
        return "action_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        try:
            streak = fallback_streak(tracker.events)
        except (AttributeError, TypeError):  # malformed events: never fail the turn
            logger.exception("could not read the tracker's events; asking to rephrase")
            streak = 1
        step = next_step(streak)
        logger.info("nlu fallback #%s in a row in %s -> %s", streak, tracker.sender_id, step)
        return [SlotSet(FALLBACK_SLOT, step)]
