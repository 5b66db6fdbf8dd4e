"""Complaints and reviews: acknowledge, record through the order store, never fail the turn.

For a complaint the rules then offer a person (utter_offer_human); a review just gets a thank-you.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import verified_order_number
from actions.services import services
from shop import StoreError
from shop.errors import InvalidIdentifierError, NotFoundError

logger = logging.getLogger(__name__)

MAX_FEEDBACK_CHARS = 2000
_WORD_RATINGS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5}
_RATING = re.compile(
    r"\b(?P<n>[1-5]|one|two|three|four|five)\s*(?:/\s*5|out of 5|out of five|stars?)\b", re.IGNORECASE
)


def feedback_kind(intent: str | None) -> str:
    return "complaint" if intent == "complaint" else "review"


def parse_rating(text: str) -> int | None:
    """``"five stars"`` / ``"4/5"`` / ``"3 out of 5"`` -> 1..5; anything else -> None."""
    match = _RATING.search(text)
    if not match:
        return None
    raw = match.group("n").lower()
    return _WORD_RATINGS.get(raw) or int(raw)


def order_reference(tracker: Tracker) -> str | None:
    """The order verified in this conversation, if any. An order number the shopper only mentioned is not
    attached: anyone can type one, and the feedback would then sit on a stranger's order."""
    return verified_order_number(tracker)


class ActionRecordFeedback(Action):
    def name(self) -> str:
        return "action_record_feedback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        latest: dict[str, Any] = tracker.latest_message or {}
        kind = feedback_kind((latest.get("intent") or {}).get("name"))
        text = str(latest.get("text") or "").strip()[:MAX_FEEDBACK_CHARS]
        rating = parse_rating(text) if kind == "review" else None
        saved = self._record(kind, text, order_reference(tracker), tracker.sender_id, rating)
        if not saved:
            dispatcher.utter_message(response="utter_feedback_not_saved")
        elif kind == "complaint":
            dispatcher.utter_message(response="utter_complaint_received")
        else:
            dispatcher.utter_message(response="utter_review_thanks")
        return []

    @staticmethod
    def _record(kind: str, text: str, order: str | None, conversation_id: str, rating: int | None) -> bool:
        try:
            store = services().store
            try:
                store.record_feedback(kind, text, order, conversation_id, rating)  # type: ignore[arg-type]
            except (InvalidIdentifierError, NotFoundError):
                # the shopper mentioned an order id that is malformed or unknown: keep the feedback anyway
                logger.info(
                    "feedback in %s names an unusable order reference; saving without it", conversation_id
                )
                store.record_feedback(kind, text, None, conversation_id, rating)  # type: ignore[arg-type]
        except StoreError:
            logger.exception("could not record %s for %s", kind, conversation_id)
            return False
        except Exception:  # the store could not even be opened; never let it reach rasa-sdk
            logger.exception("order store unavailable while recording %s for %s", kind, conversation_id)
            return False
        logger.info("recorded %s for %s", kind, conversation_id)
        return True
