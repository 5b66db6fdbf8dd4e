"""Queued handoffs time out: one nobody claimed within ``HANDOFF_QUEUE_TIMEOUT_S`` is closed.

The shopper is told the same way the console talks to them (bot events appended through Rasa's
tracker-events API, sent to their widget by ``execute_side_effects``), and the tracker is left exactly as
``action_handoff`` leaves it when nobody is available — ``action_handoff`` executed, the offer to leave a
message with the ``/affirm`` / ``/deny`` buttons, ``handoff_status=offline`` — after a ``resume``, so the bot
answers again and the existing rules take "leave a message" into the ticket form. The notice and the
button titles are in the conversation's language (the handoff's, kept current by ``bot.sync``).
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

from bot.errors import RasaError
from bot.hub import Hub
from bot.messages import offer_buttons
from bot.messages import text as shopper_text
from bot.periodic import run_every
from bot.rasa_client import RasaApi
from bot.store import HandoffStore
from bot.types import Handoff

logger = logging.getLogger(__name__)

TIMED_OUT = shopper_text("en", "queue_timed_out")
OFFER_BUTTONS = offer_buttons("en")


def timeout_events(msg_id: str, language: str = "en") -> list[dict[str, Any]]:
    return [
        {"event": "resume"},
        {"event": "action", "name": "action_handoff"},
        {
            "event": "bot",
            "text": shopper_text(language, "queue_timed_out"),
            "data": {"buttons": offer_buttons(language)},
            "metadata": {"shopdesk_role": "notice", "shopdesk_event": "left", "shopdesk_msg_id": msg_id},
        },
        {"event": "slot", "name": "handoff_status", "value": "offline"},
        {"event": "action", "name": "action_listen"},
    ]


class QueueTimeout:
    def __init__(
        self, store: HandoffStore, rasa: RasaApi, hub: Hub, timeout_s: float, check_every_s: float = 5.0
    ) -> None:
        self.store = store
        self.rasa = rasa
        self.hub = hub
        self.timeout_s = timeout_s
        self.check_every_s = check_every_s

    async def expire_one(self, handoff: Handoff) -> bool:
        if not self.store.expire(handoff["id"]):  # claimed meanwhile: the agent has it
            return False
        msg_id = uuid.uuid4().hex
        try:
            await self.rasa.append_events(
                handoff["conversation_id"], timeout_events(msg_id, handoff["language"])
            )
        except RasaError as error:
            self.store.requeue(handoff["id"])
            logger.warning("could not time out %s yet (Rasa HTTP %s)", handoff["id"], error.status)
            return False
        told = shopper_text(handoff["language"], "queue_timed_out")
        self.store.add_message(handoff["id"], "notice", told, self.store.clock(), msg_id)
        logger.info("%s timed out in the queue after %.0f s", handoff["id"], self.timeout_s)
        return True

    async def expire_once(self) -> int:
        """Closes every handoff queued for longer than the timeout; returns how many."""
        expired = 0
        for handoff in self.store.queued_before(self.store.clock() - self.timeout_s):
            expired += await self.expire_one(handoff)
        if expired:
            await self.hub.publish({"type": "queue"})
        return expired

    async def run(self) -> None:
        logger.info("queued handoffs time out after %.0f s", self.timeout_s)
        await run_every(min(self.check_every_s, self.timeout_s), self.expire_once, "queue timeout")
