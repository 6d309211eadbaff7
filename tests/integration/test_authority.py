"""Authority (DESIGN.md invariant 5): refused at the command, flagged by the audit.

Class 6A2 is set up narrowly: GV001 teaches Toán, GV002 teaches Ngữ văn, GV003 is
the GVCN. Each refusal writes nothing; each forged event (the same change saved
straight through the aggregates, validly signed) is reported by ``audit`` with the
check ``authority`` (or ``derivation`` for a falsified year result).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from uuid import UUID

import pytest

from ledger.application import Ledger
from ledger.audit import audit
from ledger.domain import COMMENTED, SCORED, SchoolYear, StudentRecord, school_year_id
from ledger.errors import Incomplete, NotAuthorized, SignerNotValid, TermClosed, UnknownSigner
from tests.conftest import SCHOOL_YEAR, School

CLASS = "6A2"
#: A small plan: Toán 35 periods (2 ĐĐGtx per term), Ngữ văn 35, Thể dục by comment.
PLAN = {"Toán": (35, SCORED), "Ngữ văn": (35, SCORED), "Giáo dục thể chất": (70, COMMENTED)}


@contextmanager
def writes_nothing(ledger: Ledger) -> Iterator[None]:
    before = ledger.recorder.max_notification_id()
    yield
    assert ledger.recorder.max_notification_id() == before


@pytest.fixture
def narrow(school: School) -> School:
    p = school.principal
    school.ledger.open_class(p, SCHOOL_YEAR, CLASS, 6)
    school.ledger.plan_subjects(p, SCHOOL_YEAR, CLASS, PLAN)
    school.ledger.assign_teachings(
        p, school.staff("GV001"), SCHOOL_YEAR, [(CLASS, "Toán"), (CLASS, "Giáo dục thể chất")]
    )
    school.ledger.assign_teaching(p, school.staff("GV002"), SCHOOL_YEAR, CLASS, "Ngữ văn")
    school.ledger.assign_homeroom(p, school.staff("GV003"), SCHOOL_YEAR, CLASS)
    return school


def enrol(s: School, code: str) -> UUID:
    return s.ledger.enrol_student(s.principal, code, SCHOOL_YEAR, 6, CLASS)


def fill_term(
    s: School, rid: UUID, term: int, toan: str = "8.0", van: str = "7.0", toan_tx: int = 2
) -> None:
    gv1, gv2 = s.teachers["GV001"], s.teachers["GV002"]
    kinds = ["tx"] * toan_tx + ["gk", "ck"]
    s.ledger.record_scores(gv1, [(rid, "Toán", term, k, toan) for k in kinds])
    s.ledger.record_scores(gv2, [(rid, "Ngữ văn", term, k, van) for k in ("tx", "tx", "gk", "ck")])
    s.ledger.assess_comments(
        gv1, [(rid, "Giáo dục thể chất", term, k, True) for k in ("tx", "tx", "gk", "ck")]
    )
    s.ledger.assess_conduct(s.teachers["GV003"], rid, term, "Tốt")


def flagged(ledger: Ledger, check: str = "authority") -> list[str]:
    report = audit(ledger)
    # The replay in a forked process (socai audit on every core) finds exactly the same.
    parallel = audit(ledger, jobs=2)
    assert sorted(map(repr, parallel.problems)) == sorted(map(repr, report.problems))
    assert (parallel.events, parallel.records) == (report.events, report.records)
    return [p.detail for p in report.problems if p.check == check]


# -- refused at the command -------------------------------------------------------------------


def test_teacher_cannot_score_a_subject_or_class_not_assigned(narrow: School) -> None:
    rid = enrol(narrow, "HS-A1")
    with writes_nothing(narrow.ledger), pytest.raises(NotAuthorized, match="not assigned"):
        narrow.ledger.record_score(narrow.teachers["GV002"], rid, "Toán", 1, "tx", "7.0")
    with writes_nothing(narrow.ledger), pytest.raises(NotAuthorized):
        # One bad entry in a batch refuses the whole batch.
        narrow.ledger.record_scores(
            narrow.teachers["GV001"],
            [(rid, "Toán", 1, "tx", "7.0"), (rid, "Ngữ văn", 1, "tx", "7.0")],
        )
    assert audit(narrow.ledger).ok


def test_teacher_cannot_act_as_principal(narrow: School) -> None:
    rid = enrol(narrow, "HS-A2")
    gv = narrow.teachers["GV001"]
    with writes_nothing(narrow.ledger), pytest.raises(NotAuthorized, match="principal"):
        narrow.ledger.close_term(gv, SCHOOL_YEAR, CLASS, 1)
    with writes_nothing(narrow.ledger), pytest.raises(NotAuthorized, match="principal"):
        narrow.ledger.enrol_student(gv, "HS-A3", SCHOOL_YEAR, 6, CLASS)
    with writes_nothing(narrow.ledger), pytest.raises(NotAuthorized):
        narrow.ledger.assign_teaching(gv, narrow.staff("GV001"), SCHOOL_YEAR, CLASS, "Ngữ văn")
    with writes_nothing(narrow.ledger), pytest.raises(NotAuthorized, match="homeroom"):
        narrow.ledger.assess_conduct(gv, rid, 1, "Tốt")


def test_revoked_certificate_is_refused(narrow: School) -> None:
    rid = enrol(narrow, "HS-A4")
    gv = narrow.teachers["GV001"]
    narrow.ledger.revoke_certificate(narrow.principal, narrow.staff("GV001"), gv.fingerprint)
    with writes_nothing(narrow.ledger), pytest.raises((SignerNotValid, UnknownSigner)):
        narrow.ledger.record_score(gv, rid, "Toán", 1, "tx", "7.0")


def test_closing_needs_every_entry_and_then_locks_the_term(narrow: School) -> None:
    rid = enrol(narrow, "HS-A5")
    narrow.ledger.record_score(narrow.teachers["GV001"], rid, "Toán", 1, "tx", "7.0")
    with writes_nothing(narrow.ledger), pytest.raises(Incomplete) as missing:
        narrow.ledger.close_term(narrow.principal, SCHOOL_YEAR, CLASS, 1)
    assert "HS-A5" in str(missing.value) and "Toán HK1: 1/2 ĐĐGtx" in str(missing.value)
    assert "Ngữ văn HK1: thiếu ĐĐGgk" in str(missing.value)
    narrow.ledger.correct_score(narrow.teachers["GV001"], rid, 2, "7.5", "nhập nhầm")
    fill_term(narrow, rid, 1, toan_tx=1)
    narrow.ledger.close_term(narrow.principal, SCHOOL_YEAR, CLASS, 1)
    with writes_nothing(narrow.ledger), pytest.raises(TermClosed):
        narrow.ledger.record_score(narrow.teachers["GV001"], rid, "Toán", 1, "tx", "7.0")


def test_correction_after_close_needs_the_principal(narrow: School) -> None:
    rid = enrol(narrow, "HS-A6")
    fill_term(narrow, rid, 1)
    narrow.ledger.close_term(narrow.principal, SCHOOL_YEAR, CLASS, 1)
    record = narrow.ledger.load(rid, StudentRecord)
    toan = min(v for v, e in record.entries.items() if e.subject == "Toán")
    gv = narrow.teachers["GV001"]
    with writes_nothing(narrow.ledger), pytest.raises(TermClosed, match="principal"):
        narrow.ledger.correct_score(gv, rid, toan, "9.0", "chấm lại")
    # Only the entry's teacher may propose; only the principal may approve.
    with writes_nothing(narrow.ledger), pytest.raises(NotAuthorized):
        narrow.ledger.propose_correction(narrow.teachers["GV002"], rid, toan, "9.0", "x")
    proposal = narrow.ledger.propose_correction(gv, rid, toan, "9.0", "chấm lại bài")
    assert narrow.ledger.load(rid, StudentRecord).entries[toan].score == Decimal("8.0")
    with writes_nothing(narrow.ledger), pytest.raises(NotAuthorized, match="principal"):
        narrow.ledger.approve_correction(gv, rid, proposal)
    narrow.ledger.approve_correction(narrow.principal, rid, proposal)
    assert narrow.ledger.load(rid, StudentRecord).entries[toan].score == Decimal("9.0")
    assert audit(narrow.ledger).ok


def test_year_result_only_from_the_homeroom_teacher_and_recomputable(narrow: School) -> None:
    rid = enrol(narrow, "HS-A7")
    for term in (1, 2):
        fill_term(narrow, rid, term, toan="4.0" if term == 2 else "5.0", van="6.0")
        narrow.ledger.close_term(narrow.principal, SCHOOL_YEAR, CLASS, term)
    with writes_nothing(narrow.ledger), pytest.raises(NotAuthorized, match="homeroom"):
        narrow.ledger.record_year_result(narrow.teachers["GV001"], rid)
    result = narrow.ledger.record_year_result(narrow.teachers["GV003"], rid)
    # Toán: HK1 5.0, HK2 4.0 → ĐTBmcn (5.0 + 2×4.0)/3 = 4.33 → 4.3 (TT 22/2021 Điều 9 k.1).
    assert result["subjects"]["Toán"] == {
        "assessed": SCORED,
        "term1": "5.0",
        "term2": "4.0",
        "year": "4.3",
        "reassessed": None,
    }
    assert result["regulation"] == "TT22/2021"
    assert result["conduct"]["year"] == "Tốt"
    # Fewer than 6 scored subjects ≥ 5.0: Chưa đạt, and Toán < 5.0 is re-assessed (Điều 14).
    assert result["learning"] == "Chưa đạt"
    assert result["promotion"] == "Phải kiểm tra, đánh giá lại"
    narrow.ledger.reassess_subject(narrow.teachers["GV001"], rid, "Toán", "6.0")
    final = narrow.ledger.record_summer_result(narrow.teachers["GV003"], rid)
    assert final["learning_after_reassessment"] is not None
    assert audit(narrow.ledger).ok


# -- forged straight into the store: flagged by the audit ----------------------------------------


def test_forged_score_from_an_unassigned_teacher_is_flagged(narrow: School) -> None:
    rid = enrol(narrow, "HS-F1")
    record = narrow.ledger.load(rid, StudentRecord)
    record.record_score(
        subject="Toán", term=1, kind="tx", value=Decimal("10.0"), by=narrow.staff("GV002")
    )
    narrow.ledger.save(record, signer=narrow.teachers["GV002"])
    (detail,) = flagged(narrow.ledger)
    assert "ScoreRecorded" in detail and "not assigned" in detail


def test_forged_term_close_by_a_teacher_is_flagged(narrow: School) -> None:
    year = narrow.ledger.load(school_year_id(narrow.school, SCHOOL_YEAR), SchoolYear)
    year.close_term(class_name=CLASS, term=1, by=narrow.staff("GV001"))
    narrow.ledger.save(year, signer=narrow.teachers["GV001"])
    (detail,) = flagged(narrow.ledger)
    assert "TermClosed" in detail and "principal" in detail


def test_forged_correction_after_close_without_countersignature_is_flagged(
    narrow: School,
) -> None:
    rid = enrol(narrow, "HS-F2")
    fill_term(narrow, rid, 1)
    narrow.ledger.close_term(narrow.principal, SCHOOL_YEAR, CLASS, 1)
    record = narrow.ledger.load(rid, StudentRecord)
    toan = min(v for v, e in record.entries.items() if e.subject == "Toán")
    record.correct_score(corrects=toan, value=Decimal("10.0"), reason="x", by=narrow.staff("GV001"))
    narrow.ledger.save(record, signer=narrow.teachers["GV001"])
    (detail,) = flagged(narrow.ledger)
    assert "ScoreCorrected" in detail and "closed" in detail


def test_forged_approval_by_a_teacher_is_flagged(narrow: School) -> None:
    rid = enrol(narrow, "HS-F3")
    fill_term(narrow, rid, 1)
    narrow.ledger.close_term(narrow.principal, SCHOOL_YEAR, CLASS, 1)
    record = narrow.ledger.load(rid, StudentRecord)
    toan = min(v for v, e in record.entries.items() if e.subject == "Toán")
    proposal = narrow.ledger.propose_correction(
        narrow.teachers["GV001"], rid, toan, "9.5", "chấm lại"
    )
    record = narrow.ledger.load(rid, StudentRecord)
    record.approve_correction(proposal=proposal, by=narrow.staff("GV001"))
    narrow.ledger.save(record, signer=narrow.teachers["GV001"])
    (detail,) = flagged(narrow.ledger)
    assert "CorrectionApproved" in detail


def test_score_after_the_assignment_ended_is_flagged(narrow: School) -> None:
    """Authority is judged at the event's place in the log, not by today's assignments."""
    rid = enrol(narrow, "HS-F4")
    narrow.ledger.record_score(narrow.teachers["GV002"], rid, "Ngữ văn", 1, "tx", "7.0")
    narrow.ledger.unassign_teaching(
        narrow.principal, narrow.staff("GV002"), SCHOOL_YEAR, CLASS, "Ngữ văn"
    )
    with pytest.raises(NotAuthorized):
        narrow.ledger.record_score(narrow.teachers["GV002"], rid, "Ngữ văn", 1, "tx", "7.0")
    assert audit(narrow.ledger).ok  # the earlier score was within the assignment
    record = narrow.ledger.load(rid, StudentRecord)
    record.record_score(
        subject="Ngữ văn", term=1, kind="tx", value=Decimal("9.0"), by=narrow.staff("GV002")
    )
    narrow.ledger.save(record, signer=narrow.teachers["GV002"])
    assert len(flagged(narrow.ledger)) == 1


def test_falsified_year_result_is_flagged(narrow: School) -> None:
    rid = enrol(narrow, "HS-F5")
    for term in (1, 2):
        fill_term(narrow, rid, term)
        narrow.ledger.close_term(narrow.principal, SCHOOL_YEAR, CLASS, term)
    result = narrow.ledger.record_year_result(narrow.teachers["GV003"], rid)
    record = narrow.ledger.load(rid, StudentRecord)
    forged = {**result, "learning": "Tốt", "award": "Học sinh Giỏi"}
    record.record_year_result(
        school_year=SCHOOL_YEAR, stage="year", result=forged, by=narrow.staff("GV003")
    )
    narrow.ledger.save(record, signer=narrow.teachers["GV003"])
    (detail,) = flagged(narrow.ledger, "derivation")
    assert "award" in detail and "learning" in detail
