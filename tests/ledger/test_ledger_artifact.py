from __future__ import annotations

import json
from pathlib import Path

import pytest

from ledger.artifact import ARTIFACT_PATH, SOURCE_PATH, load_artifact
from ledger.compile import PINNED_COMPILER, check_artifact, compile_artifact
from ledger.errors import ArtifactError


def test_committed_artifact_matches_a_fresh_compile_with_the_pinned_vyper() -> None:
    vyper = pytest.importorskip("vyper")
    assert vyper.__version__ == PINNED_COMPILER
    fresh = compile_artifact()
    committed = load_artifact()
    assert bytes.fromhex(fresh["bytecode"][2:]) == committed.bytecode
    assert bytes.fromhex(fresh["deployedBytecode"][2:]) == committed.deployed_bytecode
    assert fresh["abi"] == committed.abi
    assert check_artifact() == []


def test_artifact_explains_itself() -> None:
    data = json.loads(ARTIFACT_PATH.read_text())
    assert data["compiler"]["name"] == "vyper"
    assert data["compiler"]["version"].startswith(PINNED_COMPILER)
    assert data["settings"]["evmVersion"] == "paris"
    assert data["standardJsonInput"]["language"] == "Vyper"


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "OrderLedger.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_flipped_bytecode_byte_is_reported_as_corrupt(tmp_path: Path) -> None:
    data = json.loads(ARTIFACT_PATH.read_text())
    code = data["bytecode"]
    data["bytecode"] = code[:-2] + ("00" if code[-2:] != "00" else "01")
    with pytest.raises(ArtifactError, match="bytecodeSha256"):
        load_artifact(_write(tmp_path, data), SOURCE_PATH)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ({"abi": []}, "missing keys"),
        ("[]", "JSON object"),
    ],
)
def test_malformed_artifacts_are_refused_with_a_clear_message(
    tmp_path: Path, content: object, message: str
) -> None:
    with pytest.raises(ArtifactError, match=message) as info:
        load_artifact(_write(tmp_path, content), SOURCE_PATH)
    assert "python -m ledger.compile --write" in str(info.value)


def test_stale_artifact_is_detected_when_the_source_changes(tmp_path: Path) -> None:
    source = tmp_path / "OrderLedger.vy"
    source.write_bytes(SOURCE_PATH.read_bytes() + b"\n# edited\n")
    with pytest.raises(ArtifactError, match="stale"):
        load_artifact(ARTIFACT_PATH, source)


def test_missing_artifact(tmp_path: Path) -> None:
    with pytest.raises(ArtifactError, match="file not found"):
        load_artifact(tmp_path / "absent.json", None)
