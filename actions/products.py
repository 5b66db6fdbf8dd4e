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

from actions import messages
from actions.language import language_of
from actions.product_facts import fact_sentence
from actions.services import services
from retrieval.errors import FilterError, QueryError, RetrievalError, UnknownItemError
from retrieval.kb import localized
from retrieval.results import ProductSearchResult, cards
from retrieval.service import RetrievalService

logger = logging.getLogger(__name__)

# Slots (declared in domain/products.yml)
SHOWN_PRODUCT = "shown_product_id"
PENDING_QUESTION = "pending_product_question"
# Entities (declared in domain/products.yml)
PRODUCT = "product"
KB_ENTRY = "kb_entry"
FILTER_ENTITIES = ("color", "brand", "category", "price")

T = TypeVar("T")


def human_button(words: messages.Catalog) -> dict[str, str]:
    """The "Talk to a person" button in the conversation's language."""
    return messages.button(words.TALK_TO_PERSON, "/contact_human_agent")


HUMAN_BUTTON = human_button(messages.EN)  # the English one (tests)


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
    words: messages.Catalog,
    text: str,
    records: Sequence[Mapping[str, Any]],
    reasons: Mapping[str, str] | None = None,
    buttons: list[dict[str, str]] | None = None,
) -> None:
    """The heading (already rendered from the domain) and a product list as text, then the cards payload;
    ``reasons`` (product id → reason) are already worded in ``words``' language."""
    listing = "\n".join([text, words.product_lines(records, reasons)])
    dispatcher.utter_message(text=listing, buttons=buttons or [])
    dispatcher.utter_message(
        json_message={"type": "product_cards", "text": text, "cards": cards(records, reasons)}
    )


# QueryError.reason -> the response that asks again (domain/products.yml)
QUERY_PROBLEMS = {
    "empty": "utter_search_empty",
    "too_long": "utter_search_too_long",
    "no_letters": "utter_search_no_letters",
    "other_script": "utter_search_other_script",
}


def query_problem(dispatcher: CollectingDispatcher, words: messages.Catalog, error: QueryError) -> None:
    buttons = [human_button(words)] if error.reason == "other_script" else []
    dispatcher.utter_message(
        response=QUERY_PROBLEMS.get(error.reason, "utter_search_rephrase"), buttons=buttons
    )


def unavailable(dispatcher: CollectingDispatcher, words: messages.Catalog, response: str) -> None:
    """``response``: which service is down, e.g. ``utter_product_search_unavailable`` (domain/products.yml)."""
    dispatcher.utter_message(response=response, buttons=[human_button(words)])


def heading(domain: DomainDict, tracker: Tracker, name: str, filters: str = "", **values: Any) -> str:
    """A card heading from the domain: ``name``, or ``name + "_filtered"`` when search filters apply."""
    if filters:
        return messages.render_heading(domain, tracker.slots, f"{name}_filtered", filters=filters, **values)
    return messages.render_heading(domain, tracker.slots, name, **values)


def show_found(
    dispatcher: CollectingDispatcher, result: ProductSearchResult, domain: DomainDict, tracker: Tracker
) -> list[EventType]:
    """Cards for a confident search (also what an unsure message gets when the catalog answers it)."""
    words = messages.catalog_for(tracker)
    records = [h.item for h in result.ranked.hits]
    head = heading(domain, tracker, "utter_products_found", words.filters(result.filters.terms()))
    more = [
        messages.button(
            words.MORE_LIKE.format(title=records[0]["title"]),
            f'/recommend_items{{"product":"{records[0]["id"]}"}}',
        )
    ]
    send_cards(dispatcher, words, head, records, buttons=more)
    return [SlotSet(SHOWN_PRODUCT, records[0]["id"])]


class ActionSearchProducts(Action):
    def name(self) -> str:
        return "action_search_products"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        words = messages.catalog_for(tracker)
        service = retrieval_service()
        try:
            result = await in_executor(
                service.search_products,
                latest_text(tracker),
                entity_values(tracker, FILTER_ENTITIES),
                language=language_of(tracker),
            )
        except QueryError as exc:
            query_problem(dispatcher, words, exc)
            return []
        except FilterError as exc:
            dispatcher.utter_message(
                response="utter_search_filter_problem", problem=words.filter_problem(exc.problem)
            )
            return []
        except RetrievalError:
            logger.exception("product search failed")
            unavailable(dispatcher, words, "utter_product_search_unavailable")
            return []
        ranked = result.ranked
        records = [h.item for h in ranked.hits]
        described = words.filters(result.filters.terms())
        logger.debug(
            "search %r: %s via %s (%.3f)", result.query, ranked.kind, ranked.source, ranked.confidence
        )
        if not records:
            dispatcher.utter_message(
                response="utter_search_nothing_filtered" if described else "utter_search_nothing",
                filters=described,
                buttons=[human_button(words)],
            )
            return [SlotSet(SHOWN_PRODUCT, None)]
        if ranked.kind == "answer":
            return show_found(dispatcher, result, domain, tracker)
        if ranked.kind == "clarify":
            head = heading(domain, tracker, "utter_products_unsure", described)
            buttons = [
                {"title": r["title"], "payload": f'/product_question{{"product":"{r["id"]}"}}'}
                for r in records
            ]
            send_cards(dispatcher, words, head, records, buttons=buttons)
        else:
            dispatcher.utter_message(response="utter_search_no_match", buttons=[human_button(words)])
            return [SlotSet(SHOWN_PRODUCT, None)]
        return [SlotSet(SHOWN_PRODUCT, records[0]["id"])]


REFERS_BACK = re.compile(
    r"\b(it|its|this|that|these|those|they|them|one)\b|它|这个|那个|这款|那款|这件|那件|这双|那双|这些|那些",
    re.I,
)


class ActionAnswerProductQuestion(Action):
    def name(self) -> str:
        return "action_answer_product_question"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        words = messages.catalog_for(tracker)
        service = retrieval_service()
        text = latest_text(tracker)
        chosen = entity_values(tracker, [PRODUCT]).get(PRODUCT, [])
        pending = tracker.get_slot(PENDING_QUESTION)
        shown = tracker.get_slot(SHOWN_PRODUCT)
        language = language_of(tracker)
        try:
            product_id = await self._product_id(service, text, chosen, shown, language)
            if isinstance(product_id, list):  # ambiguous: ask which one, keep the question
                buttons = [
                    {"title": r["title"], "payload": f'/product_question{{"product":"{r["id"]}"}}'}
                    for r in product_id
                ]
                dispatcher.utter_message(response="utter_which_product", buttons=buttons)
                return [SlotSet(PENDING_QUESTION, text)]
            if product_id is None:
                dispatcher.utter_message(response="utter_ask_product_of_question")
                return [SlotSet(PENDING_QUESTION, text)]
            # A product picked by id (a button) answers the question asked before, or describes it;
            # a product named in the question itself is answered from its details.
            picked = product_id in chosen
            question = pending if picked and pending else text
            if picked and not pending:
                return self._describe(dispatcher, words, service.product(product_id), domain, tracker)
            fact = await in_executor(service.product_fact, product_id, question, language)
        except QueryError as exc:
            query_problem(dispatcher, words, exc)
            return []
        except UnknownItemError:
            dispatcher.utter_message(response="utter_product_gone")
            return [SlotSet(SHOWN_PRODUCT, None), SlotSet(PENDING_QUESTION, None)]
        except RetrievalError:
            logger.exception("product question failed")
            unavailable(dispatcher, words, "utter_product_info_unavailable")
            return []
        record = fact.product
        answer = fact_sentence(words, fact)
        if answer is None:
            dispatcher.utter_message(
                response="utter_product_fact_unknown", title=record["title"], buttons=[human_button(words)]
            )
        else:
            similar = messages.button(words.SHOW_SIMILAR, f'/recommend_items{{"product":"{record["id"]}"}}')
            send_cards(dispatcher, words, answer, [record], buttons=[similar])
        return [SlotSet(SHOWN_PRODUCT, record["id"]), SlotSet(PENDING_QUESTION, None)]

    @staticmethod
    async def _product_id(
        service: RetrievalService, text: str, chosen: list[str], shown: str | None, language: str = "en"
    ) -> str | list[Mapping[str, Any]] | None:
        for value in chosen:
            try:
                service.product(value)
                return value
            except UnknownItemError:
                continue
        if shown and REFERS_BACK.search(text):
            return shown
        ranked = await in_executor(service.identify_product, text, language=language)
        if ranked.kind == "answer":
            return ranked.hits[0].id
        if shown:
            return shown
        if ranked.kind == "clarify":
            return [h.item for h in ranked.hits]
        return None

    @staticmethod
    def _describe(
        dispatcher: CollectingDispatcher,
        words: messages.Catalog,
        record: Mapping[str, Any],
        domain: DomainDict,
        tracker: Tracker,
    ) -> list[EventType]:
        stock = record.get("stock")
        availability = (
            ""
            if stock is None
            else messages.render_heading(
                domain, tracker.slots, "utter_in_stock" if stock > 0 else "utter_out_of_stock"
            )
        )
        summary = messages.render_heading(
            domain,
            tracker.slots,
            "utter_product_summary_by_brand" if record.get("brand") else "utter_product_summary",
            title=record["title"],
            brand=record.get("brand") or "",
            price_text=record["price_text"],
            availability=availability,
        )
        similar = messages.button(words.SHOW_SIMILAR, f'/recommend_items{{"product":"{record["id"]}"}}')
        send_cards(dispatcher, words, summary, [record], buttons=[similar])
        return [SlotSet(SHOWN_PRODUCT, record["id"]), SlotSet(PENDING_QUESTION, None)]


class ActionAnswerQuestion(Action):
    """Policy questions no dedicated flow handles, answered from the knowledge base."""

    def name(self) -> str:
        return "action_answer_question"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        words = messages.catalog_for(tracker)
        service = retrieval_service()
        chosen = entity_values(tracker, [KB_ENTRY]).get(KB_ENTRY, [])
        language = language_of(tracker)  # which index is searched, and the language of the answer
        try:
            if chosen:
                entry = await in_executor(service.kb_entry, chosen[0])
                dispatcher.utter_message(text=localized(entry, "answer", language))
                return []
            ranked = await in_executor(service.answer_question, latest_text(tracker), language=language)
        except QueryError as exc:
            query_problem(dispatcher, words, exc)
            return []
        except UnknownItemError:
            dispatcher.utter_message(response="utter_kb_entry_gone")
            return []
        except RetrievalError:
            logger.exception("knowledge-base answer failed")
            unavailable(dispatcher, words, "utter_help_centre_unavailable")
            return []
        logger.debug("kb: %s via %s (%.3f)", ranked.kind, ranked.source, ranked.confidence)
        if ranked.kind == "answer":
            dispatcher.utter_message(text=localized(ranked.hits[0].item, "answer", language))
        elif ranked.kind == "clarify":
            buttons = [
                {
                    "title": localized(h.item, "title", language),
                    "payload": f'/ask_question{{"kb_entry":"{h.item["entry_id"]}"}}',
                }
                for h in ranked.hits
            ]
            dispatcher.utter_message(response="utter_kb_which_one", buttons=[*buttons, human_button(words)])
        else:
            dispatcher.utter_message(response="utter_kb_no_answer", buttons=[human_button(words)])
        return []
