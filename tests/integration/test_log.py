"""The transparency log on SQLite and PostgreSQL: every event a leaf, proofs from storage."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from ledger.application import Ledger
from ledger.checkpoints import CheckpointStore
from ledger.log import leaf_hash_of
from signing import merkle
from tests.conftest import School, open_class


def reference_hashes(ledger: Ledger) -> list[bytes]:
    """Leaf hashes recomputed from every stored event, in notification order."""
    out: list[bytes] = []
    start = 1
    while True:
        page = ledger.recorder.select_notifications(start, 500)
        if not page:
            return out
        out += [leaf_hash_of(n.originator_id, n.originator_version, n.state) for n in page]
        start = page[-1].id + 1


def add_scores(s: School, n: int) -> list[object]:
    ids = [
        s.ledger.enrol_student(s.principal, f"HS{i:04d}", "2025-2026", 6, "6A1") for i in range(n)
    ]
    s.ledger.record_scores(s.teachers["GV001"], [(r, "Toán", 1, "tx", "7.5") for r in ids])
    return ids


def test_every_event_is_a_leaf_and_proofs_verify(school: School) -> None:
    ids = add_scores(school, 20)
    log = school.ledger.transparency_log
    size = log.catch_up(batch=7)
    hashes = reference_hashes(school.ledger)
    assert size == len(hashes) == school.ledger.recorder.max_notification_id()
    assert log.root() == merkle.root_from_hashes(hashes)
    for m in (1, 2, 3, size // 2, size - 1, size):
        root_m = merkle.root_from_hashes(hashes[:m])
        assert log.root(m) == root_m
        for i in {0, m // 3, m - 1}:
            merkle.verify_inclusion(hashes[i], i, m, log.inclusion_proof(i, m), root_m)
        for m1 in {0, 1, m // 2, m}:
            merkle.verify_consistency(
                m1, m, log.consistency_proof(m1, m), merkle.root_from_hashes(hashes[:m1]), root_m
            )
    # The head of one record: its leaf, and its inclusion in the current tree.
    rid = ids[5]
    head = school.ledger.recorder.select_events(rid, desc=True, limit=1)[0]
    leaf = log.leaf(rid, head.originator_version)  # type: ignore[arg-type]
    assert leaf.hash == leaf_hash_of(rid, head.originator_version, head.state)  # type: ignore[arg-type]
    merkle.verify_inclusion(
        leaf.hash, leaf.index, size, log.inclusion_proof(leaf.index, size), log.root()
    )
    # Every position of the record in one read, as the leaves say one by one.
    versions = [e.originator_version for e in school.ledger.recorder.select_events(rid)]
    positions = log.positions(rid)
    assert positions == {v: log.leaf(rid, v).index for v in versions}
    assert sorted(positions.values()) == [positions[v] for v in sorted(versions)]


def test_followers_racing_never_skip_or_duplicate(school: School) -> None:
    add_scores(school, 30)
    ledgers = [Ledger(school.settings, None) for _ in range(3)]
    start = threading.Barrier(3)
    errors: list[BaseException] = []

    def follow(ledger: Ledger) -> None:
        try:
            start.wait()
            ledger.transparency_log.catch_up(batch=5)
        except BaseException as e:
            errors.append(e)

    threads = [threading.Thread(target=follow, args=(lg,)) for lg in ledgers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for lg in ledgers:
        lg.close()
    assert errors == []
    hashes = reference_hashes(school.ledger)
    assert school.ledger.transparency_log.size == len(hashes)
    assert school.ledger.transparency_log.root() == merkle.root_from_hashes(hashes)
    leaves = school.ledger.recorder.log_leaves(0, len(hashes))  # type: ignore[attr-defined]
    assert [x.index for x in leaves] == list(range(len(hashes)))


def test_log_grows_consistently(school: School) -> None:
    add_scores(school, 3)
    open_class(school, "6A2")
    log = school.ledger.transparency_log
    old_size = log.catch_up()
    old_root = log.root()
    add_scores_more = [
        school.ledger.enrol_student(school.principal, f"HSX{i}", "2025-2026", 6, "6A2")
        for i in range(9)
    ]
    assert add_scores_more
    new_size = log.catch_up()
    assert new_size == old_size + 18  # each enrolment: Enrolled and the class's StudentJoined
    merkle.verify_consistency(
        old_size, new_size, log.consistency_proof(old_size, new_size), old_root, log.root()
    )


def test_events_are_logged_in_their_own_transaction(school: School) -> None:
    add_scores(school, 5)
    recorder = school.ledger.recorder
    # No follower has run: the inserts logged themselves.
    assert school.ledger.transparency_log.size == recorder.max_notification_id()
    assert school.ledger.transparency_log.root() == merkle.root_from_hashes(
        reference_hashes(school.ledger)
    )


def test_unlogged_events_are_caught_up_in_order(school: School) -> None:
    recorder = school.ledger.recorder
    recorder.log_in_transaction = False  # type: ignore[attr-defined]
    try:
        add_scores(school, 4)
    finally:
        recorder.log_in_transaction = True  # type: ignore[attr-defined]
    lagging = school.ledger.transparency_log.size
    assert lagging < recorder.max_notification_id()
    # A later insert must not jump the queue: it leaves the gap to the follower.
    school.ledger.enrol_student(school.principal, "HS-LATE", "2025-2026", 6, "6A1")
    assert school.ledger.transparency_log.size == lagging
    school.ledger.transparency_log.catch_up()
    hashes = reference_hashes(school.ledger)
    assert school.ledger.transparency_log.size == len(hashes)
    assert school.ledger.transparency_log.root() == merkle.root_from_hashes(hashes)
    # And from then on inserts log themselves again.
    school.ledger.enrol_student(school.principal, "HS-NEXT", "2025-2026", 6, "6A1")
    assert school.ledger.transparency_log.size == len(hashes) + 2  # Enrolled, StudentJoined


def test_two_processes_keeping_the_same_size_agree(tmp_path: Path) -> None:
    """Two server processes sign the same size at once: the first row stays, the second
    process uses it; a different root for a kept size is refused."""
    path = tmp_path / "checkpoints.sqlite"
    first, second = CheckpointStore(path), CheckpointStore(path)
    try:
        assert first.record(5, b"r" * 32, b"note A", None) is True
        assert second.record(5, b"r" * 32, b"note B", b"token") is False
        assert [c.note for c in second.checkpoints()] == [b"note A"]
        with pytest.raises(sqlite3.IntegrityError):
            second.record(5, b"x" * 32, b"note C", None)
    finally:
        first.close()
        second.close()
