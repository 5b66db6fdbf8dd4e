"""``action_check_order_record``: "is my order record intact?", for the shopper's own verified order only.

The ledger work (queueing, recording, checking, reconnecting) is ``ledger.gateway.LedgerGateway``, reached through
``actions.services``; this module only asks it and picks the response.
"""

from __future__ import annotations

import logging

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import verified_order
from actions.products import in_executor
from actions.services import services
from ledger.errors import LedgerError

logger = logging.getLogger(__name__)

RESPONSES = {
    "intact": "utter_ledger_intact",
    "pending": "utter_ledger_pending",
    "tampered": "utter_ledger_tampered",
    "missing": "utter_ledger_missing",
    "orphaned": "utter_ledger_missing",
}


class ActionCheckOrderRecord(Action):
    """ "Is my order record intact?" — for the verified order of this conversation, with its receipt."""

    def name(self) -> str:
        return "action_check_order_record"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        order = verified_order(tracker)
        if order is None:
            dispatcher.utter_message(response="utter_ledger_need_verified_order")
            return []
        try:
            check = await in_executor(services().ledger.check, order)
        except LedgerError:
            logger.exception("ledger check of %s failed", order.number)
            dispatcher.utter_message(response="utter_ledger_unreachable", order_number=order.number)
            return []
        if check.status != "intact":
            logger.warning("ledger check of %s: %s (%s)", order.number, check.status, check.detail)
        dispatcher.utter_message(
            response=RESPONSES[check.status],
            order_number=order.number,
            tx_hash=check.tx_hash or "-",
            record_id=check.record_id,
        )
        return []
