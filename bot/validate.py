"""Request-body validation helpers: a 400 with field errors, never a 500."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web


def bad_request(errors: dict[str, str]) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(
        text=json.dumps({"error": "invalid request", "fields": errors}), content_type="application/json"
    )


async def json_object(request: web.Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        raise bad_request({"body": "must be a JSON object"}) from None
    if not isinstance(body, dict):
        raise bad_request({"body": "must be a JSON object"})
    return body


def text_field(
    body: dict[str, Any], name: str, errors: dict[str, str], *, max_len: int, required: bool = True
) -> str:
    value = body.get(name, "" if not required else None)
    if value is None or not isinstance(value, str):
        errors[name] = "required string" if value is None else "must be a string"
        return ""
    value = value.strip()
    if required and not value:
        errors[name] = "must not be empty"
    elif len(value) > max_len:
        errors[name] = f"at most {max_len} characters (got {len(value)})"
    return value
