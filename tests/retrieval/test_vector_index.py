from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest

from retrieval.config import IndexConfig
from retrieval.errors import (
    ConfigError,
    DuplicateIdError,
    IndexCorruptError,
    IndexMetaMismatchError,
    IndexMissingError,
    UnknownItemError,
)
from retrieval.index import VectorIndex, label_for, validate_factory
from tests.retrieval.retrieval_fakes import index_with, seeded_vectors


def brute_force(vectors: np.ndarray, queries: np.ndarray, k: int) -> np.ndarray:
    return np.argsort(-(queries @ vectors.T), axis=1, kind="stable")[:, :k]


def test_flat_matches_brute_force_exactly() -> None:
    index, vectors = index_with(n=400, d=24)
    queries = seeded_vectors(20, 24, seed=1)
    expected = brute_force(vectors, queries, 10)
    for row, hits in enumerate(index.search(queries, 10)):
        assert [h.id for h in hits] == [f"item-{j}" for j in expected[row]]
        np.testing.assert_allclose(
            [h.score for h in hits], (queries[row] @ vectors.T)[expected[row]], rtol=1e-5
        )


@pytest.mark.parametrize("factory", ["HNSW32", "IVF8,Flat"])
def test_approximate_indexes_have_high_recall_against_brute_force(factory: str) -> None:
    index, vectors = index_with(n=2000, d=32, factory=factory)
    queries = seeded_vectors(50, 32, seed=2)
    expected = brute_force(vectors, queries, 10)
    found = index.search(queries, 10)
    recall = np.mean(
        [len({f"item-{j}" for j in expected[r]} & {h.id for h in found[r]}) / 10 for r in range(50)]
    )
    assert recall >= 0.95


def test_search_with_allowed_ids_restricts_inside_the_search() -> None:
    index, vectors = index_with(n=300, d=16)
    allowed = [f"item-{i}" for i in range(0, 300, 7)]
    query = seeded_vectors(1, 16, seed=3)
    hits = index.search(query, 5, allowed_ids=allowed)[0]
    rows = [int(i.split("-")[1]) for i in allowed]
    expected = [rows[j] for j in np.argsort(-(vectors[rows] @ query[0]))[:5]]
    assert [h.id for h in hits] == [f"item-{j}" for j in expected]


def test_labels_where_filters_on_payload() -> None:
    index, _ = index_with(n=50, d=8)
    labels = index.labels_where(lambda r: r["price"] < 10)
    hits = index.search(seeded_vectors(1, 8, seed=4), 50, allowed_labels=labels)[0]
    assert {h.id for h in hits} == {f"item-{i}" for i in range(10)}


def test_empty_selection_returns_no_hits() -> None:
    index, _ = index_with(n=20, d=8)
    assert index.search(seeded_vectors(1, 8), 5, allowed_ids=[])[0] == []


@pytest.mark.parametrize("factory", ["Flat", "HNSW32", "IVF4,Flat"])
def test_add_update_remove_keep_ids_stable(factory: str) -> None:
    index, _vectors = index_with(n=200, d=16, factory=factory)
    target = seeded_vectors(1, 16, seed=9)
    # update item-5 to sit exactly on the target: it becomes the top hit
    added, updated = index.upsert([{"id": "item-5", "text": "moved"}], target)
    assert (added, updated) == (0, 1)
    assert index.search(target, 1)[0][0].id == "item-5"
    assert index.get("item-5")["text"] == "moved"
    # remove it: never returned again
    index.remove(["item-5"])
    assert "item-5" not in index
    assert all(h.id != "item-5" for h in index.search(target, 200)[0])
    # add a new one and re-add the removed id
    index.add([{"id": "new", "text": "new"}, {"id": "item-5", "text": "back"}], np.vstack([target, -target]))
    assert index.search(target, 1)[0][0].id == "new"
    assert len(index) == 201
    assert len({h.id for h in index.search(target, 201)[0]}) == len(index.search(target, 201)[0])


def test_duplicate_and_unknown_ids_raise() -> None:
    index, _ = index_with(n=10, d=8)
    with pytest.raises(DuplicateIdError, match="item-1"):
        index.add([{"id": "item-1", "text": "x"}], seeded_vectors(1, 8))
    with pytest.raises(DuplicateIdError, match="twice"):
        index.upsert([{"id": "a", "text": "x"}, {"id": "a", "text": "y"}], seeded_vectors(2, 8))
    with pytest.raises(UnknownItemError, match="nope"):
        index.remove(["nope"])


def test_labels_are_stable_hashes() -> None:
    assert label_for("P-1001") == label_for("P-1001") > 0
    assert label_for("P-1001") != label_for("P-1002")


def test_factory_validation_lists_valid_choices() -> None:
    assert validate_factory(" HNSW32 ") == "HNSW32"
    with pytest.raises(ConfigError, match="Flat"):
        validate_factory("Bogus42")
    with pytest.raises(ConfigError):
        VectorIndex(dim=8, model="m", config=IndexConfig(metric="cosine"))


def test_ivf_with_more_lists_than_items_is_a_clear_error() -> None:
    index = VectorIndex(dim=8, model="m", config=IndexConfig(factory="IVF64,Flat"))
    with pytest.raises(ConfigError, match="use Flat"):
        index.add([{"id": str(i), "text": ""} for i in range(10)], seeded_vectors(10, 8))


@pytest.mark.parametrize("factory", ["Flat", "HNSW32"])
def test_save_load_roundtrip_with_meta(tmp_path: Path, factory: str) -> None:
    index, _vectors = index_with(n=100, d=16, factory=factory)
    index.remove(["item-3"])
    path = tmp_path / "catalog"
    index.save(path)
    meta = json.loads((path / "meta.json").read_text())
    assert meta["model"] == "seeded" and meta["dimension"] == 16 and meta["factory"] == factory
    assert meta["item_count"] == 99 and "faiss" in meta["library_versions"] and meta["items_sha256"]
    loaded = VectorIndex.load(path, expect_model="seeded", expect_dim=16)
    q = seeded_vectors(3, 16, seed=5)
    assert [[h.id for h in r] for r in loaded.search(q, 5)] == [[h.id for h in r] for r in index.search(q, 5)]
    assert "item-3" not in loaded


def test_load_refuses_another_model_or_dimension(tmp_path: Path) -> None:
    index, _ = index_with(n=10, d=8)
    index.save(tmp_path / "idx")
    with pytest.raises(IndexMetaMismatchError, match="model") as err:
        VectorIndex.load(tmp_path / "idx", expect_model="all-MiniLM-L6-v2")
    assert err.value.found == "seeded"
    with pytest.raises(IndexMetaMismatchError, match="dimension"):
        VectorIndex.load(tmp_path / "idx", expect_dim=384)
    with pytest.raises(IndexMetaMismatchError, match="factory"):
        VectorIndex.load(tmp_path / "idx", config=IndexConfig(factory="HNSW32"))


def test_load_detects_tampering_and_missing_files(tmp_path: Path) -> None:
    with pytest.raises(IndexMissingError):
        VectorIndex.load(tmp_path / "nothing")
    index, _ = index_with(n=10, d=8)
    path = index.save(tmp_path / "idx")
    with open(path / "items.jsonl", "a", encoding="utf-8") as fh:
        fh.write('{"id": "sneaky", "label": 1, "text": ""}\n')
    with pytest.raises(IndexCorruptError, match="checksum"):
        VectorIndex.load(tmp_path / "idx")
    (path / "index.faiss").unlink()
    with pytest.raises(IndexCorruptError, match=r"index\.faiss"):
        VectorIndex.load(tmp_path / "idx")


def test_save_swaps_atomically_and_keeps_old_version_until_done(tmp_path: Path, monkeypatch) -> None:
    import faiss

    link = tmp_path / "idx"
    first, _ = index_with(n=10, d=8)
    first.save(link)
    old_target = os.readlink(link)
    second, _ = index_with(n=20, d=8, seed=1)

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(faiss, "write_index", boom)
    with pytest.raises(OSError):
        second.save(link)
    monkeypatch.undo()
    assert os.readlink(link) == old_target and len(VectorIndex.load(link)) == 10
    assert not list(tmp_path.glob(".*.tmp"))  # the half-written version was cleaned up
    second.save(link)
    assert os.readlink(link) != old_target and len(VectorIndex.load(link)) == 20


def test_compact_drops_tombstones() -> None:
    index, _ = index_with(n=50, d=8, factory="HNSW32")
    index.remove([f"item-{i}" for i in range(10)])
    assert index.meta()["vector_count"] == 50
    index.compact()
    assert index.meta()["vector_count"] == 40 and not index.meta()["tombstones"]
    assert len(index.search(seeded_vectors(1, 8), 50)[0]) == 40


@pytest.mark.gpu
def test_gpu_copy_gives_same_results() -> None:
    import faiss

    if faiss.get_num_gpus() <= 0:
        pytest.skip("no GPU visible to faiss (faiss-cpu or no CUDA)")
    index, _ = index_with(n=1000, d=32)
    q = seeded_vectors(10, 32, seed=7)
    cpu = [[h.id for h in r] for r in index.search(q, 10)]
    assert index._search_index() is not index._index
    index.config = IndexConfig(use_gpu=False)
    assert [[h.id for h in r] for r in index.search(q, 10)] == cpu
