"""scripts.feed_stack without starting anything: the endpoints Rasa reads, the bot service's feed settings."""

from __future__ import annotations

from pathlib import Path

import yaml

from scripts.feed_stack import FeedStack, broker_endpoints
from scripts.stack import ROOT, StackConfig


def test_the_endpoints_differ_from_endpoints_yml_only_in_the_event_broker(tmp_path: Path) -> None:
    written = yaml.safe_load(broker_endpoints(tmp_path / "e.yml").read_text())
    original = yaml.safe_load((ROOT / "endpoints.yml").read_text())
    assert written["event_broker"] == {
        "type": "rasa_addons.event_broker.RedactingPikaEventBroker",
        "url": "${RABBITMQ_URL}",
        "exchange_name": "shopdesk.events",
        "queues": ["shopdesk.console", "shopdesk.analytics"],
    }
    assert {k: v for k, v in written.items() if k != "event_broker"} == {
        k: v for k, v in original.items() if k != "event_broker"
    }


def test_rasa_reads_them_and_the_bot_consumes_the_broker(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "m.tar.gz").write_bytes(b"")
    config = StackConfig(var_dir=tmp_path, models_dir=tmp_path / "models", with_bot=True)
    url = "amqp://guest:guest@127.0.0.1:5999/"
    services = {s.name: s for s in FeedStack(config, url, {"HANDOFF_POLL_INTERVAL_S": "9"}).service_list()}
    rasa_endpoints = services["rasa"].argv[services["rasa"].argv.index("--endpoints") + 1]
    assert rasa_endpoints == str(tmp_path / "endpoints.broker.yml")
    assert config.env()["RABBITMQ_URL"] == url
    assert services["bot"].env == {
        "CONSOLE_FEED": "broker",
        "CONSOLE_BROKER_URL": url,
        "HANDOFF_POLL_INTERVAL_S": "9",
    }
    assert services["actions"].env == {}
