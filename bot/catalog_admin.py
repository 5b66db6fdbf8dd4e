"""Catalog import for admins: upload a catalog file, the product index is updated and the running action server
picks the new version up on its next message (``retrieval.live``); the same code as ``make import-catalog``
(:func:`retrieval.import_catalog.run_import`), run in an executor.

``POST /console/api/admin/catalog/import`` (admin session + ``X-CSRF-Token``), ``multipart/form-data``:

- ``file`` (required): the catalog, CSV / JSON / parquet, at most ``CATALOG_UPLOAD_MAX_MB`` (413 above);
- ``format`` (optional): ``csv`` | ``json`` | ``parquet``; default: the preset's, else the file name's suffix;
- ``preset`` (optional, default ``demo``) or ``mapping`` (a JSON column mapping, docs/retrieval.md);
- ``mode`` (optional): ``replace`` (default: the index holds exactly the file's products) or ``update`` (add or
  replace the file's products, keep the others, remove the ids in ``remove``, separated by spaces or commas).

→ 200 ``{"added", "updated", "removed", "unchanged", "items", "encoded", "seconds", "products", "indexes"}``;
400 ``{"error", "fields": {name: problem}}`` (a bad row: ``"row"`` and ``"column"`` too, nothing imported);
409 while another import runs; 413 for a file over the cap. Every import is logged (the admin-action log).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from aiohttp import BodyPartReader, web

from bot.admin import require_admin
from bot.keys import SETTINGS
from bot.validate import bad_request
from retrieval.catalog import PRESETS, ColumnMapping, preset
from retrieval.catalog_encoder import catalog_serving
from retrieval.catalog_rows import FORMATS
from retrieval.config import ZH_CATALOG_MODEL, EncoderConfig, RetrievalConfig
from retrieval.encoder import Encoder, make_encoder, shared_encoder
from retrieval.errors import CatalogError, ConfigError, RetrievalError, UnknownItemError
from retrieval.import_catalog import ImportJob, ImportResult, job_format, run_import

logger = logging.getLogger(__name__)

routes = web.RouteTableDef()
MODES = ("replace", "update")
FIELDS = ("file", "format", "preset", "mapping", "mode", "remove")
MAX_FIELD_BYTES = 64 * 1024  # the form fields beside the file
CHUNK = 1 << 16


class CatalogImporter:
    """Runs imports into ``index_dir`` one at a time; the encoder loads on the first import (``encoder``: a test's
    own; ``catalog_model``: the catalog-adapted model of ``SHOPDESK_CATALOG_ENCODER``, validated by the settings,
    else the stock model — the action server must be configured with the same, or it refuses the new version)."""

    def __init__(
        self, index_dir: Path, encoder: Encoder | None = None, catalog_model: Path | None = None
    ) -> None:
        self.index_dir = Path(index_dir)
        self._encoder = encoder
        self._injected = encoder is not None
        self.encoder_config = (
            EncoderConfig()
            if catalog_model is None
            else catalog_serving(RetrievalConfig(), catalog_model).catalog_encoder or EncoderConfig()
        )
        self.lock = asyncio.Lock()
        self._load_lock = threading.Lock()

    def encoder(self) -> Encoder:
        with self._load_lock:
            if self._encoder is None:
                self._encoder = shared_encoder(self.encoder_config)
            return self._encoder

    def zh_encoder(self) -> Callable[[], Encoder] | None:
        if self._injected and self.encoder().name != EncoderConfig().model:
            return None  # a test's encoder: the Chinese index is left alone
        return lambda: make_encoder(EncoderConfig(model=ZH_CATALOG_MODEL, batch_size=32))

    def run(self, job: ImportJob) -> ImportResult:
        return run_import(job, self.encoder(), self.zh_encoder())


CATALOG_IMPORTER = web.AppKey("catalog_importer", CatalogImporter)


def setup(app: web.Application) -> None:
    app.add_routes(routes)
    if CATALOG_IMPORTER not in app:
        settings = app[SETTINGS]
        app[CATALOG_IMPORTER] = CatalogImporter(settings.index_dir, catalog_model=settings.catalog_encoder)


def _json_error(status: type[web.HTTPException], message: str, **extra: Any) -> web.HTTPException:
    return status(text=json.dumps({"error": message, **extra}), content_type="application/json")


def _too_large(limit: int, size: int) -> web.HTTPException:
    message = (
        f"the catalog file is larger than {limit / 2**20:g} MB (CATALOG_UPLOAD_MAX_MB); "
        "import it with `make import-catalog FILE=...`"
    )
    return web.HTTPRequestEntityTooLarge(
        max_size=limit, actual_size=size, text=json.dumps({"error": message}), content_type="application/json"
    )


async def _read_form(request: web.Request, folder: Path, limit: int) -> tuple[dict[str, str], Path | None]:
    """The form's text fields and the uploaded file (written to ``folder``), streamed with the size cap."""
    if request.content_length is not None and request.content_length > limit + MAX_FIELD_BYTES:
        raise _too_large(limit, request.content_length)
    try:
        reader = await request.multipart()
    except (AssertionError, ValueError, KeyError):
        raise bad_request({"body": "send multipart/form-data with a file field"}) from None
    fields: dict[str, str] = {}
    upload: Path | None = None
    while True:
        part = await reader.next()
        if part is None:
            break
        if not isinstance(part, BodyPartReader) or part.name not in FIELDS:
            raise bad_request(
                {str(getattr(part, "name", "") or "body"): f"unknown field; send {', '.join(FIELDS)}"}
            )
        if part.name == "file":
            name = re.sub(r"[^A-Za-z0-9._-]", "_", Path(part.filename or "catalog").name)[:100] or "catalog"
            upload = folder / name
            size = 0
            with upload.open("wb") as out:
                while chunk := await part.read_chunk(CHUNK):
                    size += len(chunk)
                    if size > limit:
                        raise _too_large(limit, size)
                    out.write(chunk)
        else:
            raw = await part.read(decode=False)
            if len(raw) > MAX_FIELD_BYTES:
                raise bad_request({part.name: f"at most {MAX_FIELD_BYTES} bytes"})
            try:
                fields[part.name] = raw.decode("utf-8").strip()
            except UnicodeDecodeError:
                raise bad_request({part.name: "must be UTF-8 text"}) from None
    return fields, upload


def _job(fields: dict[str, str], upload: Path | None, index_dir: Path) -> ImportJob:
    """The import the form asks for; every bad field named in one 400."""
    errors: dict[str, str] = {}
    if upload is None or upload.stat().st_size == 0:
        errors["file"] = "required: the catalog file (CSV, JSON or parquet)"
    mode = fields.get("mode") or "replace"
    if mode not in MODES:
        errors["mode"] = f"{mode!r} is not one of {', '.join(MODES)}"
    fmt = fields.get("format") or None
    if fmt is not None and fmt not in FORMATS:
        errors["format"] = f"{fmt!r} is not one of {', '.join(FORMATS)}"
    remove = tuple(i for i in re.split(r"[\s,]+", fields.get("remove", "")) if i)
    if remove and mode != "update":
        errors["remove"] = "ids to remove only with mode=update (replace drops what the file lacks)"
    mapping: ColumnMapping | None = None
    preset_name = fields.get("preset") or None
    if fields.get("mapping"):
        if preset_name:
            errors["preset"] = "send a preset or a mapping, not both"
        try:
            mapping = ColumnMapping.from_dict(json.loads(fields["mapping"]), "mapping")
        except (ValueError, TypeError, AttributeError) as error:
            errors["mapping"] = (
                str(error) if isinstance(error, RetrievalError) else f"not a JSON object: {error}"
            )
    elif preset_name is not None and preset_name not in PRESETS:
        errors["preset"] = f"{preset_name!r} is not one of {', '.join(sorted(PRESETS))}"
    if errors:
        raise bad_request(errors)
    assert upload is not None
    chosen = mapping or preset(preset_name or "demo")[1]
    return ImportJob(
        file=upload,
        fmt=job_format(fmt, preset_name or "demo", mapping, upload),
        mapping=chosen,
        index_dir=index_dir,
        update=mode == "update",
        remove=remove,
    )


def _answer(result: ImportResult) -> dict[str, Any]:
    main = result.summaries[0]
    return {
        "added": main.added,
        "updated": main.updated,
        "removed": main.removed,
        "unchanged": main.unchanged,
        "items": main.items,
        "encoded": main.encoded,
        "seconds": round(sum(s.seconds for s in result.summaries), 3),
        "products": result.products,
        "indexes": [s.line() for s in result.summaries],
    }


@routes.post("/console/api/admin/catalog/import")
@require_admin
async def import_catalog(request: web.Request) -> web.Response:
    importer: CatalogImporter = request.app[CATALOG_IMPORTER]
    limit = request.app[SETTINGS].catalog_upload_max_bytes
    if importer.lock.locked():
        raise _json_error(
            web.HTTPConflict, "another catalog import is running; try again when it has finished"
        )
    with tempfile.TemporaryDirectory(prefix="catalog-upload-") as folder:
        fields, upload = await _read_form(request, Path(folder), limit)
        job = _job(fields, upload, importer.index_dir)
        async with importer.lock:
            try:
                result = await asyncio.get_running_loop().run_in_executor(None, importer.run, job)
            except CatalogError as error:
                logger.info("an admin's catalog import was refused: %s", error)
                problem = str(error).removeprefix(f"{error.source}: ")
                raise _json_error(
                    web.HTTPBadRequest,
                    "invalid catalog: nothing was imported",
                    fields={"file": problem},
                    row=error.row,
                    column=error.field,
                ) from None
            except (ConfigError, UnknownItemError) as error:
                name = "remove" if isinstance(error, UnknownItemError) else "file"
                raise bad_request({name: str(error)}) from None
            except RetrievalError as error:
                logger.exception("catalog import failed")
                raise _json_error(
                    web.HTTPInternalServerError, f"import failed, nothing changed: {error}"
                ) from None
    logger.info(
        "an admin imported a catalog (%s): %s", "update" if job.update else "replace", result.lines()[0]
    )
    return web.json_response(_answer(result))
