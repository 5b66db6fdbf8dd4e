"""``GET /api/console/conversations/{id}/risk``: the refund and return risk signals of a conversation's customer.

Which customer: the verified customer of the handoff's ``context`` (sent by the action server, ``customer.id``);
without one, the owner of the order verified in the conversation (``context.verified_order``, or the one order
in ``context.orders``). The order at hand is that verified order. No customer → only the conversation's failed
verifications. Which clients: the ``shopdesk_client`` ids of the conversation's user messages up to the handoff
(read once from Rasa's tracker, then kept per handoff: what happened before the handoff does not change), and the
conversation id itself, in the form the action server records them (``actions.authority.client_key``).

The shop's data is read through ``bot.shopdb.ShopReader`` in a worker thread; the shop-wide return counts behind
the median are kept ``MEDIAN_TTL_S`` (one GROUP BY over every customer; the median moves slowly), everything about
the customer is read fresh on every call. The shop store down → 503 ``{"error": ...}``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypedDict

from aiohttp import web

from bot import risk
from bot.auth import require_agent
from bot.errors import RasaError
from bot.keys import RASA, SHOP, STORE
from bot.shopdb import ShopReader, normalize_order_number
from bot.types import Handoff
from shop.errors import InvalidIdentifierError, ShopUnavailableError
from shop.ids import normalize_customer_id

logger = logging.getLogger(__name__)

routes = web.RouteTableDef()
MEDIAN_TTL_S = 60.0
MAX_CLIENT_CHARS = 128  # actions.authority._MAX_CLIENT_CHARS: the key as the action server records it
CLIENT_CACHE_SIZE = 2000


class RiskCustomer(TypedDict):
    id: str
    name: str
    source: str  # "context": the verified customer; "verified order": the owner of the verified order


class RiskReport(TypedDict):
    handoff_id: str
    customer: RiskCustomer | None
    order_at_hand: str | None
    signals: list[risk.Signal]
    notes: list[str]
    advisory: str
    computed_at: float


class RiskService:
    """The signals' inputs: the shop reader, the median's short-lived cache, the clients seen per handoff."""

    def __init__(self, shop: ShopReader, clock: Callable[[], float] = time.time) -> None:
        self.shop = shop
        self.clock = clock
        self._median: tuple[float, dict[int, int]] | None = None  # (read at, distribution)
        self.clients: dict[str, list[str]] = {}  # handoff id -> client keys before the handoff

    def returns_distribution(self, since: str) -> dict[int, int]:
        now = self.clock()
        cached = self._median
        if cached is not None and now - cached[0] < MEDIAN_TTL_S:
            return cached[1]
        distribution = self.shop.returns_per_customer(since)
        self._median = (now, distribution)
        return distribution

    def remember_clients(self, handoff_id: str, keys: list[str]) -> None:
        if len(self.clients) >= CLIENT_CACHE_SIZE:
            self.clients.clear()
        self.clients[handoff_id] = keys


RISK = web.AppKey("risk", RiskService)


def setup(app: web.Application) -> None:
    """The risk route; its service reads the shop through the app's ``SHOP`` reader."""
    app[RISK] = RiskService(app[SHOP])
    app.add_routes(routes)


def client_keys(conversation_id: str, events: list[dict[str, Any]], until: float) -> list[str]:
    """``client:<shopdesk_client>`` of every user message up to ``until``, and ``sender:<conversation id>``."""
    keys: list[str] = []
    for event in events:
        if not isinstance(event, dict) or event.get("event") != "user":
            continue
        ts = event.get("timestamp")
        if isinstance(ts, int | float) and ts > until:
            continue
        metadata = event.get("metadata")
        client = metadata.get("shopdesk_client") if isinstance(metadata, dict) else None
        if isinstance(client, str) and client.strip():
            key = f"client:{client.strip()[:MAX_CLIENT_CHARS]}"
            if key not in keys:
                keys.append(key)
    keys.append(f"sender:{conversation_id[:MAX_CLIENT_CHARS]}")
    return keys


def _context_ids(context: dict[str, object]) -> tuple[str | None, str | None]:
    """(customer id, order at hand) from the handoff's context, both normalised; None where absent or malformed."""
    customer = context.get("customer")
    raw_id = customer.get("id") if isinstance(customer, dict) else None
    customer_id = None
    if isinstance(raw_id, str):
        try:
            customer_id = normalize_customer_id(raw_id)
        except InvalidIdentifierError:
            customer_id = None
    raw_order = context.get("verified_order")
    orders = context.get("orders")
    if not isinstance(raw_order, str) and isinstance(orders, list) and len(orders) == 1:
        only = orders[0]
        raw_order = only.get("number") if isinstance(only, dict) else None
    order = normalize_order_number(raw_order) if isinstance(raw_order, str) else None
    return customer_id, order


def compute_report(
    service: RiskService, handoff: Handoff, clients: list[str], clients_known: bool, now: float
) -> RiskReport:
    """Every signal for ``handoff`` (blocking: run it in a worker thread). ShopUnavailableError propagates."""
    shop = service.shop
    moment = datetime.fromtimestamp(now, UTC)
    until = risk.iso(datetime.fromtimestamp(handoff["created_at"], UTC))
    context = handoff["context"] if isinstance(handoff["context"], dict) else {}
    customer_id, order_at_hand = _context_ids(context)
    notes: list[str] = []
    source = "context"
    if customer_id is None and order_at_hand is not None:
        order = shop.order(order_at_hand)
        if order is not None:
            customer_id, source = order["customer_id"], "verified order"
    history = shop.customer_history(customer_id) if customer_id else None
    if customer_id and history is None:
        notes.append(f"Customer {customer_id} is not in the shop's data.")
    signals: list[risk.Signal] = []
    customer: RiskCustomer | None = None
    if history is None:
        notes.append(
            "No verified customer in this conversation: only the conversation's failed verifications can be shown."
        )
        failures = shop.verification_failures([], clients, until)
        signals.append(risk.verification_signal(failures, clients, None, clients_known=clients_known))
    else:
        customer = RiskCustomer(id=history["customer"]["id"], name=history["customer"]["name"], source=source)
        if order_at_hand not in {o["number"] for o in history["orders"]}:
            order_at_hand = None
        since = risk.window_start(moment)
        signals.append(risk.returns_signal(history, service.returns_distribution(since), moment))
        signals.append(risk.refund_signal(history, order_at_hand))
        signals.append(risk.address_signal(history, shop.address_uses(risk.postcode_keys(history))))
        numbers = [o["number"] for o in history["orders"]]
        failures = shop.verification_failures(numbers, clients, until)
        signals.append(risk.verification_signal(failures, clients, numbers, clients_known=clients_known))
    return RiskReport(
        handoff_id=handoff["id"],
        customer=customer,
        order_at_hand=order_at_hand if customer else None,
        signals=signals,
        notes=notes,
        advisory=risk.ADVISORY,
        computed_at=now,
    )


async def _clients(app: web.Application, handoff: Handoff) -> tuple[list[str], bool]:
    service = app[RISK]
    known = service.clients.get(handoff["id"])
    if known is not None:
        return known, True
    try:
        events = await app[RASA].tracker_events(handoff["conversation_id"])
    except RasaError as error:
        logger.warning("risk: the tracker of %s could not be read (%s)", handoff["id"], error)
        return client_keys(handoff["conversation_id"], [], handoff["created_at"]), False
    keys = client_keys(handoff["conversation_id"], events, handoff["created_at"])
    service.remember_clients(handoff["id"], keys)
    return keys, True


@routes.get("/api/console/conversations/{handoff_id}/risk")
@require_agent
async def conversation_risk(request: web.Request) -> web.Response:
    handoff = request.app[STORE].get(request.match_info["handoff_id"])  # unknown → 404 (errors middleware)
    clients, known = await _clients(request.app, handoff)
    service = request.app[RISK]
    loop = asyncio.get_running_loop()
    try:
        report = await loop.run_in_executor(
            None, compute_report, service, handoff, clients, known, request.app[STORE].clock()
        )
    except ShopUnavailableError as error:
        logger.warning("risk signals unavailable: %s", error)
        raise web.HTTPServiceUnavailable(
            text=json.dumps({"error": f"risk signals unavailable: the shop's data cannot be read ({error})"}),
            content_type="application/json",
        ) from None
    return web.json_response(report)
