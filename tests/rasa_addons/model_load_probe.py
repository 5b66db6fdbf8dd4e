"""Loads the trained assistant one way and prints what it predicts, as JSON for test_model_load.py and the bench.

Run with Rasa's interpreter: `.venv/rasa/bin/python tests/rasa_addons/model_load_probe.py fast|stock MODEL.tar.gz`.
`fast` installs rasa_addons.model_load first; `stock` is Rasa's own load. Prints the load's wall and CPU seconds,
how the TensorFlow models were loaded, and for each message the NLU parse (intents with confidences, entities)
and TEDPolicy's action probabilities after it — the two TensorFlow models the load builds.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

MESSAGES = [
    "hi there",
    "where is my order SD-100003?",
    "ben.okafor@example.com",
    "I want to buy a yoga mat",
    "what is your refund policy?",
    "cancel order SD-100042 please",
    "this is useless, get me a human",
    "我的订单在哪里",
    "thanks, bye",
]


def facts(mode: str, model: str) -> dict[str, Any]:
    from rasa_addons import model_load

    if mode == "fast":
        model_load.install_fast_model_load()
    from rasa.core.agent import Agent

    wall, cpu = time.perf_counter(), time.process_time()
    agent = Agent.load(model)
    load_s, load_cpu_s = time.perf_counter() - wall, time.process_time() - cpu
    return predictions(
        agent, {"load_s": load_s, "load_cpu_s": load_cpu_s, "loads": dict(model_load.FAST_LOADS)}
    )


def predictions(agent: Any, load: dict[str, Any]) -> dict[str, Any]:
    """`load` (the load's seconds and `model_load.FAST_LOADS` right after it) with what the loaded `agent`
    predicts: the NLU parse and TEDPolicy's probabilities for each message. model_probe_server.py calls it on
    the agent it loaded once, for the fast side of test_model_load.py."""
    from rasa.engine.constants import PLACEHOLDER_TRACKER
    from rasa.shared.core.constants import ACTION_LISTEN_NAME
    from rasa.shared.core.events import ActionExecuted, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    processor = agent.processor
    assert processor is not None and agent.domain is not None
    ted_nodes = [name for name in processor.model_metadata.predict_schema.nodes if "TEDPolicy" in name]
    out: dict[str, Any] = dict(load)
    out["ted_nodes"] = ted_nodes
    out["messages"] = []
    for text in MESSAGES:
        parse = asyncio.run(agent.parse_message(text))
        tracker = DialogueStateTracker.from_events(
            "probe",
            [
                ActionExecuted(ACTION_LISTEN_NAME),
                UserUttered(text, parse["intent"], parse["entities"], parse),
            ],
            slots=agent.domain.slots,
        )
        predicted = processor.graph_runner.run(inputs={PLACEHOLDER_TRACKER: tracker}, targets=ted_nodes)
        out["messages"].append(
            {
                "text": text,
                "intents": [[i["name"], i["confidence"]] for i in parse["intent_ranking"]],
                "entities": [[e["entity"], e["value"], e.get("extractor")] for e in parse["entities"]],
                "ted": list(predicted[ted_nodes[0]].probabilities),
            }
        )
    return out


if __name__ == "__main__":
    print("PROBE " + json.dumps(facts(sys.argv[1], sys.argv[2])))
