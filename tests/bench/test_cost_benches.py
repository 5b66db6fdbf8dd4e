"""The per-message cost benchmarks' parts: variants, CPU metering from /proc, argument checks, the open loop
against a small REST server, and the profile's frame tables."""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import pytest
from aiohttp import web

from bench import load_open, load_rest, profile_message
from bench.cost_common import CpuMeter, parse_variants, process_cpu_seconds, variant_env


def test_before_switches_every_cut_off_and_after_is_the_defaults() -> None:
    before = variant_env("before")
    assert before["RASA_FAST_PATHS"] == "0" and before["TRACKER_SQLITE_WAL"] == "0"
    assert before["RASA_POLICY_GATE"] == "0" and variant_env("no-gate") == {"RASA_POLICY_GATE": "0"}
    assert before["RESPONDER_GATE"] == "off" and before["SENTIMENT_CACHE"] == "0"
    assert variant_env("no-cache") == {"SENTIMENT_CACHE": "0"}
    assert before["RASA_THREADS"] == before["ACTION_THREADS"] == str(os.cpu_count())
    assert variant_env("after") == variant_env("echo") == {}
    assert parse_variants("echo, after") == ["echo", "after"]
    with pytest.raises(
        ValueError, match="variant 'fast': expected one of echo, before, no-gate, no-cache, after"
    ):
        parse_variants("after,fast")


def test_cpu_seconds_come_from_proc_and_grow_with_work() -> None:
    meter = CpuMeter({"me": os.getpid()})
    meter.start()
    before = process_cpu_seconds(os.getpid())
    total = 0
    while process_cpu_seconds(os.getpid()) - before < 0.05:
        total += sum(range(10_000))
    assert meter.seconds()["me"] >= 0.05
    assert meter.per_message_ms(10)["me"] >= 5.0
    assert process_cpu_seconds(2**22 + 12345) == 0.0  # no such process


@pytest.mark.parametrize(
    ("parse", "text", "message"),
    [
        (load_rest.parse_levels, "1,ten", "--levels '1,ten'"),
        (load_rest.parse_levels, "0", "at least 1"),
        (load_open.parse_rates, "5,-1", "above 0"),
        (load_open.parse_rates, "fast", "--rates 'fast'"),
        (load_open.parse_pid, "rasa", "NAME=PID"),
        (load_open.parse_pid, f"rasa={2**22 + 12345}", "a running process"),
    ],
)
def test_bad_arguments_are_named(parse: object, text: str, message: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match=message):
        parse(text)  # type: ignore[operator]


def test_a_running_process_is_a_good_pid() -> None:
    assert load_open.parse_pid(f"rasa={os.getpid()}") == ("rasa", os.getpid())


async def test_the_open_loop_sends_whole_conversations_and_counts_each_message(aiohttp_server) -> None:  # type: ignore[no-untyped-def]
    seen: dict[str, list[str]] = {}

    async def webhook(request: web.Request) -> web.Response:
        body = await request.json()
        seen.setdefault(body["sender"], []).append(body["message"])
        return web.json_response([{"recipient_id": body["sender"], "text": "ok"}])

    app = web.Application()
    app.router.add_post(load_open.REST_PATH, webhook)
    server = await aiohttp_server(app)
    url = str(server.make_url(load_open.REST_PATH))
    steps = await load_open.ramp(url, [40.0], step_s=1.0, think_s=0.01, p95_ms=300, pids={}, seed=1)
    [step] = steps
    assert step.errors == 0 and step.sent > 0
    assert sum(len(messages) for messages in seen.values()) >= step.sent
    assert all(tuple(messages) in load_rest.FLOWS for messages in seen.values()), "whole flows, in order"


def test_the_profile_tables_leave_waiting_out(tmp_path: Path) -> None:
    frames = [
        {"name": "serve", "file": "/x/site-packages/sanic/server/runners.py", "line": 155},
        {"name": "handle_message", "file": "/x/site-packages/rasa/core/agent.py", "line": 418},
        {"name": "save", "file": "/x/site-packages/rasa/core/tracker_store.py", "line": 1456},
        {"name": "validate", "file": "/x/site-packages/jsonschema/validators.py", "line": 1},
    ]
    profile = {
        "type": "sampled",
        "unit": "seconds",
        "samples": [[0], [0, 1, 2], [0, 1, 3], [0, 1, 3]],
        "weights": [5.0, 1.0, 1.0, 1.0],
    }
    path = tmp_path / "p.speedscope.json"
    path.write_text(json.dumps({"shared": {"frames": frames}, "profiles": [profile]}))
    total, self_top, inclusive = profile_message.top_frames(path)
    assert total == 3.0, "the event loop's wait (leaf `serve`) is not work"
    assert self_top[0] == ("validate (jsonschema/validators.py:1)", pytest.approx(2 / 3))
    assert inclusive[0] == ("handle_message (rasa/core/agent.py:418)", pytest.approx(1.0))
    assert ("save (rasa/core/tracker_store.py:1456)", pytest.approx(1 / 3)) in inclusive
