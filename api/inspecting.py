"""The inspector's service functions: timelines, anomalies, changes over time, reports, reads.

The service layer of ``api/routes/inspect.py`` and of the inspector's pages. Every function
takes the process's :class:`~api.services.Services` and the :class:`~api.access.Caller` and
is read-only. Who may call: an inspector account of the school (thanh tra), or the school's
principal or deputy (they read the whole school); another school → 404; a teacher or staff
officer of the school → 403. Every read is itself logged in the read log (who read which
record): the records a timeline page shows, the record of a record timeline, the school for
a report.

The data come from :func:`ledger.inspection.inspect`, a pass over the stored events in log
order (DESIGN.md §6: memory does not grow with the ledger):

* a timeline page is gathered while the pass streams its rows (``on_event``); only the page
  is kept: ``order=asc`` keeps ``limit`` rows, ``order=desc`` (newest first) the last
  ``page × limit`` matches, at most :data:`MAX_WINDOW` (deeper pages go by the ``before``
  cursor: the ``position`` of the last row seen);
* a school's CSV timeline in the audit report is written to a temporary file row by row and
  sent from it;
* anomalies, the read log and the JSON/HTML/PDF reports use the school's whole inspection
  (its summaries are per record, signer and day; its timeline the most recent rows), kept per
  process until the ledger grows (:data:`CACHE_ENTRIES` schools).

Times are Vietnam time (UTC+7). ``from``/``to`` take a day (``2025-09-05``, ``to`` inclusive)
or an ISO 8601 time (a time without an offset is Vietnam time).
"""

from __future__ import annotations

import itertools
import math
import shutil
import tempfile
import threading
from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import asdict, dataclass, is_dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal
from uuid import UUID

from api.access import Caller, visible
from ledger.audit import AuditReport
from ledger.domain import School, StaffFile, StudentRecord, school_id
from ledger.errors import InvalidInput, RecordNotFound
from ledger.inspection import (
    ENTRY_EVENTS,
    KINDS,
    SEVERITY,
    VIETNAM,
    Inspection,
    Thresholds,
    TimelineRow,
    inspect,
)
from projections.audit_report import (
    CORRECTION_EVENTS,
    TimelineCSV,
    describe,
    event_label,
    kind_label,
    write_csv,
    write_html,
    write_json,
    write_pdf,
)

__all__ = [
    "CSV_TABLES",
    "FORMATS",
    "MAX_LIMIT",
    "MAX_WINDOW",
    "ReportFile",
    "SchoolRef",
    "TimelineFilter",
    "anomalies",
    "audit_report",
    "changes",
    "parse_filter",
    "reads",
    "record_timeline",
    "school_of",
    "timeline",
]

#: Rows per page at most.
MAX_LIMIT = 500
#: Rows a newest-first page may need to hold (``page × limit``); deeper pages use ``before``.
MAX_WINDOW = 20_000
#: Whole inspections kept per process (one per school and kind), until the ledger grows.
CACHE_ENTRIES = 8
FORMATS = ("json", "csv", "html", "pdf")
#: The audit report's CSV tables (``timeline`` is the whole timeline, streamed).
CSV_TABLES = ("timeline", "anomalies", "per-signer", "corrections", "records")
Order = Literal["asc", "desc"]
Bucket = Literal["day", "week", "month"]
Language = Literal["vi", "en"]

_MEDIA = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
}


# -- the school ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class SchoolRef:
    """A school as the API names it: record id, mã trường, name."""

    id: UUID
    code: str
    name: str

    def as_dict(self) -> dict[str, str]:
        return {"id": str(self.id), "code": self.code, "name": self.name}


def school_of(text: str) -> UUID:
    """A school's record id from its id (UUID) or its mã trường (8 digits); 422 otherwise."""
    text = text.strip()
    if len(text) == 8 and text.isascii() and text.isdigit():
        return school_id(text)
    try:
        return UUID(text)
    except ValueError:
        raise InvalidInput("school is a school id (UUID) or a mã trường (8 digits)") from None


def _inspected(services: Any, who: Caller, school: UUID) -> SchoolRef:
    """The school, if the caller inspects it (404 for another school's, 403 for its staff)."""
    visible(who.in_school(school), "school")
    try:
        found = services.ledger().load(school, School)
    except RecordNotFound:
        raise RecordNotFound("no school with this id") from None
    who.require(
        who.reads_school(school), "inspect this school (inspector, principal or deputy only)"
    )
    return SchoolRef(school, str(found.code), str(found.name))


# -- filters and pages --------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineFilter:
    """Which timeline rows to show; every given condition must hold."""

    #: From this moment (inclusive) ...
    start: datetime | None = None
    #: ... until this moment (exclusive).
    end: datetime | None = None
    #: The signer: its owner id (a staff file's UUID) or its staff code (mã cán bộ).
    actor: str | None = None
    #: The record: its id or its label (mã học sinh, mã cán bộ).
    record: str | None = None
    #: Event names (``ScoreRecorded``...); empty for every event.
    events: frozenset[str] = frozenset()
    #: Log positions: only rows before (``<``) or after (``>``) these.
    before: int | None = None
    after: int | None = None

    def matches(self, row: TimelineRow) -> bool:
        if self.start is not None and row.time < self.start:
            return False
        if self.end is not None and row.time >= self.end:
            return False
        if self.before is not None and row.position >= self.before:
            return False
        if self.after is not None and row.position <= self.after:
            return False
        if self.events and row.event not in self.events:
            return False
        if self.actor is not None and self.actor not in (row.signer, row.signer_code):
            return False
        return self.record is None or self.record in (row.record, row.record_label)

    def as_dict(self) -> dict[str, Any]:
        return {
            "from": None if self.start is None else self.start.isoformat(),
            "to": None if self.end is None else self.end.isoformat(),
            "actor": self.actor,
            "record": self.record,
            "event": sorted(self.events),
            "before": self.before,
            "after": self.after,
        }


def _moment(text: str, what: str, *, end: bool) -> datetime:
    text = text.strip()
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            parsed = datetime(day.year, day.month, day.day, tzinfo=VIETNAM)
            if end and 1900 <= parsed.year <= 9000:
                parsed += timedelta(days=1)
        else:
            parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{what} is a day (2025-09-05) or an ISO 8601 time") from None
    if not 1900 <= parsed.year <= 9000:
        # Far ends would overflow the comparisons in UTC; no school record is there.
        raise InvalidInput(f"{what} is a time between the years 1900 and 9000")
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=VIETNAM)


def _id_or_code(text: str | None, what: str) -> str | None:
    if text is None or not text.strip():
        return None
    text = text.strip()
    if len(text) > 64 or not all(c.isalnum() or c in "-_." for c in text):
        raise InvalidInput(f"{what} is an id (UUID) or a code")
    try:
        return str(UUID(text))
    except ValueError:
        return text


def parse_filter(
    *,
    start: str | None = None,
    end: str | None = None,
    actor: str | None = None,
    record: str | None = None,
    event: str | None = None,
    before: int | None = None,
    after: int | None = None,
) -> TimelineFilter:
    """A :class:`TimelineFilter` from query strings; 422 (:class:`InvalidInput`) when malformed.

    ``event`` is a comma list of event names.
    """
    events = frozenset(e.strip() for e in (event or "").split(",") if e.strip())
    for name in events:
        if not (name.isascii() and name.isalpha() and len(name) <= 64):
            raise InvalidInput(f"unknown event name {name[:64]!r}")
    for value, what in ((before, "before"), (after, "after")):
        if value is not None and value < 0:
            raise InvalidInput(f"{what} is a log position (0 or more)")
    flt = TimelineFilter(
        start=None if not start else _moment(start, "from", end=False),
        end=None if not end else _moment(end, "to", end=True),
        actor=_id_or_code(actor, "actor"),
        record=_id_or_code(record, "record"),
        events=events,
        before=before,
        after=after,
    )
    if flt.start is not None and flt.end is not None and flt.start >= flt.end:
        raise InvalidInput("from must come before to")
    return flt


class _Page:
    """Gathers one page of matching rows while the pass streams them (bounded memory)."""

    def __init__(
        self,
        flt: TimelineFilter,
        page: int,
        limit: int,
        order: str,
        readable: Any = None,
    ) -> None:
        if not 1 <= limit <= MAX_LIMIT:
            raise InvalidInput(f"limit is 1 to {MAX_LIMIT}")
        if page < 1:
            raise InvalidInput("page starts at 1")
        if order not in ("asc", "desc"):
            raise InvalidInput("order is asc or desc")
        if order == "desc" and page * limit > MAX_WINDOW:
            raise InvalidInput(
                f"page × limit is at most {MAX_WINDOW} newest first; "
                "go deeper with before=<the last position seen>"
            )
        self.flt, self.page, self.limit, self.order = flt, page, limit, order
        self.readable = readable
        self.total = 0
        self._rows: deque[TimelineRow] = deque(maxlen=page * limit if order == "desc" else None)

    def __call__(self, row: TimelineRow) -> None:
        if self.readable is not None and not self.readable(row):
            return
        if not self.flt.matches(row):
            return
        index = self.total
        self.total += 1
        if self.order == "desc":
            self._rows.append(row)
        elif (self.page - 1) * self.limit <= index < self.page * self.limit:
            self._rows.append(row)

    def rows(self) -> list[TimelineRow]:
        if self.order == "asc":
            return list(self._rows)
        newest = list(reversed(self._rows))
        return newest[(self.page - 1) * self.limit : self.page * self.limit]


def row_json(row: TimelineRow, lang: str = "vi") -> dict[str, Any]:
    """One timeline row, JSON-ready, with its label and description in ``lang``."""
    return {
        "position": row.position,
        "time": row.time.isoformat(),
        "record": row.record,
        "record_label": row.record_label,
        "record_kind": row.record_kind,
        "school": row.school,
        "version": row.version,
        "event": row.event,
        "aggregate": row.aggregate,
        "label": event_label(row.event, row.aggregate, lang),
        "description": describe(row, lang),
        "signer": row.signer,
        "signer_code": row.signer_code,
        "signer_name": row.signer_name,
        "signer_title": row.signer_title,
        "basis": row.basis,
        "school_year": row.school_year,
        "class_name": row.class_name,
        "subject": row.subject,
        "term": row.term,
        "details": dict(row.details),
    }


def _page_json(pager: _Page, lang: str) -> dict[str, Any]:
    rows = pager.rows()
    pages = max(1, math.ceil(pager.total / pager.limit))
    return {
        "order": pager.order,
        "page": pager.page,
        "limit": pager.limit,
        "total": pager.total,
        "pages": pages,
        "next_page": pager.page + 1 if pager.page < pages else None,
        # The cursor for deeper pages newest first: rows before the last one shown.
        "next_before": rows[-1].position if rows and pager.order == "desc" else None,
        "filters": pager.flt.as_dict(),
        "rows": [row_json(r, lang) for r in rows],
    }


def _log(services: Any, who: Caller, action: str, objects: Iterable[str | UUID]) -> None:
    services.accounts().log_reads(who.account, action, list(dict.fromkeys(objects)))


def _no_audit() -> AuditReport:
    """An empty audit: a timeline pass needs no re-verification of every signature."""
    return AuditReport()


#: A timeline pass keeps no rows of its own: the page does.
_STREAM = Thresholds(recent_events=0)


# -- timelines ----------------------------------------------------------------------------------


def timeline(
    services: Any,
    who: Caller,
    school: UUID,
    flt: TimelineFilter = TimelineFilter(),
    *,
    page: int = 1,
    limit: int = 100,
    order: str = "desc",
    lang: str = "vi",
) -> dict[str, Any]:
    """One page of the school's timeline (events of the school, filtered), newest first.

    Logs the read of the student and staff records the page shows (``inspect.timeline``).
    """
    ref = _inspected(services, who, school)
    pager = _Page(flt, page, limit, order)
    inspect(
        services.ledger(), school=ref.code, thresholds=_STREAM, report=_no_audit(), on_event=pager
    )
    out = {"school": ref.as_dict(), **_page_json(pager, lang)}
    shown = [r["record"] for r in out["rows"] if r["record_kind"] in ("student", "staff")]
    _log(services, who, "inspect.timeline", shown)
    return out


def _record_schools(services: Any, record: UUID) -> tuple[str, set[UUID]]:
    """(kind, the schools the record belonged to) of a student record or staff file."""
    ledger = services.ledger()
    try:
        found: object = ledger.load(record, object)
    except RecordNotFound:
        raise RecordNotFound("no record with this id") from None
    if isinstance(found, StudentRecord):
        return "student", {found.school, *(s for _, _, s in found.years.values())}
    if isinstance(found, StaffFile):
        return "staff", {found.school}
    raise RecordNotFound("no student record or staff file with this id")


def record_timeline(
    services: Any,
    who: Caller,
    record: UUID,
    flt: TimelineFilter = TimelineFilter(),
    *,
    page: int = 1,
    limit: int = 100,
    order: str = "desc",
    lang: str = "vi",
) -> dict[str, Any]:
    """One page of a student record's (or staff file's) whole timeline.

    Only the events made while the record was in a school the caller inspects: a student
    who changed schools shows each school's inspector the part of their own school (404 for
    a record that was never in a school the caller knows; 403 for its teachers). Logs the
    read (``inspect.record_timeline``).
    """
    kind, schools = _record_schools(services, record)
    inspectable = {s for s in (who.school, *who.inspects) if s is not None and who.reads_school(s)}
    if not inspectable:
        visible(any(who.in_school(s) for s in schools), "record")
        who.require(False, "read this record's timeline (inspector, principal or deputy)")
    codes = _codes(services, inspectable)
    seen: set[str] = set()
    pager = _Page(flt, page, limit, order, readable=lambda row: row.school in codes)

    def sink(row: TimelineRow) -> None:
        seen.add(row.school)
        pager(row)

    inspect(services.ledger(), record=record, thresholds=_STREAM, report=_no_audit(), on_event=sink)
    if not seen & codes:
        # The record never was in a school the caller inspects.
        known = schools | {school_id(c) for c in seen if c}
        visible(any(who.in_school(s) for s in known), "record")
        who.require(False, "read this record's timeline (inspector, principal or deputy)")
    out = {"record": str(record), "kind": kind, **_page_json(pager, lang)}
    _log(services, who, "inspect.record_timeline", [record])
    return out


def _codes(services: Any, schools: Iterable[UUID]) -> set[str]:
    codes = set()
    for school in schools:
        try:
            codes.add(str(services.ledger().load(school, School).code))
        except RecordNotFound:
            continue
    return codes


# -- whole inspections (cached) -----------------------------------------------------------------

_CACHE: OrderedDict[tuple[Any, ...], Inspection] = OrderedDict()
_CACHE_LOCK = threading.Lock()


def _inspection(services: Any, code: str, *, audited: bool) -> Inspection:
    """The school's inspection (with the audit when ``audited``), reused until the ledger grows."""
    ledger = services.ledger()
    size = int(ledger.recorder.max_notification_id() or 0)
    settings = services.settings
    key = (str(settings.data_dir), settings.database_url, code, audited, size)
    with _CACHE_LOCK:
        hit = _CACHE.get(key)
        if hit is not None:
            _CACHE.move_to_end(key)
            return hit
    found = inspect(ledger, school=code, report=None if audited else _no_audit())
    with _CACHE_LOCK:
        _CACHE[key] = found
        while len(_CACHE) > CACHE_ENTRIES:
            _CACHE.popitem(last=False)
    return found


def _plain(value: Any) -> Any:
    if is_dataclass(value) and not isinstance(value, type):
        return _plain(asdict(value))
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (Decimal, UUID, date)):
        return str(value)
    return value


def anomalies(
    services: Any,
    who: Caller,
    school: UUID,
    *,
    kind: str | None = None,
    severity: str | None = None,
    lang: str = "vi",
) -> dict[str, Any]:
    """The school's anomalies (the audit's integrity problems first), explained in ``lang``.

    Runs the audit (every event re-verified) when the ledger has grown since the last call.
    Logs the read of the records the anomalies name (``inspect.anomalies``).
    """
    ref = _inspected(services, who, school)
    if kind is not None and kind not in KINDS:
        raise InvalidInput(f"kind is one of {', '.join(KINDS)}")
    if severity is not None and severity not in set(SEVERITY.values()):
        raise InvalidInput("severity is violation or question")
    found = _inspection(services, ref.code, audited=True)
    chosen = [
        a
        for a in found.anomalies
        if (kind is None or a.kind == kind) and (severity is None or a.severity == severity)
    ]
    counts: dict[str, int] = {}
    for a in found.anomalies:
        counts[a.kind] = counts.get(a.kind, 0) + 1
    out = {
        "school": ref.as_dict(),
        "generated_at": found.generated_at.isoformat(),
        "audit": _plain(found.audit),
        "counts": counts,
        "anomalies": [
            {
                **_plain(a),
                "kind_label": kind_label(a.kind, lang),
                "explanation": a.en if lang == "en" else a.vi,
            }
            for a in chosen
        ],
    }
    named = [e.record for a in chosen for e in a.events if _is_uuid(e.record)]
    _log(services, who, "inspect.anomalies", [str(school), *named])
    return out


def _is_uuid(text: str) -> bool:
    try:
        UUID(text)
    except ValueError:
        return False
    return True


# -- changes over time --------------------------------------------------------------------------

#: A series is filled with empty buckets up to this many points.
MAX_FILLED = 4000


def _bucket_of(moment: datetime, bucket: str) -> date:
    day = moment.astimezone(VIETNAM).date()
    if bucket == "week":
        return day - timedelta(days=day.weekday())
    if bucket == "month":
        return day.replace(day=1)
    return day


def _next_bucket(day: date, bucket: str) -> date:
    if bucket == "week":
        return day + timedelta(days=7)
    if bucket == "month":
        return date(day.year + day.month // 12, day.month % 12 + 1, 1)
    return day + timedelta(days=1)


def changes(
    services: Any,
    who: Caller,
    school: UUID,
    flt: TimelineFilter = TimelineFilter(),
    *,
    bucket: str = "day",
) -> dict[str, Any]:
    """Events of the school per day, week (from Monday) or month, for a chart.

    Each point counts ``events``, the assessments entered (``entries``) and the corrections,
    proposals and approvals (``corrections``); empty buckets between the first and the last
    are filled in (up to :data:`MAX_FILLED` points). No record is shown: nothing is logged.
    """
    if bucket not in ("day", "week", "month"):
        raise InvalidInput("bucket is day, week or month")
    ref = _inspected(services, who, school)
    counts: dict[date, list[int]] = {}

    def count(row: TimelineRow) -> None:
        if not flt.matches(row):
            return
        point = counts.setdefault(_bucket_of(row.time, bucket), [0, 0, 0])
        point[0] += 1
        point[1] += row.event in ENTRY_EVENTS
        point[2] += row.event in CORRECTION_EVENTS

    inspect(
        services.ledger(), school=ref.code, thresholds=_STREAM, report=_no_audit(), on_event=count
    )
    keys = sorted(counts)
    if keys:
        filled: list[date] = []
        day = keys[0]
        while day <= keys[-1] and len(filled) <= MAX_FILLED:
            filled.append(day)
            day = _next_bucket(day, bucket)
        if len(filled) <= MAX_FILLED:
            keys = filled
    series = [
        {
            "bucket": k.isoformat() if bucket != "month" else k.isoformat()[:7],
            "events": counts.get(k, [0, 0, 0])[0],
            "entries": counts.get(k, [0, 0, 0])[1],
            "corrections": counts.get(k, [0, 0, 0])[2],
        }
        for k in keys
    ]
    return {
        "school": ref.as_dict(),
        "bucket": bucket,
        "filters": flt.as_dict(),
        "total": sum(p[0] for p in counts.values()),
        "series": series,
    }


# -- the audit report ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ReportFile:
    """A report written to a private temporary directory: send ``path``, then :meth:`cleanup`."""

    path: Path
    media_type: str
    filename: str
    directory: Path

    def cleanup(self) -> None:
        shutil.rmtree(self.directory, ignore_errors=True)


def audit_report(
    services: Any,
    who: Caller,
    school: UUID,
    *,
    fmt: str = "json",
    lang: str = "vi",
    table: str = "timeline",
) -> ReportFile:
    """The school's inspection report as a file: ``json``, ``csv`` (a ``table``), ``html``, ``pdf``.

    The CSV timeline holds every event of the school, streamed to the file as the pass reads
    them; the other formats hold the summaries and the most recent events. The caller sends
    the file and calls :meth:`ReportFile.cleanup`. Logs the read of the school's records as
    one entry naming the school (``inspect.audit_report``).
    """
    if fmt not in FORMATS:
        raise InvalidInput(f"format is one of {', '.join(FORMATS)}")
    if lang not in ("vi", "en"):
        raise InvalidInput("lang is vi or en")
    if fmt == "csv" and table not in CSV_TABLES:
        raise InvalidInput(f"table is one of {', '.join(CSV_TABLES)}")
    ref = _inspected(services, who, school)
    directory = Path(tempfile.mkdtemp(prefix="socai-report-"))
    try:
        stamp = datetime.now(VIETNAM).strftime("%Y%m%d")
        name = f"thanh-tra-{ref.code}-{stamp}"
        if fmt == "csv" and table == "timeline":
            with TimelineCSV(directory / "timeline.csv", lang) as sink:
                inspect(
                    services.ledger(),
                    school=ref.code,
                    thresholds=_STREAM,
                    report=_no_audit(),
                    on_event=sink,
                )
            path = sink.path
            name += "-timeline"
        else:
            found = _inspection(services, ref.code, audited=True)
            if fmt == "json":
                path = write_json(found, directory / "inspection.json")
            elif fmt == "html":
                path = write_html(found, directory / "inspection.html", lang)
            elif fmt == "pdf":
                path = write_pdf(found, directory / "inspection.pdf", lang)
            else:
                written = write_csv(found, directory, language=lang, include_timeline=False)
                path = next(p for p in written if p.stem == table)
                name += f"-{table}"
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise
    _log(services, who, "inspect.audit_report", [school])
    return ReportFile(path, _MEDIA[fmt], f"{name}.{fmt}", directory)


# -- the read log -------------------------------------------------------------------------------


def reads(
    services: Any,
    who: Caller,
    school: UUID,
    *,
    record: str | None = None,
    username: str | None = None,
    limit: int = 100,
) -> dict[str, Any]:
    """Who read which record of the school (its student records, staff files and itself).

    Newest first; ``record`` (id or label) and ``username`` narrow it. The school's records
    are those with events at the school (from its inspection, without the audit).
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidInput(f"limit is 1 to {MAX_LIMIT}")
    ref = _inspected(services, who, school)
    found = _inspection(services, ref.code, audited=False)
    labels = {r.record: (r.label, r.kind) for r in found.records if r.kind in ("student", "staff")}
    labels[str(school)] = (ref.code, "school")
    objects = list(labels)
    wanted = _id_or_code(record, "record")
    if wanted is not None:
        objects = [o for o, (label, _) in labels.items() if wanted in (o, label)]
        visible(bool(objects), "record of this school")
    store = services.accounts()
    account = None
    if username:
        found_account = store.find(username.strip())
        if found_account is None:
            return {"school": ref.as_dict(), "reads": []}
        account = found_account.id
    merged: list[dict[str, Any]] = []
    for start in range(0, len(objects), 500):  # bounded IN lists
        merged.extend(
            store.reads(objects=objects[start : start + 500], account=account, limit=limit)
        )
    merged.sort(key=lambda r: str(r["at"]), reverse=True)
    rows = [
        {
            **r,
            "label": labels.get(str(r["object"]), ("", ""))[0],
            "kind": labels.get(str(r["object"]), ("", ""))[1],
        }
        for r in itertools.islice(merged, limit)
    ]
    return {"school": ref.as_dict(), "reads": rows}
