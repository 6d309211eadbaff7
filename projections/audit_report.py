"""The inspector's reports of a :class:`ledger.inspection.Inspection`: JSON, CSV, HTML and PDF.

- :func:`write_json`: the whole inspection (:meth:`Inspection.as_dict`), UTF-8; it reads back
  with :meth:`Inspection.from_dict`, so a stored report can be rendered again.
- :func:`write_csv`: ``timeline.csv``, ``anomalies.csv``, ``per-signer.csv``,
  ``corrections.csv`` and ``records.csv``, UTF-8 with a byte order mark so that Excel shows
  Vietnamese. :class:`TimelineCSV` streams a school's whole timeline while the inspection runs
  (``inspect(..., on_event=sink)``), since :attr:`Inspection.timeline` keeps only its most
  recent rows.
- :func:`write_html`: one self-contained printable page (inline CSS with ``@media print``, inline
  SVG charts, no JavaScript, nothing fetched): the overview, events per day, per signer and
  anomalies by kind, the anomalies, corrections and signers, and the timeline (a record's whole
  timeline; a school's most recent rows).
- :func:`write_pdf`: the same content as a PDF (fpdf2, the cached Noto Serif of
  :mod:`projections.fonts`), for those who file reports as PDF.

Labels are Vietnamese with their diacritics (``language="vi"``, the default) or English
(``language="en"``). Students appear by mã học sinh only; staff by code and the name in their
certificate (see :mod:`ledger.inspection`).
"""

from __future__ import annotations

import csv
import html
import json
import unicodedata
from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from ledger.inspection import KINDS, QUESTION, SEVERITY, VIOLATION, Inspection, TimelineRow

LANGUAGES = ("vi", "en")
#: Events a timeline highlights: corrections, proposals and approvals.
CORRECTION_EVENTS = frozenset(
    {"ScoreCorrected", "CommentCorrected", "CorrectionProposed", "CorrectionApproved"}
)

#: Event labels: "Aggregate.Event" (or "Event" for every aggregate) -> (Vietnamese, English).
EVENT_LABELS: dict[str, tuple[str, str]] = {
    "School.Registered": ("Đăng ký trường (con dấu)", "School registered (seal)"),
    "SchoolYear.Opened": ("Mở năm học", "School year opened"),
    "ClassOpened": ("Mở lớp", "Class opened"),
    "SubjectPlanned": ("Kế hoạch môn học", "Subject planned"),
    "StudentJoined": ("Học sinh vào lớp", "Student joined the class"),
    "StudentLeft": ("Học sinh rời lớp", "Student left the class"),
    "TermClosed": ("Chốt học kì", "Term closed"),
    "StaffFile.Opened": ("Mở hồ sơ cán bộ", "Staff file opened"),
    "CertificateRegistered": ("Đăng ký chứng thư số", "Certificate registered"),
    "CertificateRevoked": ("Thu hồi chứng thư số", "Certificate revoked"),
    "IdentityRecorded": ("Ghi lý lịch (mã hoá)", "Identity recorded (encrypted)"),
    "TitleAppointed": ("Bổ nhiệm chức danh nghề nghiệp", "Professional title appointed"),
    "SalaryStepRaised": ("Nâng bậc lương", "Salary step raised"),
    "Appointed": ("Bổ nhiệm", "Appointed"),
    "AppointmentEnded": ("Thôi bổ nhiệm", "Appointment ended"),
    "TeachingAssigned": ("Phân công giảng dạy", "Teaching assigned"),
    "TeachingUnassigned": ("Thôi phân công giảng dạy", "Teaching unassigned"),
    "HomeroomAssigned": ("Phân công chủ nhiệm", "Homeroom assigned"),
    "HomeroomUnassigned": ("Thôi phân công chủ nhiệm", "Homeroom unassigned"),
    "TrainingCompleted": ("Hoàn thành bồi dưỡng", "Training completed"),
    "StaffFile.AwardGranted": ("Khen thưởng cán bộ", "Staff award"),
    "DisciplineImposed": ("Kỷ luật", "Discipline imposed"),
    "AnnualEvaluationRecorded": ("Xếp loại chất lượng viên chức", "Annual evaluation"),
    "Transferred": ("Điều động", "Staff transferred"),
    "PersonalDataShredded": ("Xoá dữ liệu cá nhân", "Personal data shredded"),
    "Enrolled": ("Nhập học", "Enrolled"),
    "ClassJoined": ("Vào lớp năm học mới", "Class joined"),
    "TransferredOut": ("Chuyển trường đi", "Transferred out"),
    "TransferredIn": ("Chuyển trường đến", "Transferred in"),
    "ScoreRecorded": ("Ghi điểm", "Score recorded"),
    "CommentAssessed": ("Đánh giá bằng nhận xét", "Comment assessment"),
    "ScoreCorrected": ("Sửa điểm", "Score corrected"),
    "CommentCorrected": ("Sửa đánh giá nhận xét", "Comment corrected"),
    "CorrectionProposed": ("Đề nghị sửa chữa", "Correction proposed"),
    "CorrectionApproved": ("Hiệu trưởng xác nhận sửa chữa", "Correction approved"),
    "SubjectLevelRecorded": ("Ghi mức đạt môn học", "Subject level recorded"),
    "QualityAssessed": ("Đánh giá phẩm chất, năng lực", "Quality assessed"),
    "ConductAssessed": ("Đánh giá rèn luyện", "Conduct assessed"),
    "AbsencesRecorded": ("Ghi số buổi nghỉ", "Absences recorded"),
    "RemarkRecorded": ("Nhận xét (mã hoá)", "Remark (encrypted)"),
    "SummerConductReassessed": ("Rèn luyện lại trong hè", "Summer conduct reassessed"),
    "SubjectReassessed": ("Kiểm tra lại", "Subject reassessed"),
    "YearResultRecorded": ("Kết quả cả năm", "Year result"),
    "StudentRecord.AwardGranted": ("Khen thưởng học sinh", "Student award"),
    "TranscriptIssued": ("Cấp học bạ số", "Transcript issued"),
    "TranscriptSuperseded": ("Học bạ số bị thay thế", "Transcript superseded"),
}

KIND_LABELS: dict[str, tuple[str, str]] = {
    "integrity": ("Toàn vẹn dữ liệu", "Integrity"),
    "unassigned_subject": ("Nhập ngoài phân công", "Entry outside the assignment"),
    "entry_after_close": ("Nhập sau khi chốt học kì", "Entry after the term closed"),
    "correction_in_closed_term": ("Sửa trực tiếp khi đã chốt", "Direct correction, term closed"),
    "correction_after_close": ("Sửa sau chốt (có xác nhận)", "Correction after close (approved)"),
    "late_entry": ("Nhập muộn", "Late entry"),
    "many_classes": ("Một tài khoản, nhiều lớp", "One account, many classes"),
    "night_burst": ("Ký dồn dập ban đêm", "Night burst"),
}
SEVERITY_LABELS = {VIOLATION: ("Vi phạm", "Violation"), QUESTION: ("Cần hỏi", "Question")}
BASIS_LABELS = {
    "assignment": ("phân công giảng dạy", "teaching assignment"),
    "homeroom": ("chủ nhiệm (GVCN)", "homeroom (GVCN)"),
    "entry_author": ("người nhập mục này", "the entry's author"),
    "principal": ("Hiệu trưởng", "principal"),
    "seal": ("con dấu trường", "school seal"),
    "staff_officer": ("cán bộ tổ chức", "staff officer"),
    "": ("—", "—"),
}
RECORD_KINDS = {
    "student": ("học bạ", "student record"),
    "staff": ("hồ sơ cán bộ", "staff file"),
    "school_year": ("năm học", "school year"),
    "school": ("trường", "school"),
    "": ("?", "?"),
}
DETAIL_LABELS = {
    "value": ("giá trị", "value"),
    "old": ("giá trị cũ", "old value"),
    "reason": ("lý do", "reason"),
    "corrects": ("sửa phiên bản", "corrects version"),
    "proposal": ("đề nghị (phiên bản)", "proposal (version)"),
    "proposed_by": ("người đề nghị", "proposed by"),
    "proposed_at": ("lúc đề nghị", "proposed at"),
    "kind": ("loại", "kind"),
    "passed": ("kết quả", "result"),
    "level": ("mức", "level"),
    "sessions": ("số buổi", "sessions"),
    "student_code": ("mã học sinh", "student code"),
    "student": ("học sinh", "student"),
    "staff_code": ("mã giáo viên", "staff code"),
    "school": ("trường", "school"),
    "grade": ("khối", "grade"),
    "title": ("chức danh", "title"),
    "position": ("chức vụ", "position"),
    "decision": ("quyết định", "decision"),
    "stage": ("giai đoạn", "stage"),
    "learning": ("học tập", "learning"),
    "conduct": ("rèn luyện", "conduct"),
    "promotion": ("lên lớp", "promotion"),
    "award": ("khen thưởng", "award"),
    "content": ("nội dung", "content"),
    "fingerprint": ("dấu vân tay chứng thư", "certificate fingerprint"),
}

#: UI strings: key -> (Vietnamese, English).
TEXT: dict[str, tuple[str, str]] = {
    "title": ("Báo cáo thanh tra Sổ Cái", "Sổ Cái inspection report"),
    "scope.ledger": ("Toàn bộ sổ cái", "The whole ledger"),
    "scope.school": ("Trường", "School"),
    "scope.record": ("Hồ sơ", "Record"),
    "generated": ("Lập lúc", "Generated"),
    "vn_time": ("giờ Việt Nam (UTC+7)", "Vietnam time (UTC+7)"),
    "audit": ("Kiểm tra toàn vẹn (socai audit)", "Integrity audit (socai audit)"),
    "passed": ("ĐẠT", "PASSED"),
    "failed": ("KHÔNG ĐẠT", "FAILED"),
    "events": ("Sự kiện", "Events"),
    "records": ("Hồ sơ", "Records"),
    "signers": ("Người ký", "Signers"),
    "certificates": ("Chứng thư số", "Certificates"),
    "corrections": ("Sửa chữa", "Corrections"),
    "anomalies": ("Bất thường", "Anomalies"),
    "violations": ("Vi phạm", "Violations"),
    "questions": ("Cần hỏi", "Questions"),
    "period": ("Khoảng thời gian", "Period"),
    "chart.days": ("Số sự kiện theo ngày", "Events per day"),
    "chart.signers": ("Số sự kiện theo người ký", "Events per signer"),
    "chart.kinds": ("Bất thường theo loại", "Anomalies by kind"),
    "chart.more": ("người ký khác", "other signers"),
    "none": ("Không có.", "None."),
    "id": ("Mã", "ID"),
    "kind": ("Loại", "Kind"),
    "severity": ("Mức", "Severity"),
    "explanation": ("Giải thích", "Explanation"),
    "concerned": ("Sự kiện liên quan", "Events concerned"),
    "and_more": ("và {n} sự kiện khác", "and {n} more"),
    "record": ("Hồ sơ", "Record"),
    "entry": ("Mục được sửa", "Corrected entry"),
    "change": ("Thay đổi", "Change"),
    "reason": ("Lý do", "Reason"),
    "by": ("Người sửa / đề nghị", "Corrected / proposed by"),
    "approval": ("Xác nhận của Hiệu trưởng", "Principal's approval"),
    "direct": ("sửa trực tiếp (học kì chưa chốt)", "direct (term open)"),
    "direct_closed": ("sửa trực tiếp khi đã chốt", "direct, term closed"),
    "pending": ("chờ duyệt", "pending"),
    "after_close": ("sau chốt", "after close"),
    "code": ("Mã", "Code"),
    "name": ("Họ tên (chứng thư)", "Name (certificate)"),
    "title_col": ("Chức danh", "Title"),
    "school": ("Trường", "School"),
    "entries": ("Điểm/nhận xét", "Entries"),
    "approvals": ("Xác nhận", "Approvals"),
    "night": ("Ban đêm", "At night"),
    "classes": ("Lớp theo học kì", "Classes per term"),
    "first": ("Đầu tiên", "First"),
    "last": ("Gần nhất", "Last"),
    "schools": ("Theo trường", "Per school"),
    "record_summaries": ("Theo hồ sơ", "Per record"),
    "record_note": (
        "Các hồ sơ có bất thường hoặc sửa chữa; {n} hồ sơ khác không có.",
        "Records with anomalies or corrections; {n} others have none.",
    ),
    "by_event": ("Theo loại sự kiện", "By event type"),
    "timeline": ("Dòng thời gian", "Timeline"),
    "timeline_recent": (
        "{n} sự kiện gần nhất trong tổng số {total}; toàn bộ có trong timeline.csv.",
        "The {n} most recent of {total} events; timeline.csv has them all.",
    ),
    "position": ("STT nhật ký", "Log #"),
    "time": ("Thời điểm", "Time"),
    "version": ("Phiên bản", "Version"),
    "event": ("Sự kiện", "Event"),
    "signer": ("Người ký", "Signer"),
    "basis": ("Căn cứ thẩm quyền", "Authority"),
    "context": ("Năm học · lớp · môn · HK", "Year · class · subject · term"),
    "details": ("Chi tiết", "Details"),
    "thresholds": ("Ngưỡng phát hiện [U] (tham số)", "Detection thresholds [U] (parameters)"),
    "how": ("Cách đọc báo cáo", "How to read this report"),
    "how.text": (
        "«Vi phạm»: sự kiện trái quy tắc (kiểm tra toàn vẹn, thẩm quyền, chốt học kì) — lệnh ghi "
        "luôn từ chối, nên sự kiện đã được đưa vào từ bên ngoài. «Cần hỏi»: hợp lệ nhưng nên hỏi "
        "lại (sửa sau chốt có xác nhận, nhập muộn, một tài khoản nhiều lớp, ký dồn dập ban đêm). "
        "Các ngưỡng chưa có văn bản quy định ([U]); thay đổi được khi chạy socai audit. Học sinh "
        "chỉ hiện bằng mã học sinh; tên cán bộ lấy từ chứng thư số của họ.",
        "'Violation': an event that breaks a rule (integrity, authority, term close) — the "
        "commands always refuse it, so it came in behind them. 'Question': legal but worth "
        "asking about (an approved correction after close, late entries, one account for many "
        "classes, bursts at night). No regulation sets the thresholds ([U]); socai audit takes "
        "them as options. Students appear by their student code only; staff names come from "
        "their certificates.",
    ),
    "late_days": (
        "Nhập muộn: quá {v} ngày sau ngày trung vị của lớp, môn, học kì",
        "Late entry: more than {v} days after the median day of its class, subject, term",
    ),
    "late_min_entries": (
        "… khi đã có ít nhất {v} mục nhập trước đó",
        "… once at least {v} earlier entries exist",
    ),
    "many_classes": ("Nhiều lớp: quá {v} lớp một học kì", "Many classes: more than {v} a term"),
    "night_events": (
        "Ban đêm: từ {v} sự kiện trong {m} phút, {s:02d}:00–{e:02d}:00",
        "Night: {v} events or more within {m} minutes, {s:02d}:00–{e:02d}:00",
    ),
    "yes": ("có", "yes"),
    "no": ("không", "no"),
}


def text(key: str, language: str = "vi", **values: Any) -> str:
    """The UI string ``key`` in ``language``, formatted with ``values``."""
    vi, en = TEXT[key]
    chosen = en if language == "en" else vi
    return chosen.format(**values) if values else chosen


def _pick(pair: tuple[str, str], language: str) -> str:
    return pair[1] if language == "en" else pair[0]


def event_label(event: str, aggregate: str = "", language: str = "vi") -> str:
    """The label of an event (``ScoreRecorded`` of ``StudentRecord``) in ``language``."""
    pair = EVENT_LABELS.get(f"{aggregate}.{event}") or EVENT_LABELS.get(event)
    return _pick(pair, language) if pair else event


def kind_label(kind: str, language: str = "vi") -> str:
    return _pick(KIND_LABELS.get(kind, (kind, kind)), language)


def _check_language(language: str) -> None:
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {language!r}")


# -- rows as text -------------------------------------------------------------------------------


def when(moment: datetime | None) -> str:
    """``YYYY-MM-DD HH:MM:SS`` in the time zone the inspection gives (Vietnam time)."""
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S")


def context(row: TimelineRow) -> str:
    parts = [row.school_year, row.class_name, row.subject]
    if row.term is not None:
        parts.append(f"HK{row.term}")
    return " · ".join(p for p in parts if p)


def describe(row: TimelineRow, language: str = "vi") -> str:
    """What changed, in a short line."""
    d = dict(row.details)
    reason = _pick(DETAIL_LABELS["reason"], language)
    if row.event in ("ScoreCorrected", "CommentCorrected", "CorrectionProposed"):
        return (
            f"v{d.get('corrects')} ({d.get('kind', '')}): {d.get('old', '?')} → "
            f"{d.get('value', d.get('passed', '?'))}; {reason}: «{d.get('reason', '')}»"
        )
    if row.event == "CorrectionApproved":
        if language == "en":
            head = f"proposal v{d.get('proposal')} by {d.get('proposed_by', '?')}"
        else:
            head = f"đề nghị v{d.get('proposal')} của {d.get('proposed_by', '?')}"
        return (
            f"{head}: v{d.get('corrects')} ({d.get('kind', '')}) {d.get('old', '?')} → "
            f"{d.get('value', '?')}; {reason}: «{d.get('reason', '')}»"
        )
    if row.event in ("ScoreRecorded", "CommentAssessed"):
        return f"{d.get('kind', '')}: {d.get('value', d.get('passed', ''))}"
    if row.event in ("IdentityRecorded", "RemarkRecorded"):
        return "mã hoá" if language == "vi" else "encrypted"
    return "; ".join(
        f"{_pick(DETAIL_LABELS[k], language) if k in DETAIL_LABELS else k}: {v}"
        for k, v in d.items()
    )


def signer_text(code: str, name: str) -> str:
    return f"{code} {name}".strip()


# -- JSON ---------------------------------------------------------------------------------------


def write_json(inspection: Inspection, path: Path) -> Path:
    """The whole inspection as JSON (UTF-8, Vietnamese as is)."""
    path = Path(path)
    path.write_text(
        json.dumps(inspection.as_dict(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    return path


# -- CSV ----------------------------------------------------------------------------------------

#: UTF-8 with a byte order mark: Excel then reads the file as UTF-8 (Vietnamese stays readable).
CSV_ENCODING = "utf-8-sig"


def timeline_header(language: str = "vi") -> list[str]:
    if language == "en":
        return [
            "log #",
            "time (Vietnam, UTC+7)",
            "record",
            "record kind",
            "school",
            "version",
            "event",
            "event code",
            "signer code",
            "signer name (certificate)",
            "signer title",
            "authority",
            "school year",
            "class",
            "subject",
            "term",
            "details",
            "record id",
        ]
    return [
        "STT nhật ký",
        "thời điểm (giờ VN, UTC+7)",
        "hồ sơ",
        "loại hồ sơ",
        "trường",
        "phiên bản",
        "sự kiện",
        "mã sự kiện",
        "mã người ký",
        "họ tên người ký (chứng thư)",
        "chức danh",
        "căn cứ thẩm quyền",
        "năm học",
        "lớp",
        "môn",
        "học kì",
        "chi tiết",
        "mã hồ sơ (UUID)",
    ]


def timeline_cells(row: TimelineRow, language: str = "vi") -> list[str]:
    return [
        str(row.position),
        when(row.time),
        row.record_label,
        _pick(RECORD_KINDS.get(row.record_kind, RECORD_KINDS[""]), language),
        row.school,
        str(row.version),
        event_label(row.event, row.aggregate, language),
        row.event,
        row.signer_code,
        row.signer_name,
        row.signer_title,
        _pick(BASIS_LABELS.get(row.basis, BASIS_LABELS[""]), language),
        row.school_year,
        row.class_name,
        row.subject,
        "" if row.term is None else str(row.term),
        describe(row, language),
        row.record,
    ]


class TimelineCSV:
    """``timeline.csv`` written row by row: pass it as ``inspect(..., on_event=...)``.

    Use as a context manager; the file is complete when the ``with`` block ends.
    """

    def __init__(self, path: Path, language: str = "vi") -> None:
        _check_language(language)
        self.path = Path(path)
        self.language = language
        self.rows = 0
        self._file: IO[str] | None = None
        self._writer: Any = None

    def __enter__(self) -> TimelineCSV:
        self._file = self.path.open("w", encoding=CSV_ENCODING, newline="")
        self._writer = csv.writer(self._file)
        self._writer.writerow(timeline_header(self.language))
        return self

    def __call__(self, row: TimelineRow) -> None:
        self._writer.writerow(timeline_cells(row, self.language))
        self.rows += 1

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


def _write_rows(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Path:
    with path.open("w", encoding=CSV_ENCODING, newline="") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        for row in rows:
            writer.writerow(["" if v is None else str(v) for v in row])
    return path


def write_csv(
    inspection: Inspection,
    directory: Path,
    *,
    language: str = "vi",
    include_timeline: bool = True,
) -> list[Path]:
    """``timeline.csv`` (unless ``include_timeline`` is false: streamed by :class:`TimelineCSV`),
    ``anomalies.csv``, ``per-signer.csv``, ``corrections.csv`` and ``records.csv``."""
    _check_language(language)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    en = language == "en"
    written = []
    if include_timeline:
        with TimelineCSV(directory / "timeline.csv", language) as sink:
            for row in inspection.timeline:
                sink(row)
        written.append(sink.path)
    written.append(
        _write_rows(
            directory / "anomalies.csv",
            [
                "id",
                "kind",
                "kind label" if en else "loại",
                "severity" if en else "mức",
                "school" if en else "trường",
                "signer" if en else "người ký",
                "events in all" if en else "tổng số sự kiện",
                "events (record@version)" if en else "sự kiện (hồ sơ@phiên bản)",
                "giải thích (tiếng Việt)",
                "explanation (English)",
            ],
            (
                [
                    a.id,
                    a.kind,
                    kind_label(a.kind, language),
                    _pick(SEVERITY_LABELS[a.severity], language),
                    a.school,
                    a.signer,
                    a.count,
                    " ".join(f"{e.label}@{e.version}" for e in a.events),
                    a.vi,
                    a.en,
                ]
                for a in inspection.anomalies
            ),
        )
    )
    written.append(
        _write_rows(
            directory / "per-signer.csv",
            [
                "code" if en else "mã",
                "name (certificate)" if en else "họ tên (chứng thư)",
                "title" if en else "chức danh",
                "school" if en else "trường",
                "kind" if en else "loại",
                "events" if en else "sự kiện",
                "entries" if en else "điểm/nhận xét",
                "corrections" if en else "sửa chữa",
                "approvals" if en else "xác nhận",
                "at night" if en else "ban đêm",
                "anomalies" if en else "bất thường",
                "first" if en else "đầu tiên",
                "last" if en else "gần nhất",
                "classes per term" if en else "lớp theo học kì",
                "signer id",
            ],
            (
                [
                    s.code,
                    s.name,
                    s.title,
                    s.school,
                    s.kind,
                    s.events,
                    s.entries,
                    s.corrections,
                    s.approvals,
                    s.night_events,
                    s.anomalies,
                    when(s.first),
                    when(s.last),
                    "; ".join(f"{t}: {', '.join(c)}" for t, c in s.classes.items()),
                    s.id,
                ]
                for s in inspection.signers
            ),
        )
    )
    written.append(
        _write_rows(
            directory / "corrections.csv",
            [
                "record" if en else "hồ sơ",
                "school" if en else "trường",
                "school year" if en else "năm học",
                "class" if en else "lớp",
                "subject" if en else "môn",
                "term" if en else "học kì",
                "kind" if en else "loại điểm",
                "entry version" if en else "phiên bản mục",
                "old" if en else "giá trị cũ",
                "new" if en else "giá trị mới",
                "reason" if en else "lý do",
                "method" if en else "cách sửa",
                "version" if en else "phiên bản",
                "by" if en else "người sửa/đề nghị",
                "name" if en else "họ tên",
                "at" if en else "lúc",
                "approval version" if en else "phiên bản xác nhận",
                "approved by" if en else "người xác nhận",
                "approver name" if en else "họ tên người xác nhận",
                "approved at" if en else "lúc xác nhận",
                "after close" if en else "sau chốt",
                "status" if en else "trạng thái",
            ],
            (
                [
                    c.record_label,
                    c.school,
                    c.school_year,
                    c.class_name,
                    c.subject,
                    c.term,
                    c.kind,
                    c.entry_version,
                    c.old,
                    c.new,
                    c.reason,
                    c.method,
                    c.version,
                    c.by_code,
                    c.by_name,
                    when(c.at),
                    c.approval_version,
                    c.approved_by_code,
                    c.approved_by_name,
                    when(c.approved_at),
                    text("yes" if c.after_close else "no", language),
                    c.status,
                ]
                for c in inspection.corrections
            ),
        )
    )
    written.append(
        _write_rows(
            directory / "records.csv",
            [
                "record" if en else "hồ sơ",
                "kind" if en else "loại",
                "school" if en else "trường",
                "events" if en else "sự kiện",
                "corrections" if en else "sửa chữa",
                "anomalies" if en else "bất thường",
                "first" if en else "đầu tiên",
                "last" if en else "gần nhất",
                "by event type" if en else "theo loại sự kiện",
                "record id",
            ],
            (
                [
                    r.label,
                    r.kind,
                    r.school,
                    r.summary.events,
                    r.corrections,
                    r.anomalies,
                    when(r.summary.first),
                    when(r.summary.last),
                    "; ".join(f"{k}={v}" for k, v in sorted(r.summary.by_event.items())),
                    r.record,
                ]
                for r in inspection.records
            ),
        )
    )
    return written


# -- charts (inline SVG) ------------------------------------------------------------------------

_E = html.escape
PALETTE = {"bar": "#2f5d8a", "violation": "#b3261e", "question": "#c77700", "grid": "#d9dee5"}


def _days(by_day: dict[str, int]) -> list[tuple[date, int]]:
    """Every day from the first to the last (zeros included), or months for long spans."""
    if not by_day:
        return []
    days = {date.fromisoformat(k): v for k, v in by_day.items()}
    first, last = min(days), max(days)
    return [
        (first + timedelta(days=i), days.get(first + timedelta(days=i), 0))
        for i in range((last - first).days + 1)
    ]


def svg_day_chart(by_day: dict[str, int], language: str = "vi", width: int = 960) -> str:
    """Events per day as a bar chart (a line of bars: the changes over time)."""
    points = _days(by_day)
    if not points:
        return f"<p class='muted'>{_E(text('none', language))}</p>"
    height, left, bottom, top = 220, 56, 34, 12
    plot_w, plot_h = width - left - 12, height - top - bottom
    peak = max(v for _, v in points) or 1
    scale = _nice(peak)
    step = plot_w / len(points)
    parts = [
        f"<svg class='chart' viewBox='0 0 {width} {height}' width='100%' role='img' "
        f"aria-label='{_E(text('chart.days', language))}' xmlns='http://www.w3.org/2000/svg'>"
    ]
    for i in range(5):
        value = scale * i / 4
        y = top + plot_h - plot_h * value / scale
        parts.append(
            f"<line x1='{left}' x2='{width - 12}' y1='{y:.1f}' y2='{y:.1f}' "
            f"stroke='{PALETTE['grid']}'/>"
            f"<text x='{left - 6}' y='{y + 4:.1f}' text-anchor='end' class='tick'>"
            f"{_number(value)}</text>"
        )
    bar_w = min(max(step * 0.8, 1.0), 36.0)
    for i, (day, value) in enumerate(points):
        if not value:
            continue
        h = plot_h * value / scale
        x = left + i * step + (step - bar_w) / 2
        parts.append(
            f"<rect x='{x:.1f}' y='{top + plot_h - h:.1f}' width='{bar_w:.1f}' height='{h:.1f}' "
            f"fill='{PALETTE['bar']}'><title>{day.strftime('%d/%m/%Y')}: {value}</title></rect>"
        )
    labels = _day_ticks(points)
    for i in labels:
        day = points[i][0]
        x = left + i * step + step / 2
        edge = i in (0, len(points) - 1) and len(points) > 1
        anchor = "middle" if not edge else "start" if i == 0 else "end"
        if edge:
            x = left if i == 0 else width - 12
        parts.append(
            f"<text x='{x:.1f}' y='{height - 12}' text-anchor='{anchor}' class='tick'>"
            f"{day.strftime('%d/%m/%Y' if i in (0, len(points) - 1) else '%d/%m')}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _day_ticks(points: list[tuple[date, int]]) -> list[int]:
    n = len(points)
    if n <= 1:
        return [0]
    wanted = min(n, 8)
    return sorted({round(i * (n - 1) / (wanted - 1)) for i in range(wanted)})


def svg_bar_list(
    items: Sequence[tuple[str, int, str]], language: str = "vi", width: int = 960
) -> str:
    """Horizontal bars: (label, value, colour) each."""
    if not items:
        return f"<p class='muted'>{_E(text('none', language))}</p>"
    row_h, label_w, right = 22, 300, 60
    height = row_h * len(items) + 8
    peak = max(v for _, v, _ in items) or 1
    plot_w = width - label_w - right
    parts = [
        f"<svg class='chart' viewBox='0 0 {width} {height}' width='100%' role='img' "
        "xmlns='http://www.w3.org/2000/svg'>"
    ]
    for i, (label, value, colour) in enumerate(items):
        y = 4 + i * row_h
        w = plot_w * value / peak if value else 0
        shown = label if len(label) <= 44 else label[:43] + "…"
        parts.append(
            f"<text x='{label_w - 8}' y='{y + 15}' text-anchor='end' class='label'>"
            f"{_E(shown)}</text>"
            f"<rect x='{label_w}' y='{y + 3}' width='{w:.1f}' height='{row_h - 7}' "
            f"fill='{colour}'><title>{_E(label)}: {value}</title></rect>"
            f"<text x='{label_w + w + 6:.1f}' y='{y + 15}' class='value'>{value}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _nice(peak: int) -> float:
    """A round axis maximum at or above ``peak``."""
    magnitude = 10 ** (len(str(int(peak))) - 1)
    for factor in (1, 2, 2.5, 5, 10):
        if peak <= factor * magnitude:
            return float(factor * magnitude)
    return float(peak)


def _number(value: float) -> str:
    return f"{value:,.0f}".replace(",", ".") if value >= 1 or value == 0 else f"{value:.1f}"


# -- HTML ---------------------------------------------------------------------------------------

CSS = """
:root { --ink: #1d2733; --muted: #5b6776; --line: #d9dee5; --accent: #2f5d8a;
  --violation: #b3261e; --question: #c77700; --paper: #ffffff; --band: #f3f5f8; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--band); color: var(--ink);
  font: 14px/1.45 "Noto Sans", "Segoe UI", "Helvetica Neue", Arial, sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 24px 28px 40px; background: var(--paper); }
header { border-bottom: 3px solid var(--accent); padding-bottom: 12px; margin-bottom: 18px; }
h1 { font-size: 24px; margin: 0 0 4px; }
h2 { font-size: 18px; margin: 28px 0 10px; padding-bottom: 4px;
  border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 18px 0 6px; }
.meta { color: var(--muted); margin: 2px 0; }
.status { display: inline-block; padding: 2px 10px; border-radius: 10px; font-weight: 700;
  color: #fff; }
.status.ok { background: #2e7d32; } .status.bad { background: var(--violation); }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(140px, 1fr)); gap: 10px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 10px 12px; }
.card .n { font-size: 22px; font-weight: 700; }
.card .l { color: var(--muted); font-size: 12px; }
.card.violation .n { color: var(--violation); } .card.question .n { color: var(--question); }
.charts { display: grid; grid-template-columns: 1fr; gap: 8px; }
.chart { display: block; max-width: 100%; height: auto; }
.chart .tick { font-size: 11px; fill: var(--muted); }
.chart .label { font-size: 12px; fill: var(--ink); }
.chart .value { font-size: 11px; fill: var(--muted); }
table { width: 100%; border-collapse: collapse; margin: 6px 0 4px; font-size: 12.5px; }
th, td { border: 1px solid var(--line); padding: 4px 6px; text-align: left; vertical-align: top; }
th { background: var(--band); font-weight: 600; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.nowrap, td.who { white-space: nowrap; }
td.ctx { min-width: 13em; } td.ev { min-width: 9em; } td.det { min-width: 16em; }
tr.correction td { background: #fff8e6; }
.sev { font-weight: 700; white-space: nowrap; }
.sev.violation { color: var(--violation); } .sev.question { color: var(--question); }
tr.violation td:first-child { border-left: 4px solid var(--violation); }
tr.question td:first-child { border-left: 4px solid var(--question); }
.muted { color: var(--muted); }
.refs { color: var(--muted); font-size: 11.5px; }
ul.thresholds { margin: 4px 0; padding-left: 20px; }
footer { margin-top: 30px; color: var(--muted); font-size: 12px; }
@page { size: A4 landscape; margin: 12mm; }
@media print {
  body { background: #fff; font-size: 11px; }
  main { max-width: none; padding: 0; }
  h2 { break-after: avoid; }
  table { font-size: 10px; }
  thead { display: table-header-group; }
  tr, .card, svg { break-inside: avoid; }
  section.timeline { break-before: page; }
  a { color: inherit; text-decoration: none; }
}
"""


def render_html(inspection: Inspection, language: str = "vi") -> str:
    """The report as one self-contained HTML page (no script, nothing external)."""
    _check_language(language)
    t = _T(language)
    i = inspection
    out: list[str] = [
        "<!DOCTYPE html>",
        f"<html lang='{language}'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<title>{_E(t('title'))} — {_E(_scope(i, language))}</title>",
        f"<style>{CSS}</style></head><body><main>",
        _header(i, t, language),
        _overview(i, t),
        _charts(i, t, language),
        _anomalies(i, t, language),
        _corrections(i, t),
        _signers(i, t),
        _schools(i, t),
        _records(i, t, language),
        _timeline(i, t, language),
        f"<section><h2>{_E(t('how'))}</h2><p>{_E(t('how.text'))}</p></section>",
        f"<footer>Sổ Cái · socai audit --report · {_E(when(i.generated_at))} "
        f"({_E(t('vn_time'))})</footer>",
        "</main></body></html>",
    ]
    return "\n".join(out)


def write_html(inspection: Inspection, path: Path, language: str = "vi") -> Path:
    """Write :func:`render_html` to ``path`` (UTF-8)."""
    path = Path(path)
    path.write_text(render_html(inspection, language), encoding="utf-8")
    return path


class _T:
    def __init__(self, language: str) -> None:
        self.language = language

    def __call__(self, key: str, **values: Any) -> str:
        return text(key, self.language, **values)


def _scope(i: Inspection, language: str) -> str:
    if i.scope == "record":
        return f"{text('scope.record', language)} {i.record_label}"
    if i.scope == "school":
        names = [s.name for s in i.schools if s.code == i.school]
        name = f" — {names[0]}" if names and names[0] else ""
        return f"{text('scope.school', language)} {i.school}{name}"
    return text("scope.ledger", language)


def _header(i: Inspection, t: _T, language: str) -> str:
    ok = bool(i.audit.get("ok"))
    status = (
        f"<span class='status {'ok' if ok else 'bad'}'>{_E(t('passed' if ok else 'failed'))}</span>"
    )
    period = ""
    if i.summary.first is not None and i.summary.last is not None:
        period = (
            f"<p class='meta'>{_E(t('period'))}: {_E(when(i.summary.first))} – "
            f"{_E(when(i.summary.last))} ({_E(t('vn_time'))})</p>"
        )
    th = i.thresholds
    limits = [
        t("late_days", v=th.late_days),
        t("late_min_entries", v=th.late_min_entries),
        t("many_classes", v=th.many_classes),
        t("night_events", v=th.night_events, m=th.burst_minutes, s=th.night_start, e=th.night_end),
    ]
    schools = ", ".join(f"{s.code} {s.name}".strip() for s in i.schools)
    return (
        f"<header><h1>{_E(t('title'))}</h1>"
        f"<p class='meta'><strong>{_E(_scope(i, language))}</strong>"
        + (f" · {_E(schools)}" if schools and i.scope != "school" else "")
        + "</p>"
        f"<p class='meta'>{_E(t('generated'))}: {_E(when(i.generated_at))} "
        f"({_E(t('vn_time'))})</p>{period}"
        f"<p class='meta'>{_E(t('audit'))}: {status} · {i.audit.get('events', 0)} "
        f"{_E(t('events').lower())}, {i.audit.get('problems', 0)} "
        f"{_E(t('violations').lower())}</p>"
        f"<details open><summary class='meta'>{_E(t('thresholds'))}</summary>"
        "<ul class='thresholds'>"
        + "".join(f"<li>{_E(x)}</li>" for x in limits)
        + "</ul></details></header>"
    )


def _overview(i: Inspection, t: _T) -> str:
    cards = [
        (t("events"), i.summary.events, ""),
        (t("records"), len(i.records), ""),
        (t("signers"), len(i.signers), ""),
        (t("certificates"), i.audit.get("certificates", 0), ""),
        (t("corrections"), len(i.corrections), ""),
        (t("violations"), len(i.violations), "violation"),
        (t("questions"), len(i.questions), "question"),
    ]
    return (
        "<section class='cards'>"
        + "".join(
            f"<div class='card {cls}'><div class='n'>{_number(float(n))}</div>"
            f"<div class='l'>{_E(label)}</div></div>"
            for label, n, cls in cards
        )
        + "</section>"
    )


def _charts(i: Inspection, t: _T, language: str) -> str:
    signers = sorted(i.signers, key=lambda s: (-s.events, s.code))
    top = [(signer_text(s.code, s.name), s.events, PALETTE["bar"]) for s in signers[:15]]
    rest = sum(s.events for s in signers[15:])
    if rest:
        top.append((f"{len(signers) - 15} {t('chart.more')}", rest, PALETTE["grid"]))
    counts = {k: 0 for k in KINDS}
    for a in i.anomalies:
        counts[a.kind] = counts.get(a.kind, 0) + 1
    kinds = [(kind_label(k, language), n, PALETTE[SEVERITY[k]]) for k, n in counts.items()]
    return (
        "<section class='charts'>"
        f"<h2>{_E(t('chart.days'))}</h2>{svg_day_chart(i.summary.by_day, language)}"
        f"<h2>{_E(t('chart.signers'))}</h2>{svg_bar_list(top, language)}"
        f"<h2>{_E(t('chart.kinds'))}</h2>{svg_bar_list(kinds, language)}"
        "</section>"
    )


def _table(head: Sequence[tuple[str, str]], rows: Iterable[str]) -> str:
    body = "".join(rows)
    heads = "".join(f"<th class='{cls}'>{_E(h)}</th>" for h, cls in head)
    return f"<table><thead><tr>{heads}</tr></thead><tbody>{body}</tbody></table>"


def _anomalies(i: Inspection, t: _T, language: str) -> str:
    if not i.anomalies:
        return f"<section><h2>{_E(t('anomalies'))}</h2><p>{_E(t('none'))}</p></section>"
    rows = []
    for a in i.anomalies:
        refs = ", ".join(f"{e.label} v{e.version}" for e in a.events[:6])
        if a.count > min(len(a.events), 6):
            refs += f" ({_E(t('and_more', n=a.count - min(len(a.events), 6)))})"
        explanation = a.en if language == "en" else a.vi
        rows.append(
            f"<tr class='{a.severity}'><td class='nowrap'>{_E(a.id)}</td>"
            f"<td>{_E(kind_label(a.kind, language))}</td>"
            f"<td class='sev {a.severity}'>{_E(_pick(SEVERITY_LABELS[a.severity], language))}</td>"
            f"<td>{_E(explanation)}<div class='refs'>{_E(refs)}</div></td>"
            f"<td class='num'>{a.count}</td></tr>"
        )
    head = [
        (t("id"), ""),
        (t("kind"), ""),
        (t("severity"), ""),
        (t("explanation"), ""),
        (t("events"), "num"),
    ]
    return (
        f"<section><h2>{_E(t('anomalies'))} ({len(i.anomalies)})</h2>{_table(head, rows)}</section>"
    )


def _corrections(i: Inspection, t: _T) -> str:
    if not i.corrections:
        return f"<section><h2>{_E(t('corrections'))}</h2><p>{_E(t('none'))}</p></section>"
    rows = []
    for c in i.corrections:
        if c.method == "direct":
            how = t("direct_closed") if c.after_close else t("direct")
            approval = how
        elif c.approved_at is None:
            approval = t("pending")
        else:
            approval = f"{c.approved_by_code} {c.approved_by_name} · {when(c.approved_at)}" + (
                f" ({t('after_close')})" if c.after_close else ""
            )
        rows.append(
            "<tr>"
            f"<td class='nowrap'>{_E(c.record_label)}</td>"
            f"<td>{_E(f'{c.school_year} · {c.class_name} · {c.subject} · HK{c.term} · {c.kind}')}"
            f" <span class='muted'>v{c.entry_version}</span></td>"
            f"<td class='nowrap'>{_E(c.old)} → {_E(c.new)}</td>"
            f"<td>{_E(c.reason)}</td>"
            f"<td>{_E(signer_text(c.by_code, c.by_name))} · {_E(when(c.at))}"
            f" <span class='muted'>v{c.version}</span></td>"
            f"<td>{_E(approval)}</td></tr>"
        )
    head = [
        (t("record"), ""),
        (t("entry"), ""),
        (t("change"), ""),
        (t("reason"), ""),
        (t("by"), ""),
        (t("approval"), ""),
    ]
    return (
        f"<section><h2>{_E(t('corrections'))} ({len(i.corrections)})</h2>"
        f"{_table(head, rows)}</section>"
    )


def _signers(i: Inspection, t: _T) -> str:
    rows = [
        "<tr>"
        f"<td class='nowrap'>{_E(s.code)}</td><td>{_E(s.name)}</td><td>{_E(s.title)}</td>"
        f"<td>{_E(s.school)}</td><td class='num'>{s.events}</td><td class='num'>{s.entries}</td>"
        f"<td class='num'>{s.corrections}</td><td class='num'>{s.approvals}</td>"
        f"<td class='num'>{s.night_events}</td><td class='num'>{s.anomalies}</td>"
        f"<td>{_E('; '.join(f'{k}: {len(v)}' for k, v in s.classes.items()))}</td>"
        f"<td class='nowrap'>{_E(when(s.last))}</td></tr>"
        for s in sorted(i.signers, key=lambda s: (-s.events, s.code))
    ]
    head = [
        (t("code"), ""),
        (t("name"), ""),
        (t("title_col"), ""),
        (t("school"), ""),
        (t("events"), "num"),
        (t("entries"), "num"),
        (t("corrections"), "num"),
        (t("approvals"), "num"),
        (t("night"), "num"),
        (t("anomalies"), "num"),
        (t("classes"), ""),
        (t("last"), ""),
    ]
    return f"<section><h2>{_E(t('signers'))} ({len(i.signers)})</h2>{_table(head, rows)}</section>"


def _schools(i: Inspection, t: _T) -> str:
    rows = [
        "<tr>"
        f"<td class='nowrap'>{_E(s.code)}</td><td>{_E(s.name)}</td>"
        f"<td class='num'>{s.records}</td><td class='num'>{s.summary.events}</td>"
        f"<td class='num'>{s.anomalies}</td>"
        f"<td class='nowrap'>{_E(when(s.summary.first))}</td>"
        f"<td class='nowrap'>{_E(when(s.summary.last))}</td></tr>"
        for s in i.schools
    ]
    head = [
        (t("code"), ""),
        (t("school"), ""),
        (t("records"), "num"),
        (t("events"), "num"),
        (t("anomalies"), "num"),
        (t("first"), ""),
        (t("last"), ""),
    ]
    return f"<section><h2>{_E(t('schools'))}</h2>{_table(head, rows)}</section>"


def _records(i: Inspection, t: _T, language: str) -> str:
    if i.scope == "record":
        shown = i.records
        note = ""
    else:
        shown = [r for r in i.records if r.anomalies or r.corrections]
        note = f"<p class='muted'>{_E(t('record_note', n=len(i.records) - len(shown)))}</p>"
    rows = [
        "<tr>"
        f"<td class='nowrap'>{_E(r.label)}</td>"
        f"<td>{_E(_pick(RECORD_KINDS.get(r.kind, RECORD_KINDS['']), language))}</td>"
        f"<td>{_E(r.school)}</td><td class='num'>{r.summary.events}</td>"
        f"<td class='num'>{r.corrections}</td><td class='num'>{r.anomalies}</td>"
        "<td>"
        + _E(
            ", ".join(
                f"{event_label(k, '', language)} {v}"
                for k, v in sorted(r.summary.by_event.items(), key=lambda kv: -kv[1])
            )
        )
        + "</td></tr>"
        for r in shown
    ]
    head = [
        (t("record"), ""),
        (t("kind"), ""),
        (t("school"), ""),
        (t("events"), "num"),
        (t("corrections"), "num"),
        (t("anomalies"), "num"),
        (t("by_event"), ""),
    ]
    table = _table(head, rows) if rows else f"<p>{_E(t('none'))}</p>"
    return f"<section><h2>{_E(t('record_summaries'))}</h2>{note}{table}</section>"


def _timeline(i: Inspection, t: _T, language: str) -> str:
    rows = list(i.timeline)
    note = ""
    if not i.timeline_complete:
        rows.reverse()  # the most recent first
        note = (
            f"<p class='muted'>{_E(t('timeline_recent', n=len(rows), total=i.summary.events))}</p>"
        )
    marked = {(e.record, e.version): a.severity for a in i.anomalies for e in a.events}
    body = []
    for row in rows:
        classes = [marked.get((row.record, row.version), "")]
        if row.event in CORRECTION_EVENTS:
            classes.append("correction")
        body.append(
            f"<tr class='{' '.join(c for c in classes if c)}'>"
            f"<td class='num'>{row.position}</td><td class='nowrap'>{_E(when(row.time))}</td>"
            + (f"<td class='nowrap'>{_E(row.record_label)}</td>" if i.scope != "record" else "")
            + f"<td class='num'>{row.version}</td>"
            f"<td class='ev'>{_E(event_label(row.event, row.aggregate, language))}</td>"
            f"<td class='who'>{_E(signer_text(row.signer_code, row.signer_name))}</td>"
            f"<td>{_E(_pick(BASIS_LABELS.get(row.basis, BASIS_LABELS['']), language))}</td>"
            f"<td class='ctx'>{_E(context(row))}</td>"
            f"<td class='det'>{_E(describe(row, language))}</td></tr>"
        )
    head = [(t("position"), "num"), (t("time"), "")]
    if i.scope != "record":
        head.append((t("record"), ""))
    head += [
        (t("version"), "num"),
        (t("event"), ""),
        (t("signer"), ""),
        (t("basis"), ""),
        (t("context"), ""),
        (t("details"), ""),
    ]
    return (
        f"<section class='timeline'><h2>{_E(t('timeline'))}</h2>{note}"
        f"{_table(head, body) if body else _E(t('none'))}</section>"
    )


# -- PDF ----------------------------------------------------------------------------------------


def write_pdf(inspection: Inspection, path: Path, language: str = "vi") -> Path:
    """The report as a PDF (A4 landscape, Noto Serif from :mod:`projections.fonts`).

    The sections of the HTML page, the charts drawn as bars. Raises
    :class:`projections.fonts.FontUnavailable` when the fonts cannot be built.
    """
    path = Path(path)
    path.write_bytes(render_pdf(inspection, language))
    return path


def _pdf_text(value: object) -> str:
    """Text the cached fonts can draw: NFC, arrows spelled out, anything else uncovered as ?."""
    from projections.fonts import uncovered

    out = unicodedata.normalize("NFC", str(value)).replace("→", "->")
    for c in uncovered(out):
        out = out.replace(c, "?")
    return out


def render_pdf(inspection: Inspection, language: str = "vi") -> bytes:
    """The PDF bytes of :func:`write_pdf`."""
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    from projections.fonts import FAMILY, serif_path

    _check_language(language)
    t = _T(language)
    i = inspection
    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_auto_page_break(True, margin=12)
    pdf.set_margins(12, 12, 12)
    pdf.add_font(FAMILY, "", str(serif_path("regular")))
    pdf.add_font(FAMILY, "B", str(serif_path("bold")))
    pdf.add_font(FAMILY, "I", str(serif_path("italic")))
    pdf.set_title(_pdf_text(f"{t('title')} — {_scope(i, language)}"))
    pdf.set_creator("Sổ Cái (socai audit --report)")
    pdf.add_page()
    width = pdf.epw

    def heading(label: str, size: float = 13) -> None:
        pdf.ln(3)
        pdf.set_font(FAMILY, "B", size)
        pdf.cell(0, 8, _pdf_text(label), new_x="LMARGIN", new_y="NEXT")
        pdf.set_draw_color(47, 93, 138)
        pdf.line(pdf.l_margin, pdf.get_y(), pdf.l_margin + width, pdf.get_y())
        pdf.ln(1.5)

    def line(label: str, size: float = 9.5, style: str = "") -> None:
        pdf.set_font(FAMILY, style, size)
        pdf.multi_cell(0, 5, _pdf_text(label), new_x="LMARGIN", new_y="NEXT")

    def table(
        head: Sequence[str], rows: Sequence[Sequence[object]], widths: Sequence[float]
    ) -> None:
        if not rows:
            line(t("none"))
            return
        pdf.set_font(FAMILY, "", 7.5)
        pdf.set_fill_color(255, 255, 255)
        pdf.set_text_color(29, 39, 51)
        with pdf.table(
            text_align="LEFT",
            cell_fill_mode="NONE",
            col_widths=tuple(widths),
            line_height=3.8,
            headings_style=FontFace(emphasis="BOLD", fill_color=(243, 245, 248)),
            borders_layout="SINGLE_TOP_LINE",
            padding=0.8,
            first_row_as_headings=True,
        ) as tab:
            header = tab.row()
            for h in head:
                header.cell(_pdf_text(h))
            for cells in rows:
                row = tab.row()
                for c in cells:
                    row.cell(_pdf_text("" if c is None else c))

    pdf.set_font(FAMILY, "B", 18)
    pdf.cell(0, 10, _pdf_text(t("title")), new_x="LMARGIN", new_y="NEXT")
    line(_scope(i, language), 11, "B")
    line(f"{t('generated')}: {when(i.generated_at)} ({t('vn_time')})")
    ok = bool(i.audit.get("ok"))
    line(
        f"{t('audit')}: {t('passed' if ok else 'failed')} · {i.audit.get('events', 0)} "
        f"{t('events').lower()}, {i.audit.get('problems', 0)} {t('violations').lower()}",
        style="B",
    )
    line(
        f"{t('events')}: {i.summary.events} · {t('records')}: {len(i.records)} · "
        f"{t('signers')}: {len(i.signers)} · {t('corrections')}: {len(i.corrections)} · "
        f"{t('violations')}: {len(i.violations)} · {t('questions')}: {len(i.questions)}"
    )
    th = i.thresholds
    line(
        f"{t('thresholds')}: "
        + "; ".join(
            [
                t("late_days", v=th.late_days),
                t("late_min_entries", v=th.late_min_entries),
                t("many_classes", v=th.many_classes),
                t(
                    "night_events",
                    v=th.night_events,
                    m=th.burst_minutes,
                    s=th.night_start,
                    e=th.night_end,
                ),
            ]
        ),
        8.5,
    )

    heading(t("chart.days"))
    _pdf_day_chart(pdf, FAMILY, i.summary.by_day, width)
    heading(t("chart.kinds"))
    counts = {k: 0 for k in KINDS}
    for a in i.anomalies:
        counts[a.kind] = counts.get(a.kind, 0) + 1
    _pdf_bars(
        pdf,
        FAMILY,
        [(kind_label(k, language), n, PALETTE[SEVERITY[k]]) for k, n in counts.items()],
        width,
    )
    heading(t("chart.signers"))
    signers = sorted(i.signers, key=lambda s: (-s.events, s.code))
    _pdf_bars(
        pdf,
        FAMILY,
        [(signer_text(s.code, s.name), s.events, PALETTE["bar"]) for s in signers[:15]],
        width,
    )

    heading(f"{t('anomalies')} ({len(i.anomalies)})")
    table(
        [t("id"), t("kind"), t("severity"), t("explanation"), t("events")],
        [
            [
                a.id,
                kind_label(a.kind, language),
                _pick(SEVERITY_LABELS[a.severity], language),
                (a.en if language == "en" else a.vi)
                + "\n"
                + ", ".join(f"{e.label} v{e.version}" for e in a.events[:6]),
                a.count,
            ]
            for a in i.anomalies
        ],
        (14, 34, 16, 196, 13),
    )
    heading(f"{t('corrections')} ({len(i.corrections)})")
    table(
        [t("record"), t("entry"), t("change"), t("reason"), t("by"), t("approval")],
        [
            [
                c.record_label,
                f"{c.school_year} · {c.class_name} · {c.subject} · HK{c.term} · {c.kind} "
                f"(v{c.entry_version})",
                f"{c.old} -> {c.new}",
                c.reason,
                f"{signer_text(c.by_code, c.by_name)} · {when(c.at)} (v{c.version})",
                (
                    t("direct_closed" if c.after_close else "direct")
                    if c.method == "direct"
                    else t("pending")
                    if c.approved_at is None
                    else f"{c.approved_by_code} {c.approved_by_name} · {when(c.approved_at)}"
                    + (f" ({t('after_close')})" if c.after_close else "")
                ),
            ]
            for c in i.corrections
        ],
        (28, 58, 20, 62, 52, 53),
    )
    heading(f"{t('signers')} ({len(i.signers)})")
    table(
        [
            t("code"),
            t("name"),
            t("title_col"),
            t("school"),
            t("events"),
            t("entries"),
            t("corrections"),
            t("approvals"),
            t("night"),
            t("anomalies"),
            t("last"),
        ],
        [
            [
                s.code,
                s.name,
                s.title,
                s.school,
                s.events,
                s.entries,
                s.corrections,
                s.approvals,
                s.night_events,
                s.anomalies,
                when(s.last),
            ]
            for s in signers
        ],
        (18, 44, 40, 20, 16, 20, 18, 18, 16, 18, 45),
    )
    pdf.add_page()
    heading(t("timeline"))
    rows = list(i.timeline)
    if not i.timeline_complete:
        rows.reverse()
        line(t("timeline_recent", n=len(rows), total=i.summary.events), 8.5, "I")
    table(
        [
            t("position"),
            t("time"),
            t("record"),
            t("version"),
            t("event"),
            t("signer"),
            t("basis"),
            t("context"),
            t("details"),
        ],
        [
            [
                r.position,
                when(r.time),
                r.record_label,
                r.version,
                event_label(r.event, r.aggregate, language),
                signer_text(r.signer_code, r.signer_name),
                _pick(BASIS_LABELS.get(r.basis, BASIS_LABELS[""]), language),
                context(r),
                describe(r, language),
            ]
            for r in rows
        ],
        (13, 27, 27, 12, 32, 36, 24, 40, 62),
    )
    heading(t("how"))
    line(t("how.text"), 8.5)
    return bytes(pdf.output())


def _rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def _pdf_day_chart(pdf: Any, family: str, by_day: dict[str, int], width: float) -> None:
    points = _days(by_day)
    if not points:
        return
    height, left = 38.0, 14.0
    x0, y0 = pdf.l_margin + left, pdf.get_y() + 2
    plot_w = width - left
    scale = _nice(max(v for _, v in points) or 1)
    pdf.set_font(family, "", 6.5)
    pdf.set_draw_color(*_rgb(PALETTE["grid"]))
    for k in range(5):
        value = scale * k / 4
        y = y0 + height - height * value / scale
        pdf.line(x0, y, x0 + plot_w, y)
        pdf.set_xy(pdf.l_margin, y - 1.5)
        pdf.cell(left - 1, 3, _number(value), align="R")
    step = plot_w / len(points)
    pdf.set_fill_color(*_rgb(PALETTE["bar"]))
    for k, (_, value) in enumerate(points):
        if value:
            h = height * value / scale
            bar = min(max(step * 0.8, 0.2), 10.0)
            pdf.rect(x0 + k * step + (step - bar) / 2, y0 + height - h, bar, h, "F")
    for k in _day_ticks(points):
        day = points[k][0]
        pdf.set_xy(x0 + k * step + step / 2 - 10, y0 + height + 0.5)
        pdf.cell(20, 3, day.strftime("%d/%m/%Y"), align="C")
    pdf.set_xy(pdf.l_margin, y0 + height + 5)


def _pdf_bars(pdf: Any, family: str, items: Sequence[tuple[str, int, str]], width: float) -> None:
    if not items:
        return
    label_w, row_h = 70.0, 4.6
    peak = max(v for _, v, _ in items) or 1
    plot_w = width - label_w - 16
    pdf.set_font(family, "", 7.5)
    for label, value, colour in items:
        if pdf.will_page_break(row_h):
            pdf.add_page()
        y = pdf.get_y()
        pdf.set_xy(pdf.l_margin, y)
        pdf.cell(label_w - 2, row_h, _pdf_text(label[:60]), align="R")
        w = plot_w * value / peak
        if w:
            pdf.set_fill_color(*_rgb(colour))
            pdf.rect(pdf.l_margin + label_w, y + 0.8, w, row_h - 1.6, "F")
        pdf.set_xy(pdf.l_margin + label_w + w + 1, y)
        pdf.cell(14, row_h, str(value))
        pdf.set_xy(pdf.l_margin, y + row_h)
