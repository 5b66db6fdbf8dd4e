"""What an action-server turn costs in CPU: the responder's gate and the sentiment cache off (the baseline) and on,
in one run.

    .venv/app/bin/python -m bench.action_cost [--rounds 6] [--variants before,gate,after]
        [--out results/bench/action_cost.json]

Variants (settings of the same code): ``before`` RESPONDER_GATE=off SENTIMENT_CACHE=0; ``gate`` the gate alone;
``after`` the defaults (gate on, sentiment cache on). The flows repeat the same texts for every shopper, so after
the warm-up every message's sentiment comes from the cache in ``after``: an upper bound for real traffic.

Starts one action server per variant (``python -m actions.server``, the served settings: ACTION_THREADS=1, the
responder as served (auto precision; int8 runs eagerly), the trained sentiment model) on free ports, each with its
own seeded shop, and only it: no Rasa. Then replays bench/load_rest.py's flows as the webhook calls Rasa makes for them: every shopper message
runs ``action_track_mood`` and ``action_validate_slot_mappings`` (the mood's slot mapping, docs/mood.md), and
the policy questions run ``action_answer_policy`` (the knowledge base through the ranker, where the gate acts)
with the intent Rasa gives them. Greetings, thanks and goodbyes are answered by Rasa's rules (no further call).
Left out: the order and invoice flows' own calls (``validate_order_verification_form``, ``action_order_task``),
which neither the gate nor the sentiment model touches (their messages still run the mood's two calls). Rounds
alternate between the servers (before, gate, after, before, …) so the machine's load falls on all alike. CPU: user +
system seconds of each server and its Sanic worker from /proc before and after its rounds, per shopper message
and per webhook call; latency: each call's wall time. Also checks that every variant sent the shopper the same
replies as the first (``before``) for the same messages. Prints the machine's load average.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np

from bench.cost_common import load_average, process_cpu_seconds
from bench.load_rest import FLOWS
from scripts.domain_files import load_domain
from scripts.stack import ROOT, Service, Stack, StackConfig, http_ok

# before: always re-rank, no sentiment cache (the baseline); gate: the responder's gate alone; after: both
VARIANTS = {
    "before": {"RESPONDER_GATE": "off", "SENTIMENT_CACHE": "0"},
    "gate": {"RESPONDER_GATE": "on", "SENTIMENT_CACHE": "0"},
    "after": {"RESPONDER_GATE": "on"},
}
# what Rasa's NLU and policies make of each message of bench/load_rest.py's flows: (intent, the turn's action
# on the action server or None when a rule utters a response)
TURNS: dict[str, tuple[str, str | None]] = {
    "hi there": ("greet", None),
    "hello": ("greet", None),
    "hey": ("greet", None),
    "good morning": ("greet", None),
    "where is my order SD-100003?": ("track_order", None),
    "ben.okafor@example.com": ("inform", None),
    "can I see the invoice for order SD-100008": ("get_invoice", None),
    "david.chen@example.com": ("inform", None),
    "what payment methods do you accept?": ("check_payment_methods", "action_answer_policy"),
    "how long does delivery take?": ("delivery_period", "action_answer_policy"),
    "what is your refund policy?": ("check_refund_policy", "action_answer_policy"),
    "how do I reset my password?": ("recover_password", "action_answer_policy"),
    "thanks!": ("thank", None),
    "thank you": ("thank", None),
    "great, thanks": ("thank", None),
    "bye": ("goodbye", None),
    "ok bye": ("goodbye", None),
}
MOOD_CALLS = ("action_track_mood", "action_validate_slot_mappings")


class ActionServerOnly(Stack):
    """The stack's action server alone (its settings, its log, its supervision of one process)."""

    def service_list(self) -> list[Service]:
        config = self.config
        app = str(ROOT / ".venv" / "app" / "bin" / "python")
        return [
            Service(
                "actions",
                [app, "-m", "actions.server", "--actions", "actions", "-p", str(config.action_port)],
                lambda: http_ok(f"{config.action_url}/health"),
                timeout_s=600,
            )
        ]


@dataclass
class Tally:
    messages: int = 0
    calls: int = 0
    cpu_s: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    by_action: dict[str, list[float]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    replies: dict[str, str] = field(default_factory=dict)  # "action: message" -> what the shopper was sent


async def call(
    session: aiohttp.ClientSession, url: str, token: str, action: str, tracker: dict[str, Any], tally: Tally
) -> list[dict[str, Any]]:
    started = time.perf_counter()
    async with session.post(
        f"{url}/webhook",
        json={
            "next_action": action,
            "sender_id": tracker["sender_id"],
            "tracker": tracker,
            "domain": load_domain(),
        },
        headers={"Authorization": f"Bearer {token}"},
    ) as response:
        body = await response.json(content_type=None)
        if response.status != 200:
            tally.errors.append(f"{action}: {response.status} {str(body)[:120]}")
            return []
    ms = (time.perf_counter() - started) * 1000
    tally.calls += 1
    tally.latencies_ms.append(ms)
    tally.by_action.setdefault(action, []).append(ms)
    if action not in MOOD_CALLS:
        replies = [r.get("text") or r.get("response") for r in body.get("responses") or []]
        tally.replies[f"{action}: {tracker['latest_message']['text']}"] = json.dumps(replies)
    return list(body.get("events") or [])


async def conversation(
    session: aiohttp.ClientSession, url: str, token: str, flow: tuple[str, ...], tally: Tally
) -> None:
    """One shopper's flow, the tracker growing as Rasa's would (user events, the actions' slot events)."""
    sender = f"cost-{uuid.uuid4().hex[:12]}"
    slots: dict[str, Any] = {}
    events: list[dict[str, Any]] = []
    for text in flow:
        intent, action = TURNS[text]
        message = {"text": text, "intent": {"name": intent, "confidence": 1.0}, "entities": []}
        events.append({"event": "user", "timestamp": time.time(), "text": text, "parse_data": message})
        for name in (*MOOD_CALLS, *([action] if action else [])):
            tracker = {
                "sender_id": sender,
                "slots": dict(slots),
                "latest_message": message,
                "events": list(events),
                "paused": False,
                "followup_action": None,
                "active_loop": {},
                "latest_action_name": "action_listen",
            }
            for event in await call(session, url, token, name, tracker, tally):
                if event.get("event") == "slot":
                    slots[event["name"]] = event.get("value")
                events.append({**event, "timestamp": time.time()})
        tally.messages += 1


async def round_of(url: str, token: str, tally: Tally) -> None:
    """Every flow once, one shopper at a time (the CPU a message costs, not queueing)."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as session:
        for flow in FLOWS:
            await conversation(session, url, token, flow, tally)


def pctl(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 1) if values else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=6, help="rounds of every flow per variant")
    parser.add_argument("--warmup", type=int, default=2, help="rounds per variant before measuring")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "bench" / "action_cost.json")
    args = parser.parse_args()
    unmapped = sorted({text for flow in FLOWS for text in flow} - set(TURNS))
    if unmapped:
        parser.error(
            f"bench.load_rest's flows send {unmapped!r}, which TURNS does not map to an intent and action"
        )
    names = [n.strip() for n in args.variants.split(",") if n.strip()]
    unknown = [n for n in names if n not in VARIANTS]
    if unknown:
        parser.error(f"variant {unknown[0]!r}: expected one of {', '.join(VARIANTS)}")
    print(f"load average at start: {load_average()}")
    stacks: dict[str, Stack] = {}
    with tempfile.TemporaryDirectory(prefix="action-cost-") as tmp:
        try:
            for name in names:  # one at a time: each compiles its responder at start
                stack = ActionServerOnly(
                    StackConfig.on_free_ports(Path(tmp) / name, extra_env=VARIANTS[name])
                )
                started = time.monotonic()
                stack.start()
                stacks[name] = stack
                print(f"{name}: action server ready after {time.monotonic() - started:.0f} s")
            tallies = {name: Tally() for name in names}
            for stack in stacks.values():
                for _ in range(args.warmup):
                    asyncio.run(round_of(stack.config.action_url, stack.config.action_token, Tally()))
            for _ in range(args.rounds):
                for name, stack in stacks.items():
                    pid = stack.pid("actions")
                    before = process_cpu_seconds(pid)
                    asyncio.run(round_of(stack.config.action_url, stack.config.action_token, tallies[name]))
                    tallies[name].cpu_s += process_cpu_seconds(pid) - before
        finally:
            for stack in stacks.values():
                stack.stop()
    report: dict[str, Any] = {"rounds": args.rounds, "load_average_end": load_average(), "variants": {}}
    print(
        f"\n{'variant':7} {'msgs':>5} {'calls':>5} {'CPU-ms/msg':>10} {'CPU-ms/call':>11} {'p50 ms':>7} {'p95 ms':>7}  errors"
    )
    for name, t in tallies.items():
        row = {
            "messages": t.messages,
            "calls": t.calls,
            "cpu_ms_per_message": round(1000 * t.cpu_s / max(1, t.messages), 1),
            "cpu_ms_per_call": round(1000 * t.cpu_s / max(1, t.calls), 1),
            "p50_ms": pctl(t.latencies_ms, 50),
            "p95_ms": pctl(t.latencies_ms, 95),
            "by_action_p50_ms": {a: pctl(v, 50) for a, v in sorted(t.by_action.items())},
            "errors": t.errors[:5],
        }
        report["variants"][name] = row
        print(
            f"{name:7} {t.messages:5d} {t.calls:5d} {row['cpu_ms_per_message']:10.1f} {row['cpu_ms_per_call']:11.1f} "
            f"{row['p50_ms']:7.1f} {row['p95_ms']:7.1f}  {len(t.errors)}"
        )
        print(f"      per action p50 ms: {row['by_action_p50_ms']}")
    first = names[0]
    for name in names[1:]:
        differ = sorted(k for k, v in tallies[name].replies.items() if tallies[first].replies.get(k) != v)
        report["variants"][name]["replies_differing_from_" + first] = differ
        print(
            f"{name}: {len(differ)} of {len(tallies[name].replies)} turn replies differ from {first}'s {differ}"
        )
    print(f"load average at end: {report['load_average_end']}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
