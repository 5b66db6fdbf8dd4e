"""The pure parts of the Rasa add-ons: the REST guard, command payloads, redaction, settings, the entry point.

The parts that need Rasa itself run in its environment: tests/rasa_addons/.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from rasa_addons import checks, payloads, redact, serve, settings

ROOT = Path(__file__).resolve().parents[1]


# The language rules (LanguageGuard, LanguageDetector) are tested in tests/rasa_addons/test_language_rules.py.


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (b"\xff\xfe", 400, "body"),
        (b"{not json", 400, "body"),
        (b"[1, 2]", 400, "body"),
        (b'{"message": "hi"}', 400, "sender"),
        (b'{"sender": "../../etc", "message": "hi"}', 400, "sender"),
        (b'{"sender": "a", "message": 5}', 400, "message"),
        (b'{"sender": "a", "message": "' + b"x" * 5001 + b'"}', 413, "message"),
    ],
)
def test_rest_guard_rejects_bad_requests(body: bytes, status: int, field: str) -> None:
    with pytest.raises(checks.InputProblem) as problem:
        checks.parse_request(body, 5000)
    assert (problem.value.status, problem.value.field) == (status, field)


def test_rest_guard_accepts_a_good_request() -> None:
    payload = checks.parse_request('{"sender": "shop-1", "message": "wo ist 我的 order?"}'.encode(), 5000)
    assert payload["message"] == "wo ist 我的 order?"


# --- command payloads (rasa_addons.payloads) ------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "/affirm",
        "/deny",
        "/contact_human_agent",
        '/inform{"order_id":"SD-100042"}',
        '/inform{"line_item": "P-0001", "line_quantity": "0"}',
        '/product_question{"product":"P-0001"}',
        '/ask_question{"kb_entry":"kb-12"}',
        '/switch_language{"language": "zh"}',  # the language buttons of utter_language_unsupported
        "where is my order?",
        "a/b",
        "",
    ],
)
def test_button_payloads_and_plain_text_are_allowed(text: str) -> None:
    assert payloads.command_problem(text, payloads.SHOPPER_INTENTS, payloads.SHOPPER_ENTITIES) is None


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("/restart", "system command"),
        (" /session_start", "system command"),
        ("/back", "system command"),
        ("/nlu_fallback", "system command"),
        ("/drop_tables", "not a command"),
        ("/ restart", "not a command"),
        ("/affirm@1.0", "confidence"),
        ('/inform{"verified_order_id":"SD-100002"}', "verified_order_id"),
        ('/inform{"customer_id":"C-0001"}', "customer_id"),
        ('/inform{"verification_attempts":0}', "verification_attempts"),
        ('/inform{"order_id":["SD-1"]}', "text or a number"),
        ('/inform{"order_id":{"a":1}}', "text or a number"),
        ('/inform{"line_quantity":true}', "text or a number"),
        ('/inform{"line_quantity":Infinity}', "finite"),
        ('/inform["order_id"]', "not a command"),
        ("/inform{not json}", "JSON object"),
        ("/inform" + "{" * 3000 + "}" * 3000, "JSON object"),
        ('/inform{"order_id":"' + "x" * 201 + '"}', "longer than 200"),
    ],
)
def test_forbidden_command_payloads_are_named(text: str, words: str) -> None:
    problem = payloads.command_problem(text, payloads.SHOPPER_INTENTS, payloads.SHOPPER_ENTITIES)
    assert problem is not None and words in problem


def test_the_allow_lists_cover_every_domain_intent_and_entity_but_no_slot_only_names() -> None:
    domain: dict[str, set[str]] = {"intents": set(), "entities": set(), "slots": set()}
    for path in sorted((ROOT / "domain").glob("*.yml")):
        data = yaml.safe_load(path.read_text()) or {}
        for key in ("intents", "entities"):
            domain[key] |= {x if isinstance(x, str) else next(iter(x)) for x in data.get(key) or []}
        domain["slots"] |= set(data.get("slots") or {})
    assert payloads.SHOPPER_INTENTS == domain["intents"] - {"non_english"} | {"out_of_scope"}
    assert payloads.SHOPPER_ENTITIES <= domain["entities"]
    for internal in ("verified_order_id", "customer_id", "verification_attempts", "handoff_status"):
        assert internal not in payloads.SHOPPER_ENTITIES


def test_every_button_payload_in_the_domain_and_actions_is_allowed() -> None:
    found = set()
    for path in [*sorted((ROOT / "domain").glob("*.yml")), *sorted((ROOT / "actions").glob("*.py"))]:
        found |= set(re.findall(r"""payload["']?\s*[:,=]\s*f?["'](/[a-z_]+)""", path.read_text()))
    assert found, "no button payloads found"
    for payload in found:
        assert (
            payloads.command_problem(payload, payloads.SHOPPER_INTENTS, payloads.SHOPPER_ENTITIES) is None
        ), payload


# --- request checks (rasa_addons.checks) ----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"sender": "a", "message": "hi", "metadata": [1, 2]}', "metadata"),
        (b'{"sender": "a", "message": "hi", "metadata": {"k": [1]}}', "metadata"),
        (b'{"sender": "a", "message": "hi", "input_channel": "socketio"}', "input_channel"),
        (b'{"sender": "a", "message": "/restart"}', "message"),
        (b'{"sender": "a", "message": "/inform{\\"verified_order_id\\": \\"SD-100002\\"}"}', "message"),
        (b"[" * 5000 + b"]" * 5000, "body"),
    ],
)
def test_rest_guard_rejects_forged_fields(body: bytes, field: str) -> None:
    with pytest.raises(checks.InputProblem) as problem:
        checks.parse_request(body, 5000)
    assert (problem.value.status, problem.value.field) == (400, field)


def test_rest_guard_drops_client_sent_shopdesk_keys() -> None:
    payload = checks.parse_request(
        b'{"sender": "a", "message": "hi", "metadata": {"shopdesk_client": "x", "page": "/"}}', 5000
    )
    assert payload["metadata"] == {"page": "/"}


def test_client_ids_match_the_bot_services() -> None:
    widget_session = pytest.importorskip("bot.widget_session")
    secret = "s" * 20
    assert checks.client_id(secret, "10.0.0.7") == widget_session.client_id(secret, "10.0.0.7")
    header = widget_session.signed_client(secret, checks.client_id(secret, "10.0.0.7"))
    assert checks.verified_client(secret, header) == checks.client_id(secret, "10.0.0.7")
    assert checks.verified_client("other-secret-000000", header) is None


# --- redaction (rasa_addons.redact) ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail anna.berg@example.com please", "mail [email] please"),
        ("I live at Lindenstraße 12", "I live at [address]"),
        ("Sendlinger Str. 5, 80331 Munich", "[address], 80331 Munich"),
        ("ship to 12 Rue Oberkampf", "ship to [address]"),
        ("Keizersgracht 221 in Amsterdam", "[address] in Amsterdam"),
        ("call +49 30 12345678 now", "call [phone] now"),
        ("or (030) 123-4567", "or [phone]"),
        ("order SD-100042 refund RF-300001", "order SD-100042 refund RF-300001"),
        ("2026-12-02 23:31:35,261 INFO done", "2026-12-02 23:31:35,261 INFO done"),
        ("took 1733181234.123 s for 3 items of 19.99", "took 1733181234.123 s for 3 items of 19.99"),
        ("postcode 10969, 2 items", "postcode 10969, 2 items"),
        ("Send it to Market Street 40", "Send it to [address]"),
        ("221B Baker Street", "[address]"),
        ("Via Roma 3 or Rue de la Paix 4", "[address] or [address]"),
        (
            "2 items on the way, during 2 days, via DHL 3 times",
            "2 items on the way, during 2 days, via DHL 3 times",
        ),
        ("I'd like to place 2 orders in spring 2024", "I'd like to place 2 orders in spring 2024"),
    ],
)
def test_redaction_hides_pii_and_keeps_ids_dates_and_amounts(text: str, expected: str) -> None:
    assert redact.redact_text(text) == expected


# --- settings and the entry point (rasa_addons.settings, rasa_addons.serve) -----------------------------------
@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({"SHOPDESK_ENV": "production"}, "RASA_TOKEN"),
        ({"SHOPDESK_ENV": "production", "RASA_TOKEN": "r" * 20}, "ACTION_SERVER_TOKEN"),
        (
            {"SHOPDESK_ENV": "production", "RASA_TOKEN": "r" * 20, "ACTION_SERVER_TOKEN": "short"},
            "ACTION_SERVER_TOKEN",
        ),
        (
            {
                "SHOPDESK_ENV": "production",
                "RASA_TOKEN": "r" * 20,
                "ACTION_SERVER_TOKEN": "a" * 20,
                "WIDGET_SESSION_SECRET": "w" * 20,
            },
            "TRACKER_SECRET",
        ),
        ({"SHOPDESK_ENV": "staging"}, "SHOPDESK_ENV"),
        ({"TRACKER_RETENTION_DAYS": "-1"}, "TRACKER_RETENTION_DAYS"),
        ({"TRACKER_RETENTION_DAYS": "soon"}, "TRACKER_RETENTION_DAYS"),
        ({"REDACT_TRACKER": "maybe"}, "REDACT_TRACKER"),
        ({"ACTION_SERVER_TIMEOUT_S": "nan"}, "ACTION_SERVER_TIMEOUT_S"),
        ({"RASA_MAX_BODY_BYTES": "10"}, "RASA_MAX_BODY_BYTES"),
        ({"ACTION_SERVER_URL": "localhost:5055"}, "ACTION_SERVER_URL"),
    ],
)
def test_bad_settings_name_the_variable(env: dict[str, str], name: str) -> None:
    with pytest.raises(settings.SettingsError) as error:
        settings.load_settings(env)
    assert error.value.name == name
    assert name in str(error.value)
    assert "r" * 20 not in str(error.value)


def test_production_accepts_real_secrets_and_defaults_are_safe() -> None:
    good = settings.load_settings(
        {
            "SHOPDESK_ENV": "production",
            "RASA_TOKEN": "r" * 20,
            "ACTION_SERVER_TOKEN": "a" * 20,
            "WIDGET_SESSION_SECRET": "w" * 20,
            "TRACKER_SECRET": "k" * 20,
        }
    )
    assert good.production and good.redact_tracker and good.tracker_retention_days == 30
    assert good.max_body_bytes == 64 * 1024


def test_serve_passes_the_token_to_rasa_in_process_and_binds_to_loopback() -> None:
    argv = serve.rasa_argv(
        ["run", "--enable-api", "-p", "5005"], settings.load_settings({"RASA_TOKEN": "t" * 20})
    )
    assert argv[:2] == ["rasa", "run"]
    assert argv[argv.index("--auth-token") + 1] == "t" * 20
    assert argv[argv.index("--interface") + 1] == "127.0.0.1"
    with pytest.raises(serve.UsageError, match="RASA_TOKEN"):
        serve.rasa_argv(["run", "--auth-token", "x"], settings.load_settings({}))
    env: dict[str, str] = {}
    serve.export_environment(settings.load_settings({}), env)
    assert env["SHOPDESK_MAX_BODY_BYTES"] == str(64 * 1024)
    assert env["ACTION_SERVER_TOKEN"] == "dev-action-token"


def test_serve_refuses_a_bad_setting_before_starting_rasa() -> None:
    rasa_python = ROOT / ".venv" / "rasa" / "bin" / "python"
    if not rasa_python.exists():
        pytest.skip("Rasa's environment (.venv/rasa) is not set up")
    done = subprocess.run(
        [str(rasa_python), "-m", "rasa_addons.serve", "run"],
        cwd=ROOT,
        env={**os.environ, "TRACKER_RETENTION_DAYS": "forever"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2
    assert "TRACKER_RETENTION_DAYS='forever'" in done.stderr


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("\udfff where is SD-100003", "\ufffd where is SD-100003"),
        ("a\ud83db", "a\ufffdb"),  # a high surrogate without its pair
        ("ok 👩‍👩‍👧 订单", "ok 👩‍👩‍👧 订单"),  # valid text, emoji and Chinese untouched
    ],
)
def test_lone_surrogates_become_replacement_characters(raw: str, clean: str) -> None:
    assert checks.valid_unicode(raw) == clean
    checks.valid_unicode(raw).encode("utf-8")  # what every store and encoder downstream does
