"""Runs a script in Rasa's own environment (Python 3.10), where bot/rasa_channel.py is loaded; `ModelProbes`
keeps one Rasa process per trained model that loads it once and answers several tests' probes."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from pathlib import Path
from typing import IO, Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
RASA_PYTHON = ROOT / ".venv" / "rasa" / "bin" / "python"


def assert_script_passes_in_rasa_env(script: str) -> None:
    """Runs `script` with .venv/rasa's Python from the repository root; it must exit 0 and print "ok" last."""
    if not RASA_PYTHON.exists():
        pytest.skip("Rasa's environment .venv/rasa is not installed (make setup)")
    result = subprocess.run(
        [str(RASA_PYTHON), "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=180, check=False
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.strip().endswith("ok")


def probe_facts(script: Path, *args: str, timeout_s: float = 300) -> dict[str, Any]:
    """Runs a probe script with .venv/rasa's Python from the repository root; it must exit 0 and print a last line
    ``PROBE <json>``, whose object is returned. Skips when Rasa's environment is not installed."""
    if not RASA_PYTHON.exists():
        pytest.skip("Rasa's environment .venv/rasa is not installed (make setup)")
    done = subprocess.run(
        [str(RASA_PYTHON), str(script), *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout_s
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith("PROBE ")]
    assert done.returncode == 0 and lines, done.stderr[-3000:]
    facts: dict[str, Any] = json.loads(lines[-1][len("PROBE ") :])
    return facts


MODEL_PROBE_SERVER = ROOT / "tests" / "rasa_addons" / "model_probe_server.py"


class _ModelProbe:
    """One model_probe_server.py process: the model loaded once, a request a line on stdin, an answer a line."""

    def __init__(self, model: Path, tmp: Path, timeout_s: float) -> None:
        self.stderr_path = tmp / "stderr.log"
        self._stderr = self.stderr_path.open("w", encoding="utf-8")
        self.process = subprocess.Popen(
            [str(RASA_PYTHON), str(MODEL_PROBE_SERVER), str(model), str(tmp)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
        )
        self._lines: queue.Queue[str | None] = queue.Queue()
        assert self.process.stdout is not None
        threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True).start()
        self._next("READY", timeout_s)

    def _read(self, stdout: IO[str]) -> None:
        for line in stdout:
            self._lines.put(line.rstrip("\n"))
        self._lines.put(None)  # the process closed its output: it ended

    def _next(self, prefix: str, timeout_s: float) -> str:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                self.stop(kill=True)
                raise AssertionError(
                    f"the model probe gave no {prefix!r} within {timeout_s} s: {self.tail()}"
                ) from None
            if line is None:
                self.process.wait()
                raise AssertionError(f"the model probe ended ({self.process.returncode}): {self.tail()}")
            if line.startswith(prefix):
                return line[len(prefix) :]

    def tail(self) -> str:
        if not self._stderr.closed:
            self._stderr.flush()
        return self.stderr_path.read_text(encoding="utf-8", errors="replace")[-3000:]

    def ask(self, job: str, args: dict[str, Any], timeout_s: float) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"job": job, "args": args}) + "\n")
        self.process.stdin.flush()
        answer: dict[str, Any] = json.loads(self._next("PROBE ", timeout_s))
        return answer

    def alive(self) -> bool:
        return self.process.poll() is None

    def stop(self, *, kill: bool = False) -> None:
        if kill:
            self.process.kill()
        if self.process.stdin is not None and not self.process.stdin.closed:
            self.process.stdin.close()  # the server's loop ends at the end of its input
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._stderr.close()


class ModelProbes:
    """Facts about a trained model from tests/rasa_addons/model_probe_server.py, one process per model, started
    on the first question and kept for the session: the full model is loaded once for all the tests that ask
    (rather than once per test module). A question the running process refuses, because an earlier job
    installed a hook it must not find (the action guard, the policy gate), goes to a fresh process."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self._tmp = tmp_path_factory
        self._probes: dict[Path, _ModelProbe] = {}

    def ask(self, model: Path, job: str, *, timeout_s: float = 900, **args: Any) -> Any:
        """The facts `job` (nlu, model_load, agent, policy_gate) gives for `model`; skips without Rasa's env."""
        if not RASA_PYTHON.exists():
            pytest.skip("Rasa's environment .venv/rasa is not installed (make setup)")
        model = Path(model).resolve()
        for _ in range(2):
            probe = self._probes.get(model)
            if probe is None or not probe.alive():
                probe = self._probes[model] = _ModelProbe(model, self._tmp.mktemp("model-probe"), timeout_s)
            answer = probe.ask(job, args, timeout_s)
            if "restart" not in answer:
                break
            probe.stop()
            del self._probes[model]
        assert "facts" in answer, answer.get("error") or answer
        return answer["facts"]

    def stop(self) -> None:
        for probe in self._probes.values():
            probe.stop()
        self._probes.clear()
