# pragma version 0.4.3
# @title ShopDesk order ledger
# @notice Stores one keyed digest per record id (an HMAC of an order number, or of a
#         recommendation batch number). Only the owner writes; a record is written once.
# @dev    No personal data ever reaches this contract: both values are 32-byte HMACs.

event Recorded:
    recordId: indexed(bytes32)
    digest: bytes32

MAX_BATCH: constant(uint256) = 256

owner: public(address)
count: public(uint256)
digests: HashMap[bytes32, bytes32]


@deploy
def __init__():
    self.owner = msg.sender


@internal
def _record(record_id: bytes32, digest: bytes32):
    assert record_id != empty(bytes32), "empty record id"
    assert digest != empty(bytes32), "empty digest"
    assert self.digests[record_id] == empty(bytes32), "duplicate record"
    self.digests[record_id] = digest
    self.count += 1
    log Recorded(recordId=record_id, digest=digest)


@external
def record(recordId: bytes32, digest: bytes32):
    assert msg.sender == self.owner, "only owner"
    self._record(recordId, digest)


@external
def recordBatch(recordIds: DynArray[bytes32, MAX_BATCH], digests: DynArray[bytes32, MAX_BATCH]):
    assert msg.sender == self.owner, "only owner"
    assert len(recordIds) == len(digests), "length mismatch"
    for i: uint256 in range(len(recordIds), bound=MAX_BATCH):
        self._record(recordIds[i], digests[i])


@view
@external
def digestOf(recordId: bytes32) -> bytes32:
    return self.digests[recordId]
