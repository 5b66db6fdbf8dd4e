"""The team slice in Debian's Chromium with two agent pages (Alex and Ada, the demo agents): the claim race,
internal notes (HTML shown as text, live on the other page), status and transfer, going offline mid-conversation.
The bot service runs in a thread with a fake Rasa (what reaches the shopper is what it records)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from bot.messages import WIDGET
from bot.settings import DEMO_ADMIN_EMAIL, DEMO_AGENT_EMAIL
from tests.bot.conftest import FakeRasa
from tests.browser.bot_service import (
    TIMEOUT_MS,
    bot_settings,
    console_page,
    new_page,
    queue_handoff,
    serve_bot,
)
from tests.browser.chromium import chromium, shot

pytestmark = pytest.mark.browser

XSS = '<img src=x onerror="window.__xss=1"><b>VIP</b>'
NAMES = {DEMO_AGENT_EMAIL: "Alex (demo agent)", DEMO_ADMIN_EMAIL: "Ada (demo admin)"}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, FakeRasa]]:
    settings = bot_settings(tmp_path_factory.mktemp("console-team"), poll_interval_s=0.2)
    rasa = FakeRasa()
    with serve_bot(settings, rasa) as url:
        yield url, rasa


@pytest.fixture(scope="module")
def pages(service: tuple[str, FakeRasa]) -> Iterator[dict[str, Any]]:
    """Alex's and Ada's consoles, each in its own browser context; closed before the service."""
    url, _ = service
    with chromium() as browser:
        found = {email: console_page(browser, url, email) for email in (DEMO_AGENT_EMAIL, DEMO_ADMIN_EMAIL)}
        yield found
        for page in found.values():
            assert page.errors == []
            assert page.evaluate("window.__xss") is None


def queue_conversation(url: str, conversation_id: str) -> str:
    transcript = [{"role": "shopper", "text": "my refund never arrived", "ts": time.time() - 30}]
    return queue_handoff(url, conversation_id, {"customer": {"name": "Grace Hopper"}}, transcript=transcript)


def owner(page: Any, handoff_id: str) -> str | None:
    conv = page.evaluate(f"fetch('/api/console/conversations/{handoff_id}').then(r => r.json())")
    return conv["agent_email"]


def shopper_texts(rasa: FakeRasa, conversation_id: str) -> list[str]:
    return [
        e["text"] for cid, events in rasa.appended if cid == conversation_id for e in events if "text" in e
    ]


STATE: dict[str, str] = {}


def test_two_agents_claim_at_once_one_wins_the_other_is_told_who(
    service: tuple[str, FakeRasa], pages: dict[str, Any]
) -> None:
    url, rasa = service
    hid = STATE["hid"] = queue_conversation(url, "team-race")
    for page in pages.values():
        page.locator(f"#queued-list button[data-id='{hid}']").click()
        page.wait_for_selector("#claim")
    at_ms = (time.time() + 0.6) * 1000  # both pages click at the same instant
    for page in pages.values():
        page.evaluate(
            "at => setTimeout(() => document.getElementById('claim').click(), at - Date.now())", at_ms
        )
    winner_email = None
    deadline = time.monotonic() + TIMEOUT_MS / 1000
    while winner_email is None and time.monotonic() < deadline:
        time.sleep(0.1)
        winner_email = owner(pages[DEMO_AGENT_EMAIL], hid)
    assert winner_email in NAMES
    loser_email = next(email for email in NAMES if email != winner_email)
    winner, loser = pages[winner_email], pages[loser_email]
    winner.wait_for_selector("#reply-form:not([hidden])")
    loser.wait_for_function(
        "name => document.getElementById('status').textContent.includes('claimed by ' + name)",
        arg=NAMES[winner_email],
    )
    assert loser.locator("#reply-form").is_hidden()
    assert (
        shopper_texts(rasa, "team-race").count(
            f"{NAMES[winner_email].split()[0]} from our support team has joined the chat."
        )
        == 1
    )
    STATE["winner"], STATE["loser"] = winner_email, loser_email


def test_notes_show_html_as_text_and_reach_the_other_agent_live(
    service: tuple[str, FakeRasa], pages: dict[str, Any]
) -> None:
    _, rasa = service
    hid = STATE["hid"]
    winner, loser = pages[STATE["winner"]], pages[STATE["loser"]]
    sent_before = len(rasa.appended)
    loser.locator(f"#active-list button[data-id='{hid}']").click()  # the other agent watches the conversation
    loser.wait_for_selector("#notes-list .notes-empty")
    winner.get_by_label("Add an internal note").fill(XSS + " customer since 2019")
    winner.get_by_role("button", name="Add note").click()
    winner.wait_for_selector("#notes-list .note-note")
    note = loser.locator("#notes-list .note-note .note-text")
    note.wait_for()  # live, without a reload
    assert note.text_content() == XSS + " customer since 2019"
    assert loser.locator("#notes-list img, #notes-list b").count() == 0
    assert NAMES[STATE["winner"]] in (loser.locator("#notes-list .note-meta").text_content() or "")
    assert winner.locator("#notes-list .note").count() == 1  # added once, though also pushed back
    winner.get_by_label("Add an internal note").fill("   ")
    winner.get_by_role("button", name="Add note").click()
    assert winner.locator("#notes-list .note").count() == 1
    assert len(rasa.appended) == sent_before  # nothing reached Rasa (the shopper)
    shot(loser, "console-team-01-notes")


def test_status_is_shown_to_the_team_and_a_transfer_needs_an_online_agent(
    service: tuple[str, FakeRasa], pages: dict[str, Any]
) -> None:
    _, rasa = service
    winner, loser = pages[STATE["winner"]], pages[STATE["loser"]]
    loser.get_by_label("Status", exact=True).select_option("away")
    option = winner.locator(f"#transfer-to option[value='{STATE['loser']}']")
    winner.wait_for_selector(f"#transfer-to option[value='{STATE['loser']}'][disabled]", state="attached")
    assert "(away)" in (option.text_content() or "")
    winner.locator("#team summary").click()
    assert (
        winner.locator(f"#team-list li[data-email='{STATE['loser']}']").get_attribute("data-status") == "away"
    )

    loser.get_by_label("Status", exact=True).select_option("online")
    winner.wait_for_selector(
        f"#transfer-to option[value='{STATE['loser']}']:not([disabled])", state="attached"
    )
    winner.get_by_label("Transfer to").select_option(STATE["loser"])
    winner.get_by_label("Reason for the transfer").fill("refund needs a supervisor")
    winner.get_by_role("button", name="Transfer", exact=True).click()
    loser.wait_for_function(
        "() => document.getElementById('status').textContent.includes('transferred a conversation to you')"
    )
    loser.wait_for_selector("#reply-form:not([hidden])")  # the open conversation is now theirs
    system = loser.locator("#notes-list .note-system .note-text").last
    expected = (
        f"transferred from {NAMES[STATE['winner']]} to {NAMES[STATE['loser']]}: refund needs a supervisor"
    )
    system.wait_for()
    assert system.text_content() == expected
    winner.locator("#reply-form").wait_for(state="hidden")
    assert winner.locator("#transfer-form").count() == 0
    assert (
        shopper_texts(rasa, "team-race")[-1]
        == f"You are now chatting with {NAMES[STATE['loser']].split()[0]}."
    )
    shot(loser, "console-team-02-transferred")


def test_going_offline_mid_conversation_returns_it_to_the_queue_with_its_transcript(
    service: tuple[str, FakeRasa], pages: dict[str, Any]
) -> None:
    _, rasa = service
    hid = STATE["hid"]
    owner_page, other = pages[STATE["loser"]], pages[STATE["winner"]]
    owner_page.get_by_label("Status", exact=True).select_option("offline")
    owner_page.wait_for_function(
        "() => document.getElementById('status').textContent.includes('1 conversation went back to the queue')"
    )
    other.wait_for_selector(f"#queued-list button[data-id='{hid}']")  # live, on the other console
    other.locator(f"#queued-list button[data-id='{hid}']").click()
    other.wait_for_selector("#claim")
    lines = other.locator("#transcript .line .text").all_text_contents()
    assert lines[0] == "my refund never arrived"
    assert "You are now chatting with" in " ".join(lines)  # everything said so far is still there
    reason = other.locator("#notes-list .note-system .note-text").last
    reason.wait_for()
    assert reason.text_content() == f"returned to the queue: {NAMES[STATE['loser']]} went offline"
    assert shopper_texts(rasa, "team-race")[-1] == "Another member of our team will be with you shortly."
    shot(other, "console-team-03-offline-requeued")
    owner_page.get_by_label("Status", exact=True).select_option("online")
    other.wait_for_selector(
        f"#team-list li[data-email='{STATE['loser']}'][data-status='online']", state="attached"
    )


def test_the_shopper_sees_each_hand_over_in_the_widget(
    service: tuple[str, FakeRasa], pages: dict[str, Any]
) -> None:
    """The shopper's page (socket.io stubbed) gets the notices the agents' moves above sent, as the Rasa channel
    delivers them: the banner follows joined → transferred → back in the queue."""
    from tests.browser.test_language_ui import FAKE_SOCKET_IO

    url, rasa = service
    sent = [
        e for cid, events in rasa.appended if cid == "team-race" for e in events if e.get("event") == "bot"
    ]
    delivered = [
        {
            "text": e["text"],
            "role": e["metadata"]["shopdesk_role"],
            "event": e["metadata"].get("shopdesk_event"),
            "agent_name": e["metadata"].get("agent_name"),
        }
        for e in sent
    ]
    assert [d["event"] for d in delivered] == ["joined", "joined", "queued"]
    shopper = new_page(next(iter(pages.values())).context.browser)
    shopper.route(
        "**/static/vendor/socket.io.min.js",
        lambda route: route.fulfill(body=FAKE_SOCKET_IO, content_type="application/javascript"),
    )
    shopper.goto(url)
    shopper.locator(".sd-launcher").click()
    shopper.wait_for_selector("#shopdesk-widget[data-connected='true']")
    banners = []
    for message in delivered:
        shopper.evaluate("m => window.__fire('bot_uttered', m)", message)
        banners.append(shopper.locator(".sd-banner").text_content())
    first, second = (NAMES[STATE[k]].split()[0] for k in ("winner", "loser"))
    assert banners == [
        WIDGET["en"]["agent_banner"].format(name=first),
        WIDGET["en"]["agent_banner"].format(name=second),
        WIDGET["en"]["queued_banner"],
    ]
    assert shopper.locator("#shopdesk-widget").get_attribute("data-mode") == "queued"
    shot(shopper, "console-team-04-shopper-back-in-queue")
