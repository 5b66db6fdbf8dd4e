"""A small binary Merkle tree (SHA-256, domain-separated leaves and nodes; an odd node is carried up).

leaf = sha256(0x00 || data)      node = sha256(0x01 || left || right)
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

Proof = list[tuple[str, str]]  # ("L" | "R", sibling hash hex): the sibling's side at each level


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _levels(leaves: Sequence[bytes]) -> list[list[bytes]]:
    if not leaves:
        raise ValueError("a Merkle tree needs at least one leaf")
    levels = [list(leaves)]
    while len(levels[-1]) > 1:
        level = levels[-1]
        levels.append(
            [
                node_hash(level[i], level[i + 1]) if i + 1 < len(level) else level[i]
                for i in range(0, len(level), 2)
            ]
        )
    return levels


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    return _levels(leaves)[-1][0]


def merkle_proof(leaves: Sequence[bytes], index: int) -> Proof:
    if not 0 <= index < len(leaves):
        raise IndexError(f"leaf {index} out of range 0..{len(leaves) - 1}")
    proof: Proof = []
    for level in _levels(leaves)[:-1]:
        sibling = index ^ 1
        if sibling < len(level):
            proof.append(("L" if sibling < index else "R", level[sibling].hex()))
        index //= 2
    return proof


def verify_proof(leaf: bytes, proof: Proof, root: bytes) -> bool:
    current = leaf
    for side, sibling_hex in proof:
        sibling = bytes.fromhex(sibling_hex)
        current = node_hash(sibling, current) if side == "L" else node_hash(current, sibling)
    return current == root
