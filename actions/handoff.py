"""Handing a conversation to a person: ``action_handoff``, and the leave-a-message ticket form.

``action_handoff`` sends the transcript and context (verified customer, their orders, cart) to the bot service
(``POST $HANDOFF_URL/api/handoff``, see docs/architecture.md), records the request in the order store, and
- when queued: tells the shopper their place and the expected wait, sets ``handoff_status=queued`` and pauses
  the bot (``ConversationPaused``) until an agent hands the conversation back;
- when no agent is online, outside business hours, or the service is unreachable: sets
  ``handoff_status=offline`` and offers to leave a message (``handoff_ticket_form`` → ``action_submit_ticket``).
"""

from __future__ import annotations

import logging
import math
import re
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ConversationPaused, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.common import verified_customer_id, verified_order_number
from actions.language import language_of
from actions.mood import accepted_mood_offer
from actions.services import services
from actions.settings import Settings
from shop.errors import StoreError

logger = logging.getLogger(__name__)

HANDOFF_STATUS = "handoff_status"
TICKET_EMAIL = "ticket_email"
TICKET_MESSAGE = "ticket_message"
TRANSCRIPT_LINES = 50
TIMEOUT_S = 5.0
EMAIL_RE = re.compile(r"[^@\s]{1,64}@[^@\s]{1,255}\.[^@\s]{2,63}")
CART_SLOTS = ("cart", "cart_items")

# why nobody can take the conversation -> the response that says so and offers a ticket (domain/handoff.yml)
OFFLINE_RESPONSES = {
    "closed": "utter_handoff_offline_closed",
    "no_agent": "utter_handoff_offline_no_agent",
    "unreachable": "utter_handoff_offline_unreachable",
}


def transcript(tracker: Tracker, limit: int = TRANSCRIPT_LINES) -> list[dict[str, Any]]:
    """The last user/bot lines as ``{role, text, ts}`` (the bot service's wire shape)."""
    lines = []
    for event in tracker.events:
        kind = event.get("event")
        text = event.get("text")
        if kind in ("user", "bot") and isinstance(text, str) and text:
            role = "shopper" if kind == "user" else "bot"
            lines.append({"role": role, "text": text[:4000], "ts": float(event.get("timestamp") or 0.0)})
    return lines[-limit:]


def handoff_reason(tracker: Tracker) -> str:
    if accepted_mood_offer(tracker):  # "Yes, a person" under the mood's offer (actions/mood.py)
        return "mood"
    intent = (tracker.latest_message or {}).get("intent", {}).get("name")
    if intent in ("contact_human_agent", "contact_customer_service"):
        return str(intent)
    if tracker.get_slot("fallback_next") == "offer_human":
        return "two fallbacks in a row"
    recent = [
        e.get("parse_data", {}).get("intent", {}).get("name")
        for e in tracker.events[-20:]
        if e.get("event") == "user"
    ]
    if "complaint" in recent:
        return "complaint"
    return "offer of a person accepted"


def context(tracker: Tracker) -> dict[str, Any]:
    """Verified customer, their recent orders (or the verified order), the verified order's number, and the cart,
    from the order store."""
    order_number = verified_order_number(tracker)  # only what was verified in this conversation
    customer_id = verified_customer_id(tracker)
    # verified_order: the order at hand (the console's risk signals compare its refunds with its total)
    found: dict[str, Any] = {
        "customer": None,
        "orders": [],
        "cart": [],
        "verified_order": order_number or None,
    }
    try:
        store = services().store
        if isinstance(customer_id, str) and customer_id:
            customer = store.get_customer(customer_id)
            found["customer"] = {"id": customer.id, "name": customer.name, "email": customer.email}
            orders = store.orders_for_customer(customer_id)[:5]
        elif isinstance(order_number, str) and order_number:
            orders = [store.get_order(order_number)]
        else:
            orders = []
        found["orders"] = [
            {
                "number": o.number,
                "status": o.status,
                "total": f"{o.total_minor / 100:.2f} {o.currency}",
                "created_at": o.created_at.isoformat(),
            }
            for o in orders
        ]
    except StoreError:
        logger.exception("handoff context could not be loaded")
    for name in CART_SLOTS:
        cart = tracker.slots.get(name)
        if isinstance(cart, list):
            found["cart"] = cart
            break
    return found


def wait_minutes(seconds: int) -> int:
    return max(1, math.ceil(seconds / 60))


async def post_json(url: str, token: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    import aiohttp

    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        async with session.post(url, json=body, headers={"Authorization": f"Bearer {token}"}) as response:
            try:
                data = await response.json(content_type=None)
            except ValueError:
                data = {}
            return response.status, data if isinstance(data, dict) else {}


class ActionHandoff(Action):
    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings

    def name(self) -> str:
        return "action_handoff"

    @property
    def settings(self) -> Settings:
        return self._settings or services().settings

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        import aiohttp

        reason = handoff_reason(tracker)
        try:
            services().store.record_handoff_request(tracker.sender_id, reason)
        except StoreError:
            logger.exception("could not record the handoff request of %s", tracker.sender_id)
        body = {
            "conversation_id": tracker.sender_id,
            "reason": reason,
            "transcript": transcript(tracker),
            "context": context(tracker),
            "language": language_of(tracker),  # the console's badge and the notices' language from the start
        }
        offline_reason = "unreachable"
        try:
            status, reply = await post_json(
                f"{self.settings.handoff_url}/api/handoff", self.settings.handoff_token, body
            )
            if status == 200 and reply.get("status") == "queued":
                minutes = wait_minutes(int(reply.get("wait_seconds") or 0))
                dispatcher.utter_message(
                    shopdesk_event="queued",  # the widget shows "waiting for a person" (bot/rasa_channel.py)
                    response="utter_handoff_queued_one_minute" if minutes == 1 else "utter_handoff_queued",
                    position=int(reply.get("position") or 1),
                    minutes=minutes,
                )
                return [SlotSet(HANDOFF_STATUS, "queued"), ConversationPaused()]
            if status == 200:
                offline_reason = str(reply.get("reason") or "no_agent")
            else:
                logger.error("handoff service answered HTTP %s", status)
                logger.debug("handoff service reply: %s", reply)  # may echo the transcript: DEBUG only
        except (aiohttp.ClientError, TimeoutError) as error:
            logger.error("handoff service unreachable at %s: %s", self.settings.handoff_url, error)
        # the response's buttons: "Leave a message" (/affirm), "No, thanks" (/deny)
        dispatcher.utter_message(
            response=OFFLINE_RESPONSES.get(offline_reason, OFFLINE_RESPONSES["no_agent"])
        )
        events: list[EventType] = [SlotSet(HANDOFF_STATUS, "offline")]
        email = tracker.get_slot("email")
        if isinstance(email, str) and EMAIL_RE.fullmatch(email.strip()):
            events.append(SlotSet(TICKET_EMAIL, email.strip()))
        return events


class ValidateHandoffTicketForm(FormValidationAction):
    def name(self) -> str:
        return "validate_handoff_ticket_form"

    def validate_ticket_email(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = value.strip() if isinstance(value, str) else ""
        match = EMAIL_RE.search(text)
        if match is None:
            dispatcher.utter_message(response="utter_ticket_email_invalid")
            return {TICKET_EMAIL: None}
        return {TICKET_EMAIL: match.group(0).rstrip(".,;")}

    def validate_ticket_message(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = value.strip() if isinstance(value, str) else ""
        if len(text) < 3:
            dispatcher.utter_message(response="utter_ticket_message_too_short")
            return {TICKET_MESSAGE: None}
        return {TICKET_MESSAGE: text[:2000]}


class ActionSubmitTicket(Action):
    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings

    def name(self) -> str:
        return "action_submit_ticket"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        import aiohttp

        settings = self._settings or services().settings
        email = tracker.get_slot(TICKET_EMAIL)
        message = tracker.get_slot(TICKET_MESSAGE)
        body = {
            "conversation_id": tracker.sender_id,
            "email": email,
            "message": message,
            "transcript": transcript(tracker),
        }
        reset = [SlotSet(TICKET_MESSAGE, None), SlotSet(HANDOFF_STATUS, None)]
        try:
            status, reply = await post_json(
                f"{settings.handoff_url}/api/tickets", settings.handoff_token, body
            )
        except (aiohttp.ClientError, TimeoutError) as error:
            logger.error("ticket not saved, handoff service unreachable: %s", error)
            status, reply = 0, {}
        if status == 201 and reply.get("id"):
            dispatcher.utter_message(response="utter_ticket_saved", ticket_id=str(reply["id"]), email=email)
        else:
            logger.error("ticket not saved: HTTP %s", status)
            logger.debug("ticket service reply: %s", reply)  # may echo the shopper's email: DEBUG only
            dispatcher.utter_message(response="utter_ticket_not_saved")
        return reset
