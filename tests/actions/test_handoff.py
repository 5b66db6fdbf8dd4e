"""action_handoff and the ticket form against a fake bot service (aiohttp) and a fake order store."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import pytest
import yaml
from aiohttp import web
from rasa_sdk import Tracker
from rasa_sdk.events import ConversationPaused, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.handoff import (
    ActionHandoff,
    ActionSubmitTicket,
    ValidateHandoffTicketForm,
    handoff_reason,
    transcript,
)
from actions.settings import Settings
from shop.errors import StoreError
from tests.actions.shop_fixtures import ROOT, load_domain, proven, said


@dataclass
class FakeCustomer:
    id: str = "C-0001"
    name: str = "Ada Lovelace"
    email: str = "ada@example.com"


@dataclass
class FakeOrder:
    number: str = "SD-100001"
    status: str = "shipped"
    total_minor: int = 4990
    currency: str = "EUR"
    created_at: datetime = datetime(2025, 1, 2, tzinfo=timezone.utc)


@dataclass
class FakeStore:
    handoffs: list[tuple[str, str]] = field(default_factory=list)
    broken: bool = False

    def get_customer(self, customer_id: str) -> FakeCustomer:
        if self.broken:
            raise StoreError("db down")
        return FakeCustomer()

    def orders_for_customer(self, customer_id: str) -> list[FakeOrder]:
        return [FakeOrder()]

    def get_order(self, number: str) -> FakeOrder:
        return FakeOrder(number=number)

    def record_handoff_request(self, conversation_id: str, reason: str) -> None:
        if self.broken:
            raise StoreError("db down")
        self.handoffs.append((conversation_id, reason))


@pytest.fixture
def store(install: Any) -> FakeStore:
    fake = FakeStore()
    install(store=fake)
    return fake


class FakeBotService:
    def __init__(self) -> None:
        self.requests: list[tuple[str, dict[str, Any], str]] = []
        self.answer: dict[str, Any] = {
            "status": "queued",
            "wait_seconds": 180,
            "position": 2,
            "handoff_id": "H-1",
        }
        self.status = 200

    def app(self) -> web.Application:
        async def handoff(request: web.Request) -> web.Response:
            self.requests.append(
                (request.path, await request.json(), request.headers.get("Authorization", ""))
            )
            return web.json_response(self.answer, status=self.status)

        async def tickets(request: web.Request) -> web.Response:
            body = await request.json()
            self.requests.append((request.path, body, request.headers.get("Authorization", "")))
            return web.json_response({"id": "T-abc", **body}, status=201)

        app = web.Application()
        app.router.add_post("/api/handoff", handoff)
        app.router.add_post("/api/tickets", tickets)
        return app


@pytest.fixture
async def service(aiohttp_server: Any) -> tuple[FakeBotService, Settings]:
    fake = FakeBotService()
    server = await aiohttp_server(fake.app())
    return fake, Settings(handoff_url=str(server.make_url("")).rstrip("/"), handoff_token="secret-token")


def tracker(intent: str = "contact_human_agent", slots: dict[str, Any] | None = None) -> Tracker:
    events = [
        {
            "event": "user",
            "text": "where is my order",
            "timestamp": 10.0,
            "parse_data": {"intent": {"name": "track_order"}},
        },
        {"event": "bot", "text": "Your order SD-100001 has shipped.", "timestamp": 11.0},
        {
            "event": "user",
            "text": "I want a person",
            "timestamp": 12.0,
            "parse_data": {"intent": {"name": intent}},
        },
    ]
    latest = {"intent": {"name": intent, "confidence": 0.95}, "entities": [], "text": "I want a person"}
    return Tracker("shopper-1", slots or {}, latest, events, False, None, {}, "action_listen")


async def test_the_handoff_tells_the_console_the_conversation_language(
    service: tuple[FakeBotService, Settings], store: FakeStore
) -> None:
    fake, settings = service
    slots = {**proven("SD-100001", "C-0001", sender_id="shopper-1"), "language": "zh"}
    await ActionHandoff(settings).run(CollectingDispatcher(), tracker(slots=slots), {})
    _, body, _ = fake.requests[0]
    assert body["language"] == "zh"


async def test_queued_handoff_pauses_and_tells_the_wait(
    service: tuple[FakeBotService, Settings], store: FakeStore
) -> None:
    fake, settings = service
    dispatcher = CollectingDispatcher()
    events = await ActionHandoff(settings).run(
        dispatcher, tracker(slots=proven("SD-100001", "C-0001", sender_id="shopper-1")), {}
    )
    assert events == [SlotSet("handoff_status", "queued"), ConversationPaused()]
    assert "number 2 in the queue" in said(dispatcher)[0]
    assert "3 minutes" in said(dispatcher)[0]
    assert dispatcher.messages[0]["shopdesk_event"] == "queued"
    path, body, auth = fake.requests[0]
    assert (path, auth) == ("/api/handoff", "Bearer secret-token")
    assert body["conversation_id"] == "shopper-1"
    assert body["reason"] == "contact_human_agent"
    assert body["language"] == "en"
    assert [line["role"] for line in body["transcript"]] == ["shopper", "bot", "shopper"]
    assert body["context"]["customer"] == {"id": "C-0001", "name": "Ada Lovelace", "email": "ada@example.com"}
    assert body["context"]["verified_order"] == "SD-100001"  # the order at hand (bot/risk.py)
    assert body["context"]["orders"][0] == {
        "number": "SD-100001",
        "status": "shipped",
        "total": "49.90 EUR",
        "created_at": "2025-01-02T00:00:00+00:00",
    }
    assert store.handoffs == [("shopper-1", "contact_human_agent")]


@pytest.mark.parametrize(
    ("reason", "wording"), [("no_agent", "Nobody"), ("closed", "outside business hours")]
)
async def test_offline_offers_a_ticket(
    service: tuple[FakeBotService, Settings], store: FakeStore, reason: str, wording: str
) -> None:
    fake, settings = service
    fake.answer = {
        "status": "offline",
        "wait_seconds": 0,
        "position": 0,
        "handoff_id": None,
        "reason": reason,
    }
    dispatcher = CollectingDispatcher()
    events = await ActionHandoff(settings).run(dispatcher, tracker(slots={"email": "ada@example.com"}), {})
    assert events == [SlotSet("handoff_status", "offline"), SlotSet("ticket_email", "ada@example.com")]
    (text,) = said(dispatcher)
    assert wording in text
    buttons = load_domain()["responses"][dispatcher.messages[0]["response"]][0]["buttons"]
    assert [b["payload"] for b in buttons] == ["/affirm", "/deny"]


async def test_unreachable_service_offers_a_ticket_and_never_raises(store: FakeStore) -> None:
    settings = Settings(handoff_url="http://127.0.0.1:9", handoff_token="x")  # nothing listens on port 9
    dispatcher = CollectingDispatcher()
    events = await ActionHandoff(settings).run(dispatcher, tracker(), {})
    assert events == [SlotSet("handoff_status", "offline")]
    assert "can't reach" in said(dispatcher)[0]


async def test_service_error_and_broken_store_still_answer(
    service: tuple[FakeBotService, Settings], store: FakeStore
) -> None:
    fake, settings = service
    fake.status = 500
    store.broken = True
    dispatcher = CollectingDispatcher()
    events = await ActionHandoff(settings).run(dispatcher, tracker(slots={"customer_id": "C-0001"}), {})
    assert events == [SlotSet("handoff_status", "offline")]
    assert fake.requests[0][1]["context"]["customer"] is None


async def test_submit_ticket(service: tuple[FakeBotService, Settings]) -> None:
    fake, settings = service
    dispatcher = CollectingDispatcher()
    t = tracker(slots={"ticket_email": "ada@example.com", "ticket_message": "Parcel damaged"})
    events = await ActionSubmitTicket(settings).run(dispatcher, t, {})
    assert events == [SlotSet("ticket_message", None), SlotSet("handoff_status", None)]
    assert "T-abc" in said(dispatcher)[0]
    path, body, _ = fake.requests[-1]
    assert (path, body["email"], body["message"]) == ("/api/tickets", "ada@example.com", "Parcel damaged")


async def test_submit_ticket_when_the_service_is_down() -> None:
    dispatcher = CollectingDispatcher()
    t = tracker(slots={"ticket_email": "ada@example.com", "ticket_message": "hi there"})
    await ActionSubmitTicket(Settings(handoff_url="http://127.0.0.1:9")).run(dispatcher, t, {})
    assert "couldn't save" in said(dispatcher)[0]


def test_ticket_form_validation() -> None:
    form = ValidateHandoffTicketForm()
    dispatcher = CollectingDispatcher()
    assert form.validate_ticket_email("mail me at ada@example.com.", dispatcher, tracker(), {}) == {
        "ticket_email": "ada@example.com"
    }
    assert form.validate_ticket_email("no email here", dispatcher, tracker(), {}) == {"ticket_email": None}
    assert form.validate_ticket_message("ok", dispatcher, tracker(), {}) == {"ticket_message": None}
    assert form.validate_ticket_message(" parcel lost ", dispatcher, tracker(), {}) == {
        "ticket_message": "parcel lost"
    }


def test_reason_and_transcript() -> None:
    assert handoff_reason(tracker("contact_customer_service")) == "contact_customer_service"
    assert handoff_reason(tracker("affirm", {"fallback_next": "offer_human"})) == "two fallbacks in a row"
    assert [line["ts"] for line in transcript(tracker())] == [10.0, 11.0, 12.0]


async def test_forged_customer_slot_gives_the_agent_no_customer_data(
    service: tuple[FakeBotService, Settings], store: FakeStore
) -> None:
    # Before: a customer_id slot alone put that customer's name, email and orders in front of the agent.
    fake, settings = service
    forged = {"customer_id": "C-0001", "verified_order_id": "SD-100001", "verification_proof": "v1.1.00"}
    await ActionHandoff(settings).run(CollectingDispatcher(), tracker(slots=forged), {})
    context = fake.requests[0][1]["context"]
    assert context["customer"] is None and context["orders"] == []
    assert context["verified_order"] is None  # no order at hand for the risk signals either


# --- bot_challenge never takes a request for a person (training data) -------------------------------------
_ASKS_FOR_A_PERSON = re.compile(
    r"\b(talk|speak|chat|connect|put me|transfer|get me|give me|let me|i want|i need|escalate)\b.*"
    r"\b(human|person|agent|someone|somebody|representative|operator|manager)\b",
    re.IGNORECASE,
)


def _examples(intent: str) -> list[str]:
    found: list[str] = []
    for path in sorted((ROOT / "training_data" / "nlu").glob("*.yml")):
        for block in (yaml.safe_load(path.read_text()) or {}).get("nlu") or []:
            if block.get("intent") == intent:
                found += [
                    line[2:].strip() for line in block["examples"].splitlines() if line.startswith("- ")
                ]
    return found


def test_bot_challenge_examples_never_ask_for_a_person() -> None:
    # "are you a bot? let me talk to a person" is a request for a person: labelled bot_challenge, it would be
    # answered "I'm a bot" and the shopper would not be handed off (issue 12, group 5).
    examples = _examples("bot_challenge")
    assert len(examples) > 40
    assert [e for e in examples if _ASKS_FOR_A_PERSON.search(e)] == []


def test_angry_and_misspelt_requests_for_a_person_are_trained() -> None:
    examples = {e.lower() for e in _examples("contact_human_agent")}
    assert {
        "this is useless, put me through to a human",
        "humen agent pls",
        "get me a real person!!!",
    } <= examples
    assert sum("bot" in e for e in examples) >= 5  # "are you a bot? then get me a human" is a handoff request
