"""The read models of :mod:`projections.views`, on SQLite and PostgreSQL alike.

One school year is filled for two students of the fixture's class 6A1 (every
score and comment assessment of both terms, a direct correction of a score
and of a comment while the term is open, a correction proposed by the teacher
and approved by the principal after the close, conduct, absences, remarks,
year results, an award), and the staff file of GV002 gets its HR events. Then:

- each view's queries give back what the commands were given, and the year
  result :mod:`ledger.results` computes from the record;
- a rebuild from scratch writes the same rows as catching up in increments
  (small pages, and a new process with cold caches half-way);
- a live view shows a new score once it has caught up;
- personal data: the canary name in the identities never reaches a view's
  tables (nor, on SQLite, any byte of their files), before or after
  ``shred``; after it the identity is reported shredded and the results stay;
- a transferred record's history follows it to the receiving school.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from ledger import assessment as rules
from ledger.application import Ledger, Settings, Trust
from ledger.domain import (
    COMMENTED,
    PRINCIPAL,
    SchoolYear,
    StudentRecord,
    school_year_id,
)
from ledger.results import year_result
from projections.runner import ViewRunner
from projections.store import RESERVED_TABLES
from projections.views import (
    ALL_VIEWS,
    DashboardView,
    GradebookView,
    TranscriptView,
    Views,
    open_views,
)
from signing.pki import DemoPKI, StaffSpec, create_demo_pki
from tests.conftest import CLASS_NAME, PASSPHRASE, SCHOOL_YEAR, TEST_PLAN, School, open_class

CANARY = "Canary Vẹt Xanh"
STAFF_CANARY = "Canary Sáo Nâu"
SCORED_SUBJECTS = sorted(s for s, (_, how) in TEST_PLAN.items() if how != COMMENTED)
COMMENT_SUBJECTS = sorted(s for s, (_, how) in TEST_PLAN.items() if how == COMMENTED)


def kinds(subject: str) -> list[str]:
    periods, how = TEST_PLAN[subject]
    if how == COMMENTED:
        return ["tx"] * rules.comment_regular_count() + ["gk", "ck"]
    return ["tx"] * rules.regular_score_count(periods) + ["gk", "ck"]


def score_for(student: int, subject: str, term: int, k: int) -> str:
    """A deterministic score: varied by student, subject, term and position."""
    base = 6 + student * 2 + (SCORED_SUBJECTS.index(subject) % 3) * 0.5 - term * 0.3
    return f"{min(10.0, base + k * 0.1):.1f}"


@dataclass
class Year:
    """What the commands were given, to check the views against."""

    students: list[UUID]
    #: (student, version) -> (subject, term, kind, value text, teacher)
    entries: dict[tuple[UUID, int], tuple[str, int, str, str, UUID]] = field(default_factory=dict)
    #: (student, corrected version) -> (value, correcting version, corrected by, approved by)
    corrections: dict[tuple[UUID, int], tuple[str, int, UUID, UUID | None]] = field(
        default_factory=dict
    )
    conduct: dict[tuple[UUID, int], str] = field(default_factory=dict)
    absences: dict[tuple[UUID, int], int] = field(default_factory=dict)
    results: dict[UUID, dict[str, Any]] = field(default_factory=dict)
    remarks: dict[UUID, list[tuple[str, str]]] = field(default_factory=dict)


def enrol(s: School, year: Year) -> None:
    for i, code in enumerate(("HS-V1", "HS-V2")):
        identity = {
            "ho_va_ten": CANARY if i == 0 else "Lê Văn Bình",
            "ngay_sinh": f"2014-03-0{i + 1}",
        }
        rid = s.ledger.enrol_student(s.principal, code, SCHOOL_YEAR, 6, CLASS_NAME, identity)
        year.students.append(rid)


def _new_versions(s: School, rid: UUID, before: int) -> list[int]:
    return sorted(v for v in s.ledger.load(rid, StudentRecord).entries if v > before)


def fill_term(s: School, year: Year, term: int) -> None:
    """Every entry of the term for both students; conduct; absences for the first."""
    gv2, gv3 = s.teachers["GV002"], s.teachers["GV003"]
    for i, rid in enumerate(year.students):
        before = s.ledger.load(rid, StudentRecord).version
        scores = [
            (rid, subject, term, kind, score_for(i, subject, term, k))
            for subject in SCORED_SUBJECTS
            for k, kind in enumerate(kinds(subject))
        ]
        s.ledger.record_scores(gv2, scores)
        comments = [
            (rid, subject, term, kind, True)
            for subject in COMMENT_SUBJECTS
            for kind in kinds(subject)
        ]
        s.ledger.assess_comments(gv3, comments)
        versions = _new_versions(s, rid, before)
        given = [(e[1], e[2], e[3], str(e[4]), s.staff("GV002")) for e in scores]
        given += [(e[1], e[2], e[3], "Đạt", s.staff("GV003")) for e in comments]
        assert len(versions) == len(given)
        for version, entry in zip(versions, given, strict=True):
            year.entries[(rid, version)] = entry
        level = "Tốt" if i == 0 else "Khá"
        s.ledger.assess_conduct(s.teachers["GV001"], rid, term, level)
        year.conduct[(rid, term)] = level
        if i == 0:
            s.ledger.record_absences(s.teachers["GV001"], rid, term, term + 2)
            year.absences[(rid, term)] = term + 2


def first(year: Year, rid: UUID, subject: str, term: int, kind: str) -> int:
    return min(
        v
        for (r, v), e in year.entries.items()
        if r == rid and e[0] == subject and e[1] == term and e[2] == kind
    )


def correct_open_term(s: School, year: Year, term: int) -> None:
    """Direct corrections while the term is open: a score (term 1) or a comment (term 2)."""
    rid = year.students[0]
    if term == 1:
        target = first(year, rid, "Toán", 1, "tx")
        v = s.ledger.correct_score(s.teachers["GV002"], rid, target, "9.5", "nhập nhầm")
        year.corrections[(rid, target)] = ("9.5", v, s.staff("GV002"), None)
    else:
        target = first(year, rid, "Nghệ thuật", 2, "gk")
        v = s.ledger.correct_score(s.teachers["GV003"], rid, target, "Chưa đạt", "nhập nhầm")
        year.corrections[(rid, target)] = ("Chưa đạt", v, s.staff("GV003"), None)
        # Undo it, so that the year result is not held back by a comment subject.
        v = s.ledger.correct_score(s.teachers["GV003"], rid, target, "Đạt", "sửa lại")
        year.corrections[(rid, target)] = ("Đạt", v, s.staff("GV003"), None)


def approved_correction(s: School, year: Year) -> None:
    """After term 1 is closed: proposed by the teacher, approved by the principal."""
    rid = year.students[1]
    target = first(year, rid, "Ngữ văn", 1, "gk")
    proposal = s.ledger.propose_correction(s.teachers["GV002"], rid, target, "8.8", "chấm lại")
    v = s.ledger.approve_correction(s.principal, rid, proposal)
    year.corrections[(rid, target)] = ("8.8", v, s.staff("GV002"), s.staff("HT001"))


def finish_year(s: School, year: Year) -> None:
    gv1 = s.teachers["GV001"]
    for i, rid in enumerate(year.students):
        remarks = [("Toán", f"Tiến bộ rõ ({i})"), ("", f"Chăm ngoan, lễ phép ({i})")]
        for subject, text in remarks:
            teacher = s.teachers["GV002"] if subject else gv1
            s.ledger.record_remark(teacher, rid, subject, text)
        year.remarks[rid] = remarks
        year.results[rid] = s.ledger.record_year_result(gv1, rid)
    s.ledger.grant_student_award(s.principal, year.students[0], "Giấy khen Olympic", "QĐ 7/KT")


def staff_events(s: School) -> None:
    p, gv2 = s.principal, s.staff("GV002")
    s.ledger.record_staff_identity(p, gv2, {"ho_va_ten": STAFF_CANARY, "so_cccd": "001090000001"})
    s.ledger.appoint_title(p, gv2, "Giáo viên THCS", "hạng II", "V.07.04.31", "QĐ 12/TC")
    s.ledger.raise_salary_step(p, gv2, 3, "3.00", "2025-09-01", "QĐ 13/TC")
    s.ledger.record_training(p, gv2, "Bồi dưỡng CTGDPT 2018", "ĐHSP Hà Nội", "Chứng chỉ", "2025")
    s.ledger.record_evaluation(p, gv2, SCHOOL_YEAR, 27, 66)


def fill_year(s: School, views: Views | None = None) -> Year:
    """The whole year; with ``views``, they catch up after each step (incrementally)."""
    year = Year([])

    def step() -> None:
        if views is not None:
            views.catch_up()

    enrol(s, year)
    step()
    staff_events(s)
    fill_term(s, year, 1)
    step()
    correct_open_term(s, year, 1)
    s.ledger.close_term(s.principal, SCHOOL_YEAR, CLASS_NAME, 1)
    step()
    approved_correction(s, year)
    fill_term(s, year, 2)
    correct_open_term(s, year, 2)
    s.ledger.close_term(s.principal, SCHOOL_YEAR, CLASS_NAME, 2)
    step()
    finish_year(s, year)
    step()
    return year


# -- helpers ---------------------------------------------------------------------------------------


@pytest.fixture
def views(school: School) -> Iterator[Views]:
    v = open_views(school.settings)
    try:
        yield v
    finally:
        v.close()


def tables_of(runner: ViewRunner, view: Any) -> list[str]:
    if runner.dialect.is_postgres:
        rows = runner.query(
            view,
            "SELECT table_name AS name FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
        )
    else:
        rows = runner.query(view, "SELECT name FROM sqlite_master WHERE type = 'table'")
    return sorted(r["name"] for r in rows if r["name"] not in RESERVED_TABLES)


def dump(views: Views) -> dict[str, dict[str, list[tuple[Any, ...]]]]:
    """Every row of every table of every view (the store's own tables aside), sorted."""
    out: dict[str, dict[str, list[tuple[Any, ...]]]] = {}
    for view in views.all():
        out[view.name] = {}
        for table in tables_of(views.runner, view):
            rows = views.runner.query(view, f"SELECT * FROM {table}")
            out[view.name][table] = sorted(
                (tuple(sorted(r.items())) for r in rows), key=lambda row: repr(row)
            )
    return out


def text_of(rows: dict[str, dict[str, list[tuple[Any, ...]]]]) -> str:
    return json.dumps(rows, ensure_ascii=False, default=str)


def view_files(settings: Settings) -> list[Path]:
    return sorted(p for p in (settings.data_dir / "views").iterdir() if p.is_file())


def assert_canary_absent(views: Views, settings: Settings) -> None:
    text = text_of(dump(views))
    for canary in (CANARY, STAFF_CANARY):
        assert canary not in text
    if not settings.database_url:
        files = view_files(settings)
        assert any(p.name.endswith("-wal") for p in files) or files
        for path in files:
            raw = path.read_bytes()
            for canary in (CANARY, STAFF_CANARY):
                assert canary.encode("utf-8") not in raw, path


# -- each view's queries -----------------------------------------------------------------------


def test_views_show_what_the_commands_recorded(school: School, views: Views) -> None:
    year = fill_year(school)
    views.catch_up()
    s, vault = school, school.ledger.vault
    school_year = s.ledger.load(school_year_id(s.school, SCHOOL_YEAR), SchoolYear)

    # Transcripts: the result as recorded and as recomputed, identity and remarks opened.
    for i, rid in enumerate(year.students):
        t = views.transcripts.transcript(rid, SCHOOL_YEAR, vault)
        assert t is not None
        record = s.ledger.load(rid, StudentRecord)
        assert t["result"] == year.results[rid] == year_result(record, school_year)
        assert t["stage"] == "year" and t["shredded"] is False
        assert (t["grade"], t["class_name"], t["school"]) == (6, CLASS_NAME, str(s.school))
        assert t["school_code"] == "79000999" and t["student_code"] == f"HS-V{i + 1}"
        assert t["identity"]["ho_va_ten"] == (CANARY if i == 0 else "Lê Văn Bình")
        assert [(r["subject"], r["text"]) for r in t["remarks"]] == year.remarks[rid]
        assert t["remarks"][0]["teacher"] == str(s.staff("GV002"))
        assert [h["event"] for h in t["history"]] == ["Enrolled"]
        assert views.transcripts.transcripts_of(rid, vault) == [t]
        without_vault = views.transcripts.transcript(rid, SCHOOL_YEAR)
        assert without_vault is not None and without_vault["identity"] is None
        assert all(r["text"] is None for r in without_vault["remarks"])
    awards = views.transcripts.transcript(year.students[0], SCHOOL_YEAR)["awards"]  # type: ignore[index]
    assert [(a["award"], a["granted_by"]) for a in awards] == [
        ("Giấy khen Olympic", str(s.staff("HT001")))
    ]
    assert views.transcripts.transcript(year.students[0], "2024-2025") is None

    # Grade book: every entry with its value, teacher and corrections; the original kept.
    rows = views.gradebook.gradebook(s.school, SCHOOL_YEAR, CLASS_NAME)
    assert len(rows) == len(year.entries)
    for row in rows:
        rid = UUID(row["student"])
        subject, term, kind, value, teacher = year.entries[(rid, row["version"])]
        assert (row["subject"], row["term"], row["kind"]) == (subject, term, kind)
        assert row["original"] == value and row["teacher"] == str(teacher)
        assert row["assessed"] == ("comment" if subject in COMMENT_SUBJECTS else "score")
        assert (row["school"], row["school_year"], row["class_name"]) == (
            str(s.school),
            SCHOOL_YEAR,
            CLASS_NAME,
        )
        correction = year.corrections.get((rid, row["version"]))
        if correction is None:
            assert row["value"] == value and row["corrected_version"] is None
            continue
        new, version, by, approver = correction
        assert row["value"] == new and row["corrected_version"] == version
        assert row["corrected_by"] == str(by)
        assert row["approved_by"] == (None if approver is None else str(approver))
        record = s.ledger.load(rid, StudentRecord)
        entry = record.entries[row["version"]]
        assert row["value"] == (
            str(entry.score) if entry.score is not None else ("Đạt" if entry.passed else "Chưa đạt")
        )
    assert {r["approved_by"] for r in rows if r["approved_by"]} == {str(s.staff("HT001"))}
    one = views.gradebook.entries(year.students[0])
    assert [r["version"] for r in one] == sorted(
        v for r, v in year.entries if r == year.students[0]
    )
    records = views.gradebook.term_records(s.school, SCHOOL_YEAR, CLASS_NAME)
    assert {(UUID(r["student"]), r["term"]): r["conduct"] for r in records} == year.conduct
    assert {
        (UUID(r["student"]), r["term"]): r["absences"] for r in records if r["absences"]
    } == year.absences
    assert views.gradebook.closed_terms(s.school, SCHOOL_YEAR, CLASS_NAME) == [1, 2]
    assert views.gradebook.classes(s.school, SCHOOL_YEAR) == [
        {"class_name": CLASS_NAME, "grade": 6, "students": 2}
    ]

    # Staff file: current state, assignments, homeroom, the history of decisions.
    f = views.staff.staff_file(s.staff("GV002"), vault)
    assert f is not None
    assert (f["title"], f["rank"], f["title_code"]) == ("Giáo viên THCS", "hạng II", "V.07.04.31")
    assert (f["salary_step"], f["salary_coefficient"]) == (3, "3.00")
    assert f["identity"] == {"ho_va_ten": STAFF_CANARY, "so_cccd": "001090000001"}
    assert f["active"] is True and f["positions"] == [] and f["homerooms"] == {}
    assert {(a["class_name"], a["subject"]) for a in f["assignments"]} == {
        (CLASS_NAME, subject) for subject in TEST_PLAN
    }
    events = [h["event"] for h in f["history"]]
    assert events[:2] == ["Opened", "CertificateRegistered"]
    assert events[-5:] == [
        "IdentityRecorded",
        "TitleAppointed",
        "SalaryStepRaised",
        "TrainingCompleted",
        "AnnualEvaluationRecorded",
    ]
    evaluation = f["history"][-1]["details"]
    assert evaluation["level"] == rules.evaluation_level(Decimal(27), Decimal(66)).value
    assert evaluation["general"] == "27" and evaluation["school_year"] == SCHOOL_YEAR
    history_text = json.dumps(f["history"], ensure_ascii=False)
    assert "BEGIN CERTIFICATE" not in history_text and STAFF_CANARY not in history_text
    principal = views.staff.staff_file(s.staff("HT001"))
    assert principal is not None and principal["positions"] == [PRINCIPAL]
    assert principal["identity"] is None
    staff = views.staff.staff_of_school(s.school)
    assert [x["staff_code"] for x in staff] == ["GV001", "GV002", "GV003", "HT001"]
    assert all("identity" not in x for x in staff)
    assignments = views.staff.assignments(s.school, SCHOOL_YEAR)
    assert len(assignments) == 3 * len(TEST_PLAN)
    assert views.staff.homerooms(s.school, SCHOOL_YEAR) == [
        {"class_name": CLASS_NAME, "staff": str(s.staff("GV001")), "staff_code": "GV001"}
    ]

    # Dashboard: counts of what happened, results by level and decision.
    d = views.dashboard.dashboard(s.school, SCHOOL_YEAR)
    scores = sum(1 for e in year.entries.values() if e[0] not in COMMENT_SUBJECTS)
    assert d["scores"] == scores and d["comments"] == len(year.entries) - scores
    assert d["corrections"] == {"direct": 3, "proposed": 1, "approved": 1}
    assert (d["classes"], d["students"], d["closed_terms"]) == (1, 2, 2)
    assert (d["staff"], d["teaching_staff"], d["results"]) == (4, 3, 2)
    learning: dict[str, int] = {}
    promotion: dict[str, int] = {}
    for r in year.results.values():
        learning[r["learning"]] = learning.get(r["learning"], 0) + 1
        promotion[r["promotion"]] = promotion.get(r["promotion"], 0) + 1
    assert d["learning"] == learning and d["promotion"] == promotion
    assert sum(d["events_per_day"].values()) == d["events"] > d["scores"] + d["comments"]
    assert views.dashboard.dashboard(s.school, "2024-2025")["scores"] == 0


# -- rebuild = incremental -------------------------------------------------------------------------


def test_rebuild_writes_the_same_rows_as_catching_up_in_increments(school: School) -> None:
    # Small pages, and half-way a new runner whose views start with cold caches.
    early = open_views(school.settings, page_size=7)
    year = Year([])
    try:
        enrol(school, year)
        early.catch_up()
        staff_events(school)
        fill_term(school, year, 1)
        early.catch_up()
        correct_open_term(school, year, 1)
        school.ledger.close_term(school.principal, SCHOOL_YEAR, CLASS_NAME, 1)
        early.catch_up()
    finally:
        early.close()
    second = open_views(school.settings, page_size=50)
    try:
        approved_correction(school, year)
        second.catch_up()
        fill_term(school, year, 2)
        correct_open_term(school, year, 2)
        school.ledger.close_term(school.principal, SCHOOL_YEAR, CLASS_NAME, 2)
        second.catch_up()
        finish_year(school, year)
        second.catch_up()
        incremental = dump(second)
        assert all(second.runner.position(v) == second.runner.head() for v in second.all())
        # The same view instances rebuilt (their caches must not leak into the rebuild)...
        second.rebuild()
        assert dump(second) == incremental
    finally:
        second.close()
    # ... and fresh ones in one pass with the default page size.
    with open_views(school.settings) as third:
        third.rebuild()
        assert dump(third) == incremental
    assert incremental["gradebook"]["entries"]
    assert len(incremental["gradebook"]["entries"]) == len(year.entries)


# -- live ------------------------------------------------------------------------------------------


def test_live_views_show_a_new_score(school: School, views: Views) -> None:
    rid = school.ledger.enrol_student(school.principal, "HS-L1", SCHOOL_YEAR, 6, CLASS_NAME)
    with (
        views.runner.start(views.gradebook) as gradebook,
        views.runner.start(views.dashboard) as dashboard,
    ):
        assert views.gradebook.entries(rid) == []
        version = school.ledger.record_score(school.teachers["GV002"], rid, "Toán", 1, "tx", "7.5")
        gradebook.wait()
        dashboard.wait()
        (row,) = views.gradebook.entries(rid)
        assert (row["version"], row["value"], row["subject"]) == (version, "7.5", "Toán")
        assert views.dashboard.dashboard(school.school, SCHOOL_YEAR)["scores"] == 1
        correction = school.ledger.correct_score(
            school.teachers["GV002"], rid, version, "8.0", "nhập nhầm"
        )
        gradebook.wait()
        (row,) = views.gradebook.entries(rid)
        assert (row["value"], row["original"], row["corrected_version"]) == (
            "8.0",
            "7.5",
            correction,
        )


# -- personal data ---------------------------------------------------------------------------------


def test_shredded_identity_is_gone_from_every_view_and_results_stay(
    school: School, views: Views
) -> None:
    year = fill_year(school)
    views.catch_up()
    rid = year.students[0]
    vault = school.ledger.vault
    # Views hold ciphertext only: the name is nowhere, even before the shred.
    assert_canary_absent(views, school.settings)
    before = views.transcripts.transcript(rid, SCHOOL_YEAR, vault)
    assert before is not None and before["identity"]["ho_va_ten"] == CANARY  # type: ignore[index]

    school.ledger.shred(school.principal, rid, "hết thời hạn lưu trữ (thử nghiệm)")
    school.ledger.shred(school.principal, school.staff("GV002"), "thôi việc (thử nghiệm)")
    views.rebuild()
    assert_canary_absent(views, school.settings)

    after = views.transcripts.transcript(rid, SCHOOL_YEAR, vault)
    assert after is not None
    assert after["identity"] is None and after["shredded"] is True
    assert after["result"] == year.results[rid]  # academic results are kept
    assert all(r["text"] is None for r in after["remarks"])
    stored = views.runner.query_one(
        views.transcripts, "SELECT identity, shredded FROM students WHERE student = ?", (str(rid),)
    )
    assert stored == {"identity": None, "shredded": 1}
    assert (
        views.runner.query(
            views.transcripts,
            "SELECT remark FROM remarks WHERE student = ? AND remark IS NOT NULL",
            (str(rid),),
        )
        == []
    )
    staff = views.staff.staff_file(school.staff("GV002"), vault)
    assert staff is not None and staff["identity"] is None and staff["shredded"] is True
    assert staff["title"] == "Giáo viên THCS"
    # The other student is untouched.
    other = views.transcripts.transcript(year.students[1], SCHOOL_YEAR, vault)
    assert other is not None and other["identity"]["ho_va_ten"] == "Lê Văn Bình"  # type: ignore[index]
    assert len(views.gradebook.entries(rid)) == sum(1 for r, _ in year.entries if r == rid)


# -- transfers -------------------------------------------------------------------------------------


def partner(tmp: Path, school: School) -> tuple[Ledger, Any, UUID]:
    """A second school in the same ledger, its principal, and its id."""
    pki: DemoPKI = create_demo_pki(
        tmp / "partner-pki",
        school_name="Trường THCS Đối Tác",
        school_code="79000888",
        province="Hà Nội",
        staff=[StaffSpec("HT001", "Phạm Thị Lan", PRINCIPAL)],
        passphrase=PASSPHRASE,
        now=datetime.now(UTC),
    )
    trust = Trust(
        school.pki.trust_roots() + pki.trust_roots(),
        school.pki.intermediates() + pki.intermediates(),
    )
    ledger = Ledger(school.settings, trust)
    seal = pki.seal_signer()
    other = ledger.register_school(seal, "79000888", "Trường THCS Đối Tác", "Hà Nội")
    head = ledger.open_staff_file(seal, "HT001", PRINCIPAL)
    ledger.register_certificate(seal, head, pki.staff["HT001"])
    principal = pki.signer_for("HT001")
    ledger.open_school_year(principal, SCHOOL_YEAR)
    ledger.open_class(principal, SCHOOL_YEAR, "6B1", 6)
    return ledger, principal, other


def test_history_follows_a_transferred_record(school: School, views: Views, tmp_path: Path) -> None:
    s = school
    rid = s.ledger.enrol_student(s.principal, "HS-T1", SCHOOL_YEAR, 6, CLASS_NAME)
    s.ledger.record_score(s.teachers["GV002"], rid, "Toán", 1, "tx", "6.0")
    open_class(s, "6A2")
    s.ledger.join_class(s.principal, rid, SCHOOL_YEAR, 6, "6A2")
    s.ledger.record_score(s.teachers["GV002"], rid, "Toán", 1, "tx", "7.0")
    views.catch_up()  # the sending school's views, before the transfer
    s.ledger.transfer_out(s.principal, rid, "79000888", "chuyển nơi cư trú")
    other_ledger, other_principal, other = partner(tmp_path, s)
    try:
        other_ledger.transfer_in(other_principal, rid, SCHOOL_YEAR, 6, "6B1")
    finally:
        other_ledger.close()
    views.catch_up()

    t = views.transcripts.transcript(rid, SCHOOL_YEAR)
    assert t is not None
    assert (t["school"], t["school_code"], t["class_name"]) == (str(other), "79000888", "6B1")
    history = [(h["event"], h["school_code"], h["class_name"]) for h in t["history"]]
    assert history == [
        ("Enrolled", "79000999", CLASS_NAME),
        ("ClassJoined", "79000999", "6A2"),
        ("TransferredOut", "79000999", "6A2"),
        ("TransferredIn", "79000888", "6B1"),
    ]
    assert t["history"][2]["to_school_code"] == "79000888"
    # Entries stay in the classes they were recorded in.
    entries = views.gradebook.entries(rid)
    assert [(e["class_name"], e["value"]) for e in entries] == [(CLASS_NAME, "6.0"), ("6A2", "7.0")]
    assert views.gradebook.classes(other, SCHOOL_YEAR) == [
        {"class_name": "6B1", "grade": 6, "students": 1}
    ]
    home = views.dashboard.dashboard(s.school, SCHOOL_YEAR)
    away = views.dashboard.dashboard(other, SCHOOL_YEAR)
    assert (home["students"], away["students"], home["scores"]) == (0, 1, 2)
    # Rebuilt from scratch, the same.
    before = dump(views)
    views.rebuild()
    assert dump(views) == before


def test_all_views_are_listed() -> None:
    assert [v.name for v in ALL_VIEWS] == ["transcripts", "gradebook", "staff", "dashboard"]
    assert {GradebookView, TranscriptView, DashboardView} <= set(ALL_VIEWS)


# -- the benchmark, in miniature -------------------------------------------------------------------


def test_bench_views_runs_and_reports_every_view(settings: Settings, tmp_path: Path) -> None:
    """``bench.views.run`` end to end on a tiny year (figures are not asserted)."""
    from bench.views import markdown, run

    figures = run(settings, events=1500, quick=True, pki_dir=tmp_path / "pki")
    assert figures["dataset"]["events"] >= 1500
    (measured,) = figures["runs"]
    assert set(measured["views"]) == {v.name for v in ALL_VIEWS}
    for view in measured["views"].values():
        assert view["events"] > 0 and view["ratio"] > 0
        assert isinstance(view["meets_target"], bool)
    assert measured["bytes"]["ledger"] > 0 and measured["bytes"]["gradebook"] > 0
    report = {"target": 0.5, "backends": {settings.backend: figures}, "seconds": 1.0}
    assert "| gradebook |" in markdown(report)
