"""The trained responder in the action server: load once, score a candidate list in one batch, decide.

    responder = load_responder(Path("var/responder"))          # raises ResponderError subclasses
    probs = responder.score(message, [c.text for c in hits],   # calibrated, input order; empty text -> 0
                            prior=[c.score for c in hits],      # optional: the bi-encoder cosines
                            kind="kb")                          # optional: the pool ("kb" | "product")
    decision = responder.decide(probs)                          # answer / clarify / handoff + indices

The probability fuses the cross-encoder logit with the bi-encoder cosine the candidate was retrieved with
(weights fitted on dev for each candidate pool, see :class:`retrieval.responder.calibration.FusionByKind`).
Pass ``prior`` when you have the retrieval scores; without it the responder computes them with the same
bi-encoder against the passage text (slower).

``score`` is blocking CPU/GPU work: call it from an executor (``loop.run_in_executor``); it is thread-safe.
"""

from __future__ import annotations

import json
import logging
import threading
import unicodedata
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.responder.calibration import FusionByKind
from retrieval.responder.config import PRECISION_CHOICES, ResponderConfig, Thresholds
from retrieval.responder.decision import Decision, decide
from retrieval.responder.errors import (
    BaseModelMismatchError,
    CheckpointCorruptError,
    CheckpointMissingError,
    ResponderConfigError,
    ResponderInputError,
)
from retrieval.responder.model import (
    FINGERPRINT_FIELDS,
    CrossEncoder,
    cpu_has_amx_bf16,
    fingerprint,
    resolve_device,
)

logger = logging.getLogger(__name__)

META_FORMAT = 1
REQUIRED_META = (
    "format_version",
    "base_model",
    "base_fingerprint",
    "max_length",
    "calibration",
    "thresholds",
)


def latin_share(text: str) -> float:
    """Share of letters that are Latin script (1.0 for text without letters)."""
    letters = [c for c in text if c.isalpha()]
    if not letters:
        return 1.0
    latin = sum(1 for c in letters if "LATIN" in unicodedata.name(c, ""))
    return latin / len(letters)


class Responder:
    """A fine-tuned cross-encoder with its calibration and thresholds. Thread-safe."""

    def __init__(
        self,
        model: CrossEncoder,
        calibration: FusionByKind,
        thresholds: Thresholds,
        *,
        config: ResponderConfig,
        meta: dict[str, Any],
        path: Path,
        precision: str,
    ) -> None:
        self.model = model
        self.calibration = calibration
        self.thresholds = thresholds
        self.config = config
        self.meta = meta
        self.path = path
        self.precision = precision
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"Responder(path={str(self.path)!r}, base_model={self.meta.get('base_model')!r}, "
            f"device={self.model.device!r}, precision={self.precision!r}, "
            f"compiled={self.model.fixed_rows is not None})"
        )

    def with_thresholds(self, thresholds: Thresholds) -> Responder:
        """The same model with other thresholds (shares the weights)."""
        clone = Responder(
            self.model,
            self.calibration,
            thresholds,
            config=self.config,
            meta=self.meta,
            path=self.path,
            precision=self.precision,
        )
        clone._lock = self._lock
        return clone

    def logits(self, query: str, passages: Sequence[str]) -> np.ndarray:
        """Raw scores in input order; empty passages get -inf. Raises :class:`ResponderInputError`."""
        if not isinstance(query, str):
            raise ResponderInputError("not_text", f"query must be a string, got {type(query).__name__}")
        query = " ".join(query.split())[: self.config.max_query_chars]
        if not query:
            raise ResponderInputError("empty_query", "the message is empty; there is nothing to rank")
        if len(passages) > self.config.max_passages:
            raise ResponderInputError(
                "too_many_passages", f"{len(passages)} passages; at most {self.config.max_passages} per call"
            )
        texts = [
            " ".join(p.split())[: self.config.max_passage_chars] if isinstance(p, str) else ""
            for p in passages
        ]
        out = np.full(len(texts), -np.inf, dtype="float32")
        keep = [i for i, t in enumerate(texts) if t]
        if keep:
            with self._lock:  # the fast tokenizer is not safe to share between threads
                scores = self.model.logits(
                    [query] * len(keep), [texts[i] for i in keep], batch_size=len(keep)
                )
            out[keep] = scores
        return out

    def score(
        self,
        query: str,
        passages: Sequence[str],
        *,
        prior: Sequence[float] | np.ndarray | None = None,
        kind: str | None = None,
    ) -> np.ndarray:
        """Calibrated probabilities that each passage is the right answer, in input order, one batch;
        passages with empty text get 0. ``prior``: the bi-encoder cosine of each passage (computed when
        the calibration uses it and it is not given). ``kind``: the candidates' pool (``kb``, ``product``),
        whose own calibration is used when dev had enough of its questions."""
        raw = self.logits(query, passages)
        calibration = self.calibration.for_kind(kind)
        prior_arr = None
        if calibration.uses_prior:
            if prior is None:
                prior_arr = self._prior(query, passages)
            else:
                prior_arr = np.nan_to_num(np.asarray(prior, dtype="float32").ravel(), nan=0.0)
                if prior_arr.shape != raw.shape:
                    raise ResponderInputError(
                        "prior_length",
                        f"{prior_arr.size} prior scores for {raw.size} passages; give one per passage",
                    )
        probs = np.zeros(len(raw), dtype="float32")
        finite = np.isfinite(raw)
        probs[finite] = calibration(raw[finite], None if prior_arr is None else prior_arr[finite])
        return probs

    def _prior(self, query: str, passages: Sequence[str]) -> np.ndarray:
        from retrieval.config import EncoderConfig
        from retrieval.encoder import shared_encoder

        encoder = shared_encoder(EncoderConfig(model=self.meta.get("prior_encoder") or "all-MiniLM-L6-v2"))
        texts = [p if isinstance(p, str) and p.strip() else " " for p in passages]
        vectors = encoder.encode([" ".join(query.split())[: self.config.max_query_chars], *texts])
        return (vectors[1:] @ vectors[0]).astype("float32")

    def decide(self, probs: np.ndarray) -> Decision:
        return decide(probs, self.thresholds)

    def respond(
        self,
        query: str,
        passages: Sequence[str],
        *,
        prior: Sequence[float] | np.ndarray | None = None,
        kind: str | None = None,
    ) -> tuple[np.ndarray, Decision]:
        """``score`` then ``decide``; messages mostly in a non-Latin script (the model reads English) are
        handed off instead of being guessed at."""
        probs = self.score(query, passages, prior=prior, kind=kind)
        if latin_share(query) < 0.5:
            return probs, Decision("handoff", (), float(probs.max(initial=0.0)), "unsupported_language")
        return probs, self.decide(probs)


def read_meta(path: Path) -> dict[str, Any]:
    meta_path = path / "meta.json"
    if not path.is_dir() or not meta_path.is_file():
        raise CheckpointMissingError(path)
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise CheckpointCorruptError(path, f"meta.json unreadable ({exc})") from exc
    if not isinstance(meta, dict):
        raise CheckpointCorruptError(path, "meta.json is not an object")
    missing = [k for k in REQUIRED_META if k not in meta]
    if missing:
        raise CheckpointCorruptError(path, f"meta.json lacks {', '.join(missing)}")
    if meta["format_version"] != META_FORMAT:
        raise CheckpointCorruptError(
            path, f"format_version {meta['format_version']!r}, expected {META_FORMAT}"
        )
    return meta


def choose_precision(requested: str, device: str, meta: dict[str, Any]) -> str:
    """The precision to serve in. An explicit one is honoured (int8 and bf16 only on the CPU: elsewhere fp32,
    with a warning); ``auto`` takes the fastest that kept dev quality (``meta.json``) on this hardware: bf16 on
    a CPU with AMX-BF16, else int8, else fp32; fp32 on CUDA."""
    if requested not in PRECISION_CHOICES:
        raise ResponderConfigError("precision", requested, PRECISION_CHOICES)
    if device != "cpu":
        if requested not in ("auto", "fp32"):
            logger.warning("%s serving is CPU-only here; serving fp32 on %s", requested, device)
        return "fp32"
    if requested != "auto":
        calibrated = sorted(meta.get("calibration") or {})
        if calibrated and requested not in calibrated:  # e.g. bf16 asked of a CI build, which skips it
            raise ResponderConfigError(
                "precision",
                requested,
                f"one this checkpoint is calibrated in ({', '.join(calibrated)}) or auto",
            )
        return requested
    kept = meta.get("serving", {}).get("precisions_kept", ["fp32"])
    if "bf16" in kept and cpu_has_amx_bf16():
        return "bf16"
    return "int8" if "int8" in kept else "fp32"


def load_responder(
    path: Path,
    *,
    precision: str | None = None,
    config: ResponderConfig | None = None,
    thresholds: Thresholds | None = None,
) -> Responder:
    """Load a trained responder; every failure is a :class:`ResponderError` (callers fall back to the bi-encoder).

    ``precision``: None takes ``config.precision`` (default ``auto``, see :func:`choose_precision`).
    ``thresholds``: None takes ``config.thresholds``, then the thresholds fitted on dev (meta.json).
    """
    config = config or ResponderConfig()
    path = Path(path)
    meta = read_meta(path)
    if config.expected_base_model is not None and meta["base_model"] != config.expected_base_model:
        raise BaseModelMismatchError(path, "base_model", config.expected_base_model, meta["base_model"])
    if config.num_threads:
        import torch

        torch.set_num_threads(config.num_threads)
    device = resolve_device(config.device)
    model = CrossEncoder.from_dir(
        path / "model", max_length=config.max_length or int(meta["max_length"]), device=device
    )
    found = fingerprint(model.model)
    for name in FINGERPRINT_FIELDS:
        if meta["base_fingerprint"].get(name) != found.get(name):
            raise BaseModelMismatchError(path, name, meta["base_fingerprint"].get(name), found.get(name))
    if len(model.tokenizer) != found["vocab_size"]:
        raise BaseModelMismatchError(path, "tokenizer vocab_size", found["vocab_size"], len(model.tokenizer))
    chosen_precision = choose_precision(precision or config.precision, device, meta)
    try:
        calibration = FusionByKind.from_dict(meta["calibration"][chosen_precision])
        chosen = thresholds or config.thresholds or Thresholds.from_dict(meta["thresholds"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointCorruptError(path, f"bad calibration or thresholds in meta.json ({exc})") from exc
    if config.threshold_overrides:
        chosen = replace(chosen, **dict(config.threshold_overrides))  # type: ignore[arg-type]  # Thresholds re-validates
    model = model.converted(chosen_precision)
    if config.compile:
        try:
            model = model.compiled(config.top_k)
        except ResponderConfigError as exc:
            logger.warning("responder: serving without torch.compile (%s)", exc)
    responder = Responder(
        model, calibration, chosen, config=config, meta=meta, path=path, precision=chosen_precision
    )
    # the warm-up call below pays for lazy initialisation, not a shopper
    responder.score("warm up", ["warm up"], prior=[0.0])
    logger.info("responder loaded: %r, thresholds %s", responder, chosen)
    return responder
