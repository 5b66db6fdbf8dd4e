"""Parse messages with a trained Rasa model and print the intents and entities as JSON, for test_ids.py.

Run with Rasa's interpreter: `.venv/rasa/bin/python tests/actions/nlu_probe.py MODEL '["text", ...]'`.
Prints one line `PROBE [{"text", "intent", "entities": [[type, value], ...]}, ...]`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # the model's pipeline names rasa_addons components

from rasa.core.agent import Agent  # noqa: E402


async def main(model: str, texts: list[str]) -> None:
    from rasa_addons import model_load

    model_load.install_fast_model_load()  # the served Rasa's load (rasa_addons.serve), in a third of the time
    print("PROBE " + json.dumps(await parse_all(Agent.load(model), texts)))


async def parse_all(agent: Agent, texts: list[str]) -> list[dict[str, Any]]:
    """Each text's intent and entities; model_probe_server.py calls it on the agent it loaded once."""
    parsed = []
    for text in texts:
        result = await agent.parse_message(text)
        parsed.append(
            {
                "text": text,
                "intent": result["intent"]["name"],
                "entities": [[e["entity"], e["value"]] for e in result.get("entities", [])],
            }
        )
    return parsed


if __name__ == "__main__":
    logging.disable(logging.WARNING)
    asyncio.run(main(sys.argv[1], json.loads(sys.argv[2])))
