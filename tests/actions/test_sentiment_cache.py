"""SENTIMENT_CACHE (issue 15): a repeated single message is answered from the cache with the model's own
prediction; batches are never cached; the setting is validated at start."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

from actions.settings import Settings, SettingsError
from sentiment.errors import SentimentModelError
from sentiment.model import FineTunedScorer

CONFIG = {"max_len": 16, "prefix": "query: "}


class CountingNet(nn.Module):
    """Logits from the token ids (a text's own length decides its class), counting forward passes."""

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        lengths = attention_mask.sum(dim=1).float()
        return torch.stack([lengths % 3, (lengths + 1) % 3, (lengths + 2) % 3], dim=1)


class WordTokenizer:
    def __call__(self, texts: list[str], **_: Any) -> dict[str, torch.Tensor]:
        width = max(len(t.split()) for t in texts)
        ids = torch.zeros((len(texts), width), dtype=torch.long)
        mask = torch.zeros((len(texts), width), dtype=torch.long)
        for row, text in enumerate(texts):
            mask[row, : len(text.split())] = 1
            ids[row, : len(text.split())] = 1
        return {"input_ids": ids, "attention_mask": mask}


def scorer(cache_size: int) -> tuple[FineTunedScorer, CountingNet]:
    net = CountingNet()
    return FineTunedScorer(net, WordTokenizer(), CONFIG, cache_size=cache_size), net


def test_a_repeated_message_skips_the_model_and_gets_the_same_prediction() -> None:
    cached, net = scorer(cache_size=2)
    uncached, _ = scorer(cache_size=0)
    first = cached.predict(["thanks a lot"])
    assert cached.predict(["thanks a lot"]) == first == uncached.predict(["thanks a lot"])
    assert net.calls == 1 and cached.cache_hits == 1


def test_the_least_recently_used_text_leaves_first() -> None:
    cached, net = scorer(cache_size=2)
    for text in ("hi", "thanks a lot", "hi", "where is my parcel", "hi", "thanks a lot"):
        cached.predict([text])
    # "hi" stayed (used again), "thanks a lot" was pushed out by "where is my parcel" and scored again
    assert net.calls == 4 and cached.cache_hits == 2


def test_batches_and_a_zero_size_are_never_cached() -> None:
    cached, net = scorer(cache_size=8)
    cached.predict(["hi", "bye"])
    cached.predict(["hi", "bye"])
    assert net.calls == 2 and cached.cache_hits == 0
    off, off_net = scorer(cache_size=0)
    off.predict(["hi"])
    off.predict(["hi"])
    assert off_net.calls == 2


def test_a_negative_size_is_named() -> None:
    with pytest.raises(SentimentModelError, match="cache_size -1"):
        scorer(cache_size=-1)


def test_the_setting_defaults_on_and_names_bad_values() -> None:
    assert Settings.from_env({}).sentiment_cache > 0
    assert Settings.from_env({"SENTIMENT_CACHE": "0"}).sentiment_cache == 0
    with pytest.raises(SettingsError, match=r"SENTIMENT_CACHE=-5"):
        Settings.from_env({"SENTIMENT_CACHE": "-5"})
    with pytest.raises(SettingsError, match=r"SENTIMENT_CACHE='lots'"):
        Settings.from_env({"SENTIMENT_CACHE": "lots"})
