"""The read models of the ledger: transcripts, the grade book, staff files, school dashboards.

Four views on :mod:`projections.runner`, the same code on SQLite and PostgreSQL:

- :class:`TranscriptView` (``transcripts``): one row per student and school year
  (DOMAIN.md §3.2): the membership (school, grade, class), the year result as
  recorded by the GVCN (the canonical dict of :mod:`ledger.results`, as JSON
  text), the remarks, the awards and the enrolment history, which follows a
  transferred record to the receiving school.
- :class:`GradebookView` (``gradebook``): the sổ điểm, every score and comment
  assessment as a row with its corrections applied and the original value
  kept; conduct and absences per student and term; closed terms.
- :class:`StaffView` (``staff``): the staff file (hồ sơ, DOMAIN.md §4.2):
  title, rank, salary step, positions, assignments, homerooms and the history
  of HR decisions.
- :class:`DashboardView` (``dashboard``): per school and school year, counts of
  classes, students, staff, entries, corrections, closed terms, year results
  by level and by promotion decision, and events per day.

Personal data (DESIGN.md invariant 8): a view keeps only the ciphertext of an
identity or a remark, never the plaintext. Query methods that show personal
data take an optional :class:`~ledger.vault.Vault` and open the ciphertext then;
after ``PersonalDataShredded`` the ciphertext is cleared from the view and the
person is marked shredded, and the vault no longer holds the key anyway.

Speed: a rebuild reads the whole ledger, which is mostly scores. The hot
events (``ScoreRecorded``, ``CommentAssessed``) are read straight from their
payload bytes by an anchored pattern of the transcoder's exact output (any
other shape falls back to the decoded state, with the same result); no query
is made per event; rows are collected per page and written at its end, the
grade book's entries in multi-row inserts (:func:`insert_rows`), the rest
grouped per table and statement (:class:`_Writes`). The grade book keys its
rows by small integers (students and classes numbered in the order the ledger
first names them, so a rebuild and an incremental run number them alike):
an index on random UUID text is what an insert pays most for. The insert of
an entry binds no NULL (``sqlite3`` binds ``None`` slower than text); the
correction columns are filled by an update when a correction comes.

Caches: the grade book and the dashboard keep the students' current class in
memory (the score events do not carry it). A cache is only trusted if the
view's own tables were last written by this instance: each page records the
notification id it ended at (table ``cache_mark``), and a page that finds
another value there (a rebuild, another process, a page rolled back) forgets
the caches and loads what it needs from the tables again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from functools import lru_cache
from itertools import chain
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.utils import get_topic

from ledger.application import Settings
from ledger.domain import PRINCIPAL, School, SchoolYear, StaffFile, StudentRecord
from ledger.vault import Vault
from projections.runner import Progress, Tx, View, ViewEvent, ViewRunner, insert_sql

__all__ = [
    "ALL_VIEWS",
    "DashboardView",
    "GradebookView",
    "StaffView",
    "TranscriptView",
    "Views",
    "open_views",
    "rebuild_all",
]

#: Days in the dashboard are Vietnamese calendar days (UTC+7, no daylight saving).
VIETNAM = timezone(timedelta(hours=7), "ICT")
#: Labels of a comment assessment (TT 22/2021 Điều 5).
PASSED, NOT_PASSED = "Đạt", "Chưa đạt"
#: Entries a cache keeps before it starts afresh (and loads on demand from then on).
CACHE_LIMIT = 1_000_000


def _topic(cls: type[Aggregate], event: str) -> str:
    return f"{get_topic(cls)}.{event}"


def _all_topics(*classes: type[Aggregate]) -> list[str]:
    """Every event topic of the aggregates, found on the classes themselves."""
    out = []
    for cls in classes:
        for name, value in vars(cls).items():
            if isinstance(value, type) and issubclass(value, Aggregate.Event):
                out.append(_topic(cls, name))
    return sorted(out)


def _json(value: Any) -> str:
    """Canonical JSON text: what a row stores for a dict or a list."""
    return json.dumps(
        value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=_plain
    )


def _plain(value: Any) -> Any:
    """What JSON lacks, as JSON: UUIDs, decimals and times as text, sets as lists."""
    if isinstance(value, UUID | Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, set | frozenset | tuple):
        return sorted(value, key=str)
    raise TypeError(f"{type(value).__name__} is not JSON data")


def _uuid_text(value: Any) -> str | None:
    return None if value is None else str(value)


def _when(state: Mapping[str, Any]) -> str:
    moment = state.get("timestamp")
    return moment.isoformat() if isinstance(moment, datetime) else ""


# -- reading the hot events straight from their payload ---------------------------------------
#
# The ledger's transcoder writes compact JSON (separators "," and ":", UTF-8, no escapes
# for non-ASCII) with the fields in the order the event declares them. The patterns below
# match exactly that, anchored at both ends, with no backslash inside a string: anything
# else (another field order, an escaped character, a new class version) does not match,
# and the event is read from its decoded state instead, which gives the same values.

_TS = rb'\{"timestamp":\{"_type_":"datetime_iso","_data_":"([0-9T:.+-]+)"\},'
_BY = rb'"by":\{"_type_":"uuid_hex","_data_":"([0-9a-f]{32})"\}\}'
_ENTRY = rb'"subject":"([^"\\]*)","term":([0-9]+),"kind":"([a-z]+)",'
SCORE_PAYLOAD = re.compile(
    _TS + _ENTRY + rb'"value":\{"_type_":"decimal_str","_data_":"([0-9.]+)"\},' + _BY
)
COMMENT_PAYLOAD = re.compile(_TS + _ENTRY + rb'"passed":(true|false),' + _BY)
_TS_PREFIX = b'{"timestamp":{"_type_":"datetime_iso","_data_":"'
_TERMS = {b"1": 1, b"2": 2}
#: The comment result of a ``passed`` literal; a score's text is itself.
_LABELS = {b"true": PASSED, b"false": NOT_PASSED}


class _Texts:
    """Interned text of the few byte strings that recur (subjects, kinds, signers' ids)."""

    __slots__ = ("texts", "uuids")

    def __init__(self) -> None:
        self.texts: dict[bytes, str] = {}
        self.uuids: dict[bytes, str] = {}

    def text(self, raw: bytes) -> str:
        found = self.texts.get(raw)
        if found is None:
            if len(self.texts) > 4096:
                self.texts.clear()
            found = self.texts[raw] = raw.decode("utf-8")
        return found

    def uuid(self, raw: bytes) -> str:
        found = self.uuids.get(raw)
        if found is None:
            if len(self.uuids) > 4096:
                self.uuids.clear()
            found = self.uuids[raw] = str(UUID(raw.decode("ascii")))
        return found


@dataclass(frozen=True, slots=True)
class Assessment:
    """A score or comment assessment as the views read it (text, as rows store it)."""

    subject: str
    term: int
    kind: str
    #: The score ("7.5") or the comment result (Đạt / Chưa đạt).
    value: str
    #: The teacher's staff-file id.
    by: str
    #: ISO time of the event.
    at: str


def read_assessment(event: ViewEvent, texts: _Texts | None = None) -> Assessment:
    """The fields of a ``ScoreRecorded`` or ``CommentAssessed`` event.

    Reads the payload bytes directly when they have the transcoder's usual
    shape, else the decoded state; both give the same result.
    """
    t = texts or _Texts()
    payload = event.payload
    scored = event.topic.endswith(".ScoreRecorded")
    m = (SCORE_PAYLOAD if scored else COMMENT_PAYLOAD).fullmatch(payload)
    if m is not None:
        ts, subject, term, kind, value, by = m.groups()
        if scored:
            text = value.decode("ascii")
        else:
            text = PASSED if value == b"true" else NOT_PASSED
        return Assessment(t.text(subject), int(term), t.text(kind), text, t.uuid(by), ts.decode())
    s = event.state
    if scored:
        text = str(s["value"])
    else:
        text = PASSED if s["passed"] else NOT_PASSED
    return Assessment(s["subject"], int(s["term"]), s["kind"], text, str(s["by"]), _when(s))


#: A ``YearResultRecorded`` payload: its head up to the result, and its tail from ``by``.
_RESULT_HEAD = re.compile(_TS + rb'"school_year":"([^"\\]*)","stage":"([^"\\]*)","result":(?=\{)')
_RESULT_TAIL = re.compile(rb',"by":\{"_type_":"uuid_hex","_data_":"[0-9a-f]{32}"\}\}\Z')
_LEARNING = b',"learning":"'


@dataclass(frozen=True, slots=True)
class YearResult:
    """A ``YearResultRecorded`` event as the views keep it."""

    school_year: str
    stage: str
    #: The result dict of :mod:`ledger.results` as JSON text (the event's own encoding).
    result: str
    #: ISO time of the event.
    at: str


def read_year_result(event: ViewEvent) -> YearResult:
    """The school year, stage, result (as JSON text) and time of a ``YearResultRecorded``.

    The result is a plain JSON object (DESIGN.md invariant 6: the same events give
    the same bytes), so when the payload has its usual shape the result's text is
    cut out of it as it is, without decoding and encoding again the largest
    payload a view reads. Otherwise the decoded state is encoded as canonical JSON.
    """
    payload = event.payload
    head = _RESULT_HEAD.match(payload)
    tail = _RESULT_TAIL.search(payload) if head is not None else None
    if head is not None and tail is not None and tail.start() > head.end():
        ts, year, stage = head.groups()
        text = payload[head.end() : tail.start()].decode("utf-8")
        return YearResult(year.decode("utf-8"), stage.decode("utf-8"), text, ts.decode("ascii"))
    s = event.state
    return YearResult(s["school_year"], s["stage"], _json(s["result"]), _when(s))


def result_summary(result: str) -> tuple[str | None, str | None, str | None]:
    """(learning level, promotion decision, award) of a year result's JSON text.

    A TT 22/2021 result ends with its summary keys, after the subjects: only that
    tail is parsed when it is there (the last ``"learning"`` with a text value is
    the top-level one, no key after it being named so). A TT 27/2020 result has
    ``result`` for its level and no promotion.
    """
    at = result.rfind(_LEARNING.decode())
    if at > 0 and result.endswith("}"):
        try:
            summary = json.loads("{" + result[at + 1 :])
        except ValueError:
            summary = None
        if isinstance(summary, dict) and "promotion" in summary:
            return summary.get("learning"), summary.get("promotion"), summary.get("award")
    whole = json.loads(result)
    return whole.get("learning") or whole.get("result"), whole.get("promotion"), whole.get("award")


_DAYS: dict[bytes, str] = {}
#: How a timestamp with microseconds in UTC ends, 74 bytes into a payload.
_UTC_END = b'+00:00"'


def _utc_hour_day(hour: bytes) -> str:
    """The Vietnamese day of a UTC hour "YYYY-MM-DDTHH"."""
    day = _DAYS.get(hour)
    if day is None:
        if len(_DAYS) > 65536:
            _DAYS.clear()
        moment = datetime.fromisoformat(hour.decode("ascii") + ":00+00:00")
        day = _DAYS[hour] = moment.astimezone(VIETNAM).date().isoformat()
    return day


def local_day(event: ViewEvent) -> str:
    """The Vietnamese calendar day (YYYY-MM-DD, UTC+7) of the event's timestamp."""
    payload = event.payload
    if payload.startswith(_TS_PREFIX):
        # "YYYY-MM-DDTHH" is all a day needs, when the time is stamped in UTC.
        end = payload.find(b'"', 48)
        if end > 61 and payload[end - 6 : end] == b"+00:00":
            return _utc_hour_day(payload[48:61])
    moment = event.state.get("timestamp")
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(VIETNAM).date().isoformat()
    return date.min.isoformat()


# -- shared machinery ------------------------------------------------------------------------


class _Writes:
    """Statements in event order per table, each run of one statement sent as one ``executemany``.

    Only statements on the same table need to keep their order (none reads
    another table), so rows for different tables do not break each other's runs.
    """

    __slots__ = ("tables",)

    def __init__(self) -> None:
        self.tables: dict[str, list[tuple[str, list[Sequence[Any]]]]] = {}

    def add(self, statement: str, *params: Any) -> None:
        self.add_to(_table_of(statement), statement, *params)

    def add_to(self, group: str, statement: str, *params: Any) -> None:
        """Add to the ordered runs of ``group`` (statements that commute with the rest of
        their table may go to a group of their own)."""
        runs = self.tables.get(group)
        if runs is None:
            runs = self.tables[group] = []
        if runs and runs[-1][0] is statement:
            runs[-1][1].append(params)
        else:
            runs.append((statement, [params]))

    def flush(self, tx: Tx) -> None:
        for runs in self.tables.values():
            for statement, rows in runs:
                tx.executemany(statement, rows)
        self.tables.clear()


_WRITE_TARGET = re.compile(r"\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+(\w+)", re.IGNORECASE)


@lru_cache(maxsize=256)
def _table_of(statement: str) -> str:
    m = _WRITE_TARGET.match(statement)
    if m is None:
        raise ValueError(f"not a write statement: {statement[:60]!r}")
    return m.group(1).lower()


def _select_in(tx: Tx, head: str, keys: Sequence[Any], chunk: int = 500) -> list[dict[str, Any]]:
    """Rows of ``head IN (keys)``, in chunks small enough for any SQLite build."""
    rows: list[dict[str, Any]] = []
    for i in range(0, len(keys), chunk):
        part = list(keys[i : i + chunk])
        rows += tx.query(f"{head} IN ({', '.join('?' * len(part))})", part)
    return rows


#: Parameters per statement: the limit of SQLite builds before 3.32.
_MAX_PARAMETERS = 999


@lru_cache(maxsize=64)
def _values_sql(table: str, columns: tuple[str, ...], rows: int) -> str:
    single = insert_sql(table, columns)
    head, _, marks = single.partition(" VALUES ")
    return f"{head} VALUES {', '.join([marks] * rows)}"


def insert_rows(tx: Tx, table: str, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
    """Insert many rows, as fast as the engine takes them.

    On SQLite, as multi-row ``INSERT … VALUES (…), (…)`` statements of up to
    999 parameters: ``sqlite3``'s ``executemany`` costs about twice as much per
    row (a reset, a step and a GIL hand-over each), while one statement does its
    B-tree work in one call, without holding the GIL. On PostgreSQL,
    :meth:`Tx.insert` (one statement over column arrays).
    """
    if not rows:
        return
    if tx.dialect.is_postgres:
        tx.insert(table, columns, rows)
        return
    names = tuple(columns)
    per = max(1, _MAX_PARAMETERS // len(names))
    whole = len(rows) - len(rows) % per
    if whole:
        statement = _values_sql(table, names, per)
        for i in range(0, whole, per):
            tx.execute(statement, tuple(chain.from_iterable(rows[i : i + per])))
    if whole < len(rows):
        rest = rows[whole:]
        tx.execute(_values_sql(table, names, len(rest)), tuple(chain.from_iterable(rest)))


_MARK_DDL = "CREATE TABLE cache_mark (id INTEGER PRIMARY KEY CHECK (id = 0), last_event BIGINT)"


class _LedgerView(View):
    """A view over the ledger with query methods, a topic dispatch and guarded caches."""

    handlers: ClassVar[Mapping[str, str]] = {}

    def __init__(self, runner: ViewRunner) -> None:
        #: The runner the query methods read through.
        self.runner = runner
        self._mark: int | None = None
        #: The page's writes to tables, in event order per table.
        self._writes = _Writes()
        #: Whether the caches hold every key the tables hold (filled from an empty store).
        self._complete = False
        self._dispatch: dict[str, Callable[[ViewEvent], None]] = {
            topic: getattr(self, name) for topic, name in self.handlers.items()
        }

    # -- caches ------------------------------------------------------------------------

    def _forget(self) -> None:
        """Drop every cache (override: clear the view's own)."""

    def _check_caches(self, tx: Tx) -> None:
        """Keep the caches only if this instance wrote the view's last page."""
        row = tx.query("SELECT last_event FROM cache_mark WHERE id = 0")
        stored = row[0]["last_event"] if row else None
        if stored is None or stored != self._mark:
            self._forget()
            self._complete = stored is None

    def _set_mark(self, tx: Tx, batch: Sequence[ViewEvent]) -> None:
        self._mark = batch[-1].notification_id
        tx.upsert("cache_mark", ("id", "last_event"), ("id",), [(0, self._mark)])

    # -- applying ----------------------------------------------------------------------

    def apply(self, batch: Sequence[ViewEvent], tx: Tx) -> None:
        try:
            self._writes = _Writes()
            self._check_caches(tx)
            self._begin(tx, batch)
            self._loop(batch)
            self._flush(tx)
            self._set_mark(tx, batch)
        except BaseException:
            # The page is rolled back: what the caches learnt from it is not in the tables.
            self._mark = None
            self._forget()
            raise

    def _begin(self, tx: Tx, batch: Sequence[ViewEvent]) -> None:
        """Prepare a page: load what the caches lack for it."""

    def _loop(self, batch: Sequence[ViewEvent]) -> None:
        """Hand each event to its handler."""
        dispatch = self._dispatch
        for e in batch:
            handler = dispatch.get(e.topic)
            if handler is not None:
                handler(e)

    def _flush(self, tx: Tx) -> None:
        """Write what the page collected."""

    # -- reading -----------------------------------------------------------------------

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        return self.runner.query(self, sql, params)

    def _query_one(self, sql: str, params: Sequence[Any] = ()) -> dict[str, Any] | None:
        return self.runner.query_one(self, sql, params)


def _open(vault: Vault | None, person: UUID, ciphertext: str | None) -> dict[str, str] | None:
    if vault is None or ciphertext is None:
        return None
    return vault.open(person, ciphertext)


# -- transcripts ----------------------------------------------------------------------------


def _student(event: str) -> str:
    return _topic(StudentRecord, event)


class TranscriptView(_LedgerView):
    """Học bạ data: one row per student and school year, with the student's history.

    Tables: ``schools``; ``students`` (current membership, identity ciphertext,
    shredded); ``years`` (one per student and school year: school, grade,
    class, the latest recorded year result as canonical JSON); ``remarks``
    (ciphertext, per subject, with the teacher); ``awards``; ``history``
    (enrolment, class changes, transfers out and in).
    """

    name = "transcripts"
    version = 1
    handlers: ClassVar[Mapping[str, str]] = {
        _topic(School, "Registered"): "_registered",
        _student("Enrolled"): "_enrolled",
        _student("IdentityRecorded"): "_identity",
        _student("ClassJoined"): "_class_joined",
        _student("TransferredOut"): "_transferred_out",
        _student("TransferredIn"): "_transferred_in",
        _student("RemarkRecorded"): "_remark",
        _student("AwardGranted"): "_award",
        _student("YearResultRecorded"): "_year_result",
        _student("PersonalDataShredded"): "_shredded",
    }
    topics = tuple(handlers)
    ddl = (
        _MARK_DDL,
        "CREATE TABLE schools (school TEXT PRIMARY KEY, code TEXT NOT NULL, name TEXT NOT NULL, "
        "province TEXT NOT NULL)",
        "CREATE TABLE students (student TEXT PRIMARY KEY, student_code TEXT NOT NULL, "
        "school TEXT NOT NULL, school_year TEXT NOT NULL, grade INTEGER NOT NULL, "
        "class_name TEXT NOT NULL, identity TEXT, shredded INTEGER NOT NULL DEFAULT 0, "
        "transferred_out_to TEXT)",
        "CREATE TABLE years (student TEXT NOT NULL, school_year TEXT NOT NULL, school TEXT, "
        "grade INTEGER, class_name TEXT, stage TEXT, result TEXT, result_version INTEGER, "
        "result_at TEXT, PRIMARY KEY (student, school_year))",
        "CREATE TABLE remarks (student TEXT NOT NULL, version INTEGER NOT NULL, "
        "school_year TEXT NOT NULL, subject TEXT NOT NULL, teacher TEXT NOT NULL, remark TEXT, "
        "recorded_at TEXT NOT NULL, PRIMARY KEY (student, version))",
        "CREATE TABLE awards (student TEXT NOT NULL, version INTEGER NOT NULL, "
        "school_year TEXT NOT NULL, award TEXT NOT NULL, decision TEXT NOT NULL, "
        "granted_by TEXT NOT NULL, granted_at TEXT NOT NULL, PRIMARY KEY (student, version))",
        "CREATE TABLE history (student TEXT NOT NULL, version INTEGER NOT NULL, "
        "event TEXT NOT NULL, school_year TEXT, school TEXT, grade INTEGER, class_name TEXT, "
        "to_school_code TEXT, reason TEXT, at TEXT NOT NULL, PRIMARY KEY (student, version))",
    )

    STUDENT_COLUMNS = (
        "student",
        "student_code",
        "school",
        "school_year",
        "grade",
        "class_name",
        "identity",
        "shredded",
        "transferred_out_to",
    )
    _SCHOOL = (
        "INSERT INTO schools (school, code, name, province) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (school) DO UPDATE SET code = excluded.code, name = excluded.name, "
        "province = excluded.province"
    )
    _YEAR = (
        "INSERT INTO years (student, school_year, school, grade, class_name) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (student, school_year) DO UPDATE SET "
        "school = excluded.school, grade = excluded.grade, class_name = excluded.class_name"
    )
    # Touches only the result's columns of an existing row, so it commutes with _YEAR.
    _RESULT = (
        "INSERT INTO years (student, school_year, school, grade, class_name, stage, result, "
        "result_version, result_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (student, school_year) DO UPDATE SET stage = excluded.stage, "
        "result = excluded.result, result_version = excluded.result_version, "
        "result_at = excluded.result_at"
    )
    _HISTORY = (
        "INSERT INTO history (student, version, event, school_year, school, grade, class_name, "
        "to_school_code, reason, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    _REMARK = (
        "INSERT INTO remarks (student, version, school_year, subject, teacher, remark, "
        "recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
    )
    _AWARD = (
        "INSERT INTO awards (student, version, school_year, award, decision, granted_by, "
        "granted_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
    )
    _SHRED_REMARKS = "UPDATE remarks SET remark = NULL WHERE student = ?"

    def __init__(self, runner: ViewRunner) -> None:
        super().__init__(runner)
        #: This page's students (column -> value), read once per page, written at its end.
        self._rows: dict[UUID, dict[str, Any]] = {}

    def _begin(self, tx: Tx, batch: Sequence[ViewEvent]) -> None:
        self._rows.clear()
        school = _topic(School, "Registered")
        wanted = sorted({str(e.record_id) for e in batch if e.topic != school})
        for row in _select_in(tx, "SELECT * FROM students WHERE student", wanted):
            self._rows[UUID(row["student"])] = {c: row[c] for c in self.STUDENT_COLUMNS}

    def _flush(self, tx: Tx) -> None:
        columns = self.STUDENT_COLUMNS
        rows = [tuple(r[c] for c in columns) for r in self._rows.values()]
        tx.upsert("students", columns, ("student",), rows)
        self._writes.flush(tx)
        self._rows.clear()

    # -- handlers ----------------------------------------------------------------------

    def _registered(self, e: ViewEvent) -> None:
        s = e.state
        self._writes.add(self._SCHOOL, str(e.record_id), s["code"], s["name"], s["province"])

    def _member(self, e: ViewEvent, event: str, school: str) -> None:
        """A new membership: the student's row, the year's row, a line of history."""
        s = e.state
        year, grade, cls = s["school_year"], s["grade"], s["class_name"]
        row = self._rows.get(e.record_id)
        if row is None:
            return  # a class change of a record never enrolled: nothing to attach it to
        row.update(school=school, school_year=year, grade=grade, class_name=cls)
        self._writes.add(self._YEAR, str(e.record_id), year, school, grade, cls)
        self._add_history(e, event, row, None, None)

    def _add_history(
        self, e: ViewEvent, event: str, row: dict[str, Any], to: str | None, reason: str | None
    ) -> None:
        self._writes.add(
            self._HISTORY,
            str(e.record_id),
            e.version,
            event,
            row["school_year"],
            row["school"],
            row["grade"],
            row["class_name"],
            to,
            reason,
            _when(e.state),
        )

    def _enrolled(self, e: ViewEvent) -> None:
        s = e.state
        self._rows[e.record_id] = {
            "student": str(e.record_id),
            "student_code": s["student_code"],
            "school": str(s["school"]),
            "school_year": s["school_year"],
            "grade": s["grade"],
            "class_name": s["class_name"],
            "identity": None,
            "shredded": 0,
            "transferred_out_to": None,
        }
        self._member(e, "Enrolled", str(s["school"]))

    def _identity(self, e: ViewEvent) -> None:
        row = self._rows.get(e.record_id)
        if row is not None:
            row["identity"] = e.state["identity"]

    def _class_joined(self, e: ViewEvent) -> None:
        row = self._rows.get(e.record_id)
        if row is not None:
            self._member(e, "ClassJoined", row["school"])

    def _transferred_out(self, e: ViewEvent) -> None:
        s = e.state
        row = self._rows.get(e.record_id)
        if row is not None:
            row["transferred_out_to"] = s["to_school_code"]
            self._add_history(e, "TransferredOut", row, s["to_school_code"], s["reason"])

    def _transferred_in(self, e: ViewEvent) -> None:
        row = self._rows.get(e.record_id)
        if row is not None:
            row["transferred_out_to"] = None
            self._member(e, "TransferredIn", str(e.state["school"]))

    def _remark(self, e: ViewEvent) -> None:
        s = e.state
        row = self._rows.get(e.record_id)
        self._writes.add(
            self._REMARK,
            str(e.record_id),
            e.version,
            row["school_year"] if row else "",
            s["subject"],
            str(s["by"]),
            s["remark"],
            _when(s),
        )

    def _award(self, e: ViewEvent) -> None:
        s = e.state
        row = self._rows.get(e.record_id)
        self._writes.add(
            self._AWARD,
            str(e.record_id),
            e.version,
            row["school_year"] if row else "",
            s["award"],
            s["decision"],
            str(s["by"]),
            _when(s),
        )

    def _year_result(self, e: ViewEvent) -> None:
        r = read_year_result(e)
        row = self._rows.get(e.record_id)
        grade = cls = None
        if row is None or row["school_year"] != r.school_year:
            # No membership row for that year is known here: the result names grade and class.
            result = e.state["result"]
            grade, cls = result.get("grade"), result.get("class_name")
        self._writes.add_to(
            "years/result",
            self._RESULT,
            str(e.record_id),
            r.school_year,
            row["school"] if row else None,
            grade,
            cls,
            r.stage,
            r.result,
            e.version,
            r.at,
        )

    def _shredded(self, e: ViewEvent) -> None:
        row = self._rows.get(e.record_id)
        if row is not None:
            row["identity"], row["shredded"] = None, 1
        self._writes.add(self._SHRED_REMARKS, str(e.record_id))

    # -- queries -----------------------------------------------------------------------

    def transcript(
        self, student_id: UUID, school_year: str, vault: Vault | None = None
    ) -> dict[str, Any] | None:
        """The học bạ data of one student and school year, or None if there is none.

        Keys: ``student``, ``student_code``, ``school_year``, ``school``,
        ``school_code``, ``school_name``, ``grade``, ``class_name``; ``result`` (the
        year result dict of :func:`ledger.results.year_result`, or None before
        it is recorded), ``stage``, ``result_version``, ``result_recorded_at``;
        ``identity`` (the decrypted identity fields, or None without a vault or
        once shredded), ``shredded``; ``remarks`` (``version``, ``subject``,
        ``teacher``, ``text`` (decrypted, or None), ``recorded_at``) and
        ``awards`` (``version``, ``award``, ``decision``, ``granted_by``,
        ``granted_at``) of that year; ``history`` (every enrolment, class change
        and transfer of the student, all years: ``version``, ``event``,
        ``school_year``, ``school``, ``school_code``, ``grade``, ``class_name``,
        ``to_school_code``, ``reason``, ``at``).
        """
        student = str(student_id)
        row = self._query_one(
            "SELECT y.school_year, y.school, y.grade, y.class_name, y.stage, y.result, "
            "y.result_version, y.result_at, s.student_code, s.identity, s.shredded, "
            "c.code AS school_code, c.name AS school_name FROM years y "
            "JOIN students s ON s.student = y.student "
            "LEFT JOIN schools c ON c.school = y.school "
            "WHERE y.student = ? AND y.school_year = ?",
            (student, school_year),
        )
        if row is None:
            return None
        return self._transcript(student_id, row, vault, self._history(student))

    def transcripts_of(self, student_id: UUID, vault: Vault | None = None) -> list[dict[str, Any]]:
        """Every school year of the student, oldest first (see :meth:`transcript`)."""
        student = str(student_id)
        rows = self._query(
            "SELECT y.school_year, y.school, y.grade, y.class_name, y.stage, y.result, "
            "y.result_version, y.result_at, s.student_code, s.identity, s.shredded, "
            "c.code AS school_code, c.name AS school_name FROM years y "
            "JOIN students s ON s.student = y.student "
            "LEFT JOIN schools c ON c.school = y.school "
            "WHERE y.student = ? ORDER BY y.school_year",
            (student,),
        )
        history = self._history(student)
        return [self._transcript(student_id, row, vault, history) for row in rows]

    def _history(self, student: str) -> list[dict[str, Any]]:
        return self._query(
            "SELECT h.version, h.event, h.school_year, h.school, c.code AS school_code, h.grade, "
            "h.class_name, h.to_school_code, h.reason, h.at FROM history h "
            "LEFT JOIN schools c ON c.school = h.school WHERE h.student = ? ORDER BY h.version",
            (student,),
        )

    def _transcript(
        self,
        student_id: UUID,
        row: dict[str, Any],
        vault: Vault | None,
        history: list[dict[str, Any]],
    ) -> dict[str, Any]:
        student, year = str(student_id), row["school_year"]
        identity = _open(vault, student_id, row["identity"])
        shredded = bool(row["shredded"]) or (
            vault is not None and row["identity"] is not None and identity is None
        )
        remarks = []
        for r in self._query(
            "SELECT version, subject, teacher, remark, recorded_at FROM remarks "
            "WHERE student = ? AND school_year = ? ORDER BY version",
            (student, year),
        ):
            fields = None if shredded else _open(vault, student_id, r["remark"])
            remarks.append(
                {
                    "version": r["version"],
                    "subject": r["subject"],
                    "teacher": r["teacher"],
                    "text": fields.get("remark") if fields else None,
                    "recorded_at": r["recorded_at"],
                }
            )
        awards = self._query(
            "SELECT version, award, decision, granted_by, granted_at FROM awards "
            "WHERE student = ? AND school_year = ? ORDER BY version",
            (student, year),
        )
        return {
            "student": student,
            "student_code": row["student_code"],
            "school_year": year,
            "school": row["school"],
            "school_code": row["school_code"],
            "school_name": row["school_name"],
            "grade": row["grade"],
            "class_name": row["class_name"],
            "result": None if row["result"] is None else json.loads(row["result"]),
            "stage": row["stage"],
            "result_version": row["result_version"],
            "result_recorded_at": row["result_at"],
            "identity": None if shredded else identity,
            "shredded": shredded,
            "remarks": remarks,
            "awards": awards,
            "history": history,
        }


# -- grade book -----------------------------------------------------------------------------


def _year_event(event: str) -> str:
    return _topic(SchoolYear, event)


def _staff_event(event: str) -> str:
    return _topic(StaffFile, event)


_STUDENT_PREFIX = get_topic(StudentRecord) + "."
SCORE_RECORDED = _student("ScoreRecorded")
COMMENT_ASSESSED = _student("CommentAssessed")


class GradebookView(_LedgerView):
    """The class grade book (sổ điểm): every entry, as corrected, and the homeroom records.

    Tables: ``students`` (a small ``student_key`` per student record, its code and
    current school, year and class), ``classes`` (``class_key`` per school, year
    and class), ``class_members`` (every class a student has been in),
    ``entries`` (one row per score or comment assessment, keyed by student and
    the event's version: the value recorded, and ``corrected`` with the
    correcting version, its author, the approving principal and the reason),
    ``proposals`` (corrections proposed after a term closed, and their
    approval), ``conduct`` and ``absences`` per student, school year and term,
    ``closed_terms``, and ``years`` (school-year record ids).
    """

    name = "gradebook"
    version = 1
    handlers: ClassVar[Mapping[str, str]] = {
        _student("Enrolled"): "_enrolled",
        _student("ClassJoined"): "_class_joined",
        _student("TransferredIn"): "_transferred_in",
        _student("ScoreCorrected"): "_score_corrected",
        _student("CommentCorrected"): "_comment_corrected",
        _student("CorrectionProposed"): "_proposed",
        _student("CorrectionApproved"): "_approved",
        _student("ConductAssessed"): "_conduct",
        _student("AbsencesRecorded"): "_absences",
        _year_event("Opened"): "_year_opened",
        _year_event("ClassOpened"): "_class_opened",
        _year_event("TermClosed"): "_term_closed",
    }
    topics = (SCORE_RECORDED, COMMENT_ASSESSED, *handlers)
    ddl = (
        _MARK_DDL,
        "CREATE TABLE students (student_key INTEGER PRIMARY KEY, student TEXT NOT NULL UNIQUE, "
        "student_code TEXT, school TEXT, school_year TEXT, grade INTEGER, class_name TEXT, "
        "class_key INTEGER)",
        "CREATE TABLE classes (class_key INTEGER PRIMARY KEY, school TEXT NOT NULL, "
        "school_year TEXT NOT NULL, class_name TEXT NOT NULL, grade INTEGER, "
        "UNIQUE (school, school_year, class_name))",
        "CREATE TABLE class_members (class_key INTEGER NOT NULL, student_key INTEGER NOT NULL, "
        "PRIMARY KEY (class_key, student_key))",
        # No NULL in the columns every insert writes; no index but the key (see the module).
        "CREATE TABLE entries (student_key INTEGER NOT NULL, version INTEGER NOT NULL, "
        "class_key INTEGER, subject TEXT NOT NULL, term INTEGER NOT NULL, kind TEXT NOT NULL, "
        "value TEXT NOT NULL, teacher TEXT NOT NULL, recorded_at TEXT NOT NULL, corrected TEXT, "
        "corrected_version INTEGER, corrected_by TEXT, approved_by TEXT, reason TEXT, "
        "corrected_at TEXT, PRIMARY KEY (student_key, version))",
        "CREATE TABLE proposals (student_key INTEGER NOT NULL, version INTEGER NOT NULL, "
        "corrects INTEGER NOT NULL, value TEXT NOT NULL, reason TEXT NOT NULL, "
        "proposed_by TEXT NOT NULL, proposed_at TEXT NOT NULL, approved_version INTEGER, "
        "approved_by TEXT, approved_at TEXT, PRIMARY KEY (student_key, version))",
        "CREATE TABLE conduct (student_key INTEGER NOT NULL, school_year TEXT NOT NULL, "
        "term INTEGER NOT NULL, class_key INTEGER, level TEXT NOT NULL, "
        "assessed_by TEXT NOT NULL, version INTEGER NOT NULL, assessed_at TEXT NOT NULL, "
        "PRIMARY KEY (student_key, school_year, term))",
        "CREATE TABLE absences (student_key INTEGER NOT NULL, school_year TEXT NOT NULL, "
        "term INTEGER NOT NULL, class_key INTEGER, sessions INTEGER NOT NULL, "
        "recorded_by TEXT NOT NULL, version INTEGER NOT NULL, recorded_at TEXT NOT NULL, "
        "PRIMARY KEY (student_key, school_year, term))",
        "CREATE TABLE closed_terms (class_key INTEGER NOT NULL, term INTEGER NOT NULL, "
        "closed_by TEXT NOT NULL, version INTEGER NOT NULL, closed_at TEXT NOT NULL, "
        "PRIMARY KEY (class_key, term))",
        "CREATE TABLE years (year_id TEXT PRIMARY KEY, school TEXT NOT NULL, "
        "school_year TEXT NOT NULL, level TEXT NOT NULL)",
    )

    ENTRY_COLUMNS = (
        "student_key",
        "version",
        "class_key",
        "subject",
        "term",
        "kind",
        "value",
        "teacher",
        "recorded_at",
    )
    _STUDENT = (
        "INSERT INTO students (student_key, student, student_code, school, school_year, grade, "
        "class_name, class_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (student_key) DO "
        "UPDATE SET student_code = COALESCE(excluded.student_code, students.student_code), "
        "school = excluded.school, school_year = excluded.school_year, grade = excluded.grade, "
        "class_name = excluded.class_name, class_key = excluded.class_key"
    )
    _MEMBER = (
        "INSERT INTO class_members (class_key, student_key) VALUES (?, ?) "
        "ON CONFLICT (class_key, student_key) DO NOTHING"
    )
    _CLASS = (
        "INSERT INTO classes (class_key, school, school_year, class_name, grade) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (class_key) DO UPDATE SET "
        "grade = COALESCE(excluded.grade, classes.grade)"
    )
    _YEAR = (
        "INSERT INTO years (year_id, school, school_year, level) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (year_id) DO NOTHING"
    )
    _CORRECT = (
        "UPDATE entries SET corrected = ?, corrected_version = ?, corrected_by = ?, "
        "approved_by = ?, reason = ?, corrected_at = ? WHERE student_key = ? AND version = ?"
    )
    _PROPOSE = (
        "INSERT INTO proposals (student_key, version, corrects, value, reason, proposed_by, "
        "proposed_at) VALUES (?, ?, ?, ?, ?, ?, ?)"
    )
    _APPROVE = (
        "UPDATE proposals SET approved_version = ?, approved_by = ?, approved_at = ? "
        "WHERE student_key = ? AND version = ?"
    )
    _CONDUCT = (
        "INSERT INTO conduct (student_key, school_year, term, class_key, level, assessed_by, "
        "version, assessed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (student_key, school_year, term) DO UPDATE SET "
        "class_key = excluded.class_key, level = excluded.level, "
        "assessed_by = excluded.assessed_by, version = excluded.version, "
        "assessed_at = excluded.assessed_at"
    )
    _ABSENCES = (
        "INSERT INTO absences (student_key, school_year, term, class_key, sessions, recorded_by, "
        "version, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (student_key, school_year, term) DO UPDATE SET "
        "class_key = excluded.class_key, sessions = excluded.sessions, "
        "recorded_by = excluded.recorded_by, version = excluded.version, "
        "recorded_at = excluded.recorded_at"
    )
    _CLOSE = (
        "INSERT INTO closed_terms (class_key, term, closed_by, version, closed_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (class_key, term) DO NOTHING"
    )
    _STUDENT_TOPICS = frozenset(
        t for t in (SCORE_RECORDED, COMMENT_ASSESSED, *handlers) if t.startswith(_STUDENT_PREFIX)
    )
    _YEAR_TOPICS = frozenset((_year_event("ClassOpened"), _year_event("TermClosed")))

    def __init__(self, runner: ViewRunner) -> None:
        super().__init__(runner)
        #: student record (UUID as int) -> (student_key, class_key, school, school_year, id text)
        self._students: dict[int, tuple[int, int | None, str, str, str]] = {}
        #: (school, school_year, class_name) -> class_key
        self._classes: dict[tuple[str, str, str], int] = {}
        #: school-year record -> (school, school_year)
        self._years: dict[UUID, tuple[str, str]] = {}
        self._next: list[int] | None = None  # [next student_key, next class_key]
        self._texts = _Texts()
        self._entries: list[tuple[Any, ...]] = []
        #: (student_key, version) -> proposal (corrects, value, reason, by), this page's only
        self._proposals: dict[tuple[int, int], tuple[int, str, str, str]] = {}
        self._tx: Tx | None = None

    def _forget(self) -> None:
        self._students.clear()
        self._classes.clear()
        self._years.clear()
        self._next = None

    # -- page ---------------------------------------------------------------------------

    def _begin(self, tx: Tx, batch: Sequence[ViewEvent]) -> None:
        self._tx = tx
        self._entries = []
        self._proposals.clear()
        if len(self._students) > CACHE_LIMIT:
            self._forget()
            self._complete = False
        if self._next is None:
            row = tx.query(
                "SELECT (SELECT max(student_key) FROM students) AS s, "
                "(SELECT max(class_key) FROM classes) AS c"
            )[0]
            self._next = [(row["s"] or 0) + 1, (row["c"] or 0) + 1]
        if self._complete:
            return
        students, years = self._STUDENT_TOPICS, self._YEAR_TOPICS
        missing: set[UUID] = set()
        missing_years: set[UUID] = set()
        for e in batch:
            if e.topic in students:
                if e.record_id.int not in self._students:
                    missing.add(e.record_id)
            elif e.topic in years and e.record_id not in self._years:
                missing_years.add(e.record_id)
        if missing:
            for row in _select_in(
                tx,
                "SELECT student_key, student, class_key, school, school_year FROM students "
                "WHERE student",
                [str(r) for r in missing],
            ):
                self._students[UUID(row["student"]).int] = (
                    row["student_key"],
                    row["class_key"],
                    row["school"] or "",
                    row["school_year"] or "",
                    row["student"],
                )
        if missing_years:
            for row in _select_in(
                tx,
                "SELECT year_id, school, school_year FROM years WHERE year_id",
                [str(r) for r in missing_years],
            ):
                self._years[UUID(row["year_id"])] = (row["school"], row["school_year"])

    def _flush(self, tx: Tx) -> None:
        insert_rows(tx, "entries", self.ENTRY_COLUMNS, self._entries)
        self._entries = []
        self._writes.flush(tx)
        self._proposals.clear()
        self._tx = None

    # -- keys ----------------------------------------------------------------------------

    def _student(self, record: UUID) -> tuple[int, int | None, str, str, str]:
        """The student's cached membership; a record the view never saw enrolled gets a key."""
        found = self._students.get(record.int)
        if found is None:
            found = self._set_student(record, None, "", "", None, None, None)
        return found

    def _set_student(
        self,
        record: UUID,
        code: str | None,
        school: str,
        year: str,
        grade: int | None,
        class_name: str | None,
        class_key: int | None,
    ) -> tuple[int, int | None, str, str, str]:
        known = self._students.get(record.int)
        assert self._next is not None
        if known is None:
            key = self._next[0]
            self._next[0] += 1
            text = str(record)
        else:
            key, text = known[0], known[4]
        found = self._students[record.int] = (key, class_key, school, year, text)
        self._writes.add(self._STUDENT, key, text, code, school, year, grade, class_name, class_key)
        if class_key is not None:
            self._writes.add(self._MEMBER, class_key, key)
        return found

    def _class_key(self, school: str, year: str, class_name: str, grade: int | None) -> int:
        key = (school, year, class_name)
        found = self._classes.get(key)
        if found is None and not self._complete and self._tx is not None:
            row = self._tx.query(
                "SELECT class_key FROM classes WHERE school = ? AND school_year = ? "
                "AND class_name = ?",
                key,
            )
            if row:
                found = self._classes[key] = int(row[0]["class_key"])
        if found is None:
            assert self._next is not None
            found = self._classes[key] = self._next[1]
            self._next[1] += 1
            self._writes.add(self._CLASS, found, school, year, class_name, grade)
        elif grade is not None:
            self._writes.add(self._CLASS, found, school, year, class_name, grade)
        return found

    # -- membership ------------------------------------------------------------------------

    def _enrolled(self, e: ViewEvent) -> None:
        s = e.state
        school, year, cls = str(s["school"]), s["school_year"], s["class_name"]
        class_key = self._class_key(school, year, cls, s["grade"])
        self._set_student(e.record_id, s["student_code"], school, year, s["grade"], cls, class_key)

    def _class_joined(self, e: ViewEvent) -> None:
        s = e.state
        school = self._student(e.record_id)[2]
        year, cls = s["school_year"], s["class_name"]
        class_key = self._class_key(school, year, cls, s["grade"])
        self._set_student(e.record_id, None, school, year, s["grade"], cls, class_key)

    def _transferred_in(self, e: ViewEvent) -> None:
        s = e.state
        school, year, cls = str(s["school"]), s["school_year"], s["class_name"]
        class_key = self._class_key(school, year, cls, s["grade"])
        self._set_student(e.record_id, None, school, year, s["grade"], cls, class_key)

    # -- entries (the hot path) ------------------------------------------------------------

    def _loop(self, batch: Sequence[ViewEvent]) -> None:
        # Scores and comment assessments are nearly every event: read inline, without a
        # handler call, straight from the payload when it has its usual shape.
        dispatch, students, rows = self._dispatch, self._students, self._entries
        score, comment = SCORE_PAYLOAD.fullmatch, COMMENT_PAYLOAD.fullmatch
        interned = self._texts
        texts, uuids = interned.texts, interned.uuids
        for e in batch:
            topic = e.topic
            if topic == SCORE_RECORDED:
                m = score(e.payload)
            elif topic == COMMENT_ASSESSED:
                m = comment(e.payload)
            else:
                handler = dispatch.get(topic)
                if handler is not None:
                    handler(e)
                continue
            student = students.get(e.record_id.int) or self._student(e.record_id)
            if m is None:
                a = read_assessment(e, interned)
                rows.append(
                    (
                        student[0],
                        e.version,
                        student[1],
                        a.subject,
                        a.term,
                        a.kind,
                        a.value,
                        a.by,
                        a.at,
                    )
                )
                continue
            ts, subject, term, kind, value, by = m.groups()
            rows.append(
                (
                    student[0],
                    e.version,
                    student[1],
                    texts.get(subject) or interned.text(subject),
                    _TERMS.get(term) or int(term),
                    texts.get(kind) or interned.text(kind),
                    _LABELS.get(value) or value.decode("ascii"),
                    uuids.get(by) or interned.uuid(by),
                    ts.decode("ascii"),
                )
            )

    # -- corrections ---------------------------------------------------------------------

    def _correct(
        self,
        e: ViewEvent,
        corrects: int,
        value: str,
        by: str,
        approved_by: str | None,
        reason: str,
    ) -> None:
        key = self._student(e.record_id)[0]
        self._writes.add(
            self._CORRECT, value, e.version, by, approved_by, reason, _when(e.state), key, corrects
        )

    def _score_corrected(self, e: ViewEvent) -> None:
        s = e.state
        self._correct(e, s["corrects"], str(s["value"]), str(s["by"]), None, s["reason"])

    def _comment_corrected(self, e: ViewEvent) -> None:
        s = e.state
        label = PASSED if s["passed"] else NOT_PASSED
        self._correct(e, s["corrects"], label, str(s["by"]), None, s["reason"])

    def _proposed(self, e: ViewEvent) -> None:
        s = e.state
        key = self._student(e.record_id)[0]
        by = str(s["by"])
        self._proposals[(key, e.version)] = (s["corrects"], s["value"], s["reason"], by)
        self._writes.add(
            self._PROPOSE, key, e.version, s["corrects"], s["value"], s["reason"], by, _when(s)
        )

    def _approved(self, e: ViewEvent) -> None:
        """The principal's countersignature: the proposed value takes effect now."""
        s = e.state
        key = self._student(e.record_id)[0]
        proposal = self._proposals.get((key, s["proposal"]))
        if proposal is None and self._tx is not None:
            rows = self._tx.query(
                "SELECT corrects, value, reason, proposed_by FROM proposals "
                "WHERE student_key = ? AND version = ?",
                (key, s["proposal"]),
            )
            if rows:
                r = rows[0]
                proposal = (r["corrects"], r["value"], r["reason"], r["proposed_by"])
        if proposal is None:
            return  # as the record does: an approval of nothing changes nothing
        corrects, value, reason, proposer = proposal
        by = str(s["by"])
        self._writes.add(self._APPROVE, e.version, by, _when(s), key, s["proposal"])
        self._correct(e, corrects, value, proposer, by, reason)

    # -- homeroom and terms ----------------------------------------------------------------

    def _conduct(self, e: ViewEvent) -> None:
        s = e.state
        key, class_key, _, year, _ = self._student(e.record_id)
        self._writes.add(
            self._CONDUCT,
            key,
            year,
            s["term"],
            class_key,
            s["level"],
            str(s["by"]),
            e.version,
            _when(s),
        )

    def _absences(self, e: ViewEvent) -> None:
        s = e.state
        key, class_key, _, year, _ = self._student(e.record_id)
        self._writes.add(
            self._ABSENCES,
            key,
            year,
            s["term"],
            class_key,
            s["sessions"],
            str(s["by"]),
            e.version,
            _when(s),
        )

    def _year_opened(self, e: ViewEvent) -> None:
        s = e.state
        school, year = str(s["school"]), s["school_year"]
        self._years[e.record_id] = (school, year)
        self._writes.add(self._YEAR, str(e.record_id), school, year, s["level"])

    def _class_opened(self, e: ViewEvent) -> None:
        s = e.state
        year = self._years.get(e.record_id)
        if year is not None:
            self._class_key(year[0], year[1], s["class_name"], s["grade"])

    def _term_closed(self, e: ViewEvent) -> None:
        s = e.state
        year = self._years.get(e.record_id)
        if year is None:
            return
        class_key = self._class_key(year[0], year[1], s["class_name"], None)
        self._writes.add(self._CLOSE, class_key, s["term"], str(s["by"]), e.version, _when(s))

    # -- queries -------------------------------------------------------------------------

    _ENTRY_SELECT = (
        "SELECT s.student, s.student_code, e.version, c.school, c.school_year, c.class_name, "
        "e.subject, e.term, e.kind, e.value, e.corrected, e.teacher, e.recorded_at, "
        "e.corrected_version, e.corrected_by, e.approved_by, e.reason, e.corrected_at "
    )

    @staticmethod
    def _entry(row: dict[str, Any]) -> dict[str, Any]:
        original = row["value"]
        corrected = row["corrected"]
        return {
            "student": row["student"],
            "student_code": row["student_code"],
            "version": row["version"],
            "school": row["school"],
            "school_year": row["school_year"],
            "class_name": row["class_name"],
            "subject": row["subject"],
            "term": row["term"],
            "kind": row["kind"],
            "assessed": "comment" if original in (PASSED, NOT_PASSED) else "score",
            "value": original if corrected is None else corrected,
            "original": original,
            "teacher": row["teacher"],
            "recorded_at": row["recorded_at"],
            "corrected_version": row["corrected_version"],
            "corrected_by": row["corrected_by"],
            "approved_by": row["approved_by"],
            "correction_reason": row["reason"],
            "corrected_at": row["corrected_at"],
        }

    def gradebook(self, school_id: UUID, school_year: str, class_name: str) -> list[dict[str, Any]]:
        """Every entry of the class, as corrected, by student code, subject, term and version.

        Keys: ``student`` (record id), ``student_code``, ``version`` (of the
        event that recorded it), ``school``, ``school_year``, ``class_name``,
        ``subject``, ``term``, ``kind`` (tx, gk, ck), ``assessed`` (score or
        comment), ``value`` (as corrected), ``original`` (as recorded),
        ``teacher``, ``recorded_at``, and for a corrected entry
        ``corrected_version``, ``corrected_by`` (the teacher who corrected or
        proposed it), ``approved_by`` (the principal, for a correction after the
        term closed), ``correction_reason`` and ``corrected_at`` (else None).
        """
        rows = self._query(
            self._ENTRY_SELECT + "FROM classes c "
            "JOIN class_members m ON m.class_key = c.class_key "
            "JOIN entries e ON e.student_key = m.student_key AND e.class_key = c.class_key "
            "JOIN students s ON s.student_key = e.student_key "
            "WHERE c.school = ? AND c.school_year = ? AND c.class_name = ? "
            "ORDER BY s.student_code, e.subject, e.term, e.version",
            (str(school_id), school_year, class_name),
        )
        return [self._entry(r) for r in rows]

    def entries(self, student_id: UUID) -> list[dict[str, Any]]:
        """Every entry of one student, all years, in the record's order (keys as in
        :meth:`gradebook`)."""
        rows = self._query(
            self._ENTRY_SELECT + "FROM students s "
            "JOIN entries e ON e.student_key = s.student_key "
            "LEFT JOIN classes c ON c.class_key = e.class_key "
            "WHERE s.student = ? ORDER BY e.version",
            (str(student_id),),
        )
        return [self._entry(r) for r in rows]

    def term_records(
        self, school_id: UUID, school_year: str, class_name: str
    ) -> list[dict[str, Any]]:
        """Conduct and absences of the class's students per term.

        Keys: ``student``, ``student_code``, ``term``, ``conduct`` (the level, or
        None), ``absences`` (buổi, or None); sorted by student code and term.
        """
        params = (str(school_id), school_year, class_name)
        members = (
            "FROM classes c JOIN class_members m ON m.class_key = c.class_key "
            "JOIN students s ON s.student_key = m.student_key "
        )
        where = "WHERE c.school = ? AND c.school_year = ? AND c.class_name = ?"
        out: dict[tuple[str, int], dict[str, Any]] = {}
        for table, column, key in (
            ("conduct", "level", "conduct"),
            ("absences", "sessions", "absences"),
        ):
            for r in self._query(
                f"SELECT s.student, s.student_code, t.term, t.{column} AS v "
                f"{members}JOIN {table} t ON t.student_key = s.student_key "
                f"AND t.school_year = c.school_year {where}",
                params,
            ):
                row = out.setdefault(
                    (r["student_code"] or "", r["term"]),
                    {
                        "student": r["student"],
                        "student_code": r["student_code"],
                        "term": r["term"],
                        "conduct": None,
                        "absences": None,
                    },
                )
                row[key] = r["v"]
        return [out[k] for k in sorted(out)]

    def closed_terms(self, school_id: UUID, school_year: str, class_name: str) -> list[int]:
        """The terms (1, 2) closed for the class."""
        rows = self._query(
            "SELECT t.term FROM classes c JOIN closed_terms t ON t.class_key = c.class_key "
            "WHERE c.school = ? AND c.school_year = ? AND c.class_name = ? ORDER BY t.term",
            (str(school_id), school_year, class_name),
        )
        return [int(r["term"]) for r in rows]

    def classes(self, school_id: UUID, school_year: str) -> list[dict[str, Any]]:
        """The school year's classes: ``class_name``, ``grade``, ``students`` (now in it)."""
        return self._query(
            "SELECT c.class_name, c.grade, (SELECT count(*) FROM students s "
            "WHERE s.class_key = c.class_key) AS students FROM classes c "
            "WHERE c.school = ? AND c.school_year = ? ORDER BY c.class_name",
            (str(school_id), school_year),
        )


# -- staff files ----------------------------------------------------------------------------

#: Fields of staff events that are not part of the HR history shown: the certificate PEM,
#: the identity ciphertext and its commitment, the timestamp and signer (kept apart).
_NOT_HISTORY = frozenset(
    {"timestamp", "by", "originator_topic", "certificate", "identity", "commitment"}
)


class StaffView(_LedgerView):
    """The staff file (hồ sơ cán bộ, giáo viên): its current state and its HR history.

    Tables: ``staff`` (one row per staff file: title, rank and code, salary step
    and coefficient, positions as a JSON list, active, identity ciphertext,
    shredded), ``assignments`` (current teaching assignments), ``homerooms``
    (current GVCN classes per school year), ``hr_events`` (every event of the
    file: name, time, signer and its fields as JSON, without certificate PEMs
    or identity ciphertext).
    """

    name = "staff"
    version = 1
    handlers: ClassVar[Mapping[str, str]] = {t: "_event" for t in _all_topics(StaffFile)}
    topics = tuple(handlers)
    ddl = (
        _MARK_DDL,
        "CREATE TABLE staff (staff TEXT PRIMARY KEY, school TEXT NOT NULL, "
        "school_code TEXT NOT NULL, staff_code TEXT NOT NULL, title TEXT NOT NULL, rank TEXT, "
        "title_code TEXT, salary_step INTEGER, salary_coefficient TEXT, salary_effective TEXT, "
        "positions TEXT NOT NULL, active INTEGER NOT NULL, transferred_to TEXT, identity TEXT, "
        "shredded INTEGER NOT NULL, opened_at TEXT NOT NULL)",
        "CREATE INDEX staff_school ON staff (school, staff_code)",
        "CREATE TABLE assignments (staff TEXT NOT NULL, school_year TEXT NOT NULL, "
        "class_name TEXT NOT NULL, subject TEXT NOT NULL, school TEXT NOT NULL, "
        "PRIMARY KEY (staff, school_year, class_name, subject))",
        "CREATE INDEX assignments_year ON assignments (school, school_year)",
        "CREATE TABLE homerooms (staff TEXT NOT NULL, school_year TEXT NOT NULL, "
        "class_name TEXT NOT NULL, school TEXT NOT NULL, PRIMARY KEY (staff, school_year))",
        "CREATE INDEX homerooms_year ON homerooms (school, school_year)",
        "CREATE TABLE hr_events (staff TEXT NOT NULL, version INTEGER NOT NULL, "
        "event TEXT NOT NULL, at TEXT NOT NULL, signed_by TEXT, details TEXT NOT NULL, "
        "PRIMARY KEY (staff, version))",
    )

    COLUMNS = (
        "staff",
        "school",
        "school_code",
        "staff_code",
        "title",
        "rank",
        "title_code",
        "salary_step",
        "salary_coefficient",
        "salary_effective",
        "positions",
        "active",
        "transferred_to",
        "identity",
        "shredded",
        "opened_at",
    )
    _ASSIGN = (
        "INSERT INTO assignments (staff, school_year, class_name, subject, school) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (staff, school_year, class_name, subject) DO NOTHING"
    )
    _UNASSIGN = (
        "DELETE FROM assignments WHERE staff = ? AND school_year = ? AND class_name = ? "
        "AND subject = ?"
    )
    _HOMEROOM = (
        "INSERT INTO homerooms (staff, school_year, class_name, school) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (staff, school_year) DO UPDATE SET class_name = excluded.class_name"
    )
    _UNHOMEROOM = "DELETE FROM homerooms WHERE staff = ? AND school_year = ? AND class_name = ?"
    _LEAVE_ASSIGNMENTS = "DELETE FROM assignments WHERE staff = ?"
    _LEAVE_HOMEROOMS = "DELETE FROM homerooms WHERE staff = ?"
    _HISTORY = (
        "INSERT INTO hr_events (staff, version, event, at, signed_by, details) "
        "VALUES (?, ?, ?, ?, ?, ?)"
    )

    def __init__(self, runner: ViewRunner) -> None:
        super().__init__(runner)
        #: This page's staff rows (column -> value), loaded once per page, written at its end.
        self._rows: dict[UUID, dict[str, Any]] = {}
        self._changed: set[UUID] = set()

    def _begin(self, tx: Tx, batch: Sequence[ViewEvent]) -> None:
        self._rows.clear()
        self._changed.clear()
        wanted = list({e.record_id for e in batch})
        for row in _select_in(tx, "SELECT * FROM staff WHERE staff", [str(r) for r in wanted]):
            self._rows[UUID(row["staff"])] = {c: row[c] for c in self.COLUMNS}

    def _flush(self, tx: Tx) -> None:
        rows = [tuple(self._rows[r][c] for c in self.COLUMNS) for r in self._changed]
        tx.upsert("staff", self.COLUMNS, ("staff",), rows)
        self._writes.flush(tx)

    def _event(self, e: ViewEvent) -> None:
        s = e.state
        name = e.event_name
        staff = str(e.record_id)
        row = self._rows.get(e.record_id)
        if name == "Opened":
            title = s["title"]
            row = self._rows[e.record_id] = {
                "staff": staff,
                "school": str(s["school"]),
                "school_code": s["school_code"],
                "staff_code": s["staff_code"],
                "title": title,
                "rank": None,
                "title_code": None,
                "salary_step": None,
                "salary_coefficient": None,
                "salary_effective": None,
                "positions": _json([PRINCIPAL] if title == PRINCIPAL else []),
                "active": 1,
                "transferred_to": None,
                "identity": None,
                "shredded": 0,
                "opened_at": _when(s),
            }
        if row is None:
            return  # a staff event without its file: nothing to show it on
        self._changed.add(e.record_id)
        school = row["school"]
        if name == "IdentityRecorded":
            row["identity"] = s["identity"]
        elif name == "PersonalDataShredded":
            row["identity"], row["shredded"] = None, 1
        elif name == "TitleAppointed":
            row["title"], row["rank"], row["title_code"] = s["title"], s["rank"], s["code"]
        elif name == "SalaryStepRaised":
            row["salary_step"] = s["step"]
            row["salary_coefficient"] = str(s["coefficient"])
            row["salary_effective"] = s["effective"]
        elif name in ("Appointed", "AppointmentEnded"):
            positions = set(json.loads(row["positions"]))
            if name == "Appointed":
                positions.add(s["position"])
            else:
                positions.discard(s["position"])
            row["positions"] = _json(sorted(positions))
        elif name == "TeachingAssigned":
            w = (staff, s["school_year"], s["class_name"], s["subject"])
            self._writes.add(self._ASSIGN, *w, school)
        elif name == "TeachingUnassigned":
            self._writes.add(self._UNASSIGN, staff, s["school_year"], s["class_name"], s["subject"])
        elif name == "HomeroomAssigned":
            self._writes.add(self._HOMEROOM, staff, s["school_year"], s["class_name"], school)
        elif name == "HomeroomUnassigned":
            self._writes.add(self._UNHOMEROOM, staff, s["school_year"], s["class_name"])
        elif name == "Transferred":
            # Điều động / thuyên chuyển: every post and assignment here ends with it.
            row["active"], row["transferred_to"] = 0, s["to_school_code"]
            row["positions"] = _json([])
            self._writes.add(self._LEAVE_ASSIGNMENTS, staff)
            self._writes.add(self._LEAVE_HOMEROOMS, staff)
        details = {k: v for k, v in s.items() if k not in _NOT_HISTORY}
        self._writes.add(
            self._HISTORY, staff, e.version, name, _when(s), _uuid_text(s.get("by")), _json(details)
        )

    # -- queries -------------------------------------------------------------------------

    @staticmethod
    def _summary(row: dict[str, Any]) -> dict[str, Any]:
        return {
            "staff": row["staff"],
            "school": row["school"],
            "school_code": row["school_code"],
            "staff_code": row["staff_code"],
            "title": row["title"],
            "rank": row["rank"],
            "title_code": row["title_code"],
            "salary_step": row["salary_step"],
            "salary_coefficient": row["salary_coefficient"],
            "salary_effective": row["salary_effective"],
            "positions": json.loads(row["positions"]),
            "active": bool(row["active"]),
            "transferred_to": row["transferred_to"],
            "shredded": bool(row["shredded"]),
            "opened_at": row["opened_at"],
        }

    def staff_file(self, staff_id: UUID, vault: Vault | None = None) -> dict[str, Any] | None:
        """The staff file, or None if there is none.

        Keys: those of :meth:`staff_of_school`; ``identity`` (the decrypted
        fields, or None without a vault or once shredded); ``assignments``
        (``school_year``, ``class_name``, ``subject``); ``homerooms`` (school year
        -> class); ``history`` (``version``, ``event``, ``at``, ``signed_by``,
        ``details``: the event's fields, e.g. decision, rank, step, level).
        """
        staff = str(staff_id)
        row = self._query_one("SELECT * FROM staff WHERE staff = ?", (staff,))
        if row is None:
            return None
        out = self._summary(row)
        identity = None if row["shredded"] else _open(vault, staff_id, row["identity"])
        if vault is not None and row["identity"] is not None and identity is None:
            out["shredded"] = True
        out["identity"] = identity
        out["assignments"] = self._query(
            "SELECT school_year, class_name, subject FROM assignments WHERE staff = ? "
            "ORDER BY school_year, class_name, subject",
            (staff,),
        )
        out["homerooms"] = {
            r["school_year"]: r["class_name"]
            for r in self._query(
                "SELECT school_year, class_name FROM homerooms WHERE staff = ? "
                "ORDER BY school_year",
                (staff,),
            )
        }
        out["history"] = [
            {
                "version": r["version"],
                "event": r["event"],
                "at": r["at"],
                "signed_by": r["signed_by"],
                "details": json.loads(r["details"]),
            }
            for r in self._query(
                "SELECT version, event, at, signed_by, details FROM hr_events WHERE staff = ? "
                "ORDER BY version",
                (staff,),
            )
        ]
        return out

    def staff_of_school(self, school_id: UUID) -> list[dict[str, Any]]:
        """The school's staff files by staff code, without personal data.

        Keys: ``staff``, ``school``, ``school_code``, ``staff_code``, ``title``,
        ``rank``, ``title_code``, ``salary_step``, ``salary_coefficient``,
        ``salary_effective``, ``positions``, ``active`` (False once transferred),
        ``transferred_to``, ``shredded``, ``opened_at``.
        """
        rows = self._query(
            "SELECT * FROM staff WHERE school = ? ORDER BY staff_code", (str(school_id),)
        )
        return [self._summary(r) for r in rows]

    def assignments(self, school_id: UUID, school_year: str) -> list[dict[str, Any]]:
        """The school year's teaching assignments (phân công) in force.

        Keys: ``staff``, ``staff_code``, ``class_name``, ``subject``; sorted by
        class, subject and staff code.
        """
        return self._query(
            "SELECT a.staff, s.staff_code, a.class_name, a.subject FROM assignments a "
            "JOIN staff s ON s.staff = a.staff WHERE a.school = ? AND a.school_year = ? "
            "ORDER BY a.class_name, a.subject, s.staff_code",
            (str(school_id), school_year),
        )

    def homerooms(self, school_id: UUID, school_year: str) -> list[dict[str, Any]]:
        """The school year's homeroom teachers (GVCN): ``class_name``, ``staff``, ``staff_code``."""
        return self._query(
            "SELECT h.class_name, h.staff, s.staff_code FROM homerooms h "
            "JOIN staff s ON s.staff = h.staff WHERE h.school = ? AND h.school_year = ? "
            "ORDER BY h.class_name, s.staff_code",
            (str(school_id), school_year),
        )


# -- dashboards -----------------------------------------------------------------------------

#: Event -> the counter it adds one to, for the school year it belongs to.
_COUNTERS = {
    SCORE_RECORDED: "scores",
    COMMENT_ASSESSED: "comments",
    _student("ScoreCorrected"): "corrections_direct",
    _student("CommentCorrected"): "corrections_direct",
    _student("CorrectionProposed"): "corrections_proposed",
    _student("CorrectionApproved"): "corrections_approved",
    _year_event("ClassOpened"): "classes",
    _year_event("TermClosed"): "closed_terms",
    _year_event("StudentJoined"): "students",
    _year_event("StudentLeft"): "students",
}
_DECREMENTS = frozenset({_year_event("StudentLeft")})


class DashboardView(_LedgerView):
    """School dashboards: per school and school year, what has been recorded, day by day.

    Every event is counted once, for the school and school year it belongs to:
    a student's events for the student's current school and year, a school
    year's for that year, a staff event for the school and the school year it
    names (``""`` when it names none, like a title or a salary step). Days are
    Vietnamese calendar days (UTC+7).

    Tables: ``counts`` (school, year, counter -> n), ``days`` (school, year,
    day -> events), ``results`` (the latest year result per student and year:
    learning level, promotion decision, award), ``members``, ``years`` and
    ``staff`` (to attribute events), ``year_staff`` (staff assigned or GVCN in
    a school year).
    """

    name = "dashboard"
    version = 1
    topics = tuple(_all_topics(School, SchoolYear, StaffFile, StudentRecord))
    handlers: ClassVar[Mapping[str, str]] = {
        _student("Enrolled"): "_enrolled",
        _student("ClassJoined"): "_class_joined",
        _student("TransferredIn"): "_transferred_in",
        _student("YearResultRecorded"): "_year_result",
        _year_event("Opened"): "_year_opened",
        _staff_event("Opened"): "_staff_opened",
        _staff_event("Transferred"): "_staff_left",
        _staff_event("TeachingAssigned"): "_teaching",
        _staff_event("HomeroomAssigned"): "_teaching",
        _topic(School, "Registered"): "_school",
    }
    ddl = (
        _MARK_DDL,
        "CREATE TABLE counts (school TEXT NOT NULL, school_year TEXT NOT NULL, "
        "metric TEXT NOT NULL, n BIGINT NOT NULL, PRIMARY KEY (school, school_year, metric))",
        "CREATE TABLE days (school TEXT NOT NULL, school_year TEXT NOT NULL, day TEXT NOT NULL, "
        "n BIGINT NOT NULL, PRIMARY KEY (school, school_year, day))",
        "CREATE TABLE results (student TEXT NOT NULL, school_year TEXT NOT NULL, "
        "school TEXT NOT NULL, stage TEXT NOT NULL, learning TEXT, promotion TEXT, award TEXT, "
        "PRIMARY KEY (student, school_year))",
        "CREATE INDEX results_school ON results (school, school_year)",
        "CREATE TABLE members (student TEXT PRIMARY KEY, school TEXT NOT NULL, "
        "school_year TEXT NOT NULL)",
        "CREATE TABLE years (year_id TEXT PRIMARY KEY, school TEXT NOT NULL, "
        "school_year TEXT NOT NULL)",
        "CREATE TABLE staff (staff TEXT PRIMARY KEY, school TEXT NOT NULL, "
        "active INTEGER NOT NULL)",
        "CREATE TABLE year_staff (school TEXT NOT NULL, school_year TEXT NOT NULL, "
        "staff TEXT NOT NULL, PRIMARY KEY (school, school_year, staff))",
    )

    _MEMBER = (
        "INSERT INTO members (student, school, school_year) VALUES (?, ?, ?) "
        "ON CONFLICT (student) DO UPDATE SET school = excluded.school, "
        "school_year = excluded.school_year"
    )
    _YEAR = (
        "INSERT INTO years (year_id, school, school_year) VALUES (?, ?, ?) "
        "ON CONFLICT (year_id) DO NOTHING"
    )
    _STAFF = (
        "INSERT INTO staff (staff, school, active) VALUES (?, ?, 1) ON CONFLICT (staff) DO NOTHING"
    )
    _STAFF_LEFT = "UPDATE staff SET active = 0 WHERE staff = ?"
    _YEAR_STAFF = (
        "INSERT INTO year_staff (school, school_year, staff) VALUES (?, ?, ?) "
        "ON CONFLICT (school, school_year, staff) DO NOTHING"
    )
    _RESULT = (
        "INSERT INTO results (student, school_year, school, stage, learning, promotion, award) "
        "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (student, school_year) DO UPDATE SET "
        "school = excluded.school, stage = excluded.stage, learning = excluded.learning, "
        "promotion = excluded.promotion, award = excluded.award"
    )
    _STUDENT_PREFIX = get_topic(StudentRecord) + "."
    _YEAR_PREFIX = get_topic(SchoolYear) + "."
    _STAFF_PREFIX = get_topic(StaffFile) + "."

    def __init__(self, runner: ViewRunner) -> None:
        super().__init__(runner)
        #: record (student, school year, staff file, school; UUID as int) -> (school, year)
        self._owners: dict[int, tuple[str, str] | None] = {}
        #: ((school, year), topic, UTC hour as bytes or local day as text) -> events
        self._buckets: dict[tuple[tuple[str, str], str, bytes | str], int] = {}

    def _forget(self) -> None:
        self._owners.clear()

    def _begin(self, tx: Tx, batch: Sequence[ViewEvent]) -> None:
        self._buckets.clear()
        if len(self._owners) > CACHE_LIMIT:
            self._forget()
            self._complete = False
        if self._complete:
            return
        owners = self._owners
        missing: dict[str, set[str]] = {"members": set(), "years": set(), "staff": set()}
        students, years, staff = self._STUDENT_PREFIX, self._YEAR_PREFIX, self._STAFF_PREFIX
        for e in batch:
            if e.record_id.int in owners:
                continue
            topic = e.topic
            if topic.startswith(students):
                missing["members"].add(str(e.record_id))
            elif topic.startswith(years):
                missing["years"].add(str(e.record_id))
            elif topic.startswith(staff):
                missing["staff"].add(str(e.record_id))
        for table, column, year in (
            ("members", "student", "school_year"),
            ("years", "year_id", "school_year"),
            ("staff", "staff", "''"),
        ):
            keys = sorted(missing[table])
            for key in keys:
                owners[UUID(key).int] = None
            rows = _select_in(
                tx,
                f"SELECT {column} AS id, school, {year} AS school_year "  # noqa: S608
                f"FROM {table} WHERE {column}",
                keys,
            )
            for row in rows:
                owners[UUID(row["id"]).int] = (row["school"], row["school_year"])

    def _loop(self, batch: Sequence[ViewEvent]) -> None:
        # Every event is counted, not only those with a handler: per event one bucket of
        # (owner, topic, UTC hour), which _flush turns into counters and local days.
        dispatch, owners, buckets = self._dispatch, self._owners, self._buckets
        staff = self._STAFF_PREFIX
        for e in batch:
            topic = e.topic
            handler = dispatch.get(topic)
            if handler is not None:
                handler(e)
            owner = owners.get(e.record_id.int)
            if owner is None:
                continue
            if not owner[1] and topic.startswith(staff):
                owner = (owner[0], str(e.state.get("school_year") or ""))
            payload = e.payload
            when: bytes | str
            if payload[74:81] == _UTC_END and payload.startswith(_TS_PREFIX):
                when = payload[48:61]  # "YYYY-MM-DDTHH" in UTC
            else:
                when = local_day(e)
            key = (owner, topic, when)
            buckets[key] = buckets.get(key, 0) + 1

    def _flush(self, tx: Tx) -> None:
        counts: dict[tuple[str, str, str], int] = {}
        days: dict[tuple[str, str, str], int] = {}
        for ((school, year), topic, when), n in self._buckets.items():
            day = when if isinstance(when, str) else _utc_hour_day(when)
            key = (school, year, day)
            days[key] = days.get(key, 0) + n
            metric = _COUNTERS.get(topic)
            if metric is not None:
                key = (school, year, metric)
                counts[key] = counts.get(key, 0) + (-n if topic in _DECREMENTS else n)
        self._buckets.clear()
        self._writes.flush(tx)
        tx.upsert(
            "counts",
            ("school", "school_year", "metric", "n"),
            ("school", "school_year", "metric"),
            [(*k, n) for k, n in counts.items()],
            update={"n": "counts.n + excluded.n"},
        )
        tx.upsert(
            "days",
            ("school", "school_year", "day", "n"),
            ("school", "school_year", "day"),
            [(*k, n) for k, n in days.items()],
            update={"n": "days.n + excluded.n"},
        )

    # -- handlers ----------------------------------------------------------------------

    def _member(self, e: ViewEvent, school: str, year: str) -> None:
        self._owners[e.record_id.int] = (school, year)
        self._writes.add(self._MEMBER, str(e.record_id), school, year)

    def _enrolled(self, e: ViewEvent) -> None:
        s = e.state
        self._member(e, str(s["school"]), s["school_year"])

    def _class_joined(self, e: ViewEvent) -> None:
        owner = self._owners.get(e.record_id.int)
        if owner is not None:
            self._member(e, owner[0], e.state["school_year"])

    def _transferred_in(self, e: ViewEvent) -> None:
        s = e.state
        self._member(e, str(s["school"]), s["school_year"])

    def _year_result(self, e: ViewEvent) -> None:
        owner = self._owners.get(e.record_id.int)
        if owner is None:
            return
        r = read_year_result(e)
        learning, promotion, award = result_summary(r.result)
        self._writes.add(
            self._RESULT,
            str(e.record_id),
            r.school_year,
            owner[0],
            r.stage,
            learning,
            promotion,
            award,
        )

    def _year_opened(self, e: ViewEvent) -> None:
        s = e.state
        school, year = str(s["school"]), s["school_year"]
        self._owners[e.record_id.int] = (school, year)
        self._writes.add(self._YEAR, str(e.record_id), school, year)

    def _staff_opened(self, e: ViewEvent) -> None:
        school = str(e.state["school"])
        self._owners[e.record_id.int] = (school, "")
        self._writes.add(self._STAFF, str(e.record_id), school)

    def _staff_left(self, e: ViewEvent) -> None:
        self._writes.add(self._STAFF_LEFT, str(e.record_id))

    def _teaching(self, e: ViewEvent) -> None:
        owner = self._owners.get(e.record_id.int)
        if owner is not None:
            self._writes.add(self._YEAR_STAFF, owner[0], e.state["school_year"], str(e.record_id))

    def _school(self, e: ViewEvent) -> None:
        self._owners[e.record_id.int] = (str(e.record_id), "")

    # -- queries -------------------------------------------------------------------------

    def dashboard(self, school_id: UUID, school_year: str) -> dict[str, Any]:
        """The school year at a glance.

        Keys: ``school``, ``school_year``; ``classes``, ``students`` (on the
        rosters now), ``staff`` (active staff files of the school now),
        ``teaching_staff`` (staff with an assignment or a homeroom this year),
        ``scores``, ``comments``; ``corrections`` (``direct``, ``proposed``,
        ``approved``); ``closed_terms`` (class-terms closed); ``results`` (year
        results recorded), ``learning`` (level -> students), ``promotion``
        (decision -> students), ``awards`` (title -> students); ``events`` (all
        counted for the year) and ``events_per_day`` (day -> events).
        """
        school, params = str(school_id), (str(school_id), school_year)
        counts = {
            r["metric"]: int(r["n"])
            for r in self._query(
                "SELECT metric, n FROM counts WHERE school = ? AND school_year = ?", params
            )
        }

        def grouped(column: str) -> dict[str, int]:
            rows = self._query(
                f"SELECT {column} AS k, count(*) AS n FROM results "  # noqa: S608
                f"WHERE school = ? AND school_year = ? AND {column} IS NOT NULL "
                f"GROUP BY {column} ORDER BY {column}",
                params,
            )
            return {r["k"]: int(r["n"]) for r in rows}

        days = {
            r["day"]: int(r["n"])
            for r in self._query(
                "SELECT day, n FROM days WHERE school = ? AND school_year = ? ORDER BY day",
                params,
            )
        }
        staff = self._query_one(
            "SELECT count(*) AS n FROM staff WHERE school = ? AND active = 1", (school,)
        )
        teaching = self._query_one(
            "SELECT count(*) AS n FROM year_staff WHERE school = ? AND school_year = ?", params
        )
        results = self._query_one(
            "SELECT count(*) AS n FROM results WHERE school = ? AND school_year = ?", params
        )
        return {
            "school": school,
            "school_year": school_year,
            "classes": counts.get("classes", 0),
            "students": counts.get("students", 0),
            "staff": int(staff["n"]) if staff else 0,
            "teaching_staff": int(teaching["n"]) if teaching else 0,
            "scores": counts.get("scores", 0),
            "comments": counts.get("comments", 0),
            "corrections": {
                "direct": counts.get("corrections_direct", 0),
                "proposed": counts.get("corrections_proposed", 0),
                "approved": counts.get("corrections_approved", 0),
            },
            "closed_terms": counts.get("closed_terms", 0),
            "results": int(results["n"]) if results else 0,
            "learning": grouped("learning"),
            "promotion": grouped("promotion"),
            "awards": grouped("award"),
            "events": sum(days.values()),
            "events_per_day": days,
        }


# -- all of them ----------------------------------------------------------------------------

#: Every view of this module, in the order :func:`rebuild_all` rebuilds them.
ALL_VIEWS: tuple[type[_LedgerView], ...] = (
    TranscriptView,
    GradebookView,
    StaffView,
    DashboardView,
)


@dataclass
class Views:
    """The four views on one runner (see :func:`open_views`)."""

    runner: ViewRunner
    transcripts: TranscriptView
    gradebook: GradebookView
    staff: StaffView
    dashboard: DashboardView

    def all(self) -> tuple[_LedgerView, ...]:
        return (self.transcripts, self.gradebook, self.staff, self.dashboard)

    def catch_up(self) -> list[Progress]:
        """Apply what is new to every view."""
        return [self.runner.catch_up(v) for v in self.all()]

    def rebuild(self) -> list[Progress]:
        """Rebuild every view from the first event."""
        return rebuild_all(self.runner, self.all())

    def close(self) -> None:
        self.runner.close()

    def __enter__(self) -> Views:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_views(settings: Settings, *, page_size: int | None = None) -> Views:
    """A runner for the ledger at ``settings`` with the four views on it (not yet caught up)."""
    runner = (
        ViewRunner(settings) if page_size is None else ViewRunner(settings, page_size=page_size)
    )
    return Views(
        runner,
        TranscriptView(runner),
        GradebookView(runner),
        StaffView(runner),
        DashboardView(runner),
    )


def rebuild_all(runner: ViewRunner, views: Iterable[View] | None = None) -> list[Progress]:
    """Rebuild ``views`` (default: one of each of :data:`ALL_VIEWS`) one after the other."""
    chosen = list(views) if views is not None else [cls(runner) for cls in ALL_VIEWS]
    return [runner.rebuild(v) for v in chosen]
