"""``socai demo``'s seed: a realistic THCS school year, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from api.cli import open_ledger
from api.demo import (
    BIRTH_YEAR,
    DEMO_STAFF,
    PARTNER_CODE,
    SCHOOL_YEAR,
    class_count,
    initialise,
    seed,
    staff_identity,
    student_identity,
)
from ledger.application import Ledger, Settings
from ledger.assessment import Promotion, comment_regular_count, regular_score_count
from ledger.audit import audit
from ledger.catalog import THCS_PLAN
from ledger.domain import (
    COMMENTED,
    DEPUTY,
    PRINCIPAL,
    STAFF_OFFICER,
    SchoolYear,
    StaffFile,
    StudentRecord,
    school_id,
    school_year_id,
    staff_id,
    student_id,
)
from ledger.errors import AlreadyExists
from ledger.results import AFTER_SUMMER
from signing.pki import DemoPKI
from tests.conftest import drop_postgres, postgres_url

#: 3 classes (3, 2 and 2 students): the re-sit student, the summer-training one and the
#: student transferred in each have classmates.
STUDENTS = 7
SCHOOL = "79000701"


@dataclass
class Seeded:
    settings: Settings
    ledger: Ledger
    pki: DemoPKI
    summary: dict[str, Any]

    @property
    def school(self) -> UUID:
        return school_id(SCHOOL)

    def year(self, school: str = SCHOOL) -> SchoolYear:
        return self.ledger.load(school_year_id(school_id(school), SCHOOL_YEAR), SchoolYear)

    def students(self) -> list[UUID]:
        year = self.year()
        return sorted(s for roster in year.rosters.values() for s in roster)

    def record(self, code: str) -> StudentRecord:
        return self.ledger.load(student_id(code), StudentRecord)


def _seed(data: Path, url: str | None, students: int) -> Seeded:
    settings = Settings(data, url)
    initialise(settings)
    ledger, pki = open_ledger(settings)
    assert pki is not None
    summary = seed(ledger, pki, settings, students=students)
    return Seeded(settings, ledger, pki, summary)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def seeded(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Seeded]:
    url = postgres_url() if request.param == "postgres" else None
    try:
        s = _seed(tmp_path_factory.mktemp(f"demo-{request.param}") / "data", url, STUDENTS)
        try:
            yield s
        finally:
            s.ledger.close()
    finally:
        if url is not None:
            drop_postgres(url)


def _history(s: Seeded, record: UUID) -> list[dict[str, Any]]:
    return s.ledger.history(record)


def test_summary_counts(seeded: Seeded) -> None:
    summary = seeded.summary
    assert summary["classes"] == class_count(STUDENTS) == 3
    assert summary["class_names"] == ["6A1", "6A2", "6A3"]
    assert summary["students"] == STUDENTS == len(seeded.students())
    assert summary["staff"] == len(DEMO_STAFF) and summary["certificates"] == len(DEMO_STAFF)
    assert summary["corrections"] == 2 and summary["resits"] == 1
    assert summary["summer_training"] == 1
    assert summary["transfers"] == {"students_in": 1, "staff_out": 1}
    # Student-terms: 6 here for both terms, the transferred student's term II here and term I
    # at the partner school with its 2 classmates.
    student_terms = (STUDENTS - 1) * 2 + 1 + 3
    assert summary["scores"] == 42 * student_terms
    assert summary["comments"] == 16 * student_terms
    assert summary["events"] == seeded.ledger.recorder.max_notification_id()


def test_every_class_has_its_plan_its_teachers_and_a_homeroom_teacher(seeded: Seeded) -> None:
    year = seeded.year()
    assert year.level == "THCS" and set(year.classes) == {"6A1", "6A2", "6A3"}
    taught: dict[str, set[str]] = {c: set() for c in year.classes}
    homerooms: dict[str, str] = {}
    for spec in DEMO_STAFF:
        # From the events: a teacher transferred at the end of the year has no post left.
        for e in _history(seeded, staff_id(SCHOOL, spec.code)):
            if e["event"] == "TeachingAssigned":
                taught[e["fields"]["class_name"]].add(e["fields"]["subject"])
            if e["event"] == "HomeroomAssigned":
                assert e["fields"]["class_name"] not in homerooms
                homerooms[e["fields"]["class_name"]] = spec.code
    for class_name in year.classes:
        plan = year.plans[class_name]
        assert {s: (p.periods_per_year, p.assessed) for s, p in plan.items()} == THCS_PLAN
        assert taught[class_name] == set(THCS_PLAN), class_name
        assert year.is_closed(class_name, 1) and year.is_closed(class_name, 2)
    assert set(homerooms) == set(year.classes)


def test_every_student_has_every_assessment_and_a_year_result(seeded: Seeded) -> None:
    for rid in seeded.students():
        record = seeded.ledger.load(rid, StudentRecord)
        for term in (1, 2):
            for subject, (periods, assessed) in THCS_PLAN.items():
                kinds = [
                    e.kind
                    for e in record.entries_of(SCHOOL_YEAR).values()
                    if e.subject == subject and e.term == term
                ]
                regular = (
                    comment_regular_count()
                    if assessed == COMMENTED
                    else regular_score_count(periods)
                )
                assert sorted(kinds) == sorted(["tx"] * regular + ["gk", "ck"]), (subject, term)
            assert (SCHOOL_YEAR, term) in record.conduct
            assert (SCHOOL_YEAR, term) in record.absences
        result = record.results[SCHOOL_YEAR]
        assert result["regulation"] == "TT22/2021"
        assert result["promotion"] in {
            Promotion.PROMOTED.value,
            Promotion.PROMOTED_AFTER_REASSESSMENT.value,
            Promotion.PROMOTED_AFTER_SUMMER_TRAINING.value,
        }
        events = [e["event"] for e in _history(seeded, rid)]
        assert events.count("RemarkRecorded") >= 1  # at least the GVCN's year remark


def test_resit_and_summer_training(seeded: Seeded) -> None:
    examples = seeded.summary["examples"]
    resit = seeded.record(examples["resit"])
    assert resit.results[SCHOOL_YEAR]["stage"] == AFTER_SUMMER
    assert resit.results[SCHOOL_YEAR]["promotion"] == Promotion.PROMOTED_AFTER_REASSESSMENT.value
    assert resit.results[SCHOOL_YEAR]["learning_after_reassessment"] is not None
    assert {s for _, s in resit.reassessed} == {"Toán", "Khoa học tự nhiên", "Giáo dục thể chất"}
    events = [(e["event"], e["fields"]) for e in _history(seeded, student_id(examples["resit"]))]
    results = [f for name, f in events if name == "YearResultRecorded"]
    assert [r["stage"] for r in results] == ["year", AFTER_SUMMER]
    assert results[0]["result"]["promotion"] == Promotion.REASSESSMENT_REQUIRED.value
    assert results[0]["result"]["learning"] == "Chưa đạt"
    names = [name for name, _ in events]
    assert names.index("SubjectReassessed") > names.index("YearResultRecorded")

    summer = seeded.record(examples["summer_training"])
    result = summer.results[SCHOOL_YEAR]
    assert result["conduct"]["year"] == "Chưa đạt" and result["conduct_after_summer"] == "Đạt"
    assert result["promotion"] == Promotion.PROMOTED_AFTER_SUMMER_TRAINING.value


def test_corrections_direct_and_countersigned(seeded: Seeded) -> None:
    code = seeded.summary["examples"]["corrected"]
    events = _history(seeded, student_id(code))
    by_name = {e["event"]: e for e in events}
    principal = str(staff_id(SCHOOL, "HT001"))
    proposed, approved = by_name["CorrectionProposed"], by_name["CorrectionApproved"]
    assert approved["signer_owner"] == principal
    assert proposed["signer_owner"] != principal and proposed["fields"]["reason"]
    assert approved["fields"]["proposal"] == proposed["version"]
    assert by_name["ScoreCorrected"]["signer_owner"] != principal  # the teacher's own, term open
    record = seeded.record(code)
    assert len(record.corrections) == 2
    corrected = record.entries[proposed["fields"]["corrects"]]
    assert str(corrected.score) == proposed["fields"]["value"]
    assert corrected.corrected_by_version == approved["version"]


def test_transferred_student_history_spans_both_schools(seeded: Seeded) -> None:
    code = seeded.summary["examples"]["transferred"]
    assert code.startswith(f"HS{PARTNER_CODE}")
    events = _history(seeded, student_id(code))
    names = [e["event"] for e in events]
    assert names[0] == "Enrolled" and events[0]["fields"]["school"] == school_id(PARTNER_CODE)
    cut = names.index("TransferredIn")
    assert names[cut - 1] == "TransferredOut"
    assert events[cut - 1]["fields"]["to_school_code"] == SCHOOL
    partner_staff = {str(staff_id(PARTNER_CODE, c)) for c in ("HT201", "GV201", "GV202", "GV203")}
    home_staff = {str(staff_id(SCHOOL, s.code)) for s in DEMO_STAFF}
    assert {e["signer_owner"] for e in events[: cut - 1]} <= partner_staff
    assert {e["signer_owner"] for e in events[cut:]} <= home_staff
    term1 = [e for e in events[:cut] if e["event"] == "ScoreRecorded"]
    term2 = [e for e in events[cut:] if e["event"] == "ScoreRecorded"]
    assert term1 and {e["fields"]["term"] for e in term1} == {1}
    assert term2 and {e["fields"]["term"] for e in term2} == {2}
    record = seeded.record(code)
    assert record.school == seeded.school and record.class_name == "6A2"
    assert student_id(code) in seeded.year().rosters["6A2"]
    assert student_id(code) not in seeded.year(PARTNER_CODE).rosters["6B"]
    # The year result counts the partner school's term I.
    assert record.results[SCHOOL_YEAR]["subjects"]["Toán"]["term1"]


def test_identities_are_encrypted_vietnamese_and_consistent(seeded: Seeded) -> None:
    for rid in seeded.students():
        record = seeded.ledger.load(rid, StudentRecord)
        identity = seeded.ledger.identity_of(rid)
        assert identity == student_identity(record.student_code, BIRTH_YEAR)
        assert record.identity is not None and identity["ho_va_ten"] not in record.identity
        assert re.fullmatch(r"\S+( \S+){2}", identity["ho_va_ten"])
        # Số định danh (DOMAIN.md §7.1): province, century and gender, year, 6 digits.
        number, born = identity["so_dinh_danh_ca_nhan"], date.fromisoformat(identity["ngay_sinh"])
        assert re.fullmatch(r"\d{12}", number) and born.year == BIRTH_YEAR
        assert number[3] == ("3" if identity["gioi_tinh"] == "Nữ" else "2")
        assert number[4:6] == f"{born.year % 100:02d}"
    names = [seeded.ledger.identity_of(rid)["ho_va_ten"] for rid in seeded.students()]  # type: ignore[index]
    assert any(not n.isascii() for n in names)  # diacritics
    spec = DEMO_STAFF[3]
    staff = seeded.ledger.identity_of(staff_id(SCHOOL, spec.code))
    assert staff == staff_identity(spec.code, spec.name, spec.female, spec.born)
    assert staff is not None and staff["ho_va_ten"] == "Nguyễn Văn An"
    assert staff["so_dinh_danh_ca_nhan"][3:6] == "080"  # born 1980, male, 20th century


def test_staff_files(seeded: Seeded) -> None:
    files = {s.code: seeded.ledger.load(staff_id(SCHOOL, s.code), StaffFile) for s in DEMO_STAFF}
    assert files["HT001"].is_principal
    assert DEPUTY in files["PHT001"].positions
    assert STAFF_OFFICER in files["CB001"].positions and files["CB001"].is_staff_officer
    assert not files["GV011"].active  # điều động at the end of the year
    assert files["GV010"].disciplines == [SCHOOL_YEAR]
    assert files["GV010"].evaluations[SCHOOL_YEAR] == "Không hoàn thành nhiệm vụ"
    for code, f in files.items():
        assert f.identity is not None and f.rank and f.salary_step, code
        assert SCHOOL_YEAR in f.evaluations, code
        names = {e["event"] for e in _history(seeded, staff_id(SCHOOL, code))}
        assert {"TitleAppointed", "SalaryStepRaised", "TrainingCompleted"} <= names, code
        assert {"IdentityRecorded", "CertificateRegistered"} <= names, code
    assert files["GV001"].rank == "Hạng II"
    awards = [
        code
        for code in files
        if "AwardGranted" in {e["event"] for e in _history(seeded, staff_id(SCHOOL, code))}
    ]
    assert awards
    officer = str(staff_id(SCHOOL, "CB001"))
    hr = [e for e in _history(seeded, staff_id(SCHOOL, "GV001")) if e["event"] == "TitleAppointed"]
    assert hr[0]["signer_owner"] == officer  # the staff officer keeps the files
    assert files["HT001"].title != PRINCIPAL and files["HT001"].is_principal


def test_audit_passes(seeded: Seeded) -> None:
    report = audit(seeded.ledger)
    assert report.ok, report.problems[:5]
    assert report.events == seeded.summary["events"]


def test_seed_refuses_a_seeded_year(seeded: Seeded) -> None:
    before = seeded.ledger.recorder.max_notification_id()
    with pytest.raises(AlreadyExists, match="already seeded"):
        seed(seeded.ledger, seeded.pki, seeded.settings, students=STUDENTS)
    assert seeded.ledger.recorder.max_notification_id() == before


def test_same_students_same_data(seeded: Seeded, tmp_path: Path) -> None:
    """Seeding again, on SQLite, gives the same data (on PostgreSQL: across the two engines)."""
    again = _seed(tmp_path / "data", None, STUDENTS)
    try:
        assert again.summary["examples"] == seeded.summary["examples"]
        for rid in seeded.students():
            first = seeded.ledger.load(rid, StudentRecord)
            second = again.ledger.load(rid, StudentRecord)
            assert first.results == second.results
            assert seeded.ledger.identity_of(rid) == again.ledger.identity_of(rid)
            assert first.identity != second.identity  # a fresh nonce: only the plaintext repeats
    finally:
        again.ledger.close()
