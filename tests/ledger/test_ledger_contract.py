"""Contract behaviour on eth-tester: owner only, duplicates rejected, events, batch, stored digest."""

from __future__ import annotations

import pytest

from ledger.client import LedgerClient
from ledger.errors import NotOwnerError, TransactionFailedError
from tests.ledger.ledger_helpers import TESTER_KEY_2

A, B, C = b"\x0a" * 32, b"\x0b" * 32, b"\x0c" * 32
D1, D2 = b"\xd1" * 32, b"\xd2" * 32


def test_record_stores_the_digest_and_emits_an_event(chain: LedgerClient) -> None:
    result = chain.record(A, D1)
    assert result.outcome == "recorded"
    assert chain.digest_of(A) == D1
    assert chain.digest_of(B) is None
    assert chain.record_count() == 1
    events = chain.recorded_digests()
    assert events == {A: (D1, result.tx_hash)}
    assert chain.find_record_tx(A) == (result.tx_hash, result.block_number)


def test_a_duplicate_reverts_and_keeps_the_first_digest(chain: LedgerClient) -> None:
    first = chain.record(A, D1)
    contract = chain.w3.eth.contract(address=chain.address, abi=chain.artifact.abi)
    with pytest.raises(Exception, match="duplicate record"):
        contract.functions.record(A, D2).transact({"from": chain.account})
    assert chain.digest_of(A) == D1
    again = chain.record(A, D1)
    assert again.outcome == "duplicate"
    assert again.tx_hash == first.tx_hash
    conflict = chain.record(A, D2)
    assert conflict.outcome == "conflict"
    assert chain.record_count() == 1


def test_only_the_owner_can_record(chain: LedgerClient) -> None:
    stranger = chain.w3.eth.accounts[1]
    contract = chain.w3.eth.contract(address=chain.address, abi=chain.artifact.abi)
    with pytest.raises(Exception, match="only owner"):
        contract.functions.record(A, D1).transact({"from": stranger})
    with pytest.raises(Exception, match="only owner"):
        contract.functions.recordBatch([A], [D1]).transact({"from": stranger})
    assert chain.digest_of(A) is None


def test_a_client_with_another_key_is_refused_at_attach(chain: LedgerClient) -> None:
    other = LedgerClient(chain.w3, chain.artifact, url="x", private_key=TESTER_KEY_2, address=None)
    with pytest.raises(NotOwnerError, match="not the owner"):
        other.attach(chain.address or "")


def test_zero_values_are_rejected(chain: LedgerClient) -> None:
    contract = chain.w3.eth.contract(address=chain.address, abi=chain.artifact.abi)
    with pytest.raises(Exception, match="empty record id"):
        contract.functions.record(b"\x00" * 32, D1).transact({"from": chain.account})
    with pytest.raises(Exception, match="empty digest"):
        contract.functions.record(A, b"\x00" * 32).transact({"from": chain.account})


def test_batch_records_all_or_nothing(chain: LedgerClient) -> None:
    contract = chain.w3.eth.contract(address=chain.address, abi=chain.artifact.abi)
    contract.functions.recordBatch([A, B], [D1, D2]).transact({"from": chain.account})
    assert chain.digest_of(B) == D2
    with pytest.raises(Exception, match="duplicate record"):
        contract.functions.recordBatch([C, A], [D1, D1]).transact({"from": chain.account})
    assert chain.digest_of(C) is None  # the whole batch reverted
    with pytest.raises(Exception, match="length mismatch"):
        contract.functions.recordBatch([C], [D1, D2]).transact({"from": chain.account})
    assert len(chain.recorded_digests()) == 2


def test_record_many_batched_resolves_duplicates_and_sends_the_rest(chain: LedgerClient) -> None:
    chain.record(B, D2)
    items = [(bytes([i]) * 32, D1) for i in range(1, 9)] + [(B, D2)]
    results = chain.record_many(items, batch_size=4)
    assert [r.outcome for r in results].count("recorded") == 8
    assert results[-1].outcome == "duplicate"
    assert chain.record_count() == 9


def test_bad_sizes_are_refused_before_any_transaction(chain: LedgerClient) -> None:
    from ledger.errors import LedgerConfigError

    with pytest.raises(LedgerConfigError, match="exactly 32"):
        chain.record(b"short", D1)
    with pytest.raises(LedgerConfigError, match="between 1 and 256"):
        chain.record_many([(A, D1)], batch_size=0)
    assert chain.record_count() == 0


def test_transaction_failed_error_is_a_chain_error() -> None:
    assert issubclass(TransactionFailedError, Exception)
