"""RedactingPikaEventBroker without a broker: URL handling, redaction of what it publishes, the topology it
declares (pika_broker_probe.py, in Rasa's environment). The live path: tests/cluster/test_console_feed.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.bot.rasa_env import probe_facts


@pytest.fixture(scope="module")
def facts() -> dict[str, Any]:
    return probe_facts(Path(__file__).with_name("pika_broker_probe.py"))


def test_user_password_and_port_come_from_the_url(facts: dict[str, Any]) -> None:
    assert facts["full"] == ["shop@desk", "p@ss", 41234, "amqp://shop%40desk:p%40ss@127.0.0.1:41234/vh"]
    assert facts["bare"] == ["guest", "guest", 5672, "amqp://guest:guest@127.0.0.1:5672"]
    assert facts["given"] == ["u", "pw", 5999, "amqp://u:pw@127.0.0.1:5999/"]


def test_a_bad_url_is_named_without_its_password(facts: dict[str, Any]) -> None:
    assert "'http://user:***@127.0.0.1:5672/'" in facts["error_http"]
    assert "'amqp://user:***@127.0.0.1:notaport/'" in facts["error_port"]
    assert "s3cret" not in facts["error_http"] + facts["error_port"]


def test_published_events_are_redacted_persistent_and_keep_the_sender(facts: dict[str, Any]) -> None:
    user, slot, action = facts["bodies"]
    assert user["sender_id"] == "c-1" and user["timestamp"] == 1700000000.123456
    assert user["text"] == "I am [email], call [phone], [address]; order SD-100042"
    assert user["parse_data"]["entities"][0]["value"] == "[email]"
    assert "jane" not in str(facts["bodies"])
    assert slot["value"] == "[redacted]"
    assert action == {"sender_id": "c-1", "event": "action", "name": "action_listen", "timestamp": 2.0}
    assert facts["delivery_modes"] == [2, 2, 2]  # persistent: survives a broker restart in a durable queue
    assert facts["routing_keys"] == ["", "", ""]
    assert facts["caller_event_untouched"]


def test_it_declares_the_shared_durable_fanout_topology(facts: dict[str, Any]) -> None:
    assert facts["exchange_name"] == "shopdesk.events"
    assert facts["queues"] == ["shopdesk.console", "shopdesk.analytics"]
    assert facts["declared"] == [
        ["exchange", "shopdesk.events", "fanout", True],
        ["queue", "shopdesk.console", True],
        ["bind", "shopdesk.console", "shopdesk.events", ""],
        ["queue", "shopdesk.analytics", True],
        ["bind", "shopdesk.analytics", "shopdesk.events", ""],
    ]


def test_a_failed_publish_is_kept_for_resending_and_logged_without_its_text(facts: dict[str, Any]) -> None:
    assert facts["kept_to_resend"] == ["secret words"]
    assert len(facts["failed_logs"]) == 1
    assert "user event (ConnectionResetError)" in facts["failed_logs"][0]
    assert "secret" not in facts["failed_logs"][0]
