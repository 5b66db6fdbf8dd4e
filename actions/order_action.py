"""The base of the actions that work on the order verified in this conversation."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import ORDER_STEP, ask_to_verify, verified_order, verified_order_number
from shop.errors import StoreError
from shop.model import Order

logger = logging.getLogger(__name__)


class VerifiedOrderAction(Action, ABC):
    """An action on the verified order that always ends its step (resets ``order_step``)."""

    def reset(self) -> list[EventType]:
        return [SlotSet(ORDER_STEP, None)]

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if verified_order_number(tracker) is None:  # never verified here, expired, or a forged slot
            return self.reset() + ask_to_verify(dispatcher)
        order = verified_order(tracker)
        if order is None:
            dispatcher.utter_message(response="utter_order_system_down")
            return self.reset()
        try:
            return self.reset() + self.act(dispatcher, tracker, order)
        except StoreError:
            logger.exception("%s failed for %s", self.name(), order.number)
            dispatcher.utter_message(response="utter_order_system_down")
            return self.reset()

    @abstractmethod
    def act(self, dispatcher: CollectingDispatcher, tracker: Tracker, order: Order) -> list[EventType]: ...
