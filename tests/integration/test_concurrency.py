"""Concurrent writers of one record, on both backends (SQLite, PostgreSQL).

The ``(record, version)`` primary key is the only thing that keeps a record's
chain linear when several writers (threads with their own ``Ledger``, or whole
processes) append to it at once. These tests make writers lose races on
purpose, deterministically, and then check that every record still holds one
linear, contiguous, verifiable chain in which every successful write appears
exactly once and every lost race wrote nothing.
"""

from __future__ import annotations

import itertools
import multiprocessing
import threading
import time
import traceback
from collections import Counter
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from ledger.application import Ledger, Settings, Trust, retry_on_conflict
from ledger.audit import audit
from ledger.domain import StudentRecord, staff_id
from ledger.errors import ConcurrencyConflict
from signing import envelope
from tests.conftest import (
    PASSPHRASE,
    SCHOOL_CODE,
    School,
    allow_subjects,
    drop_postgres,
    postgres_url,
)

TEACHERS = ("GV001", "GV002", "GV003")
#: Give up on one write after this many lost races (a livelock, not contention).
MAX_ATTEMPTS = 500


def enrol(s: School, code: str = "HS0001") -> UUID:
    return s.ledger.enrol_student(s.principal, code, "2025-2026", 6, "6A1")


def race_subjects(writers: int, writes: int) -> list[str]:
    """One subject per write, so no write hits the per-term entry count (TT 22/2021 Điều 6)."""
    return [f"Môn {index}.{i}" for index in range(writers) for i in range(writes)]


def assert_linear_chain(ledger: Ledger, rid: UUID, events: int) -> None:
    """``rid`` has exactly ``events`` events, versions 1..events, each chained to the last."""
    rows = ledger.recorder.select_events(rid)
    versions = [r.originator_version for r in rows]
    assert versions == list(range(1, events + 1)), f"versions {versions[:5]}… of {len(rows)}"
    envs = [envelope.decode(r.state) for r in rows]
    assert envs[0].prev == envelope.ZERO_HASH
    for before, after in itertools.pairwise(envs):
        assert after.prev == before.hash
    prevs = Counter(e.prev for e in envs)
    assert prevs.most_common(1)[0][1] == 1, "two events share a prev: the chain forked"
    assert len({e.hash for e in envs}) == events


def assert_writes_landed_once(
    settings: Settings, trust: Trust | None, rid: UUID, writes: list[tuple[int, str]]
) -> None:
    """Each successful write is in the record once, at the version its command returned."""
    fresh = Ledger(settings, trust)  # reads and verifies from storage, not from a cache
    try:
        record = fresh.load(rid, StudentRecord)
        stored = {v: entry[0] for v, entry in record.scores.items()}
    finally:
        fresh.close()
    assert len({v for v, _ in writes}) == len(writes), "two writes got the same version"
    assert stored == dict(writes)


def assert_no_errors(errors: list[str | None]) -> None:
    """Fail with the first writer's error that is not just the barrier it broke for the others."""
    real = [e for e in errors if e and not e.rstrip().endswith("BrokenBarrierError")]
    assert not real, real[0]
    assert not any(errors), next(e for e in errors if e)


def assert_conflict_message(message: str) -> None:
    low = message.lower()
    assert "retry" in low and "reload" in low, message


# -- deterministic races ----------------------------------------------------------------------


def test_lost_race_raises_conflict_and_writes_nothing(school: School) -> None:
    rid = enrol(school)
    teacher = school.teachers["GV001"]
    by = school.staff("GV001")
    a = Ledger(school.settings, school.ledger.trust)
    b = Ledger(school.settings, school.ledger.trust)
    try:
        ra = a.load(rid, StudentRecord)
        rb = b.load(rid, StudentRecord)
        ra.record_score(subject="Toán", term=1, kind="tx", value=Decimal("8.0"), by=by)
        rb.record_score(subject="Ngữ văn", term=1, kind="tx", value=Decimal("3.0"), by=by)
        a.save(ra, signer=teacher)
        with pytest.raises(ConcurrencyConflict) as caught:
            b.save(rb, signer=teacher)
        assert_conflict_message(str(caught.value))
        # The loser wrote nothing: the winner's event is version 2.
        assert_linear_chain(school.ledger, rid, 2)
        assert b.load(rid, StudentRecord).scores[2][0] == "Toán"
        # Reloading and retrying through the command chains to the winner.
        assert b.record_score(teacher, rid, "Ngữ văn", 1, "tx", "3.0") == 3
        assert_linear_chain(school.ledger, rid, 3)
        assert_writes_landed_once(
            school.settings, school.ledger.trust, rid, [(2, "Toán"), (3, "Ngữ văn")]
        )
        report = audit(school.ledger)
        assert report.ok, report.problems
    finally:
        a.close()
        b.close()


def test_lost_race_in_a_batch_writes_none_of_the_batch(school: School) -> None:
    r1 = enrol(school, "HS0001")
    r2 = enrol(school, "HS0002")
    teacher = school.teachers["GV002"]
    by = school.staff("GV002")
    a = Ledger(school.settings, school.ledger.trust)
    b = Ledger(school.settings, school.ledger.trust)
    try:
        batch = [b.load(r1, StudentRecord), b.load(r2, StudentRecord)]
        for rec in batch:
            rec.record_score(subject="Toán", term=1, kind="gk", value=Decimal("6.5"), by=by)
        a.record_score(teacher, r2, "Tin học", 1, "tx", "9.0")  # wins r2 version 2
        with pytest.raises(ConcurrencyConflict) as caught:
            b.save(*batch, signer=teacher)
        assert_conflict_message(str(caught.value))
        # All or nothing: r1, which nobody else touched, did not get its half of the batch.
        assert_linear_chain(school.ledger, r1, 1)
        assert_linear_chain(school.ledger, r2, 2)
        # The failed save left no stale chain head behind in b's caches.
        assert b.record_scores(
            teacher, [(r1, "Toán", 1, "gk", "6.5"), (r2, "Toán", 1, "gk", "6.5")]
        )
        assert_linear_chain(school.ledger, r1, 2)
        assert_linear_chain(school.ledger, r2, 3)
        report = audit(school.ledger)
        assert report.ok, report.problems
    finally:
        a.close()
        b.close()


def test_retry_on_conflict_reloads_and_succeeds(school: School) -> None:
    rid = enrol(school)
    teacher = school.teachers["GV003"]
    by = school.staff("GV003")
    other = Ledger(school.settings, school.ledger.trust)
    mine = Ledger(school.settings, school.ledger.trust)
    attempts: list[int] = []

    def write() -> int:
        attempts.append(1)
        record = mine.load(rid, StudentRecord)
        record.record_score(subject="Sinh học", term=2, kind="ck", value=Decimal("7.5"), by=by)
        if len(attempts) == 1:  # another writer gets in between load and save, once
            other.record_score(teacher, rid, "Hóa học", 2, "ck", "5.0")
        mine.save(record, signer=teacher)
        return int(record.version)

    try:
        assert retry_on_conflict(write) == 3
        assert len(attempts) == 2
        assert_linear_chain(school.ledger, rid, 3)
        assert_writes_landed_once(
            school.settings, school.ledger.trust, rid, [(2, "Hóa học"), (3, "Sinh học")]
        )
    finally:
        other.close()
        mine.close()


# -- threads ------------------------------------------------------------------------------------


class Outcome:
    """What one writer saw: the (version, subject) of each success, and each lost race."""

    def __init__(self) -> None:
        self.writes: list[tuple[int, str]] = []
        self.conflicts: list[str] = []
        self.error: str | None = None


def write_many(
    ledger: Ledger,
    signer: Any,
    owner: UUID,
    rid: UUID,
    index: int,
    writes: int,
    race: Any,
    out: Outcome,
) -> None:
    """Write ``writes`` scores to ``rid``, retrying each lost race.

    The first write loads the record, then waits at ``race`` (a barrier shared
    by all writers) before saving: every writer saves on top of the same
    version, so all but one lose, whatever the scheduling.
    """
    subject = f"Môn {index}.0"
    record = ledger.load(rid, StudentRecord)
    record.record_score(subject=subject, term=1, kind="tx", value=Decimal("5.0"), by=owner)
    race.wait(timeout=120)
    try:
        ledger.save(record, signer=signer)
        out.writes.append((int(record.version), subject))
    except ConcurrencyConflict as e:
        out.conflicts.append(str(e))
        out.writes.append((_retrying(ledger, signer, rid, subject, "5.0", out), subject))
    for i in range(1, writes):
        subject = f"Môn {index}.{i}"
        value = f"{i % 10}.{index % 10}"
        out.writes.append((_retrying(ledger, signer, rid, subject, value, out), subject))


def _retrying(
    ledger: Ledger, signer: Any, rid: UUID, subject: str, value: str, out: Outcome
) -> int:
    for _ in range(MAX_ATTEMPTS):
        try:
            return ledger.record_score(signer, rid, subject, 1, "tx", value)
        except ConcurrencyConflict as e:
            out.conflicts.append(str(e))
    raise AssertionError(f"{subject}: still conflicting after {MAX_ATTEMPTS} attempts")


@pytest.mark.slow
def test_threads_with_own_ledgers_keep_one_linear_chain(school: School) -> None:
    threads_n, writes = 6, 15
    rid = enrol(school)
    allow_subjects(school, race_subjects(threads_n, writes))
    race = threading.Barrier(threads_n)
    outcomes = [Outcome() for _ in range(threads_n)]

    def run(index: int) -> None:
        out = outcomes[index]
        ledger: Ledger | None = None
        try:
            ledger = Ledger(school.settings, school.ledger.trust)
            code = TEACHERS[index % len(TEACHERS)]
            write_many(
                ledger, school.teachers[code], school.staff(code), rid, index, writes, race, out
            )
        except BaseException:
            out.error = traceback.format_exc()
            race.abort()
        finally:
            if ledger is not None:
                ledger.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(threads_n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a writer thread hung"
    assert_no_errors([o.error for o in outcomes])

    conflicts = [c for o in outcomes for c in o.conflicts]
    print(f"{threads_n} threads x {writes} writes: {len(conflicts)} lost races, retried")
    # The barrier race alone makes all writers but one lose once.
    assert len(conflicts) >= threads_n - 1
    for message in set(conflicts):
        assert_conflict_message(message)
    all_writes = [w for o in outcomes for w in o.writes]
    assert len(all_writes) == threads_n * writes
    assert_linear_chain(school.ledger, rid, 1 + len(all_writes))
    assert_writes_landed_once(school.settings, school.ledger.trust, rid, all_writes)
    report = audit(school.ledger)
    assert report.ok, report.problems


# -- processes ----------------------------------------------------------------------------------


def process_writer(
    settings: Settings,
    pki_dir: str,
    passphrase: bytes,
    rid: str,
    index: int,
    writes: int,
    race: Any,
    results: Any,
) -> None:
    """Child process body (spawned): its own PKI, keys, ledger and connections."""
    from signing.pki import DemoPKI

    out = Outcome()
    ledger: Ledger | None = None
    try:
        pki = DemoPKI.load(pki_dir, passphrase)
        ledger = Ledger(settings, Trust(pki.trust_roots(), pki.intermediates()))
        code = TEACHERS[index % len(TEACHERS)]
        signer = pki.signer_for(code)
        write_many(ledger, signer, staff_id(SCHOOL_CODE, code), UUID(rid), index, writes, race, out)
    except BaseException:
        out.error = traceback.format_exc()
        race.abort()
    finally:
        if ledger is not None:
            ledger.close()
    results.put((index, out.writes, out.conflicts, out.error))


@pytest.mark.slow
def test_processes_keep_one_linear_chain(school: School) -> None:
    procs_n, writes = 3, 12
    rid = enrol(school)
    allow_subjects(school, race_subjects(procs_n, writes))
    ctx = multiprocessing.get_context("spawn")
    race = ctx.Barrier(procs_n)
    results = ctx.Queue()
    procs = [
        ctx.Process(
            target=process_writer,
            args=(
                school.settings,
                str(Path(school.pki.directory)),
                PASSPHRASE,
                str(rid),
                i,
                writes,
                race,
                results,
            ),
        )
        for i in range(procs_n)
    ]
    for p in procs:
        p.start()
    try:
        got = [results.get(timeout=300) for _ in procs]
    finally:
        for p in procs:
            p.join(timeout=60)
            if p.is_alive():
                p.kill()
                p.join()
    assert [p.exitcode for p in procs] == [0] * procs_n
    assert_no_errors([err for _, _, _, err in got])

    conflicts = [c for _, _, cs, _ in got for c in cs]
    print(f"{procs_n} processes x {writes} writes: {len(conflicts)} lost races, retried")
    assert len(conflicts) >= procs_n - 1
    for message in set(conflicts):
        assert_conflict_message(message)
    all_writes = [tuple(w) for _, ws, _, _ in got for w in ws]
    assert len(all_writes) == procs_n * writes
    assert_linear_chain(school.ledger, rid, 1 + len(all_writes))
    assert_writes_landed_once(school.settings, school.ledger.trust, rid, all_writes)  # type: ignore[arg-type]
    report = audit(school.ledger)
    assert report.ok, report.problems


# -- known bug ----------------------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.postgres
def test_schema_setup_waits_for_the_advisory_lock(trust: Trust, tmp_path: Path) -> None:
    """Regression: Ledgers opened at once on PostgreSQL failed with "tuple concurrently updated".

    eventsourcing re-runs CREATE OR REPLACE FUNCTION on every open. Schema
    setup now takes an advisory lock: while this test holds it, an opening
    Ledger must wait (seen in pg_locks), and it opens once the lock is freed.
    """
    import psycopg

    from ledger.postgres import _SCHEMA_LOCK

    url = postgres_url()
    try:
        settings = Settings(tmp_path / "data", url)
        Ledger(settings, trust).close()
        opened: list[BaseException | None] = []

        def open_ledger() -> None:
            try:
                Ledger(settings, trust).close()
                opened.append(None)
            except BaseException as e:
                opened.append(e)

        with psycopg.connect(url, autocommit=True) as holder:
            holder.execute("SELECT pg_advisory_lock(%s)", (_SCHEMA_LOCK,))
            thread = threading.Thread(target=open_ledger)
            thread.start()
            deadline = time.monotonic() + 30
            waiting = 0
            while time.monotonic() < deadline and not waiting:
                row = holder.execute(
                    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
                ).fetchone()
                waiting = row[0] if row else 0
                time.sleep(0.01)
            assert waiting, "the opening Ledger did not wait for the schema lock"
            assert not opened
            holder.execute("SELECT pg_advisory_unlock(%s)", (_SCHEMA_LOCK,))
            thread.join(timeout=60)
        assert opened == [None], opened
    finally:
        drop_postgres(url)


@pytest.mark.postgres
def test_many_ledgers_open_at_once_on_postgres(trust: Trust, tmp_path: Path) -> None:
    url = postgres_url()
    try:
        settings = Settings(tmp_path / "data", url)
        Ledger(settings, trust).close()
        for _ in range(3):
            start = threading.Barrier(6)
            errors: list[BaseException] = []

            def open_ledger(start: threading.Barrier = start) -> None:
                try:
                    start.wait()
                    Ledger(settings, trust).close()
                except BaseException as e:
                    errors.append(e)

            threads = [threading.Thread(target=open_ledger) for _ in range(6)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(timeout=60)
            assert errors == []
    finally:
        drop_postgres(url)
