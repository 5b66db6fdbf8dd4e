"""The Bitext -> Rasa NLU YAML converter used by bench/nlu_eval.py (standard library only)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load():  # bench/ is scripts, not a package
    spec = importlib.util.spec_from_file_location("nlu_bitext", ROOT / "bench" / "nlu_bitext.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules["nlu_bitext"] = module
    spec.loader.exec_module(module)
    return module


nb = _load()

CSV = (
    # Rows in Bitext's format, written by us (the real data is never copied into the repo).
    "utterance,intent,entity_type,entity_value,start_offset,end_offset,category,tags\n"
    "how can I cancel purchase 4455667788?,cancel_order,order_id,4455667788,26,36,ORDER,BIL\n"
    "refund $120 [now],get_refund,refund_amount,$120,7,11,REFUND,B\n"
    "bill from Ola Nordmann,get_invoice,person_name,Ola Nordmann,10,22,INVOICE,B\n"
    "do you ship to Spain,delivery_options,delivery_country,Spain,15,20,DELIVERY,B\n"
    "hello there,greet_x,,,,,X,B\n"
)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    (tmp_path / "bitext").mkdir()
    (tmp_path / "bitext" / "train.csv").write_text(CSV)
    return tmp_path


def test_entities_are_mapped_to_our_names(data_dir: Path) -> None:
    examples = {e.text: e for e in nb.read_split(data_dir, "train")}
    assert examples["how can I cancel purchase 4455667788?"].entities == ((26, 36, "order_id"),)
    assert examples["refund $120 [now]"].entities == ((7, 11, "amount"),)
    assert examples["do you ship to Spain"].entities == ((15, 20, "country"),)
    assert examples["bill from Ola Nordmann"].entities == ()  # person_name has no ShopDesk entity


def test_yaml_annotates_spans_and_neutralises_brackets(data_dir: Path) -> None:
    text = nb.to_rasa_yaml(nb.read_split(data_dir, "train"), "test")
    assert "- how can I cancel purchase [4455667788](order_id)?" in text
    assert "- refund [$120](amount) now" in text  # stray [ ] replaced so Rasa can't misread them
    assert "  - intent: delivery_options" in text
    assert "- do you ship to [Spain](country)" in text


def test_yaml_loads_in_rasa_format(data_dir: Path, tmp_path: Path) -> None:
    yaml = pytest.importorskip("yaml")
    path = nb.write_yaml(data_dir, "train", tmp_path / "out")
    doc = yaml.safe_load(path.read_text())
    intents = {block["intent"] for block in doc["nlu"]}
    assert intents == {"cancel_order", "get_refund", "get_invoice", "delivery_options", "greet_x"}


def test_missing_data_names_the_path(tmp_path: Path) -> None:
    with pytest.raises(nb.BitextMissingError, match=r"validation\.csv"):
        nb.read_split(tmp_path, "validation")


def test_unknown_split_lists_the_valid_ones(tmp_path: Path) -> None:
    with pytest.raises(nb.UnknownSplitError, match="train, validation"):
        nb.read_split(tmp_path, "test")


def test_cli_writes_into_the_given_folder(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "extra"
    assert nb.main(["--data-dir", str(data_dir), "--out", str(out)]) == 0
    assert (out / "bitext_train.yml").is_file()
    assert nb.main(["--data-dir", str(tmp_path / "nope"), "--out", str(out)]) == 2
