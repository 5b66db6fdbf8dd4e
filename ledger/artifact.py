"""The compiled OrderLedger contract: load and validate the committed artifact JSON.

The artifact explains itself (compiler and version, EVM version, settings, source checksum,
bytecode checksums) so a corrupt or stale file is caught before anything touches a chain.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ledger.errors import ArtifactError

CONTRACTS_DIR = Path(__file__).resolve().parent / "contracts"
SOURCE_PATH = CONTRACTS_DIR / "OrderLedger.vy"
ARTIFACT_PATH = CONTRACTS_DIR / "OrderLedger.json"

REQUIRED_KEYS = (
    "contractName",
    "source",
    "sourceSha256",
    "compiler",
    "settings",
    "abi",
    "bytecode",
    "deployedBytecode",
    "bytecodeSha256",
    "deployedBytecodeSha256",
)


@dataclass(frozen=True)
class ContractArtifact:
    name: str
    abi: list[dict[str, Any]]
    bytecode: bytes
    deployed_bytecode: bytes
    compiler: dict[str, str]
    settings: dict[str, Any]
    source_sha256: str
    path: str

    @property
    def evm_version(self) -> str:
        return str(self.settings.get("evmVersion", ""))


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _hex_bytes(path: str, key: str, value: object) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise ArtifactError(path, f"{key} must be a 0x-prefixed hex string")
    try:
        return bytes.fromhex(value[2:])
    except ValueError as exc:
        raise ArtifactError(path, f"{key} is not valid hex ({exc})") from exc


def parse_artifact(
    data: dict[str, Any], path: str = "<memory>", source: bytes | None = None
) -> ContractArtifact:
    """Validate an artifact dict; ``source``, when given, must match the recorded checksum."""
    if not isinstance(data, dict):
        raise ArtifactError(path, "top level must be a JSON object")
    missing = [key for key in REQUIRED_KEYS if key not in data]
    if missing:
        raise ArtifactError(path, f"missing keys {missing}; expected {list(REQUIRED_KEYS)}")
    bytecode = _hex_bytes(path, "bytecode", data["bytecode"])
    deployed = _hex_bytes(path, "deployedBytecode", data["deployedBytecode"])
    if not bytecode or not deployed:
        raise ArtifactError(path, "bytecode is empty")
    if sha256_hex(bytecode) != data["bytecodeSha256"]:
        raise ArtifactError(path, "bytecode does not match bytecodeSha256 (file corrupt or edited)")
    if sha256_hex(deployed) != data["deployedBytecodeSha256"]:
        raise ArtifactError(path, "deployedBytecode does not match deployedBytecodeSha256")
    abi = data["abi"]
    if not isinstance(abi, list) or not all(isinstance(item, dict) for item in abi):
        raise ArtifactError(path, "abi must be a list of objects")
    names = {item.get("name") for item in abi}
    for needed in ("record", "recordBatch", "digestOf", "owner", "Recorded"):
        if needed not in names:
            raise ArtifactError(path, f"abi lacks {needed!r}")
    if source is not None and sha256_hex(source) != data["sourceSha256"]:
        raise ArtifactError(path, "source checksum differs from the contract source (artifact is stale)")
    return ContractArtifact(
        name=str(data["contractName"]),
        abi=abi,
        bytecode=bytecode,
        deployed_bytecode=deployed,
        compiler=dict(data["compiler"]),
        settings=dict(data["settings"]),
        source_sha256=str(data["sourceSha256"]),
        path=path,
    )


def load_artifact(path: Path = ARTIFACT_PATH, source_path: Path | None = SOURCE_PATH) -> ContractArtifact:
    """Read and validate the committed artifact (and, when the source is present, its checksum)."""
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ArtifactError(str(path), "file not found") from exc
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ArtifactError(str(path), f"not valid JSON ({exc})") from exc
    source = source_path.read_bytes() if source_path is not None and source_path.exists() else None
    return parse_artifact(data, str(path), source)
