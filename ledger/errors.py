"""Errors raised by the ledger package.

Every message names the bad value and says what to do about it. web3's own exceptions never
leave :mod:`ledger.client`; they are translated into the leaves below.

LedgerError
├── LedgerConfigError            bad or placeholder configuration (key, URL, chain id)
├── ArtifactError                the compiled contract artifact is missing, corrupt or stale
├── CanonicalFormError           an order dict cannot be put in canonical form (or carries PII)
├── OutboxError                  the outbox table is missing or a row is inconsistent
├── NodeProcessError             the local node (anvil) cannot be started or found
└── ChainError                   anything the chain or the node said
    ├── NodeUnavailableError     nothing answers at the RPC URL (transient: retry later)
    ├── NodeRPCError             the node answered with an error (transient unless repeated)
    ├── WrongChainError          the node's chain id is not the configured one
    ├── ContractMismatchError    no ShopDesk ledger contract at the configured address
    ├── NotOwnerError            the signing key is not the contract's owner
    ├── TransactionFailedError   a transaction reverted or was not mined in time
    │   └── DuplicateRecordError the record id is already stored (check the stored digest)
    └── RecordConflictError      the chain stores a different digest for the record id
"""

from __future__ import annotations


class LedgerError(Exception):
    """Base class of every ledger error."""


class LedgerConfigError(LedgerError, ValueError):
    def __init__(self, name: str, problem: str) -> None:
        self.name = name
        super().__init__(f"{name}: {problem}")


class ArtifactError(LedgerError):
    def __init__(self, path: str, problem: str) -> None:
        self.path = path
        super().__init__(
            f"contract artifact {path}: {problem}; rebuild it with `python -m ledger.compile --write`"
        )


class CanonicalFormError(LedgerError, ValueError):
    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        super().__init__(f"canonical order field {field!r}: {problem}")


class OutboxError(LedgerError):
    pass


class NodeProcessError(LedgerError):
    pass


class ChainError(LedgerError):
    """The node or the contract refused or could not be reached."""

    transient = False


class NodeUnavailableError(ChainError, ConnectionError):
    transient = True

    def __init__(self, url: str, detail: str = "") -> None:
        self.url = url
        extra = f" ({detail})" if detail else ""
        super().__init__(
            f"no Ethereum node answers at {url}{extra}; start one with `make run` or "
            "`python -m ledger.node`, or set LEDGER_RPC_URL"
        )


class NodeRPCError(ChainError):
    transient = True

    def __init__(self, method: str, message: str) -> None:
        self.method = method
        super().__init__(f"the node answered {method} with an error: {message}")


class WrongChainError(ChainError):
    def __init__(self, expected: int, actual: int, url: str) -> None:
        self.expected = expected
        self.actual = actual
        super().__init__(
            f"the node at {url} runs chain id {actual}, expected {expected}; point LEDGER_RPC_URL at "
            "the right node or change LEDGER_CHAIN_ID"
        )


class ContractMismatchError(ChainError):
    def __init__(self, address: str, problem: str) -> None:
        self.address = address
        super().__init__(
            f"contract address {address}: {problem}; set LEDGER_CONTRACT_ADDRESS to the ShopDesk "
            "OrderLedger, or leave it empty so `python -m ledger.node` deploys one"
        )


class NotOwnerError(ChainError):
    def __init__(self, account: str, owner: str, address: str) -> None:
        self.account = account
        self.owner = owner
        super().__init__(
            f"signing account {account} is not the owner {owner} of the ledger contract {address}; "
            "set LEDGER_PRIVATE_KEY to the owner's key"
        )


class TransactionFailedError(ChainError):
    def __init__(self, what: str, detail: str, tx_hash: str | None = None) -> None:
        self.tx_hash = tx_hash
        where = f" (tx {tx_hash})" if tx_hash else ""
        super().__init__(f"{what} failed{where}: {detail}")


class DuplicateRecordError(TransactionFailedError):
    def __init__(self, record_id: str, tx_hash: str | None = None) -> None:
        self.record_id = record_id
        super().__init__(f"record {record_id}", "already stored on chain; compare the stored digest", tx_hash)


class RecordConflictError(ChainError):
    def __init__(self, record_id: str, stored: str, expected: str) -> None:
        self.record_id = record_id
        self.stored = stored
        self.expected = expected
        super().__init__(
            f"record {record_id} is stored on chain with digest {stored}, but the outbox holds {expected}; "
            "the order row changed after confirmation or two shops share a key — run verification"
        )
