"""Low-confidence handling: retrieval before giving up, then ask to rephrase, then offer a person.

When the NLU is unsure (``nlu_fallback``) the action asks the knowledge base and the catalog
(:func:`actions.answers.look_up`): a confident KB entry is the answer, a confident product search shows its cards,
a plausible match gets 2–3 "did you mean" buttons. Only when retrieval finds nothing is it a *miss*: the first miss
asks to rephrase, the second miss in a row offers a person. The action utters the retrieval answers itself and
tells the rules in training_data/rules/general.yml what to do next through the ``fallback_next`` slot
(``answered`` -> listen, ``rephrase`` -> utter_ask_rephrase, ``offer_human`` -> utter_offer_human).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.answers import Found, look_up
from actions.language import Language, language_of
from actions.products import in_executor, latest_text, retrieval_service, show_found
from actions.services import services
from retrieval.errors import QueryError, RetrievalError

logger = logging.getLogger(__name__)

FALLBACK_INTENT = "nlu_fallback"
FALLBACK_SLOT = "fallback_next"
ANSWERED = "answered"
REPHRASE = "rephrase"
OFFER_HUMAN = "offer_human"
# Misses in a row (including the current one) at which a person is offered (FALLBACK_OFFER_HUMAN_AFTER).
OFFER_HUMAN_AFTER = 2

_SESSION_BOUNDARIES = frozenset({"session_started", "restart"})


def fallback_streak(events: Iterable[Mapping[str, Any]]) -> int:
    """How many of the latest user messages in a row were low-confidence *misses*.

    Walks the events backwards and stops at the first user message with another intent, at a low-confidence
    message that retrieval answered (``fallback_next`` set to ``answered`` after it), or at a session start /
    restart. Bot utterances and actions between the messages don't break the streak.
    """
    streak = 0
    outcome: Any = None  # the fallback_next value set after the user message being looked at
    for event in reversed(list(events)):
        kind = event.get("event")
        if kind in _SESSION_BOUNDARIES:
            break
        if kind == "slot" and event.get("name") == FALLBACK_SLOT:
            outcome = event.get("value")  # walking backwards: the earliest one after the message wins
            continue
        if kind != "user":
            continue
        intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
        if intent != FALLBACK_INTENT or outcome == ANSWERED:
            break
        streak += 1
        outcome = None
    return streak


def next_step(streak: int, offer_after: int = OFFER_HUMAN_AFTER) -> str:
    return OFFER_HUMAN if streak >= offer_after else REPHRASE


class ActionFallback(Action):
    def name(self) -> str:
        return "action_fallback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        found = await self._look_up(latest_text(tracker), language_of(tracker))
        if found.kind != "nothing":
            logger.info("nlu fallback in %s answered by retrieval (%s)", tracker.sender_id, found.kind)
            return [*self._utter(dispatcher, found, domain, tracker), SlotSet(FALLBACK_SLOT, ANSWERED)]
        try:
            streak = fallback_streak(tracker.events)
        except (AttributeError, TypeError):  # malformed events: never fail the turn
            logger.exception("could not read the tracker's events; asking to rephrase")
            streak = 1
        step = next_step(streak, services().settings.fallback_offer_human_after)
        logger.info("nlu fallback miss #%s in a row in %s -> %s", streak, tracker.sender_id, step)
        return [SlotSet(FALLBACK_SLOT, step)]

    @staticmethod
    async def _look_up(text: str, language: Language = "en") -> Found:
        if not text.strip() or text.lstrip().startswith("/"):
            return Found("nothing")
        try:
            return await in_executor(look_up, retrieval_service(), text, language)
        except QueryError as exc:  # empty, too long, no letters, another script: nothing to search with
            logger.debug("fallback text not searchable (%s)", exc.reason)
        except RetrievalError:
            logger.exception("retrieval unavailable for a fallback; asking to rephrase")
        return Found("nothing")

    @staticmethod
    def _utter(
        dispatcher: CollectingDispatcher, found: Found, domain: DomainDict, tracker: Tracker
    ) -> list[EventType]:
        if found.kind == "answer":
            dispatcher.utter_message(text=found.answer)
            return []
        if found.kind == "products" and found.search is not None:
            return show_found(dispatcher, found.search, domain, tracker)
        dispatcher.utter_message(response="utter_fallback_choices", buttons=found.buttons)
        return []
