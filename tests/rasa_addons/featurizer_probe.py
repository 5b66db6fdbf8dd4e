"""Run in Rasa's environment by test_dense_featurizer.py: exercises SentenceEmbeddingFeaturizer, prints PROBE <json>.

    .venv/rasa/bin/python tests/rasa_addons/featurizer_probe.py <tmp dir>

1. The component on its own (after Rasa's WhitespaceTokenizer): feature shapes, dtypes and norms for a
   normal, an empty, a 5,000-character and a Chinese message; cosine similarities of a paraphrase pair
   and an unrelated pair; what a bad config is told.
2. A tiny NLU pipeline with the component, trained into <tmp dir>, packaged, and loaded back in this process
   with Agent.load: what it predicts for unseen paraphrases, and that every message kind parses.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from rasa.engine.graph import ExecutionContext  # noqa: E402
from rasa.engine.storage.local_model_storage import LocalModelStorage  # noqa: E402
from rasa.engine.storage.resource import Resource  # noqa: E402
from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer  # noqa: E402
from rasa.shared.exceptions import InvalidConfigException  # noqa: E402
from rasa.shared.nlu.constants import TEXT  # noqa: E402
from rasa.shared.nlu.training_data.message import Message  # noqa: E402

from rasa_addons.dense_featurizer import SentenceEmbeddingFeaturizer  # noqa: E402

MESSAGES = {
    "normal": "where is my order SD-100003?",
    "empty": "",
    "long": ("I ordered a yoga mat last week and it still has not arrived, " * 100)[:5000],
    "chinese": "我的订单在哪里？",
    # lone surrogates arrive from JSON ("\\udfff"); the encoder needs UTF-8 (the hostile-input fuzz found it)
    "surrogate": "\udfff where is my order \ud83d SD-100003?",
}
PARAPHRASE = ("where is my package?", "can you track my parcel for me")
UNRELATED = ("where is my package?", "I want to delete my account")

NLU_DATA = """version: "3.1"
nlu:
- intent: greet
  examples: |
    - hi
    - hello there
    - good morning
    - hey
- intent: track_order
  examples: |
    - where is my order
    - track my package
    - when will my parcel arrive
    - status of my delivery
- intent: contact_human_agent
  examples: |
    - I want to talk to a person
    - connect me with an agent
    - can I speak to someone real
    - get me a human
"""

CONFIG = """recipe: default.v1
language: en
pipeline:
  - name: WhitespaceTokenizer
  - name: CountVectorsFeaturizer
    analyzer: char_wb
    min_ngram: 1
    max_ngram: 4
  - name: rasa_addons.dense_featurizer.SentenceEmbeddingFeaturizer
    token_features: true
    batch_size: 2
  - name: DIETClassifier
    epochs: 30
    random_seed: 42
policies: []
"""


def _component(tmp: Path, **config: Any) -> SentenceEmbeddingFeaturizer:
    storage = LocalModelStorage(tmp / "storage")
    full = {**SentenceEmbeddingFeaturizer.get_default_config(), **config}
    return SentenceEmbeddingFeaturizer.create(
        full, storage, Resource("dense"), ExecutionContext(None, node_name="dense")
    )


def component_facts(tmp: Path) -> dict[str, Any]:
    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    featurizer = _component(tmp, token_features=True, batch_size=2)
    facts: dict[str, Any] = {"dim": featurizer.encoder.dim}
    messages = {kind: Message(data={TEXT: text}) for kind, text in MESSAGES.items()}
    tokenizer.process(list(messages.values()))
    featurizer.process(list(messages.values()))
    for kind, message in messages.items():
        sequence, sentence = message.get_dense_features(TEXT)
        facts[kind] = {
            "n_tokens": len(message.get("text_tokens") or []),
            "sentence_shape": list(sentence.features.shape) if sentence else None,
            "sentence_dtype": str(sentence.features.dtype) if sentence else None,
            "sentence_norm": float(np.linalg.norm(sentence.features)) if sentence else None,
            "sequence_shape": list(sequence.features.shape) if sequence else None,
            "sequence_dtype": str(sequence.features.dtype) if sequence else None,
            "nonzero_rows": int((np.abs(sequence.features).sum(axis=1) > 0).sum()) if sequence else None,
            "finite": bool(all(np.isfinite(f.features).all() for f in (sequence, sentence) if f is not None)),
        }

    # the same text again, at inference: every row looked up (nothing encoded), the same features
    misses = (featurizer.token_rows.misses, featurizer.message_rows.misses)
    again = Message(data={TEXT: MESSAGES["normal"]})
    tokenizer.process([again])
    featurizer.process([again])
    first, second = messages["normal"].get_dense_features(TEXT), again.get_dense_features(TEXT)
    facts["cache"] = {
        "new_encodes": [featurizer.token_rows.misses - misses[0], featurizer.message_rows.misses - misses[1]],
        "same_features": all(
            np.array_equal(a.features, b.features) for a, b in zip(first, second, strict=True)
        ),
        "max_diff_vs_uncached": float(
            np.abs(
                second[0].features[:5]
                - featurizer.encoder.encode([t.text for t in again.get("text_tokens")][:5])
            ).max()
        ),
    }

    sentence_only = Message(data={TEXT: MESSAGES["normal"]})
    tokenizer.process([sentence_only])
    _component(tmp).process([sentence_only])
    sequence, sentence = sentence_only.get_dense_features(TEXT)
    facts["default_sequence"] = None if sequence is None else list(sequence.features.shape)
    facts["default_sentence"] = None if sentence is None else list(sentence.features.shape)

    def cosine(pair: tuple[str, str]) -> float:
        a, b = featurizer.encoder.encode(list(pair))
        return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))

    facts["paraphrase_cosine"] = cosine(PARAPHRASE)
    facts["unrelated_cosine"] = cosine(UNRELATED)

    errors = {}
    for key, value in {"encoder": "word2vec", "batch_size": 0, "threads": "two"}.items():
        try:
            _component(tmp, **{key: value})
            errors[key] = None
        except InvalidConfigException as exc:
            errors[key] = str(exc)
    facts["config_errors"] = errors
    return facts


def pipeline_facts(tmp: Path) -> dict[str, Any]:
    from rasa.core.agent import Agent
    from rasa.model_training import train_nlu

    (tmp / "data").mkdir(exist_ok=True)
    (tmp / "data" / "nlu.yml").write_text(NLU_DATA, encoding="utf-8")
    (tmp / "config.yml").write_text(CONFIG, encoding="utf-8")
    model = train_nlu(str(tmp / "config.yml"), str(tmp / "data"), str(tmp / "models"), fixed_model_name="m")
    agent = Agent.load(model)  # a fresh graph from the packaged archive: nothing kept from training

    async def parse(text: str) -> dict[str, Any]:
        return await agent.parse_message(text)

    unseen = {
        "track": "where's my parcel at",
        "human": "put me through to a real person",
        "greet": "hello!",
    }
    parsed = {kind: asyncio.run(parse(text))["intent"]["name"] for kind, text in unseen.items()}
    kinds = {kind: asyncio.run(parse(text))["intent"]["name"] for kind, text in MESSAGES.items()}
    return {"model_exists": Path(model).is_file(), "unseen": parsed, "parsed_kinds": kinds}


def main() -> int:
    tmp = Path(sys.argv[1])
    sys.stdout.reconfigure(errors="backslashreplace")  # Rasa's debug log echoes the surrogate message
    facts = {"component": component_facts(tmp), "pipeline": pipeline_facts(tmp)}
    print("PROBE " + json.dumps(facts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
