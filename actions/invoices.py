"""Invoices of the verified order, with download links (``/invoices/INV-….pdf``)."""

from __future__ import annotations

import logging

from rasa_sdk import Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import messages
from actions.common import money, store
from shop.errors import InvalidIdentifierError
from shop.ids import normalize_invoice_id
from shop.model import Invoice, Order

logger = logging.getLogger(__name__)


def invoice_line(words: messages.Catalog, invoice: Invoice) -> str:
    return words.INVOICE_LINE.format(
        invoice_id=invoice.id,
        issued_day=words.short_day(invoice.issued_at),
        amount=money(invoice.total_minor, invoice.currency),
        url=invoice.url,
    )


def send_invoices(dispatcher: CollectingDispatcher, tracker: Tracker, order: Order) -> list[EventType]:
    """All invoices of the order, or the one the shopper named if it belongs to this order."""
    words = messages.catalog_for(tracker)
    invoices = store().invoices_for_order(order.number)
    asked = tracker.get_slot("invoice_id")
    events: list[EventType] = [SlotSet("invoice_id", None)] if asked else []
    if asked:
        try:
            wanted = normalize_invoice_id(str(asked))
        except InvalidIdentifierError:
            wanted = None
        match = [inv for inv in invoices if inv.id == wanted]
        if not match:
            # never confirm whether an invoice of another order exists
            dispatcher.utter_message(
                response="utter_invoice_not_on_order", invoice_id=str(asked)[:40], order_id=order.number
            )
            if not invoices:
                return events
        else:
            invoices = match
    if not invoices:
        dispatcher.utter_message(response="utter_invoice_none_yet", order_id=order.number)
        return events
    if len(invoices) == 1:
        inv = invoices[0]
        dispatcher.utter_message(
            response="utter_invoice_one",
            order_id=order.number,
            invoice_id=inv.id,
            issued_day=words.short_day(inv.issued_at),
            amount=money(inv.total_minor, inv.currency),
            invoice_url=inv.url,
        )
    else:
        dispatcher.utter_message(
            response="utter_invoice_list",
            order_id=order.number,
            invoice_lines="\n".join(words.BULLET.format(line=invoice_line(words, inv)) for inv in invoices),
        )
    return events
