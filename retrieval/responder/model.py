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
PRECISIONS = ("fp32", "bf16", "int8")
CPUINFO = Path("/proc/cpuinfo")


def cpu_has_amx_bf16(cpuinfo: Path = CPUINFO) -> bool:
    """Whether this CPU multiplies bf16 matrices in AMX tiles (Sapphire Rapids and later; Linux only).

    There, bf16 runs BERT about 3x faster than fp32 and faster than dynamic int8; elsewhere bf16 is emulated
    and slower, so ``auto`` choices only use it when this says yes.
    """
    try:
        text = cpuinfo.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return any(line.startswith("flags") and "amx_bf16" in line.split() for line in text.splitlines())


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

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        max_length: int,
        device: str,
        precision: str = "fp32",
        autocast: bool | None = None,
    ) -> None:
        """``precision``: what the weights are (fp32, bf16, int8). ``autocast``: run fp32 weights under bf16
        autocast (training on CUDA, or on a CPU with AMX); None means on CUDA only."""
        if precision not in PRECISIONS:
            raise ResponderConfigError("precision", precision, PRECISIONS)
        self.model = model
        self.tokenizer = tokenizer
        self.max_length = max_length
        self.device = device
        self.precision = precision
        self.autocast = (device == "cuda") if autocast is None else autocast
        # set by compiled(): every forward pass is then [fixed_rows, max_length]
        self.fixed_rows: int | None = None

    # ------------------------------------------------------------------------------------ construction
    @classmethod
    def from_base(
        cls,
        base_model: str,
        *,
        max_length: int,
        device: str = "auto",
        autocast: bool | None = None,
        layers: int | None = None,
    ) -> CrossEncoder:
        """The un-fine-tuned starting point: base BERT weights plus a fresh one-logit head (seed first).
        ``layers``: keep only the first N transformer layers (fewer layers, proportionally faster)."""
        from transformers import AutoTokenizer, BertForSequenceClassification

        path = resolve_base_model(base_model)
        device = resolve_device(device)
        tokenizer = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
        model = BertForSequenceClassification.from_pretrained(str(path), num_labels=1, local_files_only=True)
        if layers is not None:
            available = len(model.bert.encoder.layer)
            if not 1 <= layers <= available:
                raise ResponderConfigError("layers", layers, f"1 to {available} (the layers of {base_model})")
            model.bert.encoder.layer = model.bert.encoder.layer[:layers]
            model.config.num_hidden_layers = layers
        logger.info(
            "cross-encoder initialised from base model %s (%s, %d layers) on %s",
            base_model,
            path,
            model.config.num_hidden_layers,
            device,
        )
        return cls(
            model.to(device),  # type: ignore[arg-type]
            tokenizer,
            max_length=max_length,
            device=device,
            autocast=autocast,
        )

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

    def converted(self, precision: str) -> CrossEncoder:
        """An inference copy of fp32 weights in ``precision``: ``bf16`` (all weights cast) or ``int8``
        (dynamic quantization of the Linear layers, CPU only); ``fp32`` is this model itself."""
        import copy
        import warnings

        import torch

        if precision not in PRECISIONS:
            raise ResponderConfigError("precision", precision, PRECISIONS)
        if self.precision != "fp32":
            raise ResponderConfigError("convert from precision", self.precision, ["fp32"])
        if precision == "fp32":
            return self
        if precision == "int8":
            if self.device != "cpu":
                raise ResponderConfigError("quantize on device", self.device, ["cpu"])
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = torch.ao.quantization.quantize_dynamic(
                    copy.deepcopy(self.model).eval(), {torch.nn.Linear}, dtype=torch.qint8
                )
        else:
            model = copy.deepcopy(self.model).to(torch.bfloat16).eval()
        return CrossEncoder(
            model,
            self.tokenizer,
            max_length=self.max_length,
            device=self.device,
            precision=precision,
            autocast=False,
        )

    def compiled(self, rows: int) -> CrossEncoder:
        """A copy that runs through ``torch.compile`` (inductor, weights frozen) at one input shape,
        ``[rows, max_length]``: shorter batches are padded up to it and longer ones scored in chunks, so it
        compiles once (seconds, at load) and never again. CPU only; fp32 or bf16 weights (not dynamic int8).
        Raises :class:`ResponderConfigError` when compiling fails (no C++ compiler, an unsupported op)."""
        import torch
        import torch._inductor.config as inductor_config

        if self.device != "cpu" or self.precision == "int8":
            raise ResponderConfigError(
                "compile for", f"{self.precision} on {self.device}", "fp32 or bf16 on the CPU"
            )
        clone = CrossEncoder(
            torch.compile(self.model, dynamic=False),
            self.tokenizer,
            max_length=self.max_length,
            device=self.device,
            precision=self.precision,
            autocast=False,
        )
        clone.fixed_rows = rows
        try:
            with inductor_config.patch(freezing=True):  # weights become constants: faster kernels
                clone.logits(["warm up"], ["warm up"])  # the compilation happens here, on the first call
        except Exception as exc:  # inductor raises many types (BackendCompilerFailed, CppCompileError, …)
            raise ResponderConfigError(
                "torch.compile result",
                f"{type(exc).__name__}: {exc}"[:300],
                "a C++ compiler, or compile=False",
            ) from exc
        return clone

    # ------------------------------------------------------------------------------------------ scoring
    def encode(self, queries: Sequence[str], passages: Sequence[str]) -> dict[str, torch.Tensor]:
        queries, passages = list(queries), list(passages)
        if self.fixed_rows is not None and len(queries) < self.fixed_rows:
            # pad to the compiled shape with copies of the first pair (their logits are dropped)
            fill = self.fixed_rows - len(queries)
            queries, passages = queries + queries[:1] * fill, passages + passages[:1] * fill
        batch = self.tokenizer(
            queries,
            passages,
            truncation="longest_first",
            max_length=self.max_length,
            padding="max_length" if self.fixed_rows is not None else True,
            return_tensors="pt",
        )
        return {k: v.to(self.device) for k, v in batch.items()}

    def forward(self, queries: Sequence[str], passages: Sequence[str]) -> torch.Tensor:
        """Logits (with gradients when training), as fp32; under bf16 autocast when ``self.autocast``."""
        import torch

        batch = self.encode(queries, passages)
        if self.autocast:
            with torch.autocast(self.device, dtype=torch.bfloat16):
                out = self.model(**batch).logits
        else:
            out = self.model(**batch).logits
        return out.float().view(-1)[: len(queries)]

    def logits(self, queries: Sequence[str], passages: Sequence[str], *, batch_size: int = 64) -> np.ndarray:
        """Logits without gradients, in input order, in batches of ``batch_size`` pairs (of the compiled
        shape's rows when compiled)."""
        import numpy as np
        import torch

        if len(queries) != len(passages):
            raise ValueError(f"{len(queries)} queries but {len(passages)} passages")
        batch_size = self.fixed_rows or batch_size
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
