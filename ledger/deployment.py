"""Where the ledger contract lives: ``LEDGER_CONTRACT_ADDRESS`` or ``var/chain/deployment.json``.

``ensure_deployed`` deploys once and remembers the address with the chain id; a later start on another chain,
or on a chain that lost the contract, is a clear error instead of a silent redeploy (which would orphan every
record already written).
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from ledger.client import ChainConfig, LedgerClient
from ledger.errors import ContractMismatchError, LedgerConfigError, WrongChainError

logger = logging.getLogger(__name__)

DEPLOYMENT_FILE = "deployment.json"


@dataclass(frozen=True)
class Deployment:
    chain_id: int
    address: str
    rpc_url: str
    deployed_at: str
    artifact_sha256: str


def load_deployment(state_dir: Path) -> Deployment | None:
    path = state_dir / DEPLOYMENT_FILE
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Deployment(**{k: data[k] for k in Deployment.__dataclass_fields__})
    except (ValueError, KeyError, TypeError) as exc:
        raise LedgerConfigError(str(path), f"unreadable ({exc}); delete it to deploy a new contract") from exc


def save_deployment(state_dir: Path, deployment: Deployment) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / DEPLOYMENT_FILE
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(deployment), indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def resolve_address(configured: str, state_dir: Path, chain_id: int | None = None) -> str | None:
    """The configured address, else the remembered one (checked against ``chain_id`` when known)."""
    if configured:
        return configured
    deployment = load_deployment(state_dir)
    if deployment is None:
        return None
    if chain_id is not None and deployment.chain_id != chain_id:
        raise WrongChainError(deployment.chain_id, chain_id, deployment.rpc_url)
    return deployment.address


def connect_existing(config: ChainConfig, state_dir: Path) -> LedgerClient:
    """Connect to the configured or remembered contract; raise if there is none yet."""
    client = LedgerClient.connect(ChainConfig(**{**config.__dict__, "contract_address": None}))
    address = resolve_address(config.contract_address or "", state_dir, client.chain_id)
    if address is None:
        raise LedgerConfigError(
            "LEDGER_CONTRACT_ADDRESS",
            f"empty and no {state_dir / DEPLOYMENT_FILE}; run `python -m ledger.node` (make run) to deploy",
        )
    client.attach(address)
    return client


def ensure_deployed(config: ChainConfig, state_dir: Path) -> LedgerClient:
    """Attach to the configured/remembered contract, or deploy one and remember it."""
    client = LedgerClient.connect(ChainConfig(**{**config.__dict__, "contract_address": None}))
    chain_id = client.chain_id
    if config.contract_address:
        client.attach(config.contract_address)
        return client
    deployment = load_deployment(state_dir)
    if deployment is not None:
        if deployment.chain_id != chain_id:
            raise WrongChainError(deployment.chain_id, chain_id, config.rpc_url)
        try:
            client.attach(deployment.address)
        except ContractMismatchError as exc:
            raise ContractMismatchError(
                deployment.address,
                f"remembered in {state_dir / DEPLOYMENT_FILE} but {exc}. The chain state was probably reset; "
                "records written before are gone — delete that file to deploy afresh and run verification",
            ) from exc
        logger.info("ledger contract %s on chain %s", deployment.address, chain_id)
        return client
    address = client.deploy()
    from ledger.artifact import sha256_hex

    save_deployment(
        state_dir,
        Deployment(
            chain_id=chain_id,
            address=address,
            rpc_url=config.rpc_url,
            deployed_at=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            artifact_sha256=sha256_hex(client.artifact.bytecode),
        ),
    )
    return client
