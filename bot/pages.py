"""HTML pages from ``bot/templates`` with ``string.Template``; every substituted value is HTML-escaped."""

from __future__ import annotations

import html
import json
from functools import lru_cache
from pathlib import Path
from string import Template

from aiohttp import web

TEMPLATES = Path(__file__).resolve().parent / "templates"


@lru_cache(maxsize=16)
def _template(name: str) -> Template:
    return Template((TEMPLATES / name).read_text(encoding="utf-8"))


def json_for_script(value: object) -> str:
    """JSON safe inside ``<script type="application/json">``: no ``<``, ``>`` or ``&`` can end the element."""
    return json.dumps(value).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render(name: str, status: int = 200, raw: dict[str, str] | None = None, **values: object) -> web.Response:
    """``values`` are HTML-escaped; ``raw`` values (already safe for their spot, e.g. json_for_script) are not."""
    escaped = {key: html.escape(str(value), quote=True) for key, value in values.items()}
    escaped.update(raw or {})
    return web.Response(text=_template(name).substitute(escaped), status=status, content_type="text/html")
