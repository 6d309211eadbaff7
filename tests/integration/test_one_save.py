"""``Ledger.one_save``: several commands of one signer written as one signed save, or nothing."""

from __future__ import annotations

from uuid import UUID

import pytest

from ledger.audit import audit
from ledger.domain import StudentRecord
from ledger.errors import InvalidInput, NotAuthorized
from tests.conftest import CLASS_NAME, SCHOOL_YEAR, School


def _enrol(s: School, n: int) -> list[UUID]:
    return [
        s.ledger.enrol_student(s.principal, f"HS1S{i:06d}", SCHOOL_YEAR, 6, CLASS_NAME)
        for i in range(n)
    ]


def _head(s: School) -> int:
    return int(s.ledger.recorder.max_notification_id() or 0)


def test_a_class_column_is_one_save_and_audits(school: School) -> None:
    s = school
    students = _enrol(s, 5)
    gvcn = s.teachers["GV001"]
    before = _head(s)
    with s.ledger.one_save(gvcn):
        for rid in students:
            s.ledger.assess_conduct(gvcn, rid, 1, "Tốt")
            s.ledger.record_absences(gvcn, rid, 1, 2)  # the same record again, same save
        assert _head(s) == before  # nothing is written until the block ends
    assert _head(s) == before + 2 * len(students)
    for rid in students:
        record = s.ledger.load(rid, StudentRecord)
        assert record.conduct[(SCHOOL_YEAR, 1)] == "Tốt"
        assert record.absences[(SCHOOL_YEAR, 1)] == 2
    report = audit(s.ledger)
    assert report.ok, report.problems


def test_an_error_inside_writes_nothing(school: School) -> None:
    s = school
    students = _enrol(s, 3)
    gvcn = s.teachers["GV001"]
    before = _head(s)
    with pytest.raises(InvalidInput), s.ledger.one_save(gvcn):
        s.ledger.assess_conduct(gvcn, students[0], 1, "Tốt")
        s.ledger.assess_conduct(gvcn, students[1], 1, "Tuyệt vời")  # not a level
    assert _head(s) == before
    # The cache did not keep the unsaved change either.
    assert (SCHOOL_YEAR, 1) not in s.ledger.load(students[0], StudentRecord).conduct
    s.ledger.assess_conduct(gvcn, students[0], 1, "Khá")
    assert s.ledger.load(students[0], StudentRecord).conduct[(SCHOOL_YEAR, 1)] == "Khá"


def test_every_command_inside_is_the_signers(school: School) -> None:
    s = school
    (rid,) = _enrol(s, 1)
    before = _head(s)
    with pytest.raises(NotAuthorized), s.ledger.one_save(s.teachers["GV001"]):
        s.ledger.assess_conduct(s.teachers["GV001"], rid, 1, "Tốt")
        # GV002 may record this score, but not inside GV001's save.
        s.ledger.record_score(s.teachers["GV002"], rid, "Toán", 1, "tx", "8.0")
    assert _head(s) == before
    with pytest.raises(TypeError), s.ledger.one_save(s.principal), s.ledger.one_save(s.principal):
        pass
