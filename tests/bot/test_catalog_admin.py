"""The admin catalog upload (bot.catalog_admin): admins only, a size cap, row errors, and the index it writes."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_app
from bot.catalog_admin import CATALOG_IMPORTER, CatalogImporter
from bot.passwords import hash_password
from bot.settings import Agent, Settings
from retrieval.index import VectorIndex
from tests.bot.conftest import FakeRasa, login
from tests.retrieval.retrieval_fakes import DEMO_ROWS, FakeEncoder, write_demo_csv

ADMIN = ("ada@shop.test", "Ada Admin", "ada-password")
URL = "/console/api/admin/catalog/import"


@pytest.fixture
def settings(tmp_path: Path, agents: tuple[Agent, ...], settings: Settings) -> Settings:  # type: ignore[override]
    admin = Agent(ADMIN[0], ADMIN[1], hash_password(ADMIN[2]), "admin")
    return replace(
        settings, agents=(*agents, admin), index_dir=tmp_path / "index", catalog_upload_max_bytes=4096
    )


@pytest.fixture
async def server(settings: Settings, fake_rasa: FakeRasa, aiohttp_server: Any) -> TestServer:  # type: ignore[override]
    app = create_app(settings, rasa=fake_rasa, sync=False)
    app[CATALOG_IMPORTER] = CatalogImporter(settings.index_dir, encoder=FakeEncoder())
    return await aiohttp_server(app)


@pytest.fixture
async def admin(server: TestServer, aiohttp_client: Any) -> tuple[TestClient, str]:
    client = await aiohttp_client(server)
    return client, await login(client, ADMIN[0], ADMIN[2])


def form(content: bytes, name: str = "catalog.csv", **fields: str) -> aiohttp.FormData:
    data = aiohttp.FormData()
    for key, value in fields.items():
        data.add_field(key, value)
    data.add_field("file", content, filename=name, content_type="text/csv")
    return data


def demo_bytes(tmp_path: Path, rows: list[tuple] | None = None) -> bytes:
    return write_demo_csv(tmp_path / "upload.csv", rows).read_bytes()


async def test_an_admin_imports_then_updates_the_catalog(
    admin: tuple[TestClient, str], settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client, csrf = admin
    with caplog.at_level(logging.INFO, logger="bot.catalog_admin"):
        response = await client.post(URL, data=form(demo_bytes(tmp_path)), headers={"X-CSRF-Token": csrf})
    assert response.status == 200, await response.text()
    body = await response.json()
    assert (body["added"], body["updated"], body["removed"], body["items"]) == (6, 0, 0, 6)
    assert "an admin imported a catalog (replace)" in caplog.text
    rows = [DEMO_ROWS[0], (*DEMO_ROWS[1][:5], "99.00", *DEMO_ROWS[1][6:])]
    response = await client.post(
        URL,
        data=form(demo_bytes(tmp_path, rows), mode="update", remove="P-3, P-4"),
        headers={"X-CSRF-Token": csrf},
    )
    body = await response.json()
    assert response.status == 200, body
    assert (body["updated"], body["removed"], body["unchanged"], body["items"]) == (1, 2, 1, 4)
    index = VectorIndex.load(settings.index_dir / "catalog")
    assert index.get("P-2")["price"] == 99.0 and "P-3" not in index


async def test_only_admins_may_import(
    alice: tuple[TestClient, str], anon: TestClient, tmp_path: Path, settings: Settings
) -> None:
    client, csrf = alice
    response = await client.post(URL, data=form(demo_bytes(tmp_path)), headers={"X-CSRF-Token": csrf})
    assert response.status == 403 and "admin" in (await response.json())["error"]
    response = await anon.post(URL, data=form(demo_bytes(tmp_path)))
    assert response.status == 401
    assert not settings.index_dir.exists()


async def test_an_admin_without_the_csrf_token_is_refused(
    admin: tuple[TestClient, str], tmp_path: Path
) -> None:
    client, _ = admin
    response = await client.post(URL, data=form(demo_bytes(tmp_path)))
    assert response.status == 403 and "CSRF" in (await response.json())["error"]


async def test_an_oversize_file_is_413(admin: tuple[TestClient, str], settings: Settings) -> None:
    client, csrf = admin
    big = b"id,title,price\n" + b"".join(b"%d,Mug,3\n" % i for i in range(1000))
    response = await client.post(URL, data=form(big), headers={"X-CSRF-Token": csrf})
    assert response.status == 413 and "CATALOG_UPLOAD_MAX_MB" in (await response.json())["error"]
    assert not settings.index_dir.exists()


async def test_a_bad_file_is_400_with_the_row_and_nothing_is_imported(
    admin: tuple[TestClient, str], settings: Settings, tmp_path: Path
) -> None:
    client, csrf = admin
    assert (
        await client.post(URL, data=form(demo_bytes(tmp_path)), headers={"X-CSRF-Token": csrf})
    ).status == 200
    before = sorted(p.name for p in settings.index_dir.iterdir())
    bad = b"id,title,price\n1,Mug,3\n2,Jug,abc\n"
    response = await client.post(URL, data=form(bad), headers={"X-CSRF-Token": csrf})
    body = await response.json()
    assert response.status == 400, body
    assert (body["row"], body["column"]) == (2, "price") and "'abc' is not a number" in body["fields"]["file"]
    latin = "id,title,price\n1,Caf\xe9,3\n".encode("latin-1")
    body = await (await client.post(URL, data=form(latin), headers={"X-CSRF-Token": csrf})).json()
    assert "not valid utf-8 at byte" in body["fields"]["file"]
    assert sorted(p.name for p in settings.index_dir.iterdir()) == before


async def test_bad_form_fields_are_named(admin: tuple[TestClient, str], tmp_path: Path) -> None:
    client, csrf = admin
    response = await client.post(
        URL,
        data=form(demo_bytes(tmp_path), mode="merge", preset="amazon", remove="P-1", format="xml"),
        headers={"X-CSRF-Token": csrf},
    )
    fields = (await response.json())["fields"]
    assert response.status == 400 and set(fields) == {"mode", "preset", "format", "remove"}
    response = await client.post(
        URL, data=form(demo_bytes(tmp_path), remove="P-1"), headers={"X-CSRF-Token": csrf}
    )
    assert set((await response.json())["fields"]) == {"remove"}
    response = await client.post(URL, data=form(b""), headers={"X-CSRF-Token": csrf})
    assert set((await response.json())["fields"]) == {"file"}
    response = await client.post(URL, data=form(b"x", mapping="{oops"), headers={"X-CSRF-Token": csrf})
    assert "not a JSON object" in (await response.json())["fields"]["mapping"]
    response = await client.post(URL, data=b"id,title\n", headers={"X-CSRF-Token": csrf})
    assert response.status == 400 and "multipart" in (await response.json())["fields"]["body"]
