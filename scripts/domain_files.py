"""The domain as Rasa sends it to the action server, read from ``domain/*.yml`` without Rasa (its environment is
not the app's): tests and benchmarks that call actions directly hand them this."""

from __future__ import annotations

import functools
from typing import Any

import yaml

from scripts.stack import ROOT


@functools.cache
def load_domain() -> dict[str, Any]:
    """domain/*.yml merged (responses, slots, forms, actions), read once per process."""
    merged: dict[str, Any] = {"responses": {}, "slots": {}, "forms": {}, "actions": []}
    for path in sorted((ROOT / "domain").glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for key in ("responses", "slots", "forms"):
            merged[key].update(data.get(key) or {})
        merged["actions"].extend(data.get("actions") or [])
    return merged
