"""kill -9 one Rasa instance mid-conversation: the conversation goes on on the other instance, the Postgres
tracker store has every message once, and the supervisor brings the killed instance back."""

from __future__ import annotations

import os
import signal
import uuid

import aiohttp
import pytest

from scripts.cluster import ClusterStack
from scripts.supervise import Backoff, Supervisor
from tests.cluster.conftest import postgres_user_texts, tracker_events, user_texts
from tests.e2e.shopper import Shopper

pytestmark = pytest.mark.cluster


async def test_a_killed_rasa_instance_loses_nothing(
    http: aiohttp.ClientSession, cluster: ClusterStack
) -> None:
    supervisor = Supervisor(cluster, Backoff(initial_s=0.5, cap_s=5.0))
    supervisor.start()
    try:
        chat = Shopper(http, cluster.config.rest_url, sender=f"restart-{uuid.uuid4().hex[:10]}")
        before = [f"hello {k}" for k in range(4)]
        for text in before:  # round-robin: both instances took part of the conversation
            assert await chat.say(text)

        cluster.remember_descendants("rasa-1")
        os.kill(cluster.pid("rasa-1"), signal.SIGKILL)

        after = [f"still there {k}" for k in range(4)]
        for text in after:  # nginx sends each to the instance that is left
            assert await chat.say(text), f"no reply to {text!r} with rasa-1 down"
        sent = before + after
        assert user_texts(tracker_events(cluster, chat.sender)) == sent
        assert postgres_user_texts(cluster, chat.sender) == sent, "each message once in Postgres"

        restart = supervisor.wait_restarted("rasa-1", count=1, timeout=400)
        assert "SIGKILL" in restart.reason
        assert await chat.say("and back again")
        assert postgres_user_texts(cluster, chat.sender) == [*sent, "and back again"]
    finally:
        supervisor.stop()
