"""The train CLI against a stand-in trainer (the real fine-tuning is sent-model's, tested in its own files)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from sentiment import train as train_cli
from sentiment.data import normalise
from sentiment.types import Example
from tests.sentiment.conftest import Corpus


@dataclass(frozen=True)
class StandInConfig:
    name: str
    epochs: int = 1


class StandIn:
    def __init__(self) -> None:
        self.calls: list[tuple[list[Example], list[Example], StandInConfig, Path, bool]] = []

    def __call__(
        self,
        train: Sequence[Example],
        dev: Sequence[Example],
        config: StandInConfig,
        out_dir: Path,
        *,
        progress: bool = True,
    ) -> dict[str, Any]:
        self.calls.append((list(train), list(dev), config, out_dir, progress))
        (out_dir / "config.json").write_text(json.dumps({"name": config.name}), encoding="utf-8")
        (out_dir / "weights.bin").write_bytes(b"w")
        return {"macro_f1": 0.5}


@pytest.fixture
def trainer(monkeypatch: pytest.MonkeyPatch) -> StandIn:
    stand_in = StandIn()
    configs = {"cpu_ci": StandInConfig("cpu_ci"), "cpu_small": StandInConfig("cpu_small", 2)}
    monkeypatch.setattr(train_cli, "_finetune", lambda: (configs, stand_in))
    return stand_in


def _run(corpus: Corpus, out: Path, *extra: str, config: str = "cpu_ci") -> int:
    return train_cli.main(
        ["--config", config, "--data-dir", str(corpus.data_dir), "--out", str(out), "--no-progress", *extra]
    )


def _patch_nlu(monkeypatch: pytest.MonkeyPatch, corpus: Corpus) -> None:
    monkeypatch.setattr(train_cli, "SHOP_NLU_DIR", corpus.nlu_dir)
    real = train_cli.train_model

    def with_fixture_nlu(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("nlu_dir", corpus.nlu_dir)
        return real(*args, **kwargs)

    monkeypatch.setattr(train_cli, "train_model", with_fixture_nlu)


def test_trains_on_train_and_dev_only_and_records_the_inputs(
    corpus: Corpus, tmp_path: Path, trainer: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    _patch_nlu(monkeypatch, corpus)
    out = tmp_path / "model"
    assert _run(corpus, out) == 0
    assert len(trainer.calls) == 1
    train, dev, config, _, progress = trainer.calls[0]
    assert config.name == "cpu_ci" and progress is False
    from sentiment.data import load_splits

    test_texts = {normalise(ex.text) for ex in load_splits(corpus.data_dir, corpus.nlu_dir).test}
    assert test_texts and not test_texts & {normalise(ex.text) for ex in train + dev}
    assert (out / "config.json").is_file() and (out / "weights.bin").is_file()
    record = json.loads((out / train_cli.TRAINING_RECORD).read_text(encoding="utf-8"))
    assert record["config_name"] == "cpu_ci" and record["dev_metrics"] == {"macro_f1": 0.5}
    assert len(record["inputs_checksum"]) == 64
    assert not list(tmp_path.glob(".model.*"))  # the temporary folder was swapped in


def test_second_run_with_the_same_inputs_skips_and_a_change_retrains(
    corpus: Corpus, tmp_path: Path, trainer: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    _patch_nlu(monkeypatch, corpus)
    out = tmp_path / "model"
    assert _run(corpus, out) == 0 and _run(corpus, out) == 0
    assert len(trainer.calls) == 1
    assert _run(corpus, out, config="cpu_small") == 0  # another configuration
    assert len(trainer.calls) == 2
    eprstmt = corpus.data_dir / "eprstmt" / "train_few_all.json"
    eprstmt.write_text(
        eprstmt.read_text(encoding="utf-8") + '{"sentence": "还不错", "label": "Positive"}\n', "utf-8"
    )
    assert _run(corpus, out, config="cpu_small") == 0  # the data changed
    assert len(trainer.calls) == 3
    assert _run(corpus, out, "--force", config="cpu_small") == 0
    assert len(trainer.calls) == 4


def test_without_the_data_dir_it_says_so_exits_0_and_writes_nothing(
    tmp_path: Path, trainer: StandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "model"
    missing = tmp_path / "no-data"
    code = train_cli.main(["--config", "cpu_ci", "--data-dir", str(missing), "--out", str(out)])
    assert code == 0
    assert f"no sentiment data at {missing}" in capsys.readouterr().err
    assert not out.exists() and trainer.calls == []


def test_unknown_config_exits_2_listing_the_valid_ones(
    corpus: Corpus, tmp_path: Path, trainer: StandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(corpus, tmp_path / "model", config="huge") == 2
    assert "unknown sentiment config 'huge': choose one of cpu_ci, cpu_small" in capsys.readouterr().err
    assert trainer.calls == []


def test_a_missing_data_file_exits_2_naming_it(
    corpus: Corpus, tmp_path: Path, trainer: StandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    (corpus.data_dir / "womens_reviews" / "reviews_dev.csv").unlink()
    assert _run(corpus, tmp_path / "model") == 2
    assert "womens_reviews/reviews_dev.csv" in capsys.readouterr().err
    assert trainer.calls == [] and not (tmp_path / "model").exists()


def test_a_trainer_that_writes_no_config_leaves_the_old_model(
    corpus: Corpus, tmp_path: Path, trainer: StandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    _patch_nlu(monkeypatch, corpus)
    out = tmp_path / "model"
    assert _run(corpus, out) == 0
    monkeypatch.setattr(
        train_cli, "_finetune", lambda: ({"cpu_ci": StandInConfig("cpu_ci", 9)}, lambda *a, **k: {})
    )
    with pytest.raises(RuntimeError, match=r"wrote no config\.json"):
        _run(corpus, out)
    assert json.loads((out / "config.json").read_text(encoding="utf-8")) == {"name": "cpu_ci"}
