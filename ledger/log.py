"""The global transparency log: every event a leaf of one RFC 9162 Merkle tree.

Leaves are appended in notification order, in the same transaction as the events they log:
the storage adapters do it while inserting events (``_append_log`` in :mod:`ledger.sqlite` and
:mod:`ledger.postgres`), when every earlier notification is already logged. Anything not
logged that way (a database from before the log, an insert that found a gap) is appended by
the follower :meth:`TransparencyLog.catch_up`, which reads notifications after the last one
logged, so it can neither skip nor reorder: its position and the new leaves and nodes are
written in one transaction, conditional on the position it started from (a racing follower
retries).

Leaf data (DESIGN.md §4: not guessable from low-entropy fields, covers the signature)::

    "socai/log-leaf/v1" 0x00 || u32 len(record id) || record id || u64 version
                             || SHA-256(stored envelope)

The stored envelope holds the payload, the signature and the chain link, so the leaf
commits to all of them. Leaf hash = SHA-256(0x00 || leaf data) (RFC 9162 §2.1.1).

Storage: the leaf hashes (level 0) and every *perfect* subtree hash of level ≥ 1,
``node(level, index)`` covering leaves ``[index·2^level, (index+1)·2^level)``. Appending a
leaf writes it and the perfect nodes it completes (one node row per leaf on average). Any
subtree hash the RFC 9162 proof algorithms need is a fold of at most O(log n) perfect nodes,
so a proof or a root for any size is one batched read of O(log n) rows, never a scan of the
leaves.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from ledger.errors import LedgerError
from signing import envelope

LEAF_DOMAIN = b"socai/log-leaf/v1\x00"
_sha256 = hashlib.sha256


class LogError(LedgerError):
    """The log cannot answer: a size beyond the log, or a store that moved underneath."""


def leaf_data(record_id: UUID | str, version: int, state: bytes) -> bytes:
    """The log's leaf data for one stored event."""
    rid = envelope.record_id_bytes(record_id)
    return b"".join(
        (
            LEAF_DOMAIN,
            struct.pack(">I", len(rid)),
            rid,
            struct.pack(">Q", version),
            _sha256(state).digest(),
        )
    )


def leaf_hash_of(record_id: UUID | str, version: int, state: bytes) -> bytes:
    # RFC 9162 §2.1.1: MTH({d(0)}) = SHA-256(0x00 || d(0)).
    return _sha256(b"\x00" + leaf_data(record_id, version, state)).digest()


def _node(left: bytes, right: bytes) -> bytes:
    # RFC 9162 §2.1.1: SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n])).
    return _sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (RFC 9162 §2.1.1's k), for n > 1."""
    return 1 << ((n - 1).bit_length() - 1)


@dataclass(frozen=True, slots=True)
class LeafRow:
    """One logged event; ``record_id`` and ``version`` are None when its event row is gone."""

    index: int
    notification_id: int
    hash: bytes
    record_id: UUID | None = None
    version: int | None = None
    #: The stored envelope of the event, when read with the leaf (for re-hashing).
    state: bytes | None = None


class LogStorage(Protocol):
    """What the log needs from a storage adapter (SQLite or PostgreSQL)."""

    def log_position(self) -> tuple[int, int]:
        """(size, last logged notification id)."""
        ...

    def log_append(
        self,
        old: tuple[int, int],
        new_position: tuple[int, int],
        leaves: Sequence[LeafRow],
        nodes: Sequence[tuple[int, int, bytes]],
        frontier: Sequence[bytes],
    ) -> bool:
        """Write leaves, nodes and the new frontier and move the position, iff it is ``old``."""
        ...

    def log_nodes(self, keys: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]: ...

    def log_leaves(self, start: int, stop: int) -> list[LeafRow]: ...

    def log_leaf_of(self, record_id: UUID, version: int) -> LeafRow | None: ...

    def log_positions(self, record_id: UUID) -> dict[int, int]: ...


def _perfect(a: int, b: int) -> tuple[int, int] | None:
    """(level, index) when [a, b) is one stored perfect subtree, else None."""
    width = b - a
    if width & (width - 1) == 0 and a % width == 0:
        level = width.bit_length() - 1
        return level, a >> level
    return None


def _decompose(a: int, b: int) -> list[tuple[int, int]]:
    """The perfect nodes whose fold (right to left) is MTH(D[a:b]), per RFC 9162's split."""
    hit = _perfect(a, b)
    if hit is not None:
        return [hit]
    k = _split(b - a)
    return _decompose(a, a + k) + _decompose(a + k, b)


def _inclusion_ranges(m: int, n: int, offset: int = 0) -> list[tuple[int, int]]:
    # RFC 9162 §2.1.3.1 PATH(m, D[n]), as the ranges whose subtree hashes form the path.
    if n <= 1:
        return []
    k = _split(n)
    if m < k:
        return [*_inclusion_ranges(m, k, offset), (offset + k, offset + n)]
    return [*_inclusion_ranges(m - k, n - k, offset + k), (offset, offset + k)]


def _consistency_ranges(m: int, n: int, b: bool, offset: int = 0) -> list[tuple[int, int]]:
    # RFC 9162 §2.1.4.1 SUBPROOF(m, D[n], b).
    if m == n:
        return [] if b else [(offset, offset + m)]
    k = _split(n)
    if m <= k:
        return [*_consistency_ranges(m, k, b, offset), (offset + k, offset + n)]
    return [*_consistency_ranges(m - k, n - k, False, offset + k), (offset, offset + k)]


def frontier_keys(size: int) -> list[tuple[int, int]]:
    """The perfect nodes at the right edge of a tree of ``size``, left to right.

    One per set bit of ``size``: new leaves combine with them as a binary counter carries.
    """
    keys = []
    offset = 0
    for level in reversed(range(size.bit_length())):
        if size >> level & 1:
            keys.append((level, offset >> level))
            offset += 1 << level
    return keys


def unpack_frontier(packed: bytes) -> list[bytes]:
    """The frontier hashes stored with the log's position (32 bytes each, left to right)."""
    return [bytes(packed[i : i + 32]) for i in range(0, len(packed), 32)]


def extend(
    size: int, frontier: Sequence[bytes], hashes: Sequence[bytes]
) -> tuple[list[tuple[int, int, bytes]], list[bytes]]:
    """Nodes of level ≥ 1 completed by appending leaf ``hashes`` to a tree of ``size``.

    ``frontier`` holds the hashes of :func:`frontier_keys` (``size``), in that order. Level 0
    is the leaves themselves (stored with the leaves, not as node rows). Returns the new
    nodes and the frontier of the grown tree.
    """
    stack = [(level, idx, h) for (level, idx), h in zip(frontier_keys(size), frontier, strict=True)]
    out: list[tuple[int, int, bytes]] = []
    for i, h in enumerate(hashes):
        idx = size + i
        level, node = 0, h
        while stack and stack[-1][0] == level:
            _, left_idx, left = stack.pop()
            node = _node(left, node)
            level += 1
            idx = left_idx >> 1
            out.append((level, idx, node))
        stack.append((level, idx, node))
    return out, [h for _, _, h in stack]


class TransparencyLog:
    """The log over one ledger's event store."""

    def __init__(self, storage: Any) -> None:
        self.storage: LogStorage = storage

    # -- appending ---------------------------------------------------------

    def catch_up(self, *, batch: int = 2000, max_rounds: int | None = None) -> int:
        """Log every notification not yet logged, in order; return the new size."""
        rounds = 0
        while True:
            size, last = self.storage.log_position()
            notes = self.storage.select_notifications(last + 1, batch)  # type: ignore[attr-defined]
            if not notes:
                return size
            leaves = [
                LeafRow(
                    size + i,
                    n.id,
                    leaf_hash_of(n.originator_id, n.originator_version, n.state),
                )
                for i, n in enumerate(notes)
            ]
            nodes, frontier = self._new_nodes(size, [leaf.hash for leaf in leaves])
            moved = self.storage.log_append(
                (size, last), (size + len(leaves), notes[-1].id), leaves, nodes, frontier
            )
            if not moved:
                continue  # another follower logged them first: read the position again
            rounds += 1
            if max_rounds is not None and rounds >= max_rounds:
                return size + len(leaves)

    def _new_nodes(
        self, size: int, hashes: Sequence[bytes]
    ) -> tuple[list[tuple[int, int, bytes]], list[bytes]]:
        """Every perfect node of level ≥ 1 that the new leaves complete, and the new frontier."""
        keys = frontier_keys(size)
        stored = self.storage.log_nodes(keys) if keys else {}
        return extend(size, [stored[k] for k in keys], hashes)

    # -- reading -----------------------------------------------------------

    @property
    def size(self) -> int:
        return self.storage.log_position()[0]

    def _hashes(self, ranges: Sequence[tuple[int, int]]) -> list[bytes]:
        parts = [_decompose(a, b) for a, b in ranges]
        wanted = {key for keys in parts for key in keys}
        stored = self.storage.log_nodes(wanted)
        missing = wanted - stored.keys()
        if missing:
            raise LogError(f"log nodes missing from storage: {sorted(missing)[:4]}")
        out = []
        for keys in parts:
            acc = stored[keys[-1]]
            for key in reversed(keys[:-1]):
                acc = _node(stored[key], acc)
            out.append(acc)
        return out

    def _check_size(self, size: int) -> None:
        current = self.size
        if not 0 <= size <= current:
            raise LogError(f"tree size {size} is outside the log (size {current})")

    def root(self, size: int | None = None) -> bytes:
        """MTH of the first ``size`` leaves (the whole log by default)."""
        size = self.size if size is None else size
        self._check_size(size)
        if size == 0:
            return _sha256(b"").digest()  # RFC 9162 §2.1.1: MTH({}) = SHA-256()
        return self._hashes([(0, size)])[0]

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        """RFC 9162 §2.1.3.1 inclusion proof of leaf ``index`` in the tree of ``size``."""
        self._check_size(size)
        if not 0 <= index < size:
            raise LogError(f"leaf {index} is outside a tree of size {size}")
        return self._hashes(_inclusion_ranges(index, size))

    def consistency_proof(self, size1: int, size2: int) -> list[bytes]:
        """RFC 9162 §2.1.4.1 consistency proof from ``size1`` to ``size2``."""
        self._check_size(size2)
        if not 0 <= size1 <= size2:
            raise LogError(f"sizes out of order: {size1} > {size2}")
        if size1 == 0 or size1 == size2:
            return []
        return self._hashes(_consistency_ranges(size1, size2, True))

    def positions(self, record_id: UUID) -> dict[int, int]:
        """Version -> log index of every logged event of one record, in one read."""
        return self.storage.log_positions(record_id)

    def leaf(self, record_id: UUID, version: int) -> LeafRow:
        """The log entry of one event (after :meth:`catch_up` has logged it)."""
        row = self.storage.log_leaf_of(record_id, version)
        if row is None:
            raise LogError(f"record {record_id} version {version} is not in the log (yet)")
        return row
