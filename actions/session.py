"""``action_session_start``: what a new session keeps from the last one.

A new session starts after ``session_expiration_time`` of inactivity (domain/core.yml) — often the next
person at a shared computer, since the widget keeps its conversation id. So a new session keeps only what
reveals nothing about a shopper and is useful to carry on: the cart (product ids and quantities), the product
being discussed and an open handoff (a conversation an agent holds stays with the agent). Everything else
starts empty: the verified order and its proof, the email, the customer id and name, the order in hand, the
checkout address and the placed order. (Rasa's own carry-over is off: ``carry_over_slots_to_new_session:
false``.)
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, EventType, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

CARRIED_OVER = ("cart", "shown_product_id", "handoff_status")


class ActionSessionStart(Action):
    def name(self) -> str:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        events: list[EventType] = [SessionStarted()]
        for slot in CARRIED_OVER:
            value: Any = tracker.get_slot(slot)
            if value is not None:
                events.append(SlotSet(slot, value))
        metadata = tracker.get_slot("session_started_metadata")
        if metadata is not None:
            events.append(SlotSet("session_started_metadata", metadata))
        events.append(ActionExecuted("action_listen"))
        return events
