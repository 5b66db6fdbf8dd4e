"""Product search, product questions and knowledge-base answers, backed by :mod:`retrieval`.

Every action reads the latest message, runs the retrieval call in an executor (the models load once per
process, at start-up: ``actions.services``) and lets the confidence decide the move: answer; "did you mean…"
with buttons; or offer a person. Products go out as one ``product_cards`` custom payload (docs/architecture.md)
after a short text line, so text-only channels still get an answer.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.services import services
from retrieval.errors import FilterError, QueryError, RetrievalError, UnknownItemError
from retrieval.service import ProductSearchResult, RetrievalService, cards

logger = logging.getLogger(__name__)

# Slots (declared in domain/products.yml)
SHOWN_PRODUCT = "shown_product_id"
PENDING_QUESTION = "pending_product_question"
# Entities (declared in domain/products.yml)
PRODUCT = "product"
KB_ENTRY = "kb_entry"
FILTER_ENTITIES = ("color", "brand", "category", "price")

HUMAN_BUTTON = {"title": "Talk to a person", "payload": "/contact_human_agent"}
T = TypeVar("T")


def retrieval_service() -> RetrievalService:
    """The process's retrieval service (``actions.services``)."""
    return services().retrieval


async def in_executor(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, functools.partial(func, *args, **kwargs))


def latest_text(tracker: Tracker) -> str:
    return str((tracker.latest_message or {}).get("text") or "")


def entity_values(tracker: Tracker, names: Sequence[str]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for entity in (tracker.latest_message or {}).get("entities") or []:
        if entity.get("entity") in names and entity.get("value") is not None:
            out.setdefault(entity["entity"], []).append(str(entity["value"]))
    return out


def send_cards(
    dispatcher: CollectingDispatcher,
    text: str,
    records: Sequence[Mapping[str, Any]],
    reasons: Mapping[str, str] | None = None,
    buttons: list[dict[str, str]] | None = None,
) -> None:
    lines = [text] + [
        f"- {r['title']} ({r['price_text']})"
        + (f": {reasons[r['id']]}" if reasons and reasons.get(r["id"]) else "")
        for r in records
    ]
    dispatcher.utter_message(text="\n".join(lines), buttons=buttons or [])
    dispatcher.utter_message(
        json_message={"type": "product_cards", "text": text, "cards": cards(records, reasons)}
    )


def query_problem(dispatcher: CollectingDispatcher, error: QueryError) -> None:
    messages = {
        "empty": "Could you tell me what you're looking for?",
        "too_long": "That message is a bit long for me — could you ask in a sentence or two?",
        "no_letters": "Could you describe what you're looking for in a few words?",
        "other_script": "Sorry, I can only search in English for now. Could you ask in English, "
        "or shall I find a person to help?",
    }
    buttons = [HUMAN_BUTTON] if error.reason == "other_script" else []
    dispatcher.utter_message(text=messages.get(error.reason, "Could you rephrase that?"), buttons=buttons)


def unavailable(dispatcher: CollectingDispatcher, what: str) -> None:
    dispatcher.utter_message(
        text=f"Sorry, {what} isn't available right now. A person from our team can help.",
        buttons=[HUMAN_BUTTON],
    )


def show_found(dispatcher: CollectingDispatcher, result: ProductSearchResult) -> list[EventType]:
    """Cards for a confident search (also what an unsure message gets when the catalog answers it)."""
    records = [h.item for h in result.ranked.hits]
    described = result.filters.describe()
    head = "Here's what I found" + (f" ({described})" if described else "") + ":"
    more = [
        {
            "title": f"More like {records[0]['title']}",
            "payload": f'/recommend_items{{"product":"{records[0]["id"]}"}}',
        }
    ]
    send_cards(dispatcher, head, records, buttons=more)
    return [SlotSet(SHOWN_PRODUCT, records[0]["id"])]


class ActionSearchProducts(Action):
    def name(self) -> str:
        return "action_search_products"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        service = retrieval_service()
        try:
            result = await in_executor(
                service.search_products, latest_text(tracker), entity_values(tracker, FILTER_ENTITIES)
            )
        except QueryError as exc:
            query_problem(dispatcher, exc)
            return []
        except FilterError as exc:
            dispatcher.utter_message(text=f"Hmm, {exc.problem}. Could you give me the price range again?")
            return []
        except RetrievalError:
            logger.exception("product search failed")
            unavailable(dispatcher, "product search")
            return []
        ranked = result.ranked
        records = [h.item for h in ranked.hits]
        described = result.filters.describe()
        logger.debug(
            "search %r: %s via %s (%.3f)", result.query, ranked.kind, ranked.source, ranked.confidence
        )
        if not records:
            text = "I couldn't find anything " + (f"{described} " if described else "") + "matching that."
            dispatcher.utter_message(
                text=text + " Want to try other words, or shall I get a person to help?",
                buttons=[HUMAN_BUTTON],
            )
            return [SlotSet(SHOWN_PRODUCT, None)]
        if ranked.kind == "answer":
            return show_found(dispatcher, result)
        if ranked.kind == "clarify":
            head = (
                "I'm not sure I found exactly what you mean"
                + (f" ({described})" if described else "")
                + " — did you mean one of these?"
            )
            buttons = [
                {"title": r["title"], "payload": f'/product_question{{"product":"{r["id"]}"}}'}
                for r in records
            ]
            send_cards(dispatcher, head, records, buttons=buttons)
        else:
            dispatcher.utter_message(
                text="I couldn't find a product matching that. Want to try other words, "
                "or shall I get a person to help?",
                buttons=[HUMAN_BUTTON],
            )
            return [SlotSet(SHOWN_PRODUCT, None)]
        return [SlotSet(SHOWN_PRODUCT, records[0]["id"])]


REFERS_BACK = re.compile(r"\b(it|its|this|that|these|those|they|them|one)\b", re.I)


class ActionAnswerProductQuestion(Action):
    def name(self) -> str:
        return "action_answer_product_question"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        service = retrieval_service()
        text = latest_text(tracker)
        chosen = entity_values(tracker, [PRODUCT]).get(PRODUCT, [])
        pending = tracker.get_slot(PENDING_QUESTION)
        shown = tracker.get_slot(SHOWN_PRODUCT)
        try:
            product_id = await self._product_id(service, text, chosen, shown)
            if isinstance(product_id, list):  # ambiguous: ask which one, keep the question
                buttons = [
                    {"title": r["title"], "payload": f'/product_question{{"product":"{r["id"]}"}}'}
                    for r in product_id
                ]
                dispatcher.utter_message(text="Which product do you mean?", buttons=buttons)
                return [SlotSet(PENDING_QUESTION, text)]
            if product_id is None:
                dispatcher.utter_message(
                    text="Which product is your question about? You can name it, or search "
                    'first, e.g. "show me waterproof backpacks".'
                )
                return [SlotSet(PENDING_QUESTION, text)]
            # A product picked by id (a button) answers the question asked before, or describes it;
            # a product named in the question itself is answered from its details.
            picked = product_id in chosen
            question = pending if picked and pending else text
            if picked and not pending:
                return self._describe(dispatcher, service.product(product_id))
            fact = await in_executor(service.product_fact, product_id, question)
        except QueryError as exc:
            query_problem(dispatcher, exc)
            return []
        except UnknownItemError:
            dispatcher.utter_message(
                text="I can't find that product any more — could you search for it again?"
            )
            return [SlotSet(SHOWN_PRODUCT, None), SlotSet(PENDING_QUESTION, None)]
        except RetrievalError:
            logger.exception("product question failed")
            unavailable(dispatcher, "product information")
            return []
        record = fact.product
        if fact.answer is None:
            dispatcher.utter_message(
                text=f"The product details of {record['title']} don't say. Shall I ask a colleague?",
                buttons=[HUMAN_BUTTON],
            )
        else:
            similar = {
                "title": "Show similar items",
                "payload": f'/recommend_items{{"product":"{record["id"]}"}}',
            }
            send_cards(dispatcher, fact.answer, [record], buttons=[similar])
        return [SlotSet(SHOWN_PRODUCT, record["id"]), SlotSet(PENDING_QUESTION, None)]

    @staticmethod
    async def _product_id(
        service: RetrievalService, text: str, chosen: list[str], shown: str | None
    ) -> str | list[Mapping[str, Any]] | None:
        for value in chosen:
            try:
                service.product(value)
                return value
            except UnknownItemError:
                continue
        if shown and REFERS_BACK.search(text):
            return shown
        ranked = await in_executor(service.identify_product, text)
        if ranked.kind == "answer":
            return ranked.hits[0].id
        if shown:
            return shown
        if ranked.kind == "clarify":
            return [h.item for h in ranked.hits]
        return None

    @staticmethod
    def _describe(dispatcher: CollectingDispatcher, record: Mapping[str, Any]) -> list[EventType]:
        stock = record.get("stock")
        availability = "" if stock is None else (" In stock." if stock > 0 else " Out of stock right now.")
        summary = (
            f"{record['title']} by {record['brand']}: {record['price_text']}.{availability}"
            if record.get("brand")
            else f"{record['title']}: {record['price_text']}.{availability}"
        )
        similar = {
            "title": "Show similar items",
            "payload": f'/recommend_items{{"product":"{record["id"]}"}}',
        }
        send_cards(dispatcher, summary, [record], buttons=[similar])
        return [SlotSet(SHOWN_PRODUCT, record["id"]), SlotSet(PENDING_QUESTION, None)]


class ActionAnswerQuestion(Action):
    """Policy questions no dedicated flow handles, answered from the knowledge base."""

    def name(self) -> str:
        return "action_answer_question"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        service = retrieval_service()
        chosen = entity_values(tracker, [KB_ENTRY]).get(KB_ENTRY, [])
        try:
            if chosen:
                entry = await in_executor(service.kb_entry, chosen[0])
                dispatcher.utter_message(text=entry["answer"])
                return []
            ranked = await in_executor(service.answer_question, latest_text(tracker))
        except QueryError as exc:
            query_problem(dispatcher, exc)
            return []
        except UnknownItemError:
            dispatcher.utter_message(text="Sorry, I lost track of that answer — could you ask again?")
            return []
        except RetrievalError:
            logger.exception("knowledge-base answer failed")
            unavailable(dispatcher, "the help centre")
            return []
        logger.debug("kb: %s via %s (%.3f)", ranked.kind, ranked.source, ranked.confidence)
        if ranked.kind == "answer":
            dispatcher.utter_message(text=ranked.hits[0].item["answer"])
        elif ranked.kind == "clarify":
            buttons = [
                {"title": h.item["title"], "payload": f'/ask_question{{"kb_entry":"{h.item["entry_id"]}"}}'}
                for h in ranked.hits
            ]
            dispatcher.utter_message(text="Did you mean one of these?", buttons=[*buttons, HUMAN_BUTTON])
        else:
            dispatcher.utter_message(
                text="I don't have a good answer to that one. Would you like me to connect "
                "you with a person from our team?",
                buttons=[HUMAN_BUTTON],
            )
        return []
