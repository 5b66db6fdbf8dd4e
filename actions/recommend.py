"""``action_recommend_items``: similar items, bought together, personal picks or the popular fallback.

Which strategy: a product in the message (a button payload, or a product the shopper names: "what do I need
with the yoga blocks?") or the product just shown → similar items plus what
is often bought with it; otherwise a verified shopper (``customer_id`` slot) → personal picks from their purchase
history, excluding what they already bought; otherwise (cold start) → popular items. Order history comes from
the order store as plain baskets of product ids; the recommender is rebuilt at most every few minutes
(``Services.recommender``, a cache built with the process's services).

Every list shown is written to the ledger's recommendation audit (``LedgerGateway.record_shown``: product ids, the
strategy and the time, never the shopper), sealed into Merkle batches whose roots the ledger sender puts on chain;
an audit failure is logged and never costs the shopper the answer.
"""

from __future__ import annotations

import logging
import sqlite3
import uuid
from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import messages
from actions.common import verified_customer_id
from actions.products import (
    PRODUCT,
    REFERS_BACK,
    SHOWN_PRODUCT,
    entity_values,
    human_button,
    in_executor,
    latest_text,
    retrieval_service,
    send_cards,
)
from actions.services import services
from ledger.errors import LedgerError
from retrieval.errors import QueryError, RetrievalError, UnknownItemError
from retrieval.recommend import Recommendation, Recommender
from retrieval.service import RetrievalService
from shop import StoreError

logger = logging.getLogger(__name__)

K = 4


def _baskets() -> tuple[list[list[str]], list[list[str]], list[float], list[list[float]]]:
    """(each order's product ids, each customer's purchased product ids, oldest first, each order's age in
    days, each customer's purchases' ages in days): the ages weight the personal model's rows by recency.

    Ages count back from the newest order, not from the clock: a shop taking orders every day sees the same,
    and a store that stopped (the demo shop's fixed seed) keeps its recommendations instead of every weight
    shrinking alike as the months pass (with EASE^R that acts as an ever larger lambda)."""
    lines = services().store.all_order_lines()  # ordered_at: UTC-aware, as the store keeps every time
    if not lines:
        return [], [], [], []
    newest = max(line.ordered_at for line in lines)
    by_order: dict[str, list[str]] = defaultdict(list)
    by_customer: dict[str, list[str]] = defaultdict(list)
    order_age: dict[str, float] = {}
    customer_ages: dict[str, list[float]] = defaultdict(list)
    for line in lines:
        age = (newest - line.ordered_at).total_seconds() / 86400.0
        by_order[line.order_number].append(line.product_id)
        order_age[line.order_number] = age
        by_customer[line.customer_id].append(line.product_id)
        customer_ages[line.customer_id].append(age)
    return (
        list(by_order.values()),
        list(by_customer.values()),
        [order_age[o] for o in by_order],
        [customer_ages[c] for c in by_customer],
    )


def _build_recommender() -> Recommender:
    try:
        baskets, histories, basket_ages, history_ages = _baskets()
    except StoreError:
        logger.exception("order history unavailable; recommending without it")
        baskets, histories, basket_ages, history_ages = [], [], [], []
    return retrieval_service().recommender(
        baskets, histories=histories, history_ages=history_ages, basket_ages=basket_ages
    )


def recommender() -> Recommender:
    """The recommender over the order history, rebuilt at most every ``RECOMMENDER_MAX_AGE_S`` and whenever the
    catalog index being served changes version (a live import: removed products are never recommended)."""
    return services().recommender.get(_build_recommender, key=retrieval_service().version())


def _history(customer_id: str) -> list[str]:
    lines = sorted(services().store.purchase_history(customer_id), key=lambda line: line.ordered_at)
    return [line.product_id for line in lines]


def named_product(text: str, shown: str | None) -> str | None:
    """The product the message names ("what do I need with the yoga blocks?"), when the catalog is sure of it.

    A message that points back at the product just shown ("what goes with it?") names none.
    """
    if not text.strip() or text.lstrip().startswith("/") or (shown and REFERS_BACK.search(text)):
        return None
    try:
        ranked = retrieval_service().identify_product(text)
    except QueryError:
        return None
    return ranked.hits[0].id if ranked.kind == "answer" and ranked.hits else None


def pick(tracker: Tracker) -> tuple[str, list[Recommendation]]:
    """(the intro's response name in domain/products.yml, recommendations) for this conversation.

    The anchor: a product button, else a product the message names, else the product just shown.
    """
    recs = recommender()
    product_ids = entity_values(tracker, [PRODUCT]).get(PRODUCT, [])
    shown = tracker.get_slot(SHOWN_PRODUCT)
    named = None if product_ids else named_product(latest_text(tracker), shown)
    anchor = next((p for p in [*product_ids, named, shown] if p), None)
    if anchor:
        try:
            together = recs.together([anchor], k=2)
            similar = recs.similar(anchor, k=K, exclude=[r.id for r in together])
            return "utter_recommend_similar", [*together, *similar][:K]
        except UnknownItemError:
            logger.info("recommendation anchor %s is not in the catalog", anchor)
    customer = verified_customer_id(tracker)  # purchase history only for a verified shopper
    if customer:
        try:
            history = _history(customer)
        except StoreError:
            logger.exception("purchase history of %s unavailable", customer)
            history = []
        if history:
            return "utter_recommend_personal", recs.personal(history, k=K)
    return "utter_recommend_popular", recs.popular(k=K)


class ActionRecommendItems(Action):
    def name(self) -> str:
        return "action_recommend_items"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        words = messages.catalog_for(tracker)
        service = retrieval_service()
        try:
            intro, chosen = await in_executor(pick, tracker)
            chosen, records = current_products(service, chosen)
        except RetrievalError:
            logger.exception("recommendations failed")
            dispatcher.utter_message(response="utter_recommend_unavailable", buttons=[human_button(words)])
            return []
        if not records:
            dispatcher.utter_message(response="utter_recommend_none")
            return []
        intro_text = messages.render_heading(domain, tracker.slots, intro)
        reasons = {r.id: words.reason(r.reason_code, r.reason_title) for r in chosen}
        send_cards(dispatcher, words, intro_text, records, reasons=reasons)
        await audit_shown([r.id for r in chosen], chosen)
        return []


def current_products(
    service: RetrievalService, chosen: list[Recommendation]
) -> tuple[list[Recommendation], list[Mapping[str, Any]]]:
    """The recommendations still in the catalog being served, with their records (an import between building the
    list and showing it may have removed some)."""
    kept, records = [], []
    for rec in chosen:
        try:
            records.append(service.product(rec.id))
        except UnknownItemError:
            logger.info("recommended product %s left the catalog; not shown", rec.id)
            continue
        kept.append(rec)
    return kept, records


async def audit_shown(product_ids: list[str], chosen: list[Recommendation]) -> None:
    """Record the list just shown in the ledger's recommendation audit (ids, strategy, time; no shopper data)."""
    source = "-".join(dict.fromkeys(r.strategy for r in chosen)) or "unknown"
    list_id = f"RL-{uuid.uuid4().hex}"
    try:
        await in_executor(
            services().ledger.record_shown, list_id, product_ids, datetime.now(timezone.utc), source
        )
    except (LedgerError, sqlite3.Error, OSError):
        logger.exception("recommendation list %s not recorded for the audit", list_id)
