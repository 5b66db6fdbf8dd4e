"""Test doubles and data builders for the retrieval tests (imported as ``tests.retrieval.retrieval_fakes``)."""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from retrieval.catalog import FIELDS
from retrieval.config import IndexConfig
from retrieval.index import VectorIndex


class FakeEncoder:
    """Hashes words (and word bigrams) into a fixed-size vector: similar wording → similar vectors, no model."""

    def __init__(self, dim: int = 128, name: str = "fake-bow") -> None:
        self.name = name
        self._dim = dim
        self.calls = 0
        self.encoded = 0

    @property
    def dim(self) -> int:
        return self._dim

    def encode(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        self.calls += 1
        self.encoded += len(texts)
        out = np.zeros((len(texts), self._dim), dtype="float32")
        for row, text in enumerate(texts):
            words = re.findall(r"[a-z0-9]+", text.lower())
            words = [w[:-1] if len(w) > 3 and w.endswith("s") else w for w in words]
            for token in words + [f"{a} {b}" for a, b in itertools.pairwise(words)]:
                h = int.from_bytes(hashlib.md5(token.encode()).digest()[:4], "little")
                out[row, h % self._dim] += 1.0 if h & 1 << 31 else -1.0
            norm = np.linalg.norm(out[row])
            out[row] = out[row] / norm if norm else out[row]
        return out


DEMO_ROWS = [
    (
        "P-1",
        "Aurora Desk Lamp",
        "A dimmable LED desk lamp with a warm light. Dimmable: yes. Power: 8 W.",
        "Lumo",
        "lamps",
        "49.00",
        12,
        {"color": ["black", "white"], "dimmable": True},
    ),
    (
        "P-2",
        "Orbit Floor Lamp",
        "A tall floor lamp with a linen shade. Dimmable: no.",
        "Lumo",
        "lamps",
        "119.00",
        0,
        {"color": ["white"], "material": "linen"},
    ),
    (
        "P-3",
        "Metro Laptop Backpack",
        "An everyday commuter backpack with a padded laptop sleeve.",
        "Northpack",
        "bags",
        "89.00",
        19,
        {"color": ["black", "navy"], "material": "recycled polyester"},
    ),
    (
        "P-4",
        "Voyager Trolley Bag",
        "A hard-shell cabin trolley bag with four spinner wheels and a TSA lock.",
        "Northpack",
        "bags",
        "149.00",
        5,
        {"color": ["black"], "sizes": ["cabin", "medium"]},
    ),
    (
        "P-5",
        "Trail Running Shoes",
        "Light trail running shoes with a grippy sole.",
        "Pulse",
        "shoes",
        "99.00",
        30,
        {"color": ["blue", "black"], "sizes": ["39", "40", "41", "42", "43"]},
    ),
    (
        "P-6",
        "Merino Crew Sweater",
        "A soft merino wool crew-neck sweater. Hand wash cold.",
        "Woolly",
        "knitwear",
        "79.00",
        8,
        {"color": ["cream", "grey"], "sizes": ["S", "M", "L"], "material": "merino wool"},
    ),
]


def write_demo_csv(path: Path, rows: list[tuple] | None = None) -> Path:
    import csv

    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(FIELDS)
        for r in rows or DEMO_ROWS:
            writer.writerow(
                [
                    r[0],
                    r[1],
                    r[2],
                    r[3],
                    r[4],
                    r[5],
                    "EUR",
                    r[6],
                    json.dumps(r[7]),
                    f"/static/products/{r[0]}.svg",
                ]
            )
    return path


KB_YAML = """
topic: test
entries:
  - id: ship-countries
    title: Countries we ship to
    questions: ["Which countries do you ship to?", "Do you deliver to Spain?"]
    answer: We ship to every EU country, the UK, Switzerland and Norway.
    zh:
      title: 配送国家
      questions: ["你们寄哪些国家？", "能寄到西班牙吗？", "发货到瑞士吗？"]
      answer: 我们配送到所有欧盟国家、英国、瑞士和挪威。
  - id: pay-invoice
    title: Paying by invoice
    questions: ["Can I pay by invoice?", "Can I buy now and pay later?"]
    answer: Business accounts can pay by bank transfer on invoice.
    zh:
      title: 发票付款
      questions: ["可以按发票付款吗？", "可以先买后付吗？", "能记账月结吗？"]
      answer: 企业账户可以使用发票银行转账付款。
  - id: care-wool
    title: Wool care
    questions: ["How do I wash a wool sweater?"]
    answer: Hand-wash wool at 30 degrees and dry flat.
    zh:
      title: 羊毛护理
      questions: ["羊毛衫怎么洗？", "毛衣起球怎么办？", "针织衫可以机洗吗？"]
      answer: 羊毛制品请用 30 度水手洗，然后平铺晾干。
"""


def seeded_vectors(n: int, d: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, d)).astype("float32")
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def index_with(
    n: int = 500, d: int = 32, factory: str = "Flat", seed: int = 0
) -> tuple[VectorIndex, np.ndarray]:
    vectors = seeded_vectors(n, d, seed)
    index = VectorIndex(dim=d, model="seeded", config=IndexConfig(factory=factory))
    index.add([{"id": f"item-{i}", "text": f"item {i}", "price": float(i)} for i in range(n)], vectors)
    return index, vectors
