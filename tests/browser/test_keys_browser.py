"""Keyboard-first use, screen-reader labels and roles in Debian's Chromium, against the bot service in-process
with a fake Rasa (what reaches the shopper is what the service appends to the shopper's tracker).

- an agent claims the next conversation, replies and hands back without the mouse; a lost claim race says who
  won (two console pages: the demo agent and the demo admin);
- the shortcuts dialog opens with "?" (never while typing) and the header button, Escape closes it, focus returns;
- every focusable or interactive node of the accessibility tree (CDP ``Accessibility.getFullAXTree``) has a
  non-empty accessible name in the console's main states, on the login page and in the admin area. The check
  knows no control by name, so the features merged next to this one are held to it too;
- the admin area for an admin (agents managed, HTML in a name shown as text) and the 403 page for an agent.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from analytics.settings import AnalyticsSettings
from bot.settings import DEMO_ADMIN_EMAIL, DEMO_AGENT_EMAIL
from tests.bot.conftest import FakeRasa
from tests.browser import bot_service
from tests.browser.bot_service import (
    HANDOFF_AUTH,
    bot_settings,
    console_page,
    new_page,
    post_json,
    queue_handoff,
    serve_bot,
)
from tests.browser.chromium import shot

pytestmark = pytest.mark.browser

XSS_NAME = '<img src=x onerror="window.__xss=1"> Zed'
# roles a person operates: each needs a name a screen reader can say
INTERACTIVE = {
    "button", "link", "textbox", "searchbox", "combobox", "listbox", "option", "tab", "tablist", "checkbox",
    "radio", "switch", "menu", "menubar", "menuitem", "menuitemcheckbox", "menuitemradio", "slider",
    "spinbutton", "tree", "treeitem", "grid", "dialog", "alertdialog", "MenuListOption",
}  # fmt: skip
CONTAINERS = {"list", "table", "group", "form"}  # named when they hold controls
DOCUMENT_ROLES = {"RootWebArea", "WebArea", "Iframe"}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, FakeRasa]]:
    tmp: Path = tmp_path_factory.mktemp("keys")
    analytics = AnalyticsSettings(event_broker_db=tmp / "events.db", analytics_db=tmp / "analytics.db")
    rasa = FakeRasa()
    with serve_bot(bot_settings(tmp, analytics=analytics), rasa, sync=False) as url:
        yield url, rasa


browser = bot_service.browser  # closed before the service


def queue(url: str, conversation_id: str, name: str) -> str:
    context = {"customer": {"name": name, "id": "C-0001"}, "orders": [{"number": "SD-100001"}], "cart": []}
    transcript = [{"role": "shopper", "text": "I want a person", "ts": 1000.0}]
    return queue_handoff(url, conversation_id, context, transcript=transcript)


def console(browser: Any, url: str, email: str) -> Any:
    """A console page logged in with the keyboard (the login form's email field has the focus)."""
    return console_page(browser, url, email, keyboard=True)


def focused_id(page: Any) -> str:
    return str(page.evaluate("() => document.activeElement ? document.activeElement.id : ''"))


def unnamed_controls(page: Any) -> list[str]:
    """Every focusable or interactive node of the accessibility tree without an accessible name, and every
    list / table / group holding controls without one, as ``role <tag attributes>``."""
    cdp = page.context.new_cdp_session(page)
    try:
        nodes = cdp.send("Accessibility.getFullAXTree")["nodes"]
        by_id = {node["nodeId"]: node for node in nodes}
        parents = {child: node["nodeId"] for node in nodes for child in node.get("childIds", [])}

        def role(node: dict[str, Any]) -> str:
            return str(node.get("role", {}).get("value", ""))

        def props(node: dict[str, Any]) -> dict[str, Any]:
            return {p["name"]: p.get("value", {}).get("value") for p in node.get("properties", [])}

        def needs_name(node: dict[str, Any]) -> bool:
            if node.get("ignored") or role(node) in DOCUMENT_ROLES:
                return False
            return role(node) in INTERACTIVE or bool(props(node).get("focusable"))

        controls = [node for node in nodes if needs_name(node)]
        holders: set[str] = set()
        for node in controls:  # the nearest list / table / group around each control
            parent = parents.get(node["nodeId"])
            while parent is not None and role(by_id[parent]) not in CONTAINERS | DOCUMENT_ROLES:
                parent = parents.get(parent)
            if parent is not None and role(by_id[parent]) in CONTAINERS:
                holders.add(parent)
        missing = []
        for node in [*controls, *(by_id[h] for h in sorted(holders))]:
            if str(node.get("name", {}).get("value", "")).strip():
                continue
            described = "?"
            if "backendDOMNodeId" in node:
                dom = cdp.send("DOM.describeNode", {"backendNodeId": node["backendDOMNodeId"]})["node"]
                attributes = dom.get("attributes", [])
                pairs = " ".join(f'{k}="{v}"' for k, v in zip(attributes[::2], attributes[1::2], strict=True))
                described = f"<{dom.get('localName', '?')} {pairs}>"
            missing.append(f"{role(node)} {described}")
        return missing
    finally:
        cdp.detach()


def assert_all_named(page: Any, state: str) -> None:
    missing = unnamed_controls(page)
    assert missing == [], f"{state}: controls without an accessible name: {missing}"


# --- keyboard-first ----------------------------------------------------------------------------------


def test_claim_reply_and_hand_back_without_the_mouse(browser: Any, service: tuple[str, FakeRasa]) -> None:
    url, rasa = service
    agent = console(browser, url, DEMO_AGENT_EMAIL)
    handoff_id = queue(url, "keys-shopper-1", "Kim Keyboard")
    later_id = queue(url, "keys-shopper-1b", "Lou Later")
    agent.wait_for_selector(f"#queued-list button[data-id='{later_id}']")
    top = agent.evaluate("() => window.ShopDeskConsole.queue().queued.map(i => i.id)")
    assert top == [handoff_id, later_id]

    for key, expected in (("J", handoff_id), ("J", later_id), ("K", handoff_id)):  # move through the list
        agent.keyboard.press(f"Alt+Key{key}")
        agent.wait_for_selector(f"#conv-header:has-text('{'Kim' if expected == handoff_id else 'Lou'}')")
        assert agent.evaluate("() => document.activeElement.getAttribute('data-id')") == expected
        assert agent.evaluate("() => window.ShopDeskConsole.selected()") == expected

    agent.keyboard.press("Alt+KeyR")  # nothing claimed yet: the reply box is closed, and it says so
    agent.wait_for_selector("#status:has-text('once you have claimed')")
    agent.keyboard.press("Alt+KeyN")  # claim the next one: the reply box gets the focus
    agent.wait_for_function("() => document.activeElement && document.activeElement.id === 'reply-text'")
    assert agent.locator("#conv-header").inner_text().count("Kim Keyboard") == 1
    assert "You have the conversation with Kim Keyboard" in agent.locator("#status").inner_text()

    agent.keyboard.type("Is that the parcel you mean?")  # "?" while typing is text, not the help dialog
    assert agent.locator("#keys-help[open]").count() == 0
    agent.keyboard.press("Shift+Enter")
    agent.keyboard.type("I can check it now.")
    agent.keyboard.press("Control+Enter")
    agent.wait_for_selector(".transcript .line.agent:has-text('I can check it now.')")
    sent = [e["text"] for cid, events in rasa.appended if cid == "keys-shopper-1" for e in events]
    assert "Is that the parcel you mean?\nI can check it now." in sent  # what reaches the shopper
    assert agent.locator("#reply-text").input_value() == ""

    agent.keyboard.press("Alt+KeyL")  # hand back asks first; Escape keeps the conversation
    agent.wait_for_selector("#keys-confirm[open]")
    assert focused_id(agent) == "keys-confirm-yes"
    agent.keyboard.press("Escape")
    agent.wait_for_selector("#keys-confirm:not([open])", state="attached")
    assert agent.locator("#hand-back").count() == 1
    agent.keyboard.press("Alt+KeyL")
    agent.wait_for_selector("#keys-confirm[open]")
    agent.keyboard.press("Enter")
    agent.wait_for_selector("#conv-header:has-text('closed')")
    status = agent.evaluate(f"fetch('/api/console/conversations/{handoff_id}').then(r => r.json())")
    assert status["status"] == "closed"
    assert agent.locator("#reply-form").is_hidden()
    agent.keyboard.press("Alt+KeyN")  # the next one is Lou's now
    agent.wait_for_function("() => document.activeElement && document.activeElement.id === 'reply-text'")
    assert "Lou Later" in agent.locator("#conv-header").inner_text()
    agent.keyboard.press("Alt+KeyL")
    agent.keyboard.press("Enter")
    agent.wait_for_selector("#conv-header:has-text('closed')")
    agent.keyboard.press("Alt+KeyN")
    agent.wait_for_selector("#status:has-text('Nobody is waiting.')")
    assert agent.errors == []
    agent.context.close()


def test_a_lost_claim_race_says_who_has_the_conversation(browser: Any, service: tuple[str, FakeRasa]) -> None:
    url, _ = service
    agent = console(browser, url, DEMO_AGENT_EMAIL)
    admin = console(browser, url, DEMO_ADMIN_EMAIL)
    handoff_id = queue(url, "keys-shopper-2", "Rita Race")
    for page in (agent, admin):
        page.wait_for_selector(f"#queued-list button[data-id='{handoff_id}']")
    held: list[Any] = []  # the agent's console does not learn of the admin's claim before pressing Alt+N
    agent.route("**/api/console/queue", lambda route: held.append(route))
    admin.keyboard.press("Alt+KeyN")
    admin.wait_for_function("() => document.activeElement && document.activeElement.id === 'reply-text'")
    agent.keyboard.press("Alt+KeyN")
    agent.wait_for_selector("#status:has-text('Too late')")
    assert agent.locator("#status").inner_text() == (
        "Too late: Ada (demo admin) claimed the conversation with Rita Race first."
    )
    for route in held:
        route.continue_()
    agent.unroute("**/api/console/queue")
    agent.wait_for_selector(f"#queued-list button[data-id='{handoff_id}']", state="detached")
    assert agent.locator("#reply-form").is_hidden()
    admin.keyboard.press("Alt+KeyL")
    admin.keyboard.press("Enter")
    admin.wait_for_selector("#conv-header:has-text('closed')")
    assert agent.errors == [] and admin.errors == []
    agent.context.close()
    admin.context.close()


def test_the_shortcuts_dialog(browser: Any, service: tuple[str, FakeRasa]) -> None:
    url, _ = service
    agent = console(browser, url, DEMO_AGENT_EMAIL)
    agent.locator("#tab-closed").focus()
    agent.keyboard.press("?")
    agent.wait_for_selector("#keys-help[open]")
    assert agent.get_by_role("dialog", name="Keyboard shortcuts").is_visible()
    rows = agent.locator("#keys-help tbody tr").all_inner_texts()
    for keys in ("Alt+N", "Alt+J", "Alt+K", "Alt+R", "Alt+L", "Alt+/", "Ctrl+Enter", "Escape"):
        assert any(row.startswith(keys) for row in rows), (keys, rows)
    assert agent.evaluate("() => document.activeElement.closest('#keys-help') !== null")  # focus is inside
    assert_all_named(agent, "the shortcuts dialog")
    shot(agent, "console-keys-01-shortcuts")
    agent.keyboard.press("Escape")
    agent.wait_for_selector("#keys-help:not([open])", state="attached")
    assert focused_id(agent) == "tab-closed"  # focus went back where it was

    agent.get_by_role("button", name="Keyboard shortcuts (?)").focus()
    agent.keyboard.press("Enter")
    agent.wait_for_selector("#keys-help[open]")
    agent.keyboard.press("Tab")  # modal: the page behind is inert (Tab leaves for the browser's own UI)
    assert agent.evaluate(
        "() => document.activeElement === document.body || document.activeElement.closest('#keys-help') !== null"
    )
    agent.get_by_role("button", name="Close").press("Enter")
    agent.wait_for_selector("#keys-help:not([open])", state="attached")
    assert focused_id(agent) == "keys-help-button"
    outline = "() => getComputedStyle(document.activeElement).outlineStyle"
    assert agent.evaluate(outline) == "solid"  # a visible focus ring for keyboard users

    agent.keyboard.press("Alt+Slash")  # search
    assert agent.locator("#tab-search").get_attribute("aria-selected") == "true"
    assert agent.evaluate("() => document.getElementById('panel-search').hidden") is False
    assert agent.evaluate(  # the search slice's first field, or the tab while the panel has none
        "() => document.activeElement.id === 'tab-search' || document.activeElement.closest('#panel-search') !== null"
    )
    agent.context.close()


# --- labels ------------------------------------------------------------------------------------------


def test_every_control_has_an_accessible_name(browser: Any, service: tuple[str, FakeRasa]) -> None:
    url, _ = service
    login = new_page(browser)
    login.goto(url + "/console/login")
    assert_all_named(login, "the login page")
    login.context.close()

    agent = console(browser, url, DEMO_AGENT_EMAIL)
    handoff_id = queue(url, "keys-shopper-3", "Lena Label")
    agent.wait_for_selector(f"#queued-list button[data-id='{handoff_id}']")
    assert_all_named(agent, "the queue")
    agent.locator(f"#queued-list button[data-id='{handoff_id}']").click()
    agent.wait_for_selector("#claim")
    assert_all_named(agent, "a waiting conversation")
    agent.locator("#claim").click()
    agent.wait_for_selector("#reply-form:not([hidden])")
    agent.locator("#order-id").fill("SD-1")
    agent.locator("#order-id").press("Enter")
    agent.wait_for_selector("#order-result .error")
    assert_all_named(agent, "a conversation its agent has open")
    agent.keyboard.press("Alt+KeyL")
    agent.wait_for_selector("#keys-confirm[open]")
    assert agent.get_by_role("alertdialog", name="Hand back to the bot?").is_visible()
    assert_all_named(agent, "the hand-back confirmation")
    agent.keyboard.press("Enter")
    agent.wait_for_selector("#conv-header:has-text('closed')")

    agent.get_by_role("tab", name="Closed").click()
    agent.wait_for_selector(f"#closed-list button[data-id='{handoff_id}']")
    assert_all_named(agent, "the closed conversations")
    post_json(
        url + "/api/tickets",
        {"conversation_id": "keys-shopper-4", "email": "t@shop.test", "message": "Call me back"},
        HANDOFF_AUTH,
    )
    agent.get_by_role("tab", name="Tickets").click()
    agent.locator("#ticket-list button").first.click()
    agent.wait_for_selector("#conv-header:has-text('Ticket')")
    assert_all_named(agent, "a ticket")
    agent.get_by_role("tab", name="Search").click()
    assert_all_named(agent, "the search tab")
    agent.context.close()

    admin = console(browser, url, DEMO_ADMIN_EMAIL)
    assert_all_named(admin, "an admin's console")
    admin.goto(url + "/console/admin")
    assert_all_named(admin, "the admin area")
    admin.goto(url + "/console/admin/agents")
    admin.wait_for_selector("#agents-table[aria-busy='false']")
    assert_all_named(admin, "agent management")
    admin.goto(url + "/console/dashboard")
    admin.wait_for_selector("#dashboard[aria-busy='false']")
    assert_all_named(admin, "the analytics dashboard")
    admin.context.close()


# --- roles -------------------------------------------------------------------------------------------


def test_the_admin_area_for_an_admin_and_for_an_agent(browser: Any, service: tuple[str, FakeRasa]) -> None:
    url, _ = service
    admin = console(browser, url, DEMO_ADMIN_EMAIL)
    admin.get_by_role("link", name="Admin", exact=True).click()
    admin.wait_for_url("**/console/admin")
    for name in ("Canned replies", "Agents", "Analytics dashboard"):
        assert admin.get_by_role("link", name=name, exact=True).count() == 1
    admin.get_by_role("link", name="Agents", exact=True).click()
    admin.wait_for_selector("#agents-table[aria-busy='false']")
    assert admin.get_by_role("combobox", name="Role of Ada (demo admin)").is_disabled()  # not yourself
    assert admin.get_by_role("button", name="Disable Ada (demo admin)").is_disabled()

    admin.get_by_label("Email").fill("zed@shop.test")
    admin.get_by_label("Name").fill(XSS_NAME)
    admin.get_by_label("Initial password").fill("short")
    admin.get_by_role("button", name="Add agent").click()
    admin.wait_for_selector("#error-password:has-text('at least 12 characters')")
    assert focused_id(admin) == "new-password"  # the bad field, announced by its description
    assert admin.locator("#new-password").get_attribute("aria-invalid") == "true"
    admin.get_by_label("Initial password").fill("zed-password-12")
    admin.get_by_role("button", name="Add agent").click()
    admin.wait_for_selector("#agents-body tr[data-email='zed@shop.test']")
    row = admin.locator("#agents-body tr[data-email='zed@shop.test']")
    assert row.locator("td").first.inner_text() == XSS_NAME  # text, never markup
    assert admin.locator("#agents-body img").count() == 0 and admin.evaluate("window.__xss") is None
    admin.get_by_label("Email").fill("zed@shop.test")
    admin.get_by_label("Name").fill("Zed again")
    admin.get_by_label("Initial password").fill("zed-password-12")
    admin.get_by_role("button", name="Add agent").click()
    admin.wait_for_selector("#admin-status:has-text('already exists')")

    admin.get_by_role("combobox", name=f"Role of {XSS_NAME}").select_option("admin")
    admin.wait_for_selector("#admin-status:has-text('role admin')")
    admin.get_by_role("button", name=f"Disable {XSS_NAME}").click()
    admin.wait_for_selector("#agents-body tr[data-email='zed@shop.test'] button:has-text('Enable')")
    assert (
        focused_id(admin) == ""
        and admin.evaluate("() => document.activeElement.getAttribute('data-toggle-of')") == "zed@shop.test"
    )  # the keyboard keeps its place after the redraw
    shot(admin, "console-keys-02-agents")
    assert admin.errors == []
    admin.context.close()

    agent = console(browser, url, DEMO_AGENT_EMAIL)
    assert agent.get_by_role("link", name="Admin", exact=True).count() == 0
    response = agent.goto(url + "/console/admin/agents")
    assert response is not None and response.status == 403
    assert "admin area is for admins" in (agent.locator("#forbidden").text_content() or "")
    assert_all_named(agent, "the admins-only page")
    agent.context.close()
