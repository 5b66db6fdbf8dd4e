"""The checks behind the Rasa add-ons (the REST guard and the language guard)."""

from __future__ import annotations

import pytest

from rasa_addons import checks


@pytest.mark.parametrize(
    ("text", "foreign"),
    [
        ("where is my order SD-100003?", False),
        ("我的订单在哪里？", True),
        ("где мой заказ", True),
        ("my order 我的订单", False),  # mostly Latin letters
        ("😀😀🎉", False),  # no letters: left to the classifier
        ("SD-100003", False),
    ],
)
def test_language_guard_flags_mostly_non_latin_text(text: str, foreign: bool) -> None:
    assert checks.is_foreign_script(text) is foreign


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (b"\xff\xfe", 400, "body"),
        (b"{not json", 400, "body"),
        (b"[1, 2]", 400, "body"),
        (b'{"message": "hi"}', 400, "sender"),
        (b'{"sender": "../../etc", "message": "hi"}', 400, "sender"),
        (b'{"sender": "a", "message": 5}', 400, "message"),
        (b'{"sender": "a", "message": "' + b"x" * 5001 + b'"}', 413, "message"),
    ],
)
def test_rest_guard_rejects_bad_requests(body: bytes, status: int, field: str) -> None:
    with pytest.raises(checks.InputProblem) as problem:
        checks.parse_request(body, 5000)
    assert (problem.value.status, problem.value.field) == (status, field)


def test_rest_guard_accepts_a_good_request() -> None:
    payload = checks.parse_request('{"sender": "shop-1", "message": "wo ist 我的 order?"}'.encode(), 5000)
    assert payload["message"] == "wo ist 我的 order?"
