"""The mood on the action server: every shopper message scored, the conversation's mood kept, a person offered.

Two actions, both run by Rasa's ``action_extract_slots`` after every user message, before the policies pick the
turn's answer:

- ``action_track_mood`` — the custom mapping of the slot ``mood`` (domain/mood.yml): scores the message, sets
  ``mood`` and ``mood_trace``, answers an open offer and decides a new one (``mood_offer: offered``). Rasa keeps
  only the *slot* events of a custom mapping's action (``ActionExtractSlots._execute_validation_action`` filters
  its ``BotUttered`` out), so it cannot say anything itself.
- ``action_validate_slot_mappings`` — Rasa's slot-validation hook, run right after on the tracker *with* this
  step's slot events; its utterances are kept and sent at once. It utters ``utter_offer_human_mood`` when this
  step set ``mood_offer: offered``: the offer reaches the shopper in the same reply, *before* the turn's own
  answer, rendered with the language this message set (docs/mood.md shows the live check).

The scorer (``services().sentiment``, built once at start from ``SENTIMENT_DIR``) is synchronous and CPU-bound:
it runs in the loop's worker threads. A scorer error is logged and changes nothing; the turn goes on.
The rules themselves (smoothing, hysteresis, when an offer is blocked) are pure functions in
``actions.mood_rules``.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.mood_rules import (
    ACCEPTED,
    FLOW_OFFER_ACTIONS,
    OFFERED,
    armed,
    blocked,
    clean_trace,
    judgeable,
    offer_outcome,
    step,
)
from actions.services import services
from sentiment.types import Prediction

logger = logging.getLogger(__name__)

MOOD = "mood"
MOOD_TRACE = "mood_trace"
MOOD_OFFER = "mood_offer"
HANDOFF_STATUS = "handoff_status"  # actions.handoff sets it (queued / offline); the console clears it
FALLBACK_NEXT = "fallback_next"  # actions.fallback sets it (answered / rephrase / offer_human)
OFFER_RESPONSE = "utter_offer_human_mood"


def latest_user_ts(tracker: Tracker) -> float:
    """The timestamp of the shopper's latest message (the console matches trace entries to its transcript)."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return float(event.get("timestamp") or 0.0)
    return 0.0


def last_offer_ts(tracker: Tracker) -> float | None:
    """When a person was last offered in this conversation: the mood's offer (its ``mood_offer: offered`` slot
    event) or a flow's (the ``utter_offer_human`` action of the complaint and fallback rules)."""
    latest: float | None = None
    for event in tracker.events:
        kind = event.get("event")
        mood_offer = kind == "slot" and event.get("name") == MOOD_OFFER and event.get("value") == OFFERED
        if mood_offer or (kind == "action" and event.get("name") in FLOW_OFFER_ACTIONS):
            latest = float(event.get("timestamp") or 0.0)
    return latest


def last_fallback_step(tracker: Tracker) -> object:
    """``fallback_next`` as action_fallback set it for the shopper's previous message, or None when that message
    was no low-confidence one (the slot itself keeps its value across later turns)."""
    users = [e for e in tracker.events if e.get("event") == "user"]
    if len(users) < 2:
        return None
    previous = ((users[-2].get("parse_data") or {}).get("intent") or {}).get("name")
    return tracker.get_slot(FALLBACK_NEXT) if previous == "nlu_fallback" else None


def offered_in_this_step(tracker: Tracker) -> bool:
    """Whether ``mood_offer: offered`` was set after the latest user event (by action_track_mood, this step)."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "slot" and event.get("name") == MOOD_OFFER:
            return bool(event.get("value") == OFFERED)
    return False


def accepted_mood_offer(tracker: Tracker) -> bool:
    """Whether the shopper accepted the mood's offer of a person with their latest message (action_handoff's
    reason "mood"): ``mood_offer`` was set to ``accepted`` after the latest user event."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "slot" and event.get("name") == MOOD_OFFER:
            return bool(event.get("value") == ACCEPTED)
    return False


class ActionTrackMood(Action):
    def name(self) -> str:
        return "action_track_mood"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        message = tracker.latest_message or {}
        intent = (message.get("intent") or {}).get("name")
        events: list[EventType] = []
        current_offer = tracker.get_slot(MOOD_OFFER)
        outcome = offer_outcome(current_offer, intent)
        if outcome != current_offer:
            events.append(SlotSet(MOOD_OFFER, outcome))
        text = judgeable(message.get("text"))
        if text is None:
            return events
        prediction = await self._score(text, tracker.sender_id)
        if prediction is None or not prediction.judged:
            return events
        config = services().settings.mood
        previous = tracker.get_slot(MOOD)
        moved = step(
            float(previous) if isinstance(previous, (int, float)) else None,
            clean_trace(tracker.get_slot(MOOD_TRACE)),
            prediction,
            latest_user_ts(tracker),
            config,
        )
        events += [SlotSet(MOOD, round(moved.mood, 4)), SlotSet(MOOD_TRACE, moved.trace)]
        if moved.trigger is None or not config.offers:
            return events
        if not armed(moved.trace, last_offer_ts(tracker), config):
            logger.debug(
                "mood %.2f (%s) in %s: offered already", moved.mood, moved.trigger, tracker.sender_id
            )
            return events
        reason = blocked(
            intent,
            tracker.get_slot(HANDOFF_STATUS),
            tracker.active_loop_name,
            last_fallback_step(tracker),
        )
        if reason is not None:
            logger.info(
                "mood %.2f (%s) in %s: no offer, %s", moved.mood, moved.trigger, tracker.sender_id, reason
            )
            return events
        logger.info("mood %.2f (%s) in %s: offering a person", moved.mood, moved.trigger, tracker.sender_id)
        events.append(SlotSet(MOOD_OFFER, OFFERED))  # uttered by action_validate_slot_mappings, next
        return events

    @staticmethod
    async def _score(text: str, sender_id: str) -> Prediction | None:
        """The scorer's judgement of ``text``, off the event loop; None (logged) when the scorer fails."""
        scorer = services().sentiment
        loop = asyncio.get_running_loop()
        try:
            predictions: list[Any] = await loop.run_in_executor(None, scorer.predict, [text])
            prediction = predictions[0]
            if not isinstance(prediction, Prediction):
                raise TypeError(
                    f"scorer {scorer.name!r} returned {type(prediction).__name__}, not a Prediction"
                )
        except Exception:  # any scorer failure: the mood stays as it was, the turn goes on
            logger.exception(
                "sentiment scorer %s failed in %s; the mood is unchanged", scorer.name, sender_id
            )
            return None
        return prediction


class ActionDeliverMoodOffer(Action):
    """Rasa's ``action_validate_slot_mappings``: utters the mood's offer that ``action_track_mood`` decided in
    this step. It validates no slot (an extracted slot it returns nothing for counts as valid)."""

    def name(self) -> str:
        return "action_validate_slot_mappings"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if offered_in_this_step(tracker):
            dispatcher.utter_message(response=OFFER_RESPONSE)
        return []
