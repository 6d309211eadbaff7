"""The ledger's always-on aggregate cache, on both backends (SQLite, PostgreSQL).

A long-running server loads the same records over and over; the cache keeps them, and must
never let a command act on a stale or half-changed record: what another process wrote is
read before use, a command that fails leaves nothing behind, and a shared snapshot is never
changed under the threads reading it.
"""

from __future__ import annotations

import threading
from collections import Counter
from decimal import Decimal
from uuid import UUID

import pytest

from ledger.application import AggregateCache, Ledger, retry_on_conflict
from ledger.audit import audit
from ledger.domain import SchoolYear, StaffFile, StudentRecord, school_year_id
from ledger.errors import ConcurrencyConflict, InvalidInput, NotAuthorized
from tests.conftest import CLASS_NAME, SCHOOL_YEAR, School


def enrol(s: School, code: str) -> UUID:
    return s.ledger.enrol_student(s.principal, code, SCHOOL_YEAR, 6, CLASS_NAME)


def scores_of(ledger: Ledger, student: UUID) -> list[tuple[str, int, str, Decimal]]:
    record = ledger.load(student, StudentRecord)
    return sorted(
        (e.subject, e.term, e.kind, e.score) for e in record.entries.values() if e.score is not None
    )


def year_id(s: School) -> UUID:
    return school_year_id(s.school, SCHOOL_YEAR)


def test_what_another_process_writes_is_used_at_once(school: School) -> None:
    other = Ledger(school.settings, school.ledger.trust)
    try:
        student = enrol(school, "HS0001")
        gv = school.teachers["GV001"]
        # Both ledgers now hold the record, the school year and GV001's staff file.
        assert school.ledger.record_score(gv, student, "Toán", 1, "tx", "7") == 2
        assert other.record_score(gv, student, "Toán", 1, "tx", "8") == 3
        # The first ledger's parked record is one event behind: it is brought up to date
        # before the command runs, so the write chains on version 3 instead of conflicting.
        assert school.ledger.record_score(gv, student, "Toán", 1, "tx", "9") == 4
        assert [v for *_, v in scores_of(other, student)] == [
            Decimal("7.0"),
            Decimal("8.0"),
            Decimal("9.0"),
        ]
        # Authority is read fresh too: the other process ends GV001's assignment, and the
        # staff file this ledger shares between commands no longer lets GV001 write.
        other.unassign_teaching(
            school.principal, school.staff("GV001"), SCHOOL_YEAR, CLASS_NAME, "Toán"
        )
        with pytest.raises(NotAuthorized):
            school.ledger.record_score(gv, student, "Toán", 1, "gk", "6")
        # And a student enrolled there is in the school year this ledger reads.
        newcomer = other.enrol_student(school.principal, "HS0002", SCHOOL_YEAR, 6, CLASS_NAME)
        year = school.ledger.read(year_id(school), SchoolYear)
        assert newcomer in year.rosters[CLASS_NAME]
    finally:
        other.close()


def test_a_command_that_fails_after_changing_its_record_leaves_no_trace(school: School) -> None:
    student = enrol(school, "HS0001")
    gv = school.teachers["GV001"]
    assert school.ledger.record_score(gv, student, "Toán", 1, "tx", "7") == 2
    # The first entry changes the (cached) record, the second is refused: nothing is saved,
    # and the cache does not keep the record with the first entry applied.
    with pytest.raises(InvalidInput):
        school.ledger.record_scores(
            gv, [(student, "Toán", 1, "tx", "8"), (student, "Toán", 1, "tx", "11")]
        )
    assert school.ledger.load(student, StudentRecord).version == 2
    assert school.ledger.record_score(gv, student, "Ngữ văn", 1, "tx", "6") == 3
    assert scores_of(school.ledger, student) == [
        ("Ngữ văn", 1, "tx", Decimal("6.0")),
        ("Toán", 1, "tx", Decimal("7.0")),
    ]


def test_a_save_that_loses_a_race_leaves_the_cache_as_the_store_is(school: School) -> None:
    other = Ledger(school.settings, school.ledger.trust)
    try:
        student = enrol(school, "HS0001")
        gv = school.teachers["GV001"]
        gv_id = school.staff("GV001")
        record = school.ledger.load(student, StudentRecord)
        record.record_score(subject="Toán", term=1, kind="tx", value=Decimal("5"), by=gv_id)
        other.record_score(gv, student, "Toán", 1, "tx", "9")
        with pytest.raises(ConcurrencyConflict):
            school.ledger.save(record, signer=gv)
        # The losing object is not cached: the next load reads the winner's event.
        assert scores_of(school.ledger, student) == [("Toán", 1, "tx", Decimal("9.0"))]
        assert school.ledger.record_score(gv, student, "Toán", 1, "tx", "4") == 3
    finally:
        other.close()


def test_shared_snapshots_are_never_changed(school: School) -> None:
    before = school.ledger.read(year_id(school), SchoolYear)
    version, roster = before.version, set(before.rosters[CLASS_NAME])
    student = enrol(school, "HS0001")  # changes the school year (a copy of its own)
    assert before.version == version and before.rosters[CLASS_NAME] == roster
    after = school.ledger.read(year_id(school), SchoolYear)
    assert after is not before and after.version == version + 1
    assert after.rosters[CLASS_NAME] == roster | {student}
    # Unchanged records are handed out as they are, without copying.
    assert school.ledger.read(year_id(school), SchoolYear) is after


def test_saving_a_shared_snapshot_is_refused(school: School) -> None:
    staff = school.ledger.read(school.staff("GV002"), StaffFile)
    version = staff.version
    staff.appoint_title(
        title="Giáo viên", rank="III", code="V.07.04.32", decision="QĐ 1", by=school.staff("HT001")
    )
    with pytest.raises(TypeError, match="shared snapshot"):
        school.ledger.save(staff, signer=school.principal)
    assert len(school.ledger.recorder.select_events(school.staff("GV002"))) == version
    fresh = school.ledger.read(school.staff("GV002"), StaffFile)
    assert fresh is not staff and fresh.version == version


def test_threads_writing_through_one_ledger_lose_nothing(school: School) -> None:
    students = [enrol(school, f"HS{i:04d}") for i in range(6)]
    subjects = ["Toán", "Ngữ văn", "Ngoại ngữ 1", "Khoa học tự nhiên"]
    gv = school.teachers["GV001"]
    errors: list[BaseException] = []

    def writer(k: int) -> None:
        # Threads share students (two threads per student), so some saves race.
        try:
            for subject in subjects:
                student = students[k % len(students)]
                kind = "gk" if k < len(students) else "ck"
                retry_on_conflict(
                    lambda s=student, sub=subject, kd=kind: school.ledger.record_score(
                        gv, s, sub, 1, kd, "7.5"
                    )
                )
        except BaseException as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=writer, args=(k,)) for k in range(2 * len(students))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    fresh = Ledger(school.settings, school.ledger.trust)
    try:
        for student in students:
            kinds = Counter((sub, kd) for sub, _, kd, _ in scores_of(fresh, student))
            assert kinds == Counter({(sub, kd): 1 for sub in subjects for kd in ("gk", "ck")})
        assert audit(fresh).ok
    finally:
        fresh.close()


def test_the_cache_stays_within_its_bounds(school: School) -> None:
    cache = AggregateCache(events=40, count=3)
    school.ledger.aggregates = cache
    students = [enrol(school, f"HS{i:04d}") for i in range(5)]
    gv = school.teachers["GV001"]
    for student in students:
        school.ledger.record_score(gv, student, "Toán", 1, "tx", "8")
    assert len(cache._parked) <= 3 and cache._weight["parked"] <= 40
    # A bulk run asks for room; the bounds come back afterwards.
    with school.ledger.cached(100):
        assert cache.count == 100 and cache.events is None
    assert (cache.count, cache.events) == (3, 40)
    # What the bounds dropped is read again from the store.
    assert [v for *_, v in scores_of(school.ledger, students[0])] == [Decimal("8.0")]


def test_changing_what_load_returned_without_saving_changes_nothing(school: School) -> None:
    student = enrol(school, "HS0001")
    gv = school.teachers["GV001"]
    assert school.ledger.record_score(gv, student, "Toán", 1, "tx", "7") == 2
    # Outside a command, load() hands out a copy: the cached record is not the caller's.
    record = school.ledger.load(student, StudentRecord)
    record.record_score(
        subject="Toán", term=1, kind="tx", value=Decimal("1"), by=school.staff("GV001")
    )
    assert school.ledger.read(student, StudentRecord).version == 2
    assert school.ledger.record_score(gv, student, "Toán", 1, "tx", "8") == 3
    assert [v for *_, v in scores_of(school.ledger, student)] == [Decimal("7.0"), Decimal("8.0")]
