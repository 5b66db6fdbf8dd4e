"""The action server's start-up warm-up: loads the retrieval models once, and a failure never stops the server."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from actions import server


class FakeService:
    def __init__(self, fail: bool = False) -> None:
        self.fail = fail
        self.warmed = 0
        self.ranker = type("R", (), {"name": "responder"})()

    def warm_up(self) -> None:
        self.warmed += 1
        if self.fail:
            raise OSError("index directory var/index is missing")


def test_warm_up_loads_the_service_and_names_the_ranker(
    caplog: pytest.LogCaptureFixture, install: Any
) -> None:
    service = FakeService()
    install(retrieval=service)
    caplog.set_level(logging.INFO, logger="actions.server")
    server.warm_up()
    assert service.warmed == 1
    assert "retrieval ready" in caplog.text and "ranker: responder" in caplog.text


def test_a_failed_warm_up_is_logged_not_raised(caplog: pytest.LogCaptureFixture, install: Any) -> None:
    service = FakeService(fail=True)
    install(retrieval=service)
    server.warm_up()
    assert service.warmed == 1
    assert "warm-up failed" in caplog.text and "var/index is missing" in caplog.text
