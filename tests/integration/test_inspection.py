"""The inspector's report (``ledger.inspection``, ``projections.audit_report``, ``api.audit_cli``).

On a seeded demo (SQLite and PostgreSQL): the corrected student's timeline shows both
corrections with their reasons and the principal's approval; the approved correction after
the term close is the only anomaly at the default thresholds; the reports (JSON, CSV, HTML,
PDF) hold no student identity, the HTML no script, the CSV a BOM, and the JSON reads back.

On a small school (the ``school`` fixture, both backends): each detector fires on a scenario
made for it and stays quiet otherwise. Event times are set by patching eventsourcing's
``CanCreateTimestamp.create_timestamp`` (what stamps every event), so "at night" and "40 days
later" are real stored timestamps, signed and audited like any other.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.domain import CanCreateTimestamp

from api.audit_cli import (
    DEFAULT_FORMATS,
    add_report_arguments,
    parse_formats,
    run_inspection,
    summary_line,
    thresholds_from_args,
    write_reports,
)
from api.cli import open_ledger
from api.demo import (
    BIRTH_YEAR,
    DEMO_STAFF,
    HOMEROOM_REMARKS,
    PARTNER_CODE,
    PARTNER_STAFF,
    SUBJECT_REMARKS,
    initialise,
    seed,
    staff_identity,
    student_identity,
)
from ledger.application import Ledger, Settings, Trust
from ledger.audit import audit
from ledger.domain import SCORED, SchoolYear, StudentRecord, school_year_id, student_id
from ledger.errors import InvalidInput, RecordNotFound
from ledger.inspection import VIETNAM, Inspection, Thresholds, inspect
from projections.audit_report import (
    TimelineCSV,
    render_html,
    write_csv,
    write_html,
    write_json,
)
from signing.pki import DemoPKI
from tests.conftest import SCHOOL_YEAR, School, build_school, drop_postgres, postgres_url
from tests.integration.test_tampering import delete_version, read_states, write_states

STUDENTS = 5
SCHOOL = "79000701"
#: The demo's corrected student: a direct correction (Ngữ văn, term open) and a correction
#: proposed after the close and approved by the principal (Toán).
CORRECTED = "HS790007010002"


@contextmanager
def clock(start: datetime, step: timedelta = timedelta(milliseconds=500)) -> Iterator[None]:
    """Stamp every event ``start``, ``start + step``, … (eventsourcing's own timestamp hook)."""
    ticks = itertools.count()
    with pytest.MonkeyPatch.context() as m:
        m.setattr(
            CanCreateTimestamp,
            "create_timestamp",
            staticmethod(lambda: start + step * next(ticks)),
        )
        yield


def vietnam_time(days: int, hour: int) -> datetime:
    """``hour`` o'clock Vietnam time, ``days`` days from today (inside every test certificate's
    validity: issued from yesterday for three years)."""
    today = datetime.now(VIETNAM).replace(hour=0, minute=0, second=0, microsecond=0)
    return (today + timedelta(days=days, hours=hour)).astimezone(UTC)


# -- the seeded demo ---------------------------------------------------------------------------


@dataclass
class Demo:
    settings: Settings
    ledger: Ledger
    summary: dict[str, Any]

    def students(self) -> list[str]:
        codes = []
        for school in (SCHOOL, PARTNER_CODE):
            year = self.ledger.load(school_year_id(_school_id(school), "2025-2026"), SchoolYear)
            for roster in year.rosters.values():
                for rid in roster:
                    codes.append(self.ledger.load(rid, StudentRecord).student_code)
        return sorted(set(codes) | {self.summary["examples"]["transferred"]})


def _school_id(code: str) -> UUID:
    from ledger.domain import school_id

    return school_id(code)


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def demo(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Demo]:
    url = postgres_url() if request.param == "postgres" else None
    try:
        settings = Settings(tmp_path_factory.mktemp(f"inspect-{request.param}") / "data", url)
        initialise(settings)
        ledger, pki = open_ledger(settings)
        assert pki is not None
        # A school morning, so that no night burst depends on when the tests run.
        with clock(vietnam_time(1, 8)):
            summary = seed(ledger, pki, settings, students=STUDENTS)
        try:
            yield Demo(settings, ledger, summary)
        finally:
            ledger.close()
    finally:
        if url is not None:
            drop_postgres(url)


def test_record_timeline_shows_both_corrections_with_reason_and_approval(demo: Demo) -> None:
    assert demo.summary["examples"]["corrected"] == CORRECTED
    found = inspect(demo.ledger, record=student_id(CORRECTED))
    assert found.scope == "record" and found.record_label == CORRECTED
    assert found.timeline_complete
    rows = found.timeline
    assert [r.version for r in rows] == list(range(1, len(rows) + 1))
    assert {r.record_label for r in rows} == {CORRECTED}
    by_event = {r.event: r for r in rows}

    direct = by_event["ScoreCorrected"]
    assert direct.subject == "Ngữ văn" and direct.term == 1 and direct.class_name == "6A1"
    assert direct.details["reason"] == "Nhập nhầm điểm khi chép từ bài kiểm tra thường xuyên"
    assert direct.basis == "entry_author" and direct.signer_code == "GV002"
    assert direct.details["old"] != direct.details["value"]

    proposed, approved = by_event["CorrectionProposed"], by_event["CorrectionApproved"]
    assert proposed.signer_code == "GV001" and proposed.subject == "Toán"
    assert approved.signer_code == "HT001" and approved.signer_name == "Trần Thị Hương"
    assert approved.basis == "principal"
    assert approved.details["proposal"] == str(proposed.version)
    assert approved.details["reason"].startswith("Phúc khảo bài kiểm tra cuối kì I")
    assert approved.details["proposed_by"] == "GV001"
    # Scores carry the assignment they were made under.
    score = next(r for r in rows if r.event == "ScoreRecorded")
    assert score.basis == "assignment" and score.school_year == "2025-2026" and score.subject

    direct_c, countersigned = found.corrections
    assert (direct_c.method, direct_c.after_close, direct_c.status) == ("direct", False, "applied")
    assert direct_c.by_code == "GV002" and direct_c.old == direct.details["old"]
    assert countersigned.method == "countersigned" and countersigned.after_close
    assert countersigned.by_code == "GV001" and countersigned.approved_by_code == "HT001"
    assert countersigned.approved_by_name == "Trần Thị Hương"
    assert countersigned.approval_version == approved.version
    assert countersigned.approved_at == approved.time
    assert Decimal(countersigned.new) - Decimal(countersigned.old) in (
        Decimal("0.5"),
        -Decimal("0.5"),
    )
    assert countersigned.reason == approved.details["reason"]
    # Times are shown in Vietnam time.
    assert all(r.time.utcoffset() == timedelta(hours=7) for r in rows)


def test_the_approved_correction_after_close_is_the_one_anomaly(demo: Demo) -> None:
    found = inspect(demo.ledger)
    assert found.audit["ok"] and found.audit["problems"] == 0
    assert found.summary.events == demo.summary["events"]
    (anomaly,) = found.anomalies
    assert anomaly.kind == "correction_after_close" and anomaly.severity == "question"
    assert {e.label for e in anomaly.events} == {CORRECTED}
    assert anomaly.signer == "GV001" and anomaly.school == SCHOOL
    assert "HT001 (Trần Thị Hương)" in anomaly.vi and "Phúc khảo" in anomaly.vi
    assert "approved by HT001" in anomaly.en and "worth" in anomaly.en
    # It is counted where it belongs.
    record = next(r for r in found.records if r.label == CORRECTED)
    assert record.anomalies == 1 and record.corrections == 2
    assert next(s for s in found.schools if s.code == SCHOOL).anomalies == 1
    # Summaries: per school, per signer, per month and day.
    assert {s.code for s in found.schools} == {SCHOOL, PARTNER_CODE}
    assert sum(s.summary.events for s in found.schools) == found.summary.events
    assert sum(found.summary.by_day.values()) == found.summary.events
    assert sum(found.summary.by_month.values()) == found.summary.events
    assert sum(s.events for s in found.signers) == found.summary.events
    gv007 = next(s for s in found.signers if s.code == "GV007")
    assert gv007.name == "Trương Văn Phúc" and gv007.classes["2025-2026 HK1"] == [
        "6A1",
        "6A2",
        "6A3",
    ]
    assert next(s for s in found.signers if s.code == "HT001").approvals == 1


def test_many_classes_fires_when_the_threshold_is_lowered(demo: Demo) -> None:
    quiet = inspect(demo.ledger, thresholds=Thresholds(many_classes=3))
    assert not [a for a in quiet.anomalies if a.kind == "many_classes"]
    loud = inspect(demo.ledger, thresholds=Thresholds(many_classes=1))
    flagged = {(a.signer, a.data["term"]) for a in loud.anomalies if a.kind == "many_classes"}
    # GV007 teaches Công nghệ and Tin học in all three classes; the partner school's staff
    # teach one class each.
    assert ("GV007", 1) in flagged and ("GV007", 2) in flagged
    assert not {s for s, _ in flagged} & {s.code for s in PARTNER_STAFF}
    gv007 = next(a for a in loud.anomalies if a.kind == "many_classes" and a.signer == "GV007")
    assert gv007.data["classes"] == ["6A1", "6A2", "6A3"]
    assert len({e.record for e in gv007.events}) == 3  # one event per class, as evidence
    assert "3 lớp" in gv007.vi and "3 classes" in gv007.en


def test_one_school_and_the_transferred_student(demo: Demo) -> None:
    partner = inspect(demo.ledger, school=PARTNER_CODE)
    assert partner.scope == "school" and [s.code for s in partner.schools] == [PARTNER_CODE]
    assert not partner.anomalies and not partner.corrections
    assert {r.school for r in partner.timeline} == {PARTNER_CODE}
    moved = demo.summary["examples"]["transferred"]
    found = inspect(demo.ledger, record=student_id(moved))
    schools = [r.school for r in found.timeline]
    cut = [r.event for r in found.timeline].index("TransferredIn")
    assert set(schools[:cut]) == {PARTNER_CODE} and set(schools[cut:]) == {SCHOOL}
    with pytest.raises(RecordNotFound):
        inspect(demo.ledger, record=student_id("HS-NOBODY"))
    with pytest.raises(RecordNotFound):
        inspect(demo.ledger, school="00000000")


def _report_args(directory: Path, *extra: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--record", default=None)
    add_report_arguments(parser)
    return parser.parse_args(["--report", str(directory), *extra])


def _forbidden(demo: Demo) -> set[str]:
    """Personal data from the vault: students' identities, staff identities beyond the name
    in their certificate, remarks (all kept encrypted in the ledger)."""
    allowed = {s.name for s in (*DEMO_STAFF, *PARTNER_STAFF)}
    values: set[str] = set()
    for code in demo.students():
        identity = student_identity(code, BIRTH_YEAR)
        values |= {
            identity[k]
            for k in (
                "ho_va_ten",
                "ho_ten_cha",
                "ho_ten_me",
                "so_dinh_danh_ca_nhan",
                "cho_o_hien_tai",
            )
        }
    for spec in DEMO_STAFF:
        identity = staff_identity(spec.code, spec.name, spec.female, spec.born)
        values |= {identity[k] for k in ("so_dinh_danh_ca_nhan", "dien_thoai", "cho_o_hien_tai")}
    values |= set(SUBJECT_REMARKS) | set(HOMEROOM_REMARKS.values())
    return values - allowed


@pytest.mark.parametrize("scope", ["school", "record"])
def test_reports_hold_no_identity_and_are_well_formed(
    demo: Demo, tmp_path: Path, scope: str
) -> None:
    extra = ["--format", "json,csv,html,pdf"]
    if scope == "record":
        extra += ["--record", CORRECTED, "--lang", "en"]
    args = _report_args(tmp_path / "report", *extra)
    found, written = run_inspection(demo.ledger, args)
    names = sorted(p.name for p in written)
    assert names == sorted(
        [
            "timeline.csv",
            "anomalies.csv",
            "per-signer.csv",
            "corrections.csv",
            "records.csv",
            "inspection.json",
            "inspection.html",
            "inspection.pdf",
        ]
    )
    forbidden = _forbidden(demo)
    assert len(forbidden) > 4 * STUDENTS
    for path in written:
        data = path.read_bytes()
        if path.suffix == ".pdf":
            assert data.startswith(b"%PDF-")
            continue  # text in a PDF is in font encodings; the HTML and JSON hold the same
        content = data.decode("utf-8-sig")
        leaked = [v for v in forbidden if v in content]
        assert not leaked, (path.name, leaked[:3])
        assert CORRECTED in content or path.name in ("per-signer.csv",)
    html = (tmp_path / "report" / "inspection.html").read_text("utf-8")
    lowered = html.lower()
    assert "<script" not in lowered and "javascript:" not in lowered
    assert "http://" not in lowered.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in lowered and "@import" not in lowered and "<link" not in lowered
    assert "<svg" in html and "@media print" in html
    assert "Trần Thị Hương" in html  # staff names from their certificates are shown
    if scope == "school":
        assert "Báo cáo thanh tra Sổ Cái" in html and "Sửa sau chốt (có xác nhận)" in html
    else:
        assert "Sổ Cái inspection report" in html and "Correction after close" in html
    for name in ("timeline.csv", "anomalies.csv", "per-signer.csv", "corrections.csv"):
        raw = (tmp_path / "report" / name).read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf"), name  # the BOM: Excel reads UTF-8
    # The JSON reads back into the same inspection.
    stored = json.loads((tmp_path / "report" / "inspection.json").read_text("utf-8"))
    assert stored == json.loads(json.dumps(found.as_dict(), ensure_ascii=False))
    again = Inspection.from_dict(stored)
    assert again.as_dict() == stored
    assert render_html(again, "en") == render_html(Inspection.from_dict(found.as_dict()), "en")
    # The streamed timeline holds every event in scope, the page the most recent ones.
    with (tmp_path / "report" / "timeline.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.reader(f))
    assert len(rows) - 1 == found.summary.events
    if scope == "school":
        assert not found.timeline_complete
        assert len(found.timeline) == Thresholds().recent_events < found.summary.events
        assert rows[0][0] == "STT nhật ký"
    else:
        assert found.timeline_complete and rows[0][0] == "log #"
    line = summary_line(found, written)
    assert line.startswith("Thanh tra ") and "bất thường" in line


def test_report_arguments() -> None:
    args = _report_args(Path("out"))
    assert args.report_format == DEFAULT_FORMATS == ("json", "csv", "html")
    assert args.report_lang == "vi" and thresholds_from_args(args) == Thresholds()
    assert parse_formats("PDF, json,pdf") == ("pdf", "json")
    for bad in ("xml", "", "json,xlsx"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_formats(bad)
    with pytest.raises(SystemExit):
        _report_args(Path("out"), "--format", "docx")
    args = _report_args(Path("out"), "--many-classes", "3", "--night-events", "20")
    assert thresholds_from_args(args) == Thresholds(many_classes=3, night_events=20)
    with pytest.raises(InvalidInput):
        Thresholds(night_start=24)
    with pytest.raises(InvalidInput):
        Thresholds(night_events=0)
    night = Thresholds()
    assert night.is_night(datetime(2026, 3, 1, 22, 0, tzinfo=VIETNAM))
    assert night.is_night(datetime(2026, 3, 1, 4, 59, tzinfo=VIETNAM))
    assert not night.is_night(datetime(2026, 3, 1, 5, 0, tzinfo=VIETNAM))
    assert not night.is_night(datetime(2026, 3, 1, 21, 59, tzinfo=VIETNAM))
    # 15:30 UTC is 22:30 in Vietnam.
    assert night.is_night(datetime(2026, 3, 1, 15, 30, tzinfo=UTC))


# -- detectors on a small school ------------------------------------------------------------------


@pytest.fixture
def school(settings: Settings, pki: DemoPKI, trust: Trust) -> Iterator[School]:
    """The shared fixture's school, set up on a school morning (its ~60 events by the principal
    would be a night burst when the tests run at night)."""
    with clock(vietnam_time(1, 7)):
        s = build_school(settings, pki, trust)
    try:
        yield s
    finally:
        s.ledger.close()


CLASS = "6B"
#: A small plan: Toán 35 periods (2 ĐĐGtx a term), so a term closes after four scores.
PLAN = {"Toán": (35, SCORED)}


def small_class(s: School) -> None:
    """Class 6B: GV001 teaches Toán; GV003 is the GVCN; GV002 teaches nothing there."""
    s.ledger.open_class(s.principal, SCHOOL_YEAR, CLASS, 6)
    s.ledger.plan_subjects(s.principal, SCHOOL_YEAR, CLASS, PLAN)
    s.ledger.assign_teaching(s.principal, s.staff("GV001"), SCHOOL_YEAR, CLASS, "Toán")
    s.ledger.assign_homeroom(s.principal, s.staff("GV003"), SCHOOL_YEAR, CLASS)


def enrol(s: School, count: int, class_name: str = CLASS, prefix: str = "HS-I") -> list[UUID]:
    return [
        s.ledger.enrol_student(s.principal, f"{prefix}{n:03d}", SCHOOL_YEAR, 6, class_name)
        for n in range(1, count + 1)
    ]


def kinds(found: Inspection) -> list[str]:
    return [a.kind for a in found.anomalies]


def test_night_burst_fires_at_night_only(school: School) -> None:
    # 15 students, 4 Toán ĐĐGtx each (THCS plan: 140 periods), all by GV001: 60 events.
    with clock(vietnam_time(1, 9), timedelta(seconds=5)):
        students = enrol(school, 15, "6A1")
    scores = [(rid, "Toán", 1, "tx", "7.5") for rid in students for _ in range(4)]
    with clock(vietnam_time(1, 23), timedelta(seconds=5)):  # 23:00–23:05 Vietnam time
        school.ledger.record_scores(school.teachers["GV001"], scores)
    found = inspect(school.ledger)
    assert found.audit["ok"]
    (burst,) = found.anomalies
    assert burst.kind == "night_burst" and burst.signer == "GV001"
    assert burst.count == 60 and 5 <= len(burst.events) <= Thresholds().sample_events
    assert burst.events[0].time == vietnam_time(1, 23)  # the burst's first event
    assert burst.data["start"].endswith("23:00:00+07:00")
    assert "60 sự kiện" in burst.vi and "GV001 (Nguyễn Văn An)" in burst.vi
    assert next(s for s in found.signers if s.code == "GV001").night_events == 60
    # Below the threshold, or with another night, it stays quiet.
    assert not inspect(school.ledger, thresholds=Thresholds(night_events=61)).anomalies
    assert not inspect(school.ledger, thresholds=Thresholds(night_start=0, night_end=5)).anomalies
    # A record's report names the burst when the record took part in it.
    one = inspect(school.ledger, record=students[0])
    assert kinds(one) == ["night_burst"]


def test_no_burst_by_day(school: School) -> None:
    with clock(vietnam_time(1, 9), timedelta(seconds=5)):
        students = enrol(school, 15, "6A1")
        school.ledger.record_scores(
            school.teachers["GV001"],
            [(rid, "Toán", 1, "tx", "7.5") for rid in students for _ in range(4)],
        )
    assert not inspect(school.ledger).anomalies


def test_late_entry_long_after_the_others(school: School) -> None:
    with clock(vietnam_time(1, 9), timedelta(minutes=1)):
        students = enrol(school, 12, "6A1")
        school.ledger.record_scores(
            school.teachers["GV002"], [(rid, "Toán", 1, "tx", "8.0") for rid in students[:11]]
        )
    with clock(vietnam_time(41, 10)):
        school.ledger.record_score(school.teachers["GV002"], students[11], "Toán", 1, "tx", "6.0")
    found = inspect(school.ledger)
    assert found.audit["ok"]
    (late,) = found.anomalies
    assert late.kind == "late_entry" and late.severity == "question"
    (event,) = late.events
    assert (event.record, event.version, event.event) == (str(students[11]), 2, "ScoreRecorded")
    assert late.data["days_after"] == 40 and late.data["entries_before"] == 11
    assert late.data["subject"] == "Toán" and late.data["class_name"] == "6A1"
    assert "40 ngày sau ngày trung vị" in late.vi and "40 days after the median" in late.en
    # Quiet when the gap is within the threshold, or too few entries came before.
    assert not inspect(school.ledger, thresholds=Thresholds(late_days=40)).anomalies
    assert not inspect(school.ledger, thresholds=Thresholds(late_min_entries=12)).anomalies
    # Only the late student's report shows it.
    assert kinds(inspect(school.ledger, record=students[11])) == ["late_entry"]
    assert not inspect(school.ledger, record=students[0]).anomalies


def _fill_and_close(s: School, rid: UUID) -> None:
    s.ledger.record_scores(
        s.teachers["GV001"], [(rid, "Toán", 1, k, "8.0") for k in ("tx", "tx", "gk", "ck")]
    )
    s.ledger.close_term(s.principal, SCHOOL_YEAR, CLASS, 1)


def test_forged_events_behind_the_commands_are_violations(school: School) -> None:
    """The same changes the commands refuse, saved straight through the aggregates and
    validly signed (as tests/integration/test_authority.py forges them)."""
    small_class(school)
    (rid,) = enrol(school, 1)
    _fill_and_close(school, rid)
    assert not inspect(school.ledger).anomalies
    gv1, gv2 = school.teachers["GV001"], school.teachers["GV002"]

    record = school.ledger.load(rid, StudentRecord)
    record.record_score(
        subject="Toán", term=1, kind="tx", value=Decimal("10.0"), by=school.staff("GV001")
    )
    school.ledger.save(record, signer=gv1)
    after_close = record.version

    record = school.ledger.load(rid, StudentRecord)
    first = min(v for v, e in record.entries.items() if e.subject == "Toán")
    record.correct_score(
        corrects=first, value=Decimal("9.5"), reason="sửa lại", by=school.staff("GV001")
    )
    school.ledger.save(record, signer=gv1)
    corrected = record.version

    record = school.ledger.load(rid, StudentRecord)
    record.record_score(
        subject="Toán", term=2, kind="tx", value=Decimal("5.0"), by=school.staff("GV002")
    )
    school.ledger.save(record, signer=gv2)
    unassigned = record.version

    found = inspect(school.ledger)
    by_kind: dict[str, list[tuple[str, int]]] = {}
    for a in found.anomalies:
        by_kind.setdefault(a.kind, []).extend((e.record, e.version) for e in a.events)
    assert by_kind["entry_after_close"] == [(str(rid), after_close)]
    assert by_kind["correction_in_closed_term"] == [(str(rid), corrected)]
    assert by_kind["unassigned_subject"] == [(str(rid), unassigned)]
    assert set(by_kind) == {
        "integrity",
        "entry_after_close",
        "correction_in_closed_term",
        "unassigned_subject",
    }
    # The audit's authority check agrees, event by event.
    assert sorted(by_kind["integrity"]) == [
        (str(rid), after_close),
        (str(rid), corrected),
        (str(rid), unassigned),
    ]
    integrity = [a for a in found.anomalies if a.kind == "integrity"]
    assert {a.data["check"] for a in integrity} == {"authority"}
    assert all(a.severity == "violation" for a in found.anomalies)
    assert all("HS-I001" in a.vi and "thẩm quyền" in a.vi for a in integrity)
    closed = next(a for a in found.anomalies if a.kind == "correction_in_closed_term")
    assert "sửa lại" in closed.vi and "8.0" in closed.vi and "9.5" in closed.vi
    assert len(found.violations) == 6 and not found.questions


def test_an_approved_proposal_while_open_is_not_flagged(school: School) -> None:
    small_class(school)
    (rid,) = enrol(school, 1)
    school.ledger.record_score(school.teachers["GV001"], rid, "Toán", 1, "tx", "6.0")
    proposal = school.ledger.propose_correction(
        school.teachers["GV001"], rid, 2, "6.5", "chép nhầm"
    )
    school.ledger.approve_correction(school.principal, rid, proposal)
    found = inspect(school.ledger)
    assert not found.anomalies
    (correction,) = found.corrections
    assert correction.method == "countersigned" and not correction.after_close
    assert (correction.old, correction.new, correction.approved_by_code) == ("6.0", "6.5", "HT001")


def test_pending_proposal_after_close(school: School) -> None:
    small_class(school)
    (rid,) = enrol(school, 1)
    _fill_and_close(school, rid)
    school.ledger.propose_correction(school.teachers["GV001"], rid, 2, "9.0", "phúc khảo")
    found = inspect(school.ledger)
    assert not found.anomalies  # not in effect: nothing changed yet
    (pending,) = found.corrections
    assert pending.status == "pending" and pending.after_close and pending.approved_at is None


def test_tampered_rows_are_integrity_anomalies(school: School) -> None:
    small_class(school)
    a, b = enrol(school, 2)
    for rid in (a, b):
        school.ledger.record_scores(
            school.teachers["GV001"], [(rid, "Toán", 1, k, "7.0") for k in ("tx", "tx", "gk")]
        )
    state = bytearray(read_states(school.settings, a)[2])
    state[-1] ^= 0x01  # a flipped payload bit
    write_states(school.settings, a, {2: bytes(state)})
    delete_version(school.settings, b, 3)  # a deleted event in the middle
    fresh = Ledger(school.settings, None)
    try:
        found = inspect(fresh)
        report = audit(fresh)
    finally:
        fresh.close()
    integrity = {
        (a_.events[0].label, a_.events[0].version, a_.data["check"])
        for a_ in found.anomalies
        if a_.kind == "integrity"
    }
    assert ("HS-I001", 2, "hash") in integrity
    assert ("HS-I002", 4, "chain") in integrity
    assert len([x for x in found.anomalies if x.kind == "integrity"]) == len(report.problems)
    assert not found.audit["ok"] and found.audit["problems"] == len(report.problems)
    # One record's report names only that record's problems.
    only = inspect(school.ledger, record=b)
    assert {e.label for x in only.anomalies for e in x.events} == {"HS-I002"}


def test_writers_from_a_small_inspection(school: School, tmp_path: Path) -> None:
    small_class(school)
    (rid,) = enrol(school, 1)
    _fill_and_close(school, rid)
    found = inspect(school.ledger, record=rid)
    paths = write_csv(found, tmp_path, language="en")
    assert [p.name for p in paths][:3] == ["timeline.csv", "anomalies.csv", "per-signer.csv"]
    with (tmp_path / "timeline.csv").open(encoding="utf-8-sig", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["event code"] for r in rows] == [
        "Enrolled",
        "ScoreRecorded",
        "ScoreRecorded",
        "ScoreRecorded",
        "ScoreRecorded",
    ]
    assert rows[1]["signer code"] == "GV001" and rows[1]["authority"] == "teaching assignment"
    assert rows[1]["time (Vietnam, UTC+7)"] == found.timeline[1].time.strftime("%Y-%m-%d %H:%M:%S")
    write_json(found, tmp_path / "i.json")
    write_html(found, tmp_path / "i.html", "vi")
    assert "Ghi điểm" in (tmp_path / "i.html").read_text("utf-8")
    with TimelineCSV(tmp_path / "streamed.csv") as sink:
        inspect(school.ledger, on_event=sink)
    assert sink.rows == inspect(school.ledger).summary.events
    with pytest.raises(ValueError):
        render_html(found, "fr")
    assert write_reports(school.ledger, _report_args(tmp_path / "r", "--format", "json"))[
        0
    ].name == ("inspection.json")
