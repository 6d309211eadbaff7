"""The log's stored-node proofs agree with a slow reference for every index and size."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from uuid import UUID, uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ledger.log import LeafRow, LogError, TransparencyLog
from signing import merkle


@dataclass
class _Note:
    id: int
    originator_id: UUID
    originator_version: int
    state: bytes


class MemoryLogStorage:
    """An in-memory LogStorage: the proof algorithms under test do not depend on SQL."""

    def __init__(self) -> None:
        self.notes: list[_Note] = []
        self.position = (0, 0)
        self.leaves: dict[int, LeafRow] = {}
        self.nodes: dict[tuple[int, int], bytes] = {}
        self.reads = 0

    def add(self, n: int) -> None:
        for _ in range(n):
            self.notes.append(
                _Note(
                    len(self.notes) + 1, uuid4(), 1, hashlib.sha256(bytes(len(self.notes))).digest()
                )
            )

    def select_notifications(self, start: int, limit: int) -> list[_Note]:
        return [x for x in self.notes if x.id >= start][:limit]

    def log_position(self) -> tuple[int, int]:
        return self.position

    def log_append(
        self,
        old: tuple[int, int],
        new_position: tuple[int, int],
        leaves: Sequence[LeafRow],
        nodes: Sequence[tuple[int, int, bytes]],
        frontier: Sequence[bytes],
    ) -> bool:
        if old != self.position:
            return False
        for leaf in leaves:
            self.leaves[leaf.index] = leaf
        for level, idx, h in nodes:
            assert (level, idx) not in self.nodes, "a node is written once"
            self.nodes[(level, idx)] = h
        self.position = new_position
        return True

    def log_nodes(self, keys: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        self.reads += 1
        out = {}
        for level, idx in keys:
            if level == 0 and idx in self.leaves:
                out[(0, idx)] = self.leaves[idx].hash
            elif (level, idx) in self.nodes:
                out[(level, idx)] = self.nodes[(level, idx)]
        return out

    def log_leaves(self, start: int, stop: int) -> list[LeafRow]:
        return [self.leaves[i] for i in range(start, stop)]

    def log_leaf_of(self, record_id: UUID, version: int) -> LeafRow | None:
        return next((x for x in self.leaves.values() if x.record_id == record_id), None)


def build(n: int, batch: int = 7) -> tuple[TransparencyLog, list[bytes], MemoryLogStorage]:
    store = MemoryLogStorage()
    store.add(n)
    log = TransparencyLog(store)
    log.catch_up(batch=batch)
    hashes = [store.leaves[i].hash for i in range(n)]
    return log, hashes, store


def test_every_index_and_size_up_to_64() -> None:
    log, hashes, _ = build(64)
    for size in range(1, 65):
        want_root = merkle.root_from_hashes(hashes[:size])
        assert log.root(size) == want_root
        for index in range(size):
            proof = log.inclusion_proof(index, size)
            assert proof == merkle.inclusion_proof_from_hashes(hashes[:size], index)
            merkle.verify_inclusion(hashes[index], index, size, proof, want_root)
        for size1 in range(0, size + 1):
            proof = log.consistency_proof(size1, size)
            if 0 < size1 < size:
                assert proof == merkle.consistency_proof_from_hashes(hashes[:size], size1)
            merkle.verify_consistency(
                size1, size, proof, merkle.root_from_hashes(hashes[:size1]), want_root
            )


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=1, max_value=3000), st.data())
def test_random_proofs_up_to_a_few_thousand_leaves(n: int, data: st.DataObject) -> None:
    log, hashes, store = build(n, batch=data.draw(st.integers(min_value=1, max_value=500)))
    size = data.draw(st.integers(min_value=1, max_value=n))
    index = data.draw(st.integers(min_value=0, max_value=size - 1))
    size1 = data.draw(st.integers(min_value=0, max_value=size))
    root = merkle.root_from_hashes(hashes[:size])
    assert log.root(size) == root
    store.reads = 0
    merkle.verify_inclusion(hashes[index], index, size, log.inclusion_proof(index, size), root)
    merkle.verify_consistency(
        size1,
        size,
        log.consistency_proof(size1, size),
        merkle.root_from_hashes(hashes[:size1]),
        root,
    )
    assert store.reads <= 2  # one batched read per proof: O(log n) rows, not a scan


def test_nodes_stored_are_about_two_per_leaf() -> None:
    _, _, store = build(1000)
    assert len(store.nodes) < 1000  # levels ≥ 1 only: fewer than one row per leaf


def test_sizes_outside_the_log_are_refused() -> None:
    log, _, _ = build(5)
    with pytest.raises(LogError):
        log.root(6)
    with pytest.raises(LogError):
        log.inclusion_proof(5, 5)
    with pytest.raises(LogError):
        log.consistency_proof(4, 3)


def test_catch_up_is_idempotent() -> None:
    log, _, store = build(10)
    before = dict(store.nodes)
    assert log.catch_up() == 10
    assert store.nodes == before
    store.add(5)
    assert log.catch_up() == 15
