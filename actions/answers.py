"""Retrieval before giving up: policy intents answer the question asked, unsure messages try the KB and catalog.

``action_answer_policy`` serves the generic policy intents (delivery options, payment methods, refund policy,
account how-tos, …). The shopper's own words go to the knowledge base; a confident entry that is not the one the
intent's static reply already gives ("can I pay on delivery?" → cash on delivery) is the answer, anything else
gets the intent's static response from the domain.

:func:`look_up` is what ``action_fallback`` asks when the NLU is unsure: a confident KB answer, else a confident
product search, else 2–3 "did you mean" buttons (KB entries and products, as payloads the REST payload guard
allows), else nothing (ask to rephrase; two misses in a row offer a person — see ``actions.fallback``).
Retrieval runs in an executor, as in the product actions.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions.language import Language, language_of
from actions.products import in_executor, latest_text, retrieval_service
from actions.services import services
from retrieval.errors import QueryError, RetrievalError
from retrieval.kb import localized
from retrieval.ranker import Ranked
from retrieval.results import ProductSearchResult
from retrieval.service import RetrievalService, search_lane

logger = logging.getLogger(__name__)

# intent -> its static response (domain/core.yml): what the shopper gets when the KB has nothing better
POLICY_RESPONSES: dict[str, str] = {
    intent: f"utter_{intent}"
    for intent in (
        "delivery_options",
        "delivery_period",
        "check_payment_methods",
        "check_refund_policy",
        "check_cancellation_fee",
        "newsletter_subscription",
        "create_account",
        "delete_account",
        "edit_account",
        "switch_account",
        "recover_password",
        "registration_problems",
        "set_up_shipping_address",
        "out_of_scope",
    )
}
# KB entries that say no more than the intent's static response: the static response wins over them.
# (training_data/kb/*.yml; a generic question lands on them, a specific one on another entry)
GENERIC_ENTRIES: dict[str, frozenset[str]] = {
    "delivery_options": frozenset({"ship-costs"}),
    "delivery_period": frozenset({"ship-times"}),
    "check_payment_methods": frozenset({"pay-methods"}),
    "check_refund_policy": frozenset({"ret-policy", "ret-how"}),
    "check_cancellation_fee": frozenset({"ret-cancel-fee"}),
    "newsletter_subscription": frozenset({"acc-newsletter"}),
}
MAX_CHOICES = 3
# Products are offered as "did you mean" buttons for an unsure message only this far above the product search's
# own clarify threshold: the NLU did not see a product search, so a loose match is more likely noise.
PRODUCT_CHOICE_MARGIN = 0.1


@dataclass(frozen=True)
class Found:
    """What retrieval found for an unsure message.

    ``kind``: ``answer`` (a KB entry), ``products`` (a confident search), ``choices`` (buttons), ``nothing``.
    """

    kind: Literal["answer", "products", "choices", "nothing"]
    answer: str = ""
    entry_id: str = ""
    search: ProductSearchResult | None = None
    buttons: list[dict[str, str]] = field(default_factory=list)


def kb_button(item: Mapping[str, Any], language: Language = "en") -> dict[str, str]:
    """A "did you mean" button for a KB entry, titled in the conversation's language."""
    return {
        "title": localized(item, "title", language),
        "payload": f'/ask_question{{"kb_entry":"{item["entry_id"]}"}}',
    }


def product_button(item: Mapping[str, Any]) -> dict[str, str]:
    return {"title": str(item["title"]), "payload": f'/product_question{{"product":"{item["id"]}"}}'}


def _choices(
    kb: Ranked, search: ProductSearchResult | None, product_floor: float, language: Language = "en"
) -> list[dict[str, str]]:
    """KB entries first, then products scoring at least ``product_floor``; at most ``MAX_CHOICES``, no
    duplicates."""
    buttons = [kb_button(h.item, language) for h in kb.hits] if kb.kind == "clarify" else []
    if search is not None and search.ranked.kind == "clarify":
        buttons += [product_button(h.item) for h in search.ranked.hits if h.score >= product_floor]
    unique = list({b["payload"]: b for b in buttons}.values())
    return unique[:MAX_CHOICES]


def look_up(service: RetrievalService, text: str, language: Language = "en") -> Found:
    """Ask the knowledge base, then the catalog (blocking: call it in an executor), in the conversation's
    ``language`` (``zh``: the multilingual indexes; answers and button titles in Chinese).

    Raises :class:`QueryError` for a message retrieval cannot take (empty, too long, another script).
    """
    kb = service.answer_question(text, language=language)
    if kb.kind == "answer" and kb.hits:
        item = kb.hits[0].item
        return Found("answer", answer=localized(item, "answer", language), entry_id=str(item["entry_id"]))
    search: ProductSearchResult | None
    try:
        search = service.search_products(text, language=language)
    except RetrievalError as exc:  # a bad price range and the like: the KB side still counts
        logger.debug("fallback product search skipped: %s", exc)
        search = None
    if search is not None and search.ranked.kind == "answer" and search.ranked.hits:
        return Found("products", search=search)
    lane = search_lane(text, language)
    product_rank = service.config.zh_product_rank if lane == "zh" else service.config.product_rank
    buttons = _choices(kb, search, product_rank.clarify + PRODUCT_CHOICE_MARGIN, language)
    if buttons:
        return Found("choices", buttons=buttons)
    return Found("nothing")


def policy_answer(
    service: RetrievalService, intent: str, text: str, language: Language = "en"
) -> tuple[str, str] | None:
    """(entry id, answer in ``language``) when the KB answers this specific question better than the static
    response."""
    ranked = service.answer_question(text, language=language)
    if ranked.kind != "answer" or not ranked.hits:
        return None
    item = ranked.hits[0].item
    entry_id = str(item["entry_id"])
    if entry_id in GENERIC_ENTRIES.get(intent, frozenset()):
        return None
    return entry_id, localized(item, "answer", language)


class ActionAnswerPolicy(Action):
    """The generic policy intents: the KB entry that answers the question asked, else the static response."""

    def name(self) -> str:
        return "action_answer_policy"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        intent = str(((tracker.latest_message or {}).get("intent") or {}).get("name") or "")
        static = POLICY_RESPONSES.get(intent, "utter_default")
        text = latest_text(tracker)
        found: tuple[str, str] | None = None
        if text and not text.lstrip().startswith("/"):  # a button payload has no question in it
            if services().settings.policy_kb_answers:
                try:
                    found = await in_executor(
                        policy_answer, retrieval_service(), intent, text, language_of(tracker)
                    )
                except QueryError as exc:
                    logger.debug("policy question not searchable (%s); static reply", exc.reason)
                except RetrievalError:
                    logger.exception("knowledge base unavailable; static reply for %s", intent)
        if found is None:
            logger.debug("policy %s: static %s", intent, static)
            dispatcher.utter_message(response=static)
            return []
        entry_id, answer = found
        logger.info("policy %s answered from kb entry %s", intent, entry_id)
        dispatcher.utter_message(text=answer)
        return []
