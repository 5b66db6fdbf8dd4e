"""Compile OrderLedger.vy offline with the pinned vyper and write or check the artifact.

python -m ledger.compile --write   # rewrite ledger/contracts/OrderLedger.json
python -m ledger.compile --check   # recompile and compare bytes with the committed artifact
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from ledger.artifact import ARTIFACT_PATH, SOURCE_PATH, load_artifact, sha256_hex
from ledger.errors import ArtifactError

logger = logging.getLogger(__name__)

PINNED_COMPILER = "0.4.3"
EVM_VERSION = "paris"  # no PUSH0/MCOPY: runs on geth, anvil, eth-tester and older consortium chains
SETTINGS: dict[str, Any] = {"evmVersion": EVM_VERSION, "optimize": "gas"}


def standard_json_input(source: str) -> dict[str, Any]:
    return {
        "language": "Vyper",
        "sources": {SOURCE_PATH.name: {"content": source}},
        "settings": {
            **SETTINGS,
            "outputSelection": {"*": ["abi", "evm.bytecode", "evm.deployedBytecode"]},
        },
    }


def compile_artifact(source_path: Path = SOURCE_PATH) -> dict[str, Any]:
    """Compile with vyper's standard-JSON interface; refuse any other compiler version."""
    import vyper
    from vyper.cli.vyper_json import compile_json

    if vyper.__version__ != PINNED_COMPILER:
        raise ArtifactError(
            str(source_path), f"vyper {vyper.__version__} installed, the artifact pins {PINNED_COMPILER}"
        )
    source_bytes = source_path.read_bytes()
    output = compile_json(json.dumps(standard_json_input(source_bytes.decode("utf-8"))))
    if isinstance(output, str):
        output = json.loads(output)
    errors = [e for e in output.get("errors", []) if e.get("severity") == "error"]
    if errors:
        raise ArtifactError(str(source_path), f"compilation failed: {errors}")
    contract = output["contracts"][SOURCE_PATH.name]["OrderLedger"]
    bytecode = "0x" + contract["evm"]["bytecode"]["object"].removeprefix("0x")
    deployed = "0x" + contract["evm"]["deployedBytecode"]["object"].removeprefix("0x")
    return {
        "contractName": "OrderLedger",
        "source": f"ledger/contracts/{source_path.name}",
        "sourceSha256": sha256_hex(source_bytes),
        "compiler": {"name": "vyper", "version": getattr(vyper, "__long_version__", vyper.__version__)},
        "settings": SETTINGS,
        "standardJsonInput": {
            **standard_json_input(""),
            "sources": {SOURCE_PATH.name: {"sha256": sha256_hex(source_bytes)}},
        },
        "abi": contract["abi"],
        "bytecode": bytecode,
        "deployedBytecode": deployed,
        "bytecodeSha256": sha256_hex(bytes.fromhex(bytecode[2:])),
        "deployedBytecodeSha256": sha256_hex(bytes.fromhex(deployed[2:])),
    }


def check_artifact(artifact_path: Path = ARTIFACT_PATH, source_path: Path = SOURCE_PATH) -> list[str]:
    """Recompile and list every difference from the committed artifact (empty: identical)."""
    committed = load_artifact(artifact_path, source_path)
    fresh = compile_artifact(source_path)
    problems = []
    if bytes.fromhex(fresh["bytecode"][2:]) != committed.bytecode:
        problems.append("bytecode differs")
    if bytes.fromhex(fresh["deployedBytecode"][2:]) != committed.deployed_bytecode:
        problems.append("deployedBytecode differs")
    if fresh["abi"] != committed.abi:
        problems.append("abi differs")
    if fresh["settings"] != committed.settings:
        problems.append("settings differ")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ledger.compile", description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true", help="rewrite the committed artifact")
    mode.add_argument("--check", action="store_true", help="fail if a recompile differs from the artifact")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if args.write:
        artifact = compile_artifact()
        ARTIFACT_PATH.write_text(json.dumps(artifact, indent=2) + "\n", encoding="utf-8")
        logger.info("wrote %s (%s bytes of bytecode)", ARTIFACT_PATH, len(artifact["bytecode"]) // 2 - 1)
        return 0
    try:
        problems = check_artifact()
    except ArtifactError as exc:
        logger.error("%s", exc)
        return 1
    if problems:
        logger.error("artifact is out of date: %s", ", ".join(problems))
        return 1
    logger.info("artifact matches a fresh compile with vyper %s", PINNED_COMPILER)
    return 0


if __name__ == "__main__":
    sys.exit(main())
