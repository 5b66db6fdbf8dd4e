"""The analytics sink's settings, message parsing and table, without a broker."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from analytics import broker
from analytics.broker_sink import EventsTable, event_row, from_env
from analytics.errors import ConfigError


def test_settings_default_to_the_shared_topology(tmp_path: Path) -> None:
    settings = from_env(
        {"ANALYTICS_BROKER_URL": "amqp://u:p@10.0.0.3:5672/", "EVENT_BROKER_DB": str(tmp_path / "e.db")}
    )
    assert settings.queue == "shopdesk.analytics"
    assert settings.exchange == "shopdesk.events"
    assert settings.event_broker_db == tmp_path / "e.db"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "ANALYTICS_BROKER_URL=''"),
        ({"ANALYTICS_BROKER_URL": "http://h:5672/"}, "ANALYTICS_BROKER_URL='http://h:5672/'"),
        (
            {"ANALYTICS_BROKER_URL": "amqp://u:secret@h:99999/"},
            "ANALYTICS_BROKER_URL='amqp://u:***@h:99999/'",
        ),
        (
            {"ANALYTICS_BROKER_URL": "amqp://h/", "ANALYTICS_BROKER_QUEUE": "a b"},
            "ANALYTICS_BROKER_QUEUE='a b'",
        ),
    ],
)
def test_a_bad_setting_is_named_and_no_password_is_shown(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        from_env(env)
    assert str(caught.value).startswith(message)
    assert "secret" not in str(caught.value)


def test_only_json_events_with_a_sender_become_rows() -> None:
    event = {"event": "user", "timestamp": 1.0, "text": "hi", "sender_id": "s1"}
    sender, data = event_row(json.dumps(event).encode()) or ("", "")
    assert sender == "s1"
    assert json.loads(data) == event
    for bad in (b"not json", b"[1]", b'{"event": "user"}', b'{"sender_id": "s"}', b"\xff\xfe"):
        assert event_row(bad) is None, bad


def test_rows_land_in_the_table_analytics_reads(tmp_path: Path) -> None:
    path = tmp_path / "events.db"
    table = EventsTable(path)
    for sender in ("a", "b", "a"):
        table.append(sender, json.dumps({"event": "user", "timestamp": 1.0, "sender_id": sender}))
    table.close()
    senders, top = broker.new_senders(path, 0)
    assert senders == {"a", "b"}
    assert top == 3
    rows = list(broker.events_of(path, {"a"}, top))
    assert [row.id for row in rows] == [1, 3]
    assert all(broker.parse(row) for row in rows)
