"""The cross-encoder: a BERT sequence classifier with one output that scores a (query, passage) pair.

Heavy libraries (torch, transformers) are imported inside the functions that need them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from retrieval.responder.config import DEVICES
from retrieval.responder.errors import CheckpointCorruptError, ResponderConfigError

if TYPE_CHECKING:
    import numpy as np
    import torch

logger = logging.getLogger(__name__)

FINGERPRINT_FIELDS = ("model_type", "hidden_size", "num_hidden_layers", "vocab_size")


def resolve_device(device: str) -> str:
    if device not in DEVICES:
        raise ResponderConfigError("device", device, DEVICES)
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def resolve_base_model(name: str) -> Path:
    """A packaged model name (``all-MiniLM-L6-v2``) or a local directory with BERT weights and a tokenizer."""
    from retrieval.encoder import resolve_model_path
    from retrieval.errors import RetrievalError

    try:
        return resolve_model_path(name)
    except RetrievalError as exc:
        raise ResponderConfigError("base model", name, "all-MiniLM-L6-v2 or a local BERT directory") from exc


def fingerprint(model: Any) -> dict[str, Any]:
    """What must match between a checkpoint and the base model it claims (architecture and vocabulary)."""
    config = model.config
    return {name: getattr(config, name, None) for name in FINGERPRINT_FIELDS}


class CrossEncoder:
    """Scores (query, passage) pairs with a sequence classifier; the logit is the relevance score."""

    def __init__(self, model: Any, tokenizer: Any, *, max_length: int, device: str) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.device = device

    # ------------------------------------------------------------------------------------ construction
    @classmethod
    def from_base(cls, base_model: str, *, max_length: int, device: str = "auto") -> CrossEncoder:
        """The un-fine-tuned starting point: base BERT weights plus a fresh one-logit head (seed first)."""
        from transformers import AutoTokenizer, BertForSequenceClassification

        path = resolve_base_model(base_model)
        device = resolve_device(device)
        tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        model = BertForSequenceClassification.from_pretrained(str(path), num_labels=1, local_files_only=True)
        logger.info("cross-encoder initialised from base model %s (%s) on %s", base_model, path, device)
        return cls(model.to(device), tokenizer, max_length=max_length, device=device)  # type: ignore[arg-type]

    @classmethod
    def from_dir(cls, path: Path, *, max_length: int, device: str = "auto") -> CrossEncoder:
        from transformers import AutoTokenizer, BertForSequenceClassification

        device = resolve_device(device)
        try:
            tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
            model = BertForSequenceClassification.from_pretrained(str(path), local_files_only=True)
        except Exception as exc:  # transformers raises OSError, ValueError, safetensors errors, …
            raise CheckpointCorruptError(
                path, f"cannot load the model weights ({type(exc).__name__}: {exc})"
            ) from exc
        if model.config.num_labels != 1:
            raise CheckpointCorruptError(
                path, f"expected a one-logit head, found {model.config.num_labels} labels"
            )
        model = model.to(device).eval()  # type: ignore[arg-type]
        return cls(model, tokenizer, max_length=max_length, device=device)

    def save(self, path: Path) -> None:
        path.mkdir(parents=True, exist_ok=True)
        self.model.save_pretrained(str(path))
        self.tokenizer.save_pretrained(str(path))

    def quantized(self) -> CrossEncoder:
        """A dynamic-int8 copy (Linear layers) for CPU inference."""
        import copy
        import warnings

        import torch

        if self.device != "cpu":
            raise ResponderConfigError("quantize on device", self.device, ["cpu"])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = torch.ao.quantization.quantize_dynamic(
                copy.deepcopy(self.model).eval(), {torch.nn.Linear}, dtype=torch.qint8
            )
        return CrossEncoder(model, self.tokenizer, max_length=self.max_length, device="cpu")

    # ------------------------------------------------------------------------------------------ scoring
    def encode(self, queries: Sequence[str], passages: Sequence[str]) -> dict[str, torch.Tensor]:
        batch = self.tokenizer(
            list(queries),
            list(passages),
            truncation="longest_first",
            max_length=self.max_length,
            padding=True,
            return_tensors="pt",
        )
        return {k: v.to(self.device) for k, v in batch.items()}

    def forward(self, queries: Sequence[str], passages: Sequence[str]) -> torch.Tensor:
        """Logits with gradients (training); bf16 autocast on CUDA."""
        import torch

        batch = self.encode(queries, passages)
        if self.device == "cuda":
            with torch.autocast("cuda", dtype=torch.bfloat16):
                out = self.model(**batch).logits
        else:
            out = self.model(**batch).logits
        return out.float().view(-1)

    def logits(self, queries: Sequence[str], passages: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        """Logits without gradients, in input order, in batches of ``batch_size`` pairs."""
        import numpy as np
        import torch

        if len(queries) != len(passages):
            raise ValueError(f"{len(queries)} queries but {len(passages)} passages")
        out = np.zeros(len(queries), dtype="float32")
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.inference_mode():
                for start in range(0, len(queries), batch_size):
                    stop = start + batch_size
                    out[start:stop] = self.forward(queries[start:stop], passages[start:stop]).cpu().numpy()
        finally:
            self.model.train(was_training)
        return out
