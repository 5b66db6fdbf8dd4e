"""One Rasa process that loads the trained assistant once and answers the probes that each used to load it in a
process of their own: test_ids.py (nlu_probe.py), test_action_guard.py (agent_probe.py), the fast side of
test_model_load.py (model_load_probe.py) and test_policy_gate.py (policy_gate_probe.py).

Run with Rasa's interpreter: `.venv/rasa/bin/python tests/rasa_addons/model_probe_server.py MODEL TMPDIR`
(tests.bot.rasa_env.ModelProbes starts it). The model is loaded as the served Rasa loads it
(rasa_addons.model_load's fast load), with the redacting SQL tracker store in TMPDIR that agent_probe.py uses,
and model_load_probe.py's messages are predicted at once, as that probe does in a process of its own. It
prints `READY`, then reads one JSON request a line on stdin, `{"job": NAME, "args": {...}}`, and answers each
with one line `PROBE {"facts": ...}`, `PROBE {"error": TRACEBACK}` or `PROBE {"restart": REASON}`: a job that
needs a process without a hook an earlier job installed (the action guard, the policy gate) is refused, and
the client asks a fresh server.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))  # the model's pipeline names rasa_addons components; the probes are tests.*

# the global hooks a job must not find installed (agent_probe.py checks the unguarded agent first; the
# replay compares Rasa's prediction with the gate's, so Rasa's must not go through the gate already)
NEEDS_WITHOUT: dict[str, set[str]] = {
    "nlu": set(),
    "model_load": set(),
    "agent": {"action_guard", "policy_gate"},
    "policy_gate": {"policy_gate"},
}
# the hooks a job leaves installed
INSTALLS: dict[str, set[str]] = {"agent": {"action_guard"}, "policy_gate": {"policy_gate"}}


class Server:
    def __init__(self, model: str, tmp: Path) -> None:
        from rasa.core.agent import Agent

        from rasa_addons import model_load
        from tests.rasa_addons import agent_probe, model_load_probe

        model_load.install_fast_model_load()  # the served Rasa's load (rasa_addons.serve)
        self.tmp = tmp
        self.store = agent_probe.tracker_store(tmp)
        wall, cpu = time.perf_counter(), time.process_time()
        self.agent = Agent.load(model, tracker_store=self.store)
        self.load = {
            "load_s": time.perf_counter() - wall,
            "load_cpu_s": time.process_time() - cpu,
            "loads": dict(model_load.FAST_LOADS),  # this one load's, whatever the jobs load later
        }
        # right after the load, before any other job parses a message: TensorFlow's functions retrace (and
        # relax their shapes) as messages of new lengths come, so DIET's confidences agree bit for bit with
        # Rasa's load in a fresh process (model_load_probe.py stock) only when both saw the same messages
        self.load_facts = model_load_probe.predictions(self.agent, self.load)
        self.installed: set[str] = set()
        self.jobs: dict[str, Callable[[dict[str, Any]], Any]] = {
            "nlu": self.nlu,
            "model_load": self.model_load,
            "agent": self.failures,
            "policy_gate": self.policy_gate,
        }

    def nlu(self, args: dict[str, Any]) -> Any:
        from tests.actions import nlu_probe

        return asyncio.run(nlu_probe.parse_all(self.agent, list(args["texts"])))

    def model_load(self, args: dict[str, Any]) -> Any:
        return self.load_facts

    def failures(self, args: dict[str, Any]) -> Any:
        from tests.rasa_addons import agent_probe

        endpoint = self.agent.action_endpoint
        try:
            return asyncio.run(agent_probe.failures(self.agent, self.store, self.tmp))
        finally:  # the cases point the agent at their failing endpoints
            self.agent.action_endpoint = endpoint
            self.agent.processor.action_endpoint = endpoint  # type: ignore[union-attr]

    def policy_gate(self, args: dict[str, Any]) -> Any:
        from tests.rasa_addons import policy_gate_probe

        return policy_gate_probe.replay(self.agent)

    def answer(self, request: dict[str, Any]) -> dict[str, Any]:
        job = request.get("job")
        if job not in self.jobs:
            return {"error": f"unknown job {job!r}; jobs: {sorted(self.jobs)}"}
        found = NEEDS_WITHOUT[job] & self.installed
        if found:
            return {"restart": f"{job} needs a process without {sorted(found)}"}
        self.installed |= INSTALLS.get(job, set())  # a job that fails half-way may have installed it
        try:
            return {"facts": self.jobs[job](request.get("args") or {})}
        except Exception:
            return {"error": traceback.format_exc()}


def main(argv: list[str]) -> None:
    server = Server(argv[1], Path(argv[2]))
    print("READY", flush=True)
    for line in sys.stdin:
        if line.strip():
            print("PROBE " + json.dumps(server.answer(json.loads(line))), flush=True)


if __name__ == "__main__":
    main(sys.argv)
