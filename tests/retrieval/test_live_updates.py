"""Live catalog updates: a running RetrievalService follows the ``<index_dir>/catalog`` link (retrieval.live)."""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path
from typing import Any

import pytest

from retrieval.builder import rebuild, update
from retrieval.catalog import load_catalog, preset
from retrieval.config import IndexConfig
from retrieval.errors import UnknownItemError
from retrieval.live import VersionWatch, current_version
from retrieval.service import RetrievalService
from tests.retrieval.retrieval_fakes import FakeEncoder

BOTTLE = {
    "id": "P-7",
    "title": "Glacier Water Bottle",
    "description": "An insulated steel water bottle that keeps drinks cold for a day.",
    "brand": "Floe",
    "category": "bottles",
    "price": 25.0,
    "currency": "EUR",
    "stock": 40,
    "attributes": {"color": ["teal"]},
    "image_url": "",
    "url": "/products/P-7",
    "colors": ["teal"],
    "price_text": "€25.00",
    "text": "Glacier Water Bottle. Floe; bottles. An insulated steel water bottle that keeps drinks cold.",
}


def _catalog(index_dir: Path) -> Path:
    return index_dir / "catalog"


def _records(demo_csv: Path) -> list[dict[str, Any]]:
    fmt, mapping = preset("demo")
    return [p.record() for p in load_catalog(demo_csv, fmt, mapping)]


def _found(service: RetrievalService, text: str) -> list[str]:
    return [h.id for h in service.search_products(text, k=5).ranked.hits]


def test_current_version_reads_the_link_and_a_plain_directory(tmp_path: Path) -> None:
    (tmp_path / "catalog.1").mkdir()
    (tmp_path / "catalog.1" / "meta.json").write_text("{}", encoding="utf-8")
    os.symlink("catalog.1", tmp_path / "catalog")
    found = current_version(tmp_path / "catalog")
    assert found.version == "link:catalog.1" and found.path == tmp_path / "catalog.1"
    plain = current_version(tmp_path / "catalog.1")
    assert plain.version.startswith("dir:") and plain.path == tmp_path / "catalog.1"
    assert current_version(tmp_path / "absent").version == ""


def test_one_loader_at_a_time_and_a_refused_version_is_not_retried(tmp_path: Path) -> None:
    watch = VersionWatch()
    (tmp_path / "v1").mkdir()
    os.symlink("v1", tmp_path / "kb")
    key = ("en", "kb")
    assert watch.newer(key, str(tmp_path / "kb")) is not None
    assert watch.claim(key) and not watch.claim(key)
    watch.release(key)
    assert watch.claim(key)
    watch.refuse(key, "link:v1")
    link = str(tmp_path / "kb")
    assert watch.newer(key, link) is None  # failed once: not loaded again until the link moves
    os.replace(tmp_path / "kb", tmp_path / "kb.old")
    os.symlink("v2", tmp_path / "kb")
    assert watch.newer(key, str(tmp_path / "kb")).version == "link:v2"  # type: ignore[union-attr]


def test_an_added_product_is_found_on_the_next_call_and_a_removed_one_never(
    service: RetrievalService, built_index_dir: Path, demo_csv: Path, fake_encoder: FakeEncoder
) -> None:
    assert "P-7" not in _found(service, "insulated water bottle")
    assert _found(service, "trolley bag with spinner wheels")[0] == "P-4"
    update(
        _catalog(built_index_dir), [BOTTLE], fake_encoder, IndexConfig(), kind="catalog", remove_ids=["P-4"]
    )
    assert _found(service, "insulated water bottle")[0] == "P-7"
    assert "P-4" not in _found(service, "trolley bag with spinner wheels")
    with pytest.raises(UnknownItemError):
        service.product("P-4")
    assert "bottles" in service.vocabulary.categories  # the filter vocabulary follows the catalog
    assert service.search_products("bottles under 30").filters.categories == {"bottles"}
    recs = service.recommender([["P-4", "P-3"], ["P-3", "P-7"]])
    shown = [r.id for r in recs.popular(k=10)] + [r.id for r in recs.similar("P-3", k=10)]
    assert "P-4" not in shown and "P-7" in shown


def test_a_full_rebuild_is_picked_up_too(
    service: RetrievalService, built_index_dir: Path, demo_csv: Path, fake_encoder: FakeEncoder
) -> None:
    before = service.version()
    records = [r for r in _records(demo_csv) if r["id"] != "P-1"] + [BOTTLE]
    rebuild(_catalog(built_index_dir), records, fake_encoder, IndexConfig(), kind="catalog")
    assert service.version() != before
    assert "P-1" not in service.index("catalog") and "P-7" in service.index("catalog")


def test_a_broken_new_version_is_logged_and_the_old_one_keeps_serving(
    service: RetrievalService,
    built_index_dir: Path,
    fake_encoder: FakeEncoder,
    caplog: pytest.LogCaptureFixture,
) -> None:
    old = service.index("catalog")
    link = _catalog(built_index_dir)
    broken = built_index_dir / "catalog.99990101T000000-broken"
    broken.mkdir()
    for name in ("index.faiss", "meta.json"):
        (broken / name).write_bytes((link / name).read_bytes())
    (broken / "items.jsonl").write_text('{"id": "X"}\n', encoding="utf-8")  # checksum mismatch
    os.symlink(broken.name, built_index_dir / ".tmp-link")
    os.replace(built_index_dir / ".tmp-link", link)
    with caplog.at_level(logging.WARNING, logger="retrieval.shelf"):
        assert service.index("catalog") is old
        assert _found(service, "trolley bag with spinner wheels")[0] == "P-4"
    assert "old one keeps serving" in caplog.text and "checksum" in caplog.text
    loads = []
    real_load = service.shelf._load
    service.shelf._load = lambda key, path: loads.append(path) or real_load(key, path)  # type: ignore[method-assign]
    service.index("catalog")
    assert loads == []  # the broken version is not loaded again on every call
    del service.shelf._load
    repaired = [
        {**r, "stock": 1} for r in service.index("catalog").items()
    ]  # the import does not build on it
    rebuild(link, repaired, fake_encoder, IndexConfig(), kind="catalog")
    assert service.index("catalog") is not old and service.product("P-2")["stock"] == 1


def test_concurrent_searches_during_swaps_see_one_version_whole(
    service: RetrievalService, built_index_dir: Path, demo_csv: Path, fake_encoder: FakeEncoder
) -> None:
    base = _records(demo_csv)
    errors: list[BaseException] = []
    seen: set[int] = set()
    stop = threading.Event()

    def read() -> None:
        while not stop.is_set():
            try:
                index = service.index("catalog")
                hits = index.search(fake_encoder.encode(["desk lamp"]), k=5)[0]
                generations = {h.item.get("generation", 0) for h in hits}
                assert hits and len(generations) == 1, generations
                assert len(index) == len(base)
                seen.update(generations)
            except BaseException as exc:
                errors.append(exc)
                return

    readers = [threading.Thread(target=read) for _ in range(3)]
    for thread in readers:
        thread.start()
    try:
        for generation in range(1, 9):
            records = [{**r, "generation": generation} for r in base]
            rebuild(_catalog(built_index_dir), records, fake_encoder, IndexConfig(), kind="catalog")
    finally:
        stop.set()
        for thread in readers:
            thread.join()
    assert errors == []
    assert service.index("catalog").get("P-1")["generation"] == 8
    assert len(seen) >= 2  # the readers did see versions change under them
