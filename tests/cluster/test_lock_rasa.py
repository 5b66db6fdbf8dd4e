"""Two real Rasa instances with AtomicRedisLockStore, one conversation hammered by 10 clients alternating between
them (bench/lock_rasa.py starts them and sends): the tracker holds every message exactly once, each client's in
order. Rasa's own `type: redis` store is measured by `python -m bench.lock_rasa`, not asserted here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.lock_rasa import Hammered, hammer, two_rasa
from scripts.stack import ROOT

pytestmark = pytest.mark.cluster

CLIENTS = 10
MESSAGES = 5


@pytest.fixture(scope="module")
def hammered(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Hammered]:
    if not any((ROOT / "models").glob("*.tar.gz")):
        pytest.skip("no trained Rasa model in models/: run `make model`")
    work_dir: Path = tmp_path_factory.mktemp("lock-rasa")
    with two_rasa("atomic", work_dir) as stack:
        yield hammer(stack, CLIENTS, MESSAGES)


def test_every_message_is_answered(hammered: Hammered) -> None:
    assert len(hammered.sent) == CLIENTS * MESSAGES
    assert dict(hammered.statuses) == {200: CLIENTS * MESSAGES}


def test_the_tracker_holds_every_message_exactly_once(hammered: Hammered) -> None:
    assert hammered.missing == []
    assert hammered.duplicated == []
    assert sorted(hammered.texts) == sorted(hammered.sent)


def test_each_clients_messages_are_in_the_order_sent(hammered: Hammered) -> None:
    assert hammered.clients_out_of_order == []
