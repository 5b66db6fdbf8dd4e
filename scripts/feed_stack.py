"""A one-box stack whose console is fed by RabbitMQ (``CONSOLE_FEED=broker``), for the live test and the bench.

The usual processes (``scripts.stack``), with two changes through the ``Stack.service_list`` hook: Rasa reads
an endpoints file whose event broker is ``RedactingPikaEventBroker`` on ``RABBITMQ_URL`` (the rest as
endpoints.yml), and the bot service runs with ``CONSOLE_FEED=broker`` (``Service.env``). The RabbitMQ node
itself comes from ``scripts.engines.rabbitmq_server``; the full production topology is scripts/cluster.py.
"""

from __future__ import annotations

import re
from pathlib import Path

from scripts.stack import ROOT, Service, Stack, StackConfig

EVENT_BROKER_BLOCK = re.compile(r"\nevent_broker:\n(?:  .*\n?)+")


def event_broker_block(endpoints: Path) -> str:
    """The one ``event_broker:`` block of an endpoints file."""
    found = EVENT_BROKER_BLOCK.findall(endpoints.read_text())
    if len(found) != 1:
        raise ValueError(f"{endpoints}: expected one event_broker block, found {len(found)}")
    return str(found[0])


def broker_endpoints(path: Path) -> Path:
    """endpoints.yml with its event broker replaced by the cluster's RabbitMQ one (endpoints.cluster.yml's
    block: one source for both topologies), written to ``path``."""
    single_box = ROOT / "endpoints.yml"
    event_broker_block(single_box)  # exactly one to replace
    rabbitmq = event_broker_block(ROOT / "endpoints.cluster.yml")
    path.write_text(EVENT_BROKER_BLOCK.sub(lambda _: rabbitmq, single_box.read_text()))
    return path


class FeedStack(Stack):
    """``Stack`` with Rasa publishing to RabbitMQ at ``broker_url`` and the bot's feed set by ``bot_env``."""

    def __init__(
        self,
        config: StackConfig,
        broker_url: str,
        bot_env: dict[str, str] | None = None,
        log_dir: Path | None = None,
        timeout_s: float = 600.0,
    ) -> None:
        super().__init__(config, log_dir)
        self.broker_url = broker_url
        self.bot_env = {"CONSOLE_FEED": "broker", "CONSOLE_BROKER_URL": broker_url, **(bot_env or {})}
        self.timeout_s = timeout_s
        config.extra_env["RABBITMQ_URL"] = broker_url

    def service_list(self) -> list[Service]:
        endpoints = broker_endpoints(self.config.var_dir / "endpoints.broker.yml")
        listed = super().service_list()
        for service in listed:
            service.timeout_s = max(service.timeout_s, self.timeout_s)  # two shared cores start slowly
            if service.name == "rasa":
                service.argv[service.argv.index("--endpoints") + 1] = str(endpoints)
            elif service.name == "bot":
                service.env.update(self.bot_env)
        return listed
