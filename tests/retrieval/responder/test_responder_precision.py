"""Which precision the responder serves in: the checkpoint's verdicts on dev quality, and this CPU's AMX."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.responder import serving
from retrieval.responder.errors import ResponderConfigError
from retrieval.responder.model import cpu_has_amx_bf16
from retrieval.responder.serving import choose_precision
from retrieval.responder.training.loop import bf16_autocast


def _meta(*kept: str) -> dict:  # type: ignore[type-arg]
    return {"serving": {"precisions_kept": list(kept)}}


@pytest.mark.parametrize(
    ("amx", "kept", "expected"),
    [
        (True, ("fp32", "bf16", "int8"), "bf16"),
        (False, ("fp32", "bf16", "int8"), "int8"),  # bf16 without AMX is emulated: slower than int8
        (True, ("fp32", "int8"), "int8"),  # bf16 lost dev quality: not used even where it is fast
        (True, ("fp32",), "fp32"),
        (False, ("fp32", "bf16"), "fp32"),
    ],
)
def test_auto_takes_the_fastest_precision_that_kept_dev_quality(
    monkeypatch: pytest.MonkeyPatch, amx: bool, kept: tuple[str, ...], expected: str
) -> None:
    monkeypatch.setattr(serving, "cpu_has_amx_bf16", lambda: amx)
    assert choose_precision("auto", "cpu", _meta(*kept)) == expected


def test_an_old_checkpoint_without_verdicts_serves_fp32(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(serving, "cpu_has_amx_bf16", lambda: True)
    assert choose_precision("auto", "cpu", {}) == "fp32"


def test_an_explicit_precision_is_honoured_on_the_cpu_and_fp32_elsewhere() -> None:
    assert choose_precision("int8", "cpu", _meta("fp32")) == "int8"
    assert choose_precision("bf16", "cuda", _meta("fp32", "bf16")) == "fp32"
    assert choose_precision("auto", "cuda", _meta("fp32", "bf16", "int8")) == "fp32"


def test_an_explicit_precision_the_checkpoint_was_not_calibrated_in_names_those_it_was() -> None:
    meta = {**_meta("fp32", "int8"), "calibration": {"fp32": {}, "int8": {}}}  # a CI build: no bf16 pass
    with pytest.raises(ResponderConfigError, match=r"precision 'bf16'.*\(fp32, int8\) or auto"):
        choose_precision("bf16", "cpu", meta)
    assert choose_precision("int8", "cpu", meta) == "int8"


def test_an_unknown_precision_names_the_choices() -> None:
    with pytest.raises(ResponderConfigError, match=r"fp16.*auto.*fp32.*bf16.*int8"):
        choose_precision("fp16", "cpu", _meta("fp32"))


def test_amx_is_read_from_the_flags_line(tmp_path: Path) -> None:
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text(
        "model name : X amx_bf16 in a name\nflags : fpu sse avx512f amx_tile\n", encoding="utf-8"
    )
    assert not cpu_has_amx_bf16(cpuinfo)
    cpuinfo.write_text("flags : fpu avx512f amx_bf16 amx_tile amx_int8\n", encoding="utf-8")
    assert cpu_has_amx_bf16(cpuinfo)
    assert not cpu_has_amx_bf16(tmp_path / "missing")


def test_bf16_autocast_in_training(monkeypatch: pytest.MonkeyPatch) -> None:
    from retrieval.responder.training import loop

    monkeypatch.setattr(loop, "cpu_has_amx_bf16", lambda: False)
    assert bf16_autocast("auto", "cuda") and not bf16_autocast("auto", "cpu")
    assert bf16_autocast("on", "cpu") and not bf16_autocast("off", "cuda")
    monkeypatch.setattr(loop, "cpu_has_amx_bf16", lambda: True)
    assert bf16_autocast("auto", "cpu")
