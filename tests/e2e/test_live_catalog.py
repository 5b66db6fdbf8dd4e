"""A catalog import during a conversation, through the real action server over HTTP: a product added by
``python -m retrieval.import_catalog`` (what ``make import-catalog`` runs) is found on the shopper's next message,
and a removed one is never shown again, without restarting the server (retrieval.live).

Only the action server is started (against a copy of the built indexes in a temporary INDEX_DIR): the shared
``live_stack`` serves var/index, which no test may write.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from scripts.stack import APP_PYTHON, ROOT, StackConfig, http_ok
from tests.actions.shop_fixtures import load_domain

pytestmark = pytest.mark.integration

BOTTLE = {
    "id": "P-9001",
    "title": "Glacier Insulated Water Bottle",
    "description": "A double-walled steel water bottle that keeps drinks cold for 24 hours. Volume: 750 ml.",
    "brand": "Floe",
    "category": "bottles",
    "price": "25.00",
    "currency": "EUR",
    "stock": "40",
    "attributes": '{"color": ["teal"]}',
    "image_url": "",
}


def _copy_index(source: Path, target_dir: Path, name: str) -> None:
    """``<target_dir>/<name>`` -> a copy of the version ``source`` points at (the swap layout)."""
    version = source.resolve()
    shutil.copytree(version, target_dir / version.name)
    os.symlink(version.name, target_dir / name)


@pytest.fixture(scope="module")
def action_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[StackConfig, Path]]:
    built = ROOT / "var" / "index"
    if not (built / "catalog" / "meta.json").is_file() or not (built / "kb" / "meta.json").is_file():
        if os.environ.get("CI"):
            pytest.fail("no built indexes in var/index: `make test` builds them before the live tests")
        pytest.skip("no built indexes in var/index: run `make index`")
    var_dir = tmp_path_factory.mktemp("live-catalog")
    index_dir = var_dir / "index"
    index_dir.mkdir()
    for name in ("catalog", "kb"):  # English only: the Chinese indexes are left out (the server skips them)
        _copy_index(built / name, index_dir, name)
    config = StackConfig.on_free_ports(
        var_dir,
        index_dir=index_dir,
        responder_dir=var_dir / "no-responder",
        sentiment_dir=var_dir / "no-sentiment",
    )
    log = (var_dir / "actions.log").open("ab")
    process = subprocess.Popen(
        [str(APP_PYTHON), "-m", "actions.server", "--actions", "actions", "-p", str(config.action_port)],
        cwd=ROOT,
        env=config.env(),
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    log.close()
    try:
        deadline = time.monotonic() + 180
        while not http_ok(f"{config.action_url}/health"):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(
                    f"the action server did not start: {(var_dir / 'actions.log').read_text()[-2000:]}"
                )
            time.sleep(0.2)
        yield config, index_dir
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


def _message(config: StackConfig, action: str, text: str, slots: dict[str, Any] | None = None) -> str:
    """Runs ``action`` for one shopper message; what it sent back, as JSON text."""
    tracker = {
        "sender_id": "live-catalog-shopper",
        "slots": slots or {},
        "latest_message": {
            "text": text,
            "intent": {"name": "search_products", "confidence": 0.99},
            "entities": [],
        },
        "events": [],
        "paused": False,
        "followup_action": None,
        "active_loop": {},
        "latest_action_name": "action_listen",
    }
    response = requests.post(
        f"{config.action_url}/webhook",
        json={
            "next_action": action,
            "sender_id": tracker["sender_id"],
            "tracker": tracker,
            "domain": load_domain(),
        },
        headers={"Authorization": f"Bearer {config.env()['ACTION_SERVER_TOKEN']}"},
        timeout=120,
    )
    assert response.status_code == 200, response.text
    return json.dumps(response.json()["responses"])


def _import(index_dir: Path, csv_path: Path, *extra: str) -> None:
    argv = [str(APP_PYTHON), "-m", "retrieval.import_catalog", str(csv_path), "--preset", "demo"]
    done = subprocess.run(
        [*argv, "--index-dir", str(index_dir), "--update", "--no-zh", "-q", *extra],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr


def test_an_import_during_a_conversation_is_seen_on_the_next_message(
    action_server: tuple[StackConfig, Path], tmp_path: Path
) -> None:
    config, index_dir = action_server
    before = _message(config, "action_search_products", "an insulated water bottle")
    assert BOTTLE["id"] not in before
    shown = json.loads(_message(config, "action_search_products", "a laptop backpack"))
    card_ids = [c["id"] for r in shown for c in (r.get("custom") or {}).get("cards", [])]
    assert card_ids, shown
    removed = card_ids[0]
    upload = tmp_path / "bottle.csv"
    with upload.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, list(BOTTLE))
        writer.writeheader()
        writer.writerow(BOTTLE)
    _import(index_dir, upload, "--remove", removed)
    after = _message(config, "action_search_products", "an insulated water bottle")
    assert BOTTLE["id"] in after  # the next message finds the new product, the server was not restarted
    assert removed not in _message(config, "action_search_products", "a laptop backpack")
    for slots in ({}, {"shown_product_id": card_ids[1] if len(card_ids) > 1 else BOTTLE["id"]}):
        assert removed not in _message(config, "action_recommend_items", "what else do you have?", slots)
