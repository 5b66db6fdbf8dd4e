"""The only module that imports web3: connect, deploy, record, read and verify ledger records.

Transactions are always signed locally with the configured key (the node never holds it), so the same code runs
against eth-tester, anvil, geth, a testnet or a consortium chain. Every web3/requests/eth-tester exception is
translated into a :mod:`ledger.errors` leaf whose message says what to do.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

from ledger.artifact import ContractArtifact, load_artifact
from ledger.errors import (
    ChainError,
    ContractMismatchError,
    DuplicateRecordError,
    LedgerConfigError,
    NodeRPCError,
    NodeUnavailableError,
    NotOwnerError,
    TransactionFailedError,
    WrongChainError,
)

logger = logging.getLogger(__name__)

ZERO32 = b"\x00" * 32
NODE_DOWN = "the node became unavailable before this transaction was sent"
MAX_BATCH = 256  # the contract's DynArray bound
GAS_SINGLE = 120_000
GAS_BATCH_BASE = 60_000
GAS_BATCH_PER_RECORD = 60_000

RecordOutcome = Literal["recorded", "duplicate", "conflict", "failed"]


@dataclass(frozen=True)
class ChainConfig:
    """How to reach a chain. Built by ``ledger.settings`` or ``actions.settings``; never reads the environment."""

    rpc_url: str
    private_key: str | None = None  # None: read-only client
    contract_address: str | None = None
    chain_id: int | None = None  # None: accept the node's
    request_timeout_s: float = 10.0
    receipt_timeout_s: float = 30.0

    def __repr__(self) -> str:
        return (
            f"ChainConfig(rpc_url={self.rpc_url!r}, contract_address={self.contract_address!r}, "
            f"chain_id={self.chain_id!r}, private_key={'<set>' if self.private_key else None})"
        )


@dataclass(frozen=True)
class RecordResult:
    """The outcome of delivering one (record_id, digest) pair."""

    record_id: bytes
    digest: bytes
    outcome: RecordOutcome
    tx_hash: str | None = None
    block_number: int | None = None
    error: str | None = None
    node_down: bool = False  # failed because the node could not be reached: retry as soon as it is back


def to_bytes32(value: bytes | str, what: str = "value") -> bytes:
    raw = bytes.fromhex(value.removeprefix("0x")) if isinstance(value, str) else bytes(value)
    if len(raw) != 32:
        raise LedgerConfigError(what, f"{len(raw)} bytes given, a bytes32 needs exactly 32")
    return raw


def _message(exc: BaseException) -> str:
    args = getattr(exc, "args", ())
    parts = [str(a) for a in args if a] or [str(exc)]
    return " ".join(parts)


@contextmanager
def translate_errors(url: str, method: str) -> Iterator[None]:
    """Turn web3 / transport / eth-tester exceptions into ledger errors."""
    import requests
    from web3 import exceptions as w3e

    try:
        yield
    except ChainError:
        raise
    except (
        requests.exceptions.ConnectionError,
        requests.exceptions.Timeout,
        w3e.ProviderConnectionError,
    ) as exc:
        raise NodeUnavailableError(url, type(exc).__name__) from exc
    except w3e.TimeExhausted as exc:
        raise NodeRPCError(method, f"no receipt in time ({exc})") from exc
    except w3e.BadFunctionCallOutput as exc:
        raise ContractMismatchError("(configured)", f"call {method} returned no data ({exc})") from exc
    except Exception as exc:
        text = _message(exc)
        if "duplicate record" in text:
            raise DuplicateRecordError("(in transaction)") from exc
        if "only owner" in text:
            raise TransactionFailedError(method, "the signing key is not the contract owner") from exc
        if isinstance(exc, (w3e.ContractLogicError,)) or type(exc).__name__ == "TransactionFailed":
            raise TransactionFailedError(method, text) from exc
        if isinstance(exc, (w3e.Web3Exception, ValueError)):
            raise NodeRPCError(method, text) from exc
        if isinstance(exc, OSError):
            raise NodeUnavailableError(url, type(exc).__name__) from exc
        raise


class LedgerClient:
    """A signer and a contract on one chain."""

    def __init__(
        self,
        w3: Any,
        artifact: ContractArtifact,
        *,
        url: str,
        private_key: str | None,
        address: str | None,
        receipt_timeout_s: float = 30.0,
    ) -> None:
        from eth_account import Account

        self._w3 = w3
        self._artifact = artifact
        self.url = url
        self._account = Account.from_key(private_key) if private_key else None
        self._receipt_timeout_s = receipt_timeout_s
        self._contract: Any = None
        self._chain_id: int | None = None
        if address:
            self._bind(address)

    # -- construction -------------------------------------------------------------------------------------------

    @classmethod
    def connect(cls, config: ChainConfig, artifact: ContractArtifact | None = None) -> LedgerClient:
        """Connect over HTTP JSON-RPC and check the chain id (and the contract, when an address is set)."""
        from web3 import Web3

        provider = Web3.HTTPProvider(config.rpc_url, request_kwargs={"timeout": config.request_timeout_s})
        w3 = Web3(provider)
        client = cls(
            w3,
            artifact or load_artifact(),
            url=config.rpc_url,
            private_key=config.private_key,
            address=None,
            receipt_timeout_s=config.receipt_timeout_s,
        )
        client.check_chain(config.chain_id)
        if config.contract_address:
            client.attach(config.contract_address)
        return client

    @classmethod
    def in_process(
        cls, private_key: str, artifact: ContractArtifact | None = None, *, w3: Any = None
    ) -> LedgerClient:
        """A client on an eth-tester/py-evm chain in this process (tests, benchmarks)."""
        from web3 import EthereumTesterProvider, Web3

        w3 = w3 or Web3(EthereumTesterProvider())
        return cls(
            w3,
            artifact or load_artifact(),
            url="eth-tester://in-process",
            private_key=private_key,
            address=None,
        )

    # -- properties -------------------------------------------------------------------------------------------

    @property
    def artifact(self) -> ContractArtifact:
        return self._artifact

    @property
    def w3(self) -> Any:
        return self._w3

    @property
    def address(self) -> str | None:
        return None if self._contract is None else str(self._contract.address)

    @property
    def account(self) -> str | None:
        return None if self._account is None else str(self._account.address)

    @property
    def chain_id(self) -> int:
        if self._chain_id is None:
            with translate_errors(self.url, "eth_chainId"):
                self._chain_id = int(self._w3.eth.chain_id)
        return self._chain_id

    def _bind(self, address: str) -> None:
        from web3 import Web3

        if not Web3.is_address(address):
            raise ContractMismatchError(address, "not a valid 0x address")
        self._contract = self._w3.eth.contract(
            address=Web3.to_checksum_address(address), abi=self._artifact.abi
        )

    def _require_contract(self) -> Any:
        if self._contract is None:
            raise LedgerConfigError(
                "LEDGER_CONTRACT_ADDRESS", "no contract attached; deploy or attach one first"
            )
        return self._contract

    def _require_account(self) -> Any:
        if self._account is None:
            raise LedgerConfigError("LEDGER_PRIVATE_KEY", "not set; this client is read-only")
        return self._account

    # -- checks -----------------------------------------------------------------------------------------------

    def ping(self) -> int:
        """Return the latest block number; raises NodeUnavailableError when the node is down."""
        with translate_errors(self.url, "eth_blockNumber"):
            return int(self._w3.eth.block_number)

    def check_chain(self, expected: int | None) -> int:
        actual = self.chain_id
        if expected is not None and actual != expected:
            raise WrongChainError(expected, actual, self.url)
        return actual

    def attach(self, address: str) -> None:
        """Bind to a deployed ledger and check that its code is ours and (when signing) that we own it."""
        self._bind(address)
        contract = self._require_contract()
        with translate_errors(self.url, "eth_getCode"):
            code = bytes(self._w3.eth.get_code(contract.address))
        if not code:
            raise ContractMismatchError(address, f"no contract code on chain {self.chain_id}")
        if code != self._artifact.deployed_bytecode:
            raise ContractMismatchError(address, "the code there is not the OrderLedger in ledger/contracts/")
        if self._account is not None:
            owner = self.owner()
            if owner.lower() != self._account.address.lower():
                raise NotOwnerError(self._account.address, owner, address)

    def owner(self) -> str:
        contract = self._require_contract()
        with translate_errors(self.url, "owner"):
            return str(contract.functions.owner().call())

    def record_count(self) -> int:
        contract = self._require_contract()
        with translate_errors(self.url, "count"):
            return int(contract.functions.count().call())

    # -- writing ----------------------------------------------------------------------------------------------

    def _send(self, tx: dict[str, Any], what: str) -> str:
        account = self._require_account()
        signed = account.sign_transaction(tx)
        with translate_errors(self.url, what):
            return "0x" + bytes(self._w3.eth.send_raw_transaction(signed.raw_transaction)).hex()

    def _wait(self, tx_hash: str, what: str) -> Any:
        with translate_errors(self.url, what):
            return self._w3.eth.wait_for_transaction_receipt(
                tx_hash, timeout=self._receipt_timeout_s, poll_latency=0.05
            )

    def _base_tx(self, nonce: int, gas: int, gas_price: int) -> dict[str, Any]:
        account = self._require_account()
        return {
            "from": account.address,
            "nonce": nonce,
            "gas": gas,
            "gasPrice": gas_price,
            "chainId": self.chain_id,
            "value": 0,
        }

    def _gas_price(self) -> int:
        with translate_errors(self.url, "eth_gasPrice"):
            return int(self._w3.eth.gas_price)

    def _nonce(self) -> int:
        account = self._require_account()
        with translate_errors(self.url, "eth_getTransactionCount"):
            return int(self._w3.eth.get_transaction_count(account.address, "pending"))

    def deploy(self) -> str:
        """Deploy a fresh OrderLedger owned by the signing key and attach to it."""
        factory = self._w3.eth.contract(abi=self._artifact.abi, bytecode=self._artifact.bytecode)
        tx = self._base_tx(self._nonce(), 1_000_000, self._gas_price())
        tx["data"] = factory.constructor()._encode_data_in_transaction()
        tx_hash = self._send(tx, "deploy")
        receipt = self._wait(tx_hash, "deploy")
        if receipt["status"] != 1 or not receipt["contractAddress"]:
            raise TransactionFailedError("deploy", "the deployment reverted", tx_hash)
        address = str(receipt["contractAddress"])
        logger.info("deployed OrderLedger at %s on chain %s (tx %s)", address, self.chain_id, tx_hash)
        self.attach(address)
        return address

    def record(self, record_id: bytes | str, digest: bytes | str) -> RecordResult:
        """Record one pair and wait for it; a duplicate becomes ``duplicate`` or ``conflict`` after a read."""
        return self.record_many([(record_id, digest)], batch_size=1)[0]

    def record_many(
        self, items: Sequence[tuple[bytes | str, bytes | str]], *, batch_size: int = 1, _retry: bool = True
    ) -> list[RecordResult]:
        """Send records pipelined (all signed locally with consecutive nonces), then wait for every receipt.

        ``batch_size`` > 1 packs that many records into one ``recordBatch`` transaction. Items in a failed
        transaction are resolved one by one by reading the stored digest, so retries are idempotent.
        Raises NodeUnavailableError only when nothing could be sent at all; results of a partial send are
        ``failed`` with the error text.
        """
        if not 1 <= batch_size <= MAX_BATCH:
            raise LedgerConfigError("batch_size", f"{batch_size} must be between 1 and {MAX_BATCH}")
        contract = self._require_contract()
        pairs = [(to_bytes32(r, "record_id"), to_bytes32(d, "digest")) for r, d in items]
        if not pairs:
            return []
        groups = [pairs[i : i + batch_size] for i in range(0, len(pairs), batch_size)]
        nonce = self._nonce()
        gas_price = self._gas_price()
        sent: list[tuple[list[tuple[bytes, bytes]], str | None, str | None]] = []
        for group in groups:
            if len(group) == 1:
                call = contract.functions.record(group[0][0], group[0][1])
                gas = GAS_SINGLE
            else:
                call = contract.functions.recordBatch([p[0] for p in group], [p[1] for p in group])
                gas = GAS_BATCH_BASE + GAS_BATCH_PER_RECORD * len(group)
            tx = self._base_tx(nonce, gas, gas_price)
            tx["to"] = contract.address
            tx["data"] = call._encode_transaction_data()
            try:
                tx_hash = self._send(tx, "record")
            except NodeUnavailableError:
                if not sent:
                    raise
                sent.extend((g, None, NODE_DOWN) for g in groups[len(sent) :])
                break
            except ChainError as exc:
                # eth-tester executes at send time and raises on revert; anvil/geth mine a failed receipt.
                sent.append((group, None, str(exc)))
                nonce = self._nonce()
                continue
            sent.append((group, tx_hash, None))
            nonce += 1
        results: list[RecordResult] = []
        # items of a reverted batch that are not stored: the batch failed because of another item
        retry: list[int] = []
        for group, sent_hash, send_error in sent:
            error = send_error
            status = 0
            block: int | None = None
            if sent_hash is not None:
                try:
                    receipt = self._wait(sent_hash, "record")
                    status = int(receipt["status"])
                    block = int(receipt["blockNumber"])
                except ChainError as exc:
                    error = str(exc)
            if status == 1:
                results.extend(RecordResult(r, d, "recorded", sent_hash, block) for r, d in group)
            else:
                for r, d in group:
                    result = self._resolve(r, d, error or f"transaction {sent_hash} reverted")
                    if result.outcome == "failed" and len(group) > 1 and not result.node_down:
                        retry.append(len(results))
                    results.append(result)
        if retry and _retry:
            again = self.record_many(
                [(results[i].record_id, results[i].digest) for i in retry],
                batch_size=batch_size,
                _retry=False,
            )
            for index, result in zip(retry, again, strict=True):
                results[index] = result
        return results

    def _resolve(self, record_id: bytes, digest: bytes, error: str) -> RecordResult:
        """After a failed send: a stored equal digest means done, a different one is a conflict."""
        try:
            stored = self.digest_of(record_id)
        except NodeUnavailableError as exc:
            return RecordResult(record_id, digest, "failed", error=f"{error}; then {exc}", node_down=True)
        except ChainError as exc:
            return RecordResult(record_id, digest, "failed", error=f"{error}; then {exc}")
        if stored is None:
            return RecordResult(record_id, digest, "failed", error=error)
        if stored == digest:
            tx_hash, block = self.find_record_tx(record_id)
            return RecordResult(record_id, digest, "duplicate", tx_hash, block)
        return RecordResult(record_id, digest, "conflict", error=f"chain holds 0x{stored.hex()}")

    # -- reading ----------------------------------------------------------------------------------------------

    def digest_of(self, record_id: bytes | str) -> bytes | None:
        contract = self._require_contract()
        with translate_errors(self.url, "digestOf"):
            value = bytes(contract.functions.digestOf(to_bytes32(record_id, "record_id")).call())
        return None if value == ZERO32 else value

    def find_record_tx(self, record_id: bytes | str) -> tuple[str | None, int | None]:
        """The transaction that stored ``record_id`` (from its event), or (None, None)."""
        contract = self._require_contract()
        topic0 = self._event_topic()
        with translate_errors(self.url, "eth_getLogs"):
            logs = self._w3.eth.get_logs(
                {
                    "address": contract.address,
                    "fromBlock": 0,
                    "toBlock": "latest",
                    "topics": [topic0, "0x" + to_bytes32(record_id, "record_id").hex()],
                }
            )
        if not logs:
            return None, None
        return "0x" + bytes(logs[0]["transactionHash"]).hex(), int(logs[0]["blockNumber"])

    def _event_topic(self) -> str:
        from web3 import Web3

        return "0x" + bytes(Web3.keccak(text="Recorded(bytes32,bytes32)")).hex()

    def recorded_digests(self, from_block: int = 0, chunk: int = 50_000) -> dict[bytes, tuple[bytes, str]]:
        """Every stored (record_id -> (digest, tx hash)) read from the contract's events, in block chunks."""
        contract = self._require_contract()
        topic0 = self._event_topic()
        with translate_errors(self.url, "eth_blockNumber"):
            latest = int(self._w3.eth.block_number)
        found: dict[bytes, tuple[bytes, str]] = {}
        start = from_block
        while start <= latest:
            end = min(latest, start + chunk - 1)
            with translate_errors(self.url, "eth_getLogs"):
                logs = self._w3.eth.get_logs(
                    {"address": contract.address, "fromBlock": start, "toBlock": end, "topics": [topic0]}
                )
            for log in logs:
                record_id = bytes(log["topics"][1])
                found.setdefault(
                    record_id, (bytes(log["data"])[:32], "0x" + bytes(log["transactionHash"]).hex())
                )
            start = end + 1
        return found
