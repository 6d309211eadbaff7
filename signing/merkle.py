"""RFC 9162 (Certificate Transparency v2) Merkle tree hashing, proofs and verifiers.

Trees are built over leaf *data* (:func:`root`, :func:`inclusion_proof`,
:func:`consistency_proof`) or over already computed *leaf hashes* (the
``*_from_hashes`` functions). Trees are not padded: a tree of n > 1 leaves
splits at the largest power of two smaller than n (RFC 9162 §2.1.1).

Verifiers return ``None`` or raise a :class:`~signing.errors.VerificationError`:
:class:`~signing.errors.MalformedProof` for bad input (types, hash lengths,
sizes, indices, proof lengths) and :class:`~signing.errors.RootMismatch` when a
well-formed proof does not lead to the expected root(s). Generators raise
:class:`ValueError` for arguments out of range and :class:`TypeError` for
non-bytes input.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from signing.errors import MalformedProof, RootMismatch

__all__ = [
    "HASH_SIZE",
    "consistency_proof",
    "consistency_proof_from_hashes",
    "inclusion_proof",
    "inclusion_proof_from_hashes",
    "leaf_hash",
    "node_hash",
    "root",
    "root_from_hashes",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
"""Length in bytes of every hash (SHA-256)."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
_EMPTY_ROOT = hashlib.sha256(b"").digest()


# --------------------------------------------------------------------------- hashing


def leaf_hash(data: bytes) -> bytes:
    """Return SHA-256(0x00 || data), the hash of one leaf (RFC 9162 §2.1.1)."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return SHA-256(0x01 || left || right), the hash of an interior node (RFC 9162 §2.1.1)."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


# --------------------------------------------------------------------------- tree hash


def root(leaves: Sequence[bytes]) -> bytes:
    """Return MTH(D[n]) over leaf data; SHA-256(b"") for no leaves (RFC 9162 §2.1.1)."""
    return root_from_hashes([leaf_hash(_as_data(d)) for d in leaves])


def root_from_hashes(hashes: Sequence[bytes]) -> bytes:
    """Return the tree hash over leaf hashes in O(n); SHA-256(b"") for none (RFC 9162 §2.1.1)."""
    _check_hashes(hashes)
    if not hashes:
        return _EMPTY_ROOT  # RFC 9162 §2.1.1: MTH({}) = HASH().
    return _subtree_root(hashes, 0, len(hashes))


def _subtree_root(hashes: Sequence[bytes], lo: int, hi: int) -> bytes:
    """Return MTH over the leaf hashes ``hashes[lo:hi]``, lo < hi (RFC 9162 §2.1.1)."""
    level = list(hashes[lo:hi])
    while len(level) > 1:
        level = _next_level(level)
    return level[0]


def _next_level(level: list[bytes]) -> list[bytes]:
    """Hash neighbours pairwise and carry an unpaired last node up unchanged.

    Repeating this until one node is left yields MTH (RFC 9162 §2.1.1): the
    left part of every split is a complete subtree of 2^j leaves, so pairs
    never straddle a split, and the node carried up at each level is the
    root of the last, incomplete subtree. Same result as the stack of §2.1.2.
    """
    nxt = [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
    if len(level) % 2:
        nxt.append(level[-1])
    return nxt


# --------------------------------------------------------------------------- proof generation


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """Return PATH(index, D[n]) over leaf data (RFC 9162 §2.1.3.1)."""
    return inclusion_proof_from_hashes([leaf_hash(_as_data(d)) for d in leaves], index)


def inclusion_proof_from_hashes(hashes: Sequence[bytes], index: int) -> list[bytes]:
    """Return PATH(index, D[n]) over leaf hashes, bottom-up, in O(n) (RFC 9162 §2.1.3.1).

    Works level by level: pairing neighbours and carrying an unpaired last
    node up unchanged builds exactly the RFC 9162 §2.1.1 tree (split at the
    largest power of two smaller than n), so a node's sibling on its level,
    when present, is the subtree hash that PATH appends at that depth.
    """
    _check_hashes(hashes)
    n = len(hashes)
    if not _is_int(index) or not 0 <= index < n:
        raise ValueError(f"index {index!r} out of range for {n} leaves")
    proof: list[bytes] = []
    level = list(hashes)
    while len(level) > 1:
        sibling = index ^ 1
        if sibling < len(level):
            proof.append(level[sibling])
        # Else: the node is the unpaired last one; PATH adds nothing at this depth.
        level = _next_level(level)
        index >>= 1
    return proof


def consistency_proof(leaves: Sequence[bytes], size1: int) -> list[bytes]:
    """Return PROOF(size1, D[n]) over leaf data (RFC 9162 §2.1.4.1).

    ``size1 == n`` and ``size1 == 0`` give an empty proof (see :func:`verify_consistency`).
    """
    return consistency_proof_from_hashes([leaf_hash(_as_data(d)) for d in leaves], size1)


def consistency_proof_from_hashes(hashes: Sequence[bytes], size1: int) -> list[bytes]:
    """Return PROOF(size1, D[n]) over leaf hashes (RFC 9162 §2.1.4.1)."""
    _check_hashes(hashes)
    n = len(hashes)
    if not _is_int(size1) or not 0 <= size1 <= n:
        raise ValueError(f"size1 {size1!r} out of range for {n} leaves")
    if size1 == 0:
        return []  # Outside §2.1.4.1 (PROOF is undefined for m = 0); nothing to prove.
    proof: list[bytes] = []
    # §2.1.4.1: PROOF(m, D[n]) = SUBPROOF(m, D[n], true).
    _subproof(hashes, size1, 0, n, True, proof)
    return proof


def _subproof(hashes: Sequence[bytes], m: int, lo: int, hi: int, b: bool, out: list[bytes]) -> None:
    """Append SUBPROOF(m, hashes[lo:hi], b) to ``out`` (RFC 9162 §2.1.4.1); 0 < m <= hi - lo."""
    n = hi - lo
    if m == n:
        if not b:
            out.append(_subtree_root(hashes, lo, hi))  # §2.1.4.1: SUBPROOF(m, D[m], false).
        return  # §2.1.4.1: SUBPROOF(m, D[m], true) = {}.
    k = _split(n)  # §2.1.4.1: k is the largest power of two smaller than n.
    if m <= k:
        # §2.1.4.1: SUBPROOF(m, D[0:k], b) : MTH(D[k:n]).
        _subproof(hashes, m, lo, lo + k, b, out)
        out.append(_subtree_root(hashes, lo + k, hi))
    else:
        # §2.1.4.1: SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k]).
        _subproof(hashes, m - k, lo + k, hi, False, out)
        out.append(_subtree_root(hashes, lo, lo + k))


# --------------------------------------------------------------------------- verification


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: list[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` with ``root``.

    Implements RFC 9162 §2.1.3.2. Raises :class:`MalformedProof` for bad types,
    non-32-byte hashes, ``index`` outside ``[0, size)`` or a proof of the wrong
    length, and :class:`RootMismatch` when the proof leads to another root.
    """
    _check_hash(leaf_hash, "leaf hash")
    _check_hash(root, "root")
    path = _check_proof(proof)
    _check_size(index, "index")
    _check_size(size, "size")
    if index >= size:  # §2.1.3.2 step 1: fail if leaf_index >= tree_size.
        raise MalformedProof(f"index {index} is not below tree size {size}")
    want = _inclusion_proof_len(index, size)
    if len(path) != want:
        raise MalformedProof(f"inclusion proof has {len(path)} hashes, want {want}")

    fn, sn = index, size - 1  # §2.1.3.2 step 2.
    r = leaf_hash  # §2.1.3.2 step 3.
    for p in path:  # §2.1.3.2 step 4.
        if sn == 0:  # §2.1.3.2 step 4a (unreachable after the length check).
            raise MalformedProof("inclusion proof too long")
        if fn & 1 or fn == sn:  # §2.1.3.2 step 4b.
            r = node_hash(p, r)  # §2.1.3.2 step 4b.i.
            if not fn & 1:  # §2.1.3.2 step 4b.ii.
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)  # §2.1.3.2 step 4b, otherwise i.
        fn >>= 1  # §2.1.3.2 step 4c.
        sn >>= 1
    if sn != 0:  # §2.1.3.2 step 5 (unreachable after the length check).
        raise MalformedProof("inclusion proof too short")
    if r != root:  # §2.1.3.2 step 5.
        raise RootMismatch("inclusion proof does not lead to the expected root")


def verify_consistency(
    size1: int, size2: int, proof: list[bytes], root1: bytes, root2: bytes
) -> None:
    """Check that the tree (``size2``, ``root2``) extends the tree (``size1``, ``root1``).

    Implements RFC 9162 §2.1.4.2, whose algorithm covers ``0 < size1 < size2``.
    The two cases it leaves out follow from §2.1.4 / §2.1.4.1 and §2.1.1:

    * ``size1 == size2``: PROOF(m, D[m]) is empty, so the proof must be empty
      and ``root1 == root2``.
    * ``size1 == 0``: every tree extends the empty tree, so the proof must be
      empty and ``root1`` must be MTH({}) = SHA-256(b""); ``root2`` is only
      checked for length (nothing ties it to the empty tree).

    Raises :class:`MalformedProof` for bad types, non-32-byte hashes, negative
    sizes, ``size1 > size2`` or a proof of the wrong length (an empty proof
    for ``0 < size1 < size2`` is wrong-length, §2.1.4.2 step 1), and
    :class:`RootMismatch` when a well-formed proof fails to reproduce
    ``root1`` or ``root2``.
    """
    _check_hash(root1, "root1")
    _check_hash(root2, "root2")
    path = _check_proof(proof)
    _check_size(size1, "size1")
    _check_size(size2, "size2")
    if size1 > size2:
        raise MalformedProof(f"size1 {size1} is larger than size2 {size2}")
    if size1 == size2 or size1 == 0:
        if path:
            raise MalformedProof("proof must be empty when size1 == size2 or size1 == 0")
        if size1 == 0 and root1 != _EMPTY_ROOT:
            raise RootMismatch("root1 is not the root of the empty tree")
        if size1 == size2 and root1 != root2:
            raise RootMismatch("equal tree sizes with different roots")
        return

    if not path:  # §2.1.4.2 step 1: an empty consistency_path fails.
        raise MalformedProof("empty consistency proof")
    want = _consistency_proof_len(size1, size2)
    if len(path) != want:
        raise MalformedProof(f"consistency proof has {len(path)} hashes, want {want}")

    if size1 & (size1 - 1) == 0:  # §2.1.4.2 step 2: first is a power of 2.
        path = [root1, *path]
    fn, sn = size1 - 1, size2 - 1  # §2.1.4.2 step 3.
    while fn & 1:  # §2.1.4.2 step 4.
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]  # §2.1.4.2 step 5.
    for c in path[1:]:  # §2.1.4.2 step 6.
        if sn == 0:  # §2.1.4.2 step 6a (unreachable after the length check).
            raise MalformedProof("consistency proof too long")
        if fn & 1 or fn == sn:  # §2.1.4.2 step 6b.
            fr = node_hash(c, fr)  # §2.1.4.2 step 6b.i.
            sr = node_hash(c, sr)  # §2.1.4.2 step 6b.ii.
            if not fn & 1:  # §2.1.4.2 step 6b.iii.
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)  # §2.1.4.2 step 6b, otherwise i.
        fn >>= 1  # §2.1.4.2 step 6c.
        sn >>= 1
    if sn != 0:  # §2.1.4.2 step 7 (unreachable after the length check).
        raise MalformedProof("consistency proof too short")
    if fr != root1:  # §2.1.4.2 step 7.
        raise RootMismatch("consistency proof does not lead to root1")
    if sr != root2:  # §2.1.4.2 step 7.
        raise RootMismatch("consistency proof does not lead to root2")


# --------------------------------------------------------------------------- helpers


def _split(n: int) -> int:
    """Return the largest power of two smaller than n, for n > 1 (RFC 9162 §2.1.1)."""
    return 1 << ((n - 1).bit_length() - 1)


def _inclusion_proof_len(index: int, size: int) -> int:
    """Return len(PATH(index, D[size])) for 0 <= index < size.

    Below the level where the paths to ``index`` and ``size - 1`` meet, every
    node has a sibling; above it the path runs along the right border, where a
    node has a (left) sibling exactly when its position is odd.
    """
    inner = (index ^ (size - 1)).bit_length()
    return inner + (index >> inner).bit_count()


def _consistency_proof_len(size1: int, size2: int) -> int:
    """Return len(PROOF(size1, D[size2])) for 0 < size1 < size2.

    PROOF is the inclusion path of leaf ``size1 - 1`` with the levels inside
    the largest complete subtree ending at ``size1`` replaced by that subtree's
    hash, which is omitted when it is the whole first tree (size1 a power of 2).
    """
    shift = (size1 & -size1).bit_length() - 1  # Trailing zero bits of size1.
    seed = 0 if size1 == 1 << shift else 1
    return seed + _inclusion_proof_len(size1 - 1, size2) - shift


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_size(value: object, what: str) -> None:
    if not _is_int(value):
        raise MalformedProof(f"{what} must be an int, got {type(value).__name__}")
    assert isinstance(value, int)
    if value < 0:
        raise MalformedProof(f"{what} must not be negative, got {value}")


def _check_hash(value: object, what: str) -> None:
    if not isinstance(value, bytes):
        raise MalformedProof(f"{what} must be bytes, got {type(value).__name__}")
    if len(value) != HASH_SIZE:
        raise MalformedProof(f"{what} is {len(value)} bytes, want {HASH_SIZE}")


def _check_proof(proof: object) -> list[bytes]:
    if not isinstance(proof, list | tuple):
        raise MalformedProof(f"proof must be a list of hashes, got {type(proof).__name__}")
    for i, h in enumerate(proof):
        _check_hash(h, f"proof[{i}]")
    return list(proof)


def _check_hashes(hashes: Sequence[bytes]) -> None:
    """Reject leaf hashes that are not 32-byte ``bytes`` (generators raise, not verify)."""
    if isinstance(hashes, bytes | bytearray | str):
        raise TypeError("hashes must be a sequence of 32-byte hashes, not a string")
    for i, h in enumerate(hashes):
        if not isinstance(h, bytes):
            raise TypeError(f"hashes[{i}] must be bytes, got {type(h).__name__}")
        if len(h) != HASH_SIZE:
            raise ValueError(f"hashes[{i}] is {len(h)} bytes, want {HASH_SIZE}")


def _as_data(data: object) -> bytes:
    if not isinstance(data, bytes):
        raise TypeError(f"leaf data must be bytes, got {type(data).__name__}")
    return data
