"""The CUDA path: bf16 autocast training steps and fp32 serving on the GPU. Skipped without CUDA."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.retrieval.responder.conftest import tiny_config

torch = pytest.importorskip("torch")

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA (no GPU on this machine)"),
]


def test_training_on_cuda_records_the_device_and_serves_on_it(tiny_data: Path, tmp_path: Path) -> None:
    from retrieval.responder import ResponderConfig, load_responder
    from retrieval.responder.training.train import train

    meta = train(tiny_config(device="auto", epochs=1), tiny_data, tmp_path / "gpu", show_progress=False)
    assert meta["device"] == "cuda"
    assert meta["dev"]["best"]["loss"] == meta["dev"]["best"]["loss"]  # not NaN under bf16 autocast
    responder = load_responder(tmp_path / "gpu", config=ResponderConfig(device="cuda"))
    assert (
        responder.model.device == "cuda" and responder.precision == "fp32"
    )  # bf16/int8 weights are CPU-only
    probs = responder.score("do you ship to Norway?", ["Shipping countries. We ship to Norway.", ""])
    assert probs[1] == 0.0 and 0.0 <= probs[0] <= 1.0
