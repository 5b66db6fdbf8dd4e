"""bench/faiss_scale.py and bench/faiss_measure.py on small seeded data: memory per vector as faiss writes it,
the IVF list count, and every approximate variant checked against brute force (faiss contrib style)."""

from __future__ import annotations

import faiss
import numpy as np
import pytest

from bench.faiss_measure import (
    Row,
    bytes_per_vector,
    default_nlist,
    markdown,
    measure,
    percentiles,
    serialized_bytes,
)
from bench.faiss_scale import gpu_rows, hnsw_variant, ivf_variants
from bench.retrieval_speed import recall_at
from retrieval.index_faiss import with_ids


def clustered(n: int, d: int = 32, seed: int = 0) -> np.ndarray:
    """Unit vectors around 40 centres: the clustered shape of text embeddings, in miniature."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(40, d))
    x = (centres[rng.integers(0, 40, size=n)] + 0.3 * rng.normal(size=(n, d))).astype("float32")
    return x / np.linalg.norm(x, axis=1, keepdims=True)


@pytest.fixture(autouse=True, scope="module")
def one_thread():  # type: ignore[no-untyped-def]
    """Tiny indexes: OpenMP threads only add barrier waits (slow on a shared CPU)."""
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    yield
    faiss.omp_set_num_threads(before)


@pytest.fixture(scope="module")
def data() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    points = clustered(2050)
    base, queries = points[:2000], points[2000:]
    flat = faiss.IndexFlatIP(base.shape[1])
    flat.add(base)
    _, truth = flat.search(queries, 10)
    return base, queries, truth


def test_serialized_bytes_counts_what_serialize_index_writes() -> None:
    index = faiss.IndexFlatIP(16)
    index.add(clustered(50, d=16))
    assert serialized_bytes(index) == len(faiss.serialize_index(index))


def test_a_flat_vector_costs_its_floats_and_shopdesks_id_map_eight_bytes_more() -> None:
    x = clustered(500, d=16)
    bare = faiss.IndexFlatIP(16)
    bare.add(x)
    served = with_ids(faiss.IndexFlatIP(16))
    served.add_with_ids(x, np.arange(500, dtype="int64"))
    assert 64 < bytes_per_vector(bare) < 65  # 16 float32 + a header shared by 500 vectors
    assert bytes_per_vector(served) - bytes_per_vector(bare) == pytest.approx(8, abs=0.5)


def test_memory_per_vector_of_an_empty_index_is_an_error_naming_it() -> None:
    with pytest.raises(ValueError, match=r"IndexFlatIP.*ntotal=0"):
        bytes_per_vector(faiss.IndexFlatIP(8))


@pytest.mark.parametrize(("n", "nlist"), [(1_000_000, 4096), (100_000, 1024), (11_500, 256), (39, 1)])
def test_nlist_is_four_root_n_as_a_power_of_two_with_39_training_points_each(n: int, nlist: int) -> None:
    assert default_nlist(n) == nlist


def test_nlist_of_too_few_vectors_is_an_error_naming_the_count() -> None:
    with pytest.raises(ValueError, match="got 38"):
        default_nlist(38)


def test_percentiles_of_no_latencies_is_an_error() -> None:
    assert percentiles(np.arange(1, 101, dtype=float)) == pytest.approx((50.5, 95.05, 99.01))
    with pytest.raises(ValueError, match="0 queries"):
        percentiles(np.array([]))


def test_ivf_variants_match_flat_when_every_list_is_probed(data) -> None:  # type: ignore[no-untyped-def]
    base, queries, truth = data
    nlist = default_nlist(len(base))
    results = {}
    for label, index, build_s, param, setter in ivf_variants(base, nlist, pq_m=8):
        assert param == "nprobe" and build_s > 0 and index.ntotal == len(base)
        setter(nlist)
        _, found = index.search(queries, 10)
        results[label.split(",", 1)[1]] = (recall_at(found, truth), bytes_per_vector(index))
    assert results["Flat"][0] == 1.0  # exhaustive IVF-Flat is brute force
    assert results["SQ8"][0] > 0.9
    assert results["PQ8,Refine(Flat) k_factor 4"][0] > results["PQ8"][0]
    assert results["PQ8,Refine(Flat) k_factor 4"][0] > 0.95
    assert results["PQ8"][1] < results["SQ8"][1] < results["Flat"][1]  # 8 B codes < 32 B < 128 B (+ ids)


def test_hnsw_against_flat_and_its_time_budget(data) -> None:  # type: ignore[no-untyped-def]
    base, queries, truth = data
    index, _, setter = hnsw_variant(base, "Flat", budget_s=600)
    assert index is not None and index.ntotal == len(base)
    setter(128)
    _, found = index.search(queries, 10)
    assert recall_at(found, truth) > 0.95
    assert hnsw_variant(base, "SQ8", budget_s=0)[0] is None  # gives up after its first chunk


def test_measure_reports_one_row_per_parameter_value(data) -> None:  # type: ignore[no-untyped-def]
    base, queries, truth = data
    index = faiss.IndexHNSWFlat(base.shape[1], 16, faiss.METRIC_INNER_PRODUCT)
    index.add(base)
    seen: list[int] = []
    rows = measure(
        2000, "HNSW16", index, 1.0, "efSearch", [16, 64], seen.append, queries, truth, 20, 1, min_seconds=0.05
    )
    assert seen == [16, 64]
    assert [row.param for row in rows] == ["efSearch 16", "efSearch 64"]
    assert all(0 < row.p50_ms <= row.p95_ms <= row.p99_ms and row.qps > 0 for row in rows)
    flat = faiss.IndexFlatIP(base.shape[1])
    flat.add(base)
    (row,) = measure(2000, "Flat", flat, 0.1, "", [], None, queries, truth, 5, 1, min_seconds=0.05)
    assert row.recall == 1.0 and row.param == "" and row.bytes_per_vector > 128


def test_markdown_writes_one_table_per_vector_set() -> None:
    rows = [
        Row(100, "Flat (exact)", "", 0.2, 1544.0, 1.0, 3.0, 5.0, 9.0, 80.0, data="100,000 noisy"),
        Row(
            100,
            "IVF1024,Flat",
            "nprobe 16",
            21.0,
            1576.0,
            0.988,
            0.18,
            0.27,
            3.6,
            2318.0,
            data="100,000 noisy",
        ),
        Row(10, "Flat", "", 0.0, 1544.0, 1.0, 0.5, 1.0, 2.0, 700.0, device="gpu", data="real"),
    ]
    text = markdown(rows)
    assert text.count("| index | param |") == 2
    assert "| IVF1024,Flat | nprobe 16 | 21 | 1576 | 0.988 | 0.18 | 0.27 | 3.6 | 2318 |" in text
    assert "| Flat [GPU] |" in text


def test_recall_is_the_share_of_the_true_ten_found() -> None:
    found = np.array([[1, 2, 3, 4], [5, 6, 7, 8]])
    truth = np.array([[4, 3, 9, 10], [5, 6, 7, 8]])
    assert recall_at(found, truth) == pytest.approx((0.5 + 1.0) / 2)


def test_without_a_gpu_the_gpu_table_is_skipped_with_a_line_saying_so(data, capsys) -> None:  # type: ignore[no-untyped-def]
    if faiss.get_num_gpus() > 0:
        pytest.skip("a GPU is present: the GPU rows are measured instead")
    base, queries, truth = data
    assert gpu_rows(len(base), base, queries, truth, 32, 8, 1) == []
    assert "GPU: skipped" in capsys.readouterr().out
