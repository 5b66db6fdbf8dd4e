"""RESPONDER_GATE (issue 15): the responder's gate, validated at start with the bad value named."""

from __future__ import annotations

import pytest

from actions.settings import Settings, SettingsError
from retrieval.responder.config import Gate


def test_the_gate_is_on_by_default() -> None:
    assert Settings.from_env({}).responder_gate == Gate()
    assert Settings.from_env({"RESPONDER_GATE": "on"}).responder_gate == Gate()


def test_off_always_re_ranks() -> None:
    assert Settings.from_env({"RESPONDER_GATE": "off"}).responder_gate is None
    assert Settings.from_env({"RESPONDER_GATE": "0"}).responder_gate is None


def test_fields_replace_the_default_ones() -> None:
    gate = Settings.from_env({"RESPONDER_GATE": "margin=0.2, floor=0.5,kinds=kb+product"}).responder_gate
    assert gate == Gate(margin=0.2, floor=0.5, kinds=("kb", "product"))
    assert Settings.from_env({"RESPONDER_GATE": "floor=0.7"}).responder_gate == Gate(floor=0.7)


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ("margin=abc", "margin='abc'"),
        ("floor=3", "gate.floor 3.0"),
        ("margin=-1", "gate.margin -1.0"),
        ("kinds=faq", "'faq'"),
        ("sometimes", "'sometimes'"),
        ("top=0.3", "'top=0.3'"),
    ],
)
def test_bad_values_are_named(value: str, named: str) -> None:
    with pytest.raises(SettingsError, match="RESPONDER_GATE") as caught:
        Settings.from_env({"RESPONDER_GATE": value})
    assert named in str(caught.value)
