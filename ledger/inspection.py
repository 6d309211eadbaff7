"""The inspector's view of a ledger: a timeline of who changed what, and anomalies worth a question.

``socai audit`` (:mod:`ledger.audit`) answers "does every event hold?". An inspector (thanh tra,
Sở/Bộ) also asks "who changed what and when, on whose authority, and what looks odd?".
:func:`inspect` answers that from the stored events alone, in log (notification) order, with
the same reading as the audit (:func:`ledger.audit._notifications`, envelope then the plain
eventsourcing mapper: decoding and upcasting without a signature check; the audit verifies):

1. The certificates are read first from the registering events (as the audit's pass 1), so
   every event names its signer: the staff code from the staff file that owns the certificate,
   the name and title from the certificate's subject. Staff names in certificates are the
   evidence of who signed and are public; nothing is read from the identity vault, and a
   student appears only by mã học sinh (DESIGN.md invariant 8).
2. Every record is replayed in log order (the per-record aggregates are the only state that
   grows with the ledger), so each event is shown with the context it was made in: the
   assignment (school year, class, subject) of a score or comment, the homeroom class of a
   GVCN's entry, the principal's post; for a correction the corrected entry, its old and new
   value and the reason; for an approval the proposal, who proposed it and when.
3. Detectors run on the same pass (each keeps bounded state: per group, per signer, per day):

   ``correction_after_close``
       a correction proposed and approved by the principal after the term closed. Legal
       (DOMAIN.md §3.4), and worth a question.
   ``correction_in_closed_term``
       a direct correction (``ScoreCorrected``/``CommentCorrected``) whose term was closed at
       its time: refused by the commands, so it came in behind them.
   ``entry_after_close``
       a score, comment, subject level or quality recorded into a closed term (the same).
   ``late_entry``
       an entry recorded more than :attr:`Thresholds.late_days` days after the median day of
       the earlier entries of its class, subject and term. No assessment date is stored, so
       "long after the others" stands in for "long after the assessment".
   ``many_classes``
       one account entering assessments for more than :attr:`Thresholds.many_classes` classes
       in one term.
   ``unassigned_subject``
       an entry by an account not assigned to that class and subject at that point of the log
       (should be impossible: the commands check it; the audit's ``authority`` agrees).
   ``night_burst``
       at least :attr:`Thresholds.night_events` events by one signer within
       :attr:`Thresholds.burst_minutes` minutes, between :attr:`Thresholds.night_start` and
       :attr:`Thresholds.night_end` o'clock Vietnam time.
   ``integrity``
       every problem of :func:`ledger.audit.audit` (hash, chain, signature, certificate,
       authority, derivation, log, checkpoint...), naming the record and version.

Every threshold is [U] in DOMAIN.md's terms (no regulation sets them): a parameter with a
documented default (:class:`Thresholds`). Times are shown in Vietnam time (UTC+7, no daylight
saving since 1975).

Memory: besides the per-record aggregates, the pass keeps counters per school, signer, record,
month and day, and bounded samples; a school's timeline keeps the most recent
:attr:`Thresholds.recent_events` rows, and every row can be streamed to ``on_event`` (the CSV
writer of :mod:`projections.audit_report` does), so nothing holds the whole history. A single
record's timeline is kept whole.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any
from uuid import UUID

from cryptography import x509
from cryptography.x509.oid import NameOID
from eventsourcing.persistence import Mapper, StoredEvent

from ledger import authority
from ledger.audit import REGISTRATION_TOPICS, AuditReport, _notifications, audit
from ledger.domain import (
    Entry,
    School,
    SchoolYear,
    StaffFile,
    StudentRecord,
    school_year_id,
)
from ledger.errors import InvalidInput, RecordNotFound
from ledger.store import CERTIFICATE_FIELDS, RegisteredCertificate
from signing import envelope

#: Vietnam time: UTC+7 all year (no daylight saving).
VIETNAM = timezone(timedelta(hours=7), "ICT")

#: Events that record a new assessment into a term (scores, comment assessments, TT 27/2020
#: subject levels): the ones counted for late entries and classes per account.
ENTRY_EVENTS = frozenset({"ScoreRecorded", "CommentAssessed", "SubjectLevelRecorded"})
#: Term-bound events the commands refuse once the term is closed (ledger.authority._open_term).
TERM_EVENTS = ENTRY_EVENTS | {"QualityAssessed"}
DIRECT_CORRECTIONS = frozenset({"ScoreCorrected", "CommentCorrected"})
#: Events a subject teacher makes under a teaching assignment (phân công giảng dạy).
TEACHING_EVENTS = ENTRY_EVENTS | {"SubjectReassessed"}
#: Events the homeroom teacher (GVCN) makes.
HOMEROOM_EVENTS = frozenset(
    {
        "ConductAssessed",
        "AbsencesRecorded",
        "SummerConductReassessed",
        "QualityAssessed",
        "YearResultRecorded",
    }
)

#: Fields never shown: ciphertext of personal data, certificates (shown as the signer), the
#: full year result (shown by its main values), and what the columns already show.
HIDDEN_FIELDS = frozenset(
    {
        "timestamp",
        "originator_id",
        "originator_version",
        "originator_topic",
        "by",
        "identity",
        "commitment",
        "remark",
        "certificate",
        "seal_certificate",
        "result",
        "subject",
        "term",
        "school_year",
        "class_name",
    }
)

#: Anomaly kinds, in the order reports list them.
KINDS = (
    "integrity",
    "unassigned_subject",
    "entry_after_close",
    "correction_in_closed_term",
    "correction_after_close",
    "late_entry",
    "many_classes",
    "night_burst",
)
#: A rule is broken (the audit or the commands would refuse it) ...
VIOLATION = "violation"
#: ... or the events are legal and worth a question.
QUESTION = "question"
SEVERITY = {
    "integrity": VIOLATION,
    "unassigned_subject": VIOLATION,
    "entry_after_close": VIOLATION,
    "correction_in_closed_term": VIOLATION,
    "correction_after_close": QUESTION,
    "late_entry": QUESTION,
    "many_classes": QUESTION,
    "night_burst": QUESTION,
}

#: The audit's check names, in Vietnamese (for the integrity explanations).
CHECKS_VI = {
    "envelope": "phong bì sự kiện",
    "hash": "mã băm",
    "signer": "người ký",
    "signature": "chữ ký",
    "payload": "nội dung",
    "certificate": "chứng thư số",
    "actor": "người thực hiện",
    "chain": "chuỗi phiên bản",
    "authority": "thẩm quyền",
    "derivation": "kết quả tính lại",
    "registry": "sổ đăng ký chứng thư",
    "log": "sổ nhật ký (Merkle)",
    "checkpoint": "điểm kiểm tra có đồng ký",
}


@dataclass(frozen=True)
class Thresholds:
    """Where an anomaly starts. All [U] (no regulation sets them): parameters, not rules.

    The defaults are starting points for a school of a few hundred to a few thousand students;
    docs/inspection.md explains each and when to change it.
    """

    #: An entry is late when recorded more than this many days after the median day of the
    #: earlier entries of its class, subject and term.
    late_days: int = 30
    #: ... and that group already has at least this many entries (a median of a handful of
    #: entries says nothing).
    late_min_entries: int = 10
    #: One account entering assessments for more than this many classes in one term.
    many_classes: int = 8
    #: At least this many events by one signer within :attr:`burst_minutes`, at night.
    night_events: int = 50
    #: The sliding window of a burst, in minutes.
    burst_minutes: int = 60
    #: Night starts at this hour (Vietnam time, inclusive) ...
    night_start: int = 22
    #: ... and ends at this hour (exclusive).
    night_end: int = 5
    #: A school's timeline keeps the most recent this many rows (a record's is whole).
    recent_events: int = 200
    #: An anomaly about many events names at most this many (its ``count`` says how many).
    sample_events: int = 20

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InvalidInput(f"threshold {f.name} must be a whole number ≥ 0, not {value!r}")
        if self.night_start > 23 or self.night_end > 23:
            raise InvalidInput("night_start and night_end are hours, 0–23")
        if self.burst_minutes < 1 or self.night_events < 1:
            raise InvalidInput("burst_minutes and night_events must be at least 1")

    def is_night(self, moment: datetime) -> bool:
        """Whether ``moment`` falls in the night, Vietnam time."""
        hour = moment.astimezone(VIETNAM).hour
        start, end = self.night_start, self.night_end
        if start == end:
            return False
        if start < end:
            return start <= hour < end
        return hour >= start or hour < end


@dataclass(frozen=True)
class EventRef:
    """One stored event, as an anomaly names it."""

    #: Record id (UUID) and its label: mã học sinh, mã giáo viên, "mã trường năm học", mã trường.
    record: str
    label: str
    version: int
    #: The event's class name (``ScoreRecorded``); "" when the event cannot be read.
    event: str = ""
    time: datetime | None = None
    #: mã trường of the school the event belongs to ("" when unknown).
    school: str = ""


@dataclass(frozen=True)
class TimelineRow:
    """One event as the inspector reads it."""

    #: Position in the global log (notification id): the order events were stored in.
    position: int
    #: The event's time, in Vietnam time.
    time: datetime
    record: str
    record_label: str
    #: ``student``, ``staff``, ``school_year`` or ``school``.
    record_kind: str
    #: mã trường of the school the record belonged to at the event.
    school: str
    version: int
    #: Event class name (``ScoreRecorded``) and its aggregate (``StudentRecord``).
    event: str
    aggregate: str
    #: Signer: id (the owner record, or ``?fingerprint`` when unknown), staff code (or mã
    #: trường for a school seal), name and title from the certificate.
    signer: str
    signer_code: str
    signer_name: str
    signer_title: str
    #: What the signer's authority rested on at that point of the log: ``assignment``
    #: (phân công giảng dạy), ``homeroom`` (GVCN), ``entry_author`` (their own entry),
    #: ``principal``, ``seal``, ``staff_officer``, or "" (none found).
    basis: str
    #: The context: for scores and comments the assignment (year, class, subject) and term.
    school_year: str = ""
    class_name: str = ""
    subject: str = ""
    term: int | None = None
    #: What changed, as short strings (never personal data: ciphertext is not shown).
    details: dict[str, str] = field(default_factory=dict)


@dataclass
class Correction:
    """A correction and, after term close, its proposal and the principal's approval."""

    record: str
    record_label: str
    school: str
    #: The corrected entry: its version and context.
    entry_version: int
    school_year: str
    class_name: str
    subject: str
    term: int
    kind: str
    old: str
    new: str
    reason: str
    #: ``direct`` (ScoreCorrected/CommentCorrected) or ``countersigned`` (proposal + approval).
    method: str
    #: The correcting event (direct) or the proposal: version, signer code and name, time.
    version: int
    by_code: str
    by_name: str
    at: datetime
    approval_version: int | None = None
    approved_by_code: str = ""
    approved_by_name: str = ""
    approved_at: datetime | None = None
    #: The entry's term was closed when the correction was made (or approved).
    after_close: bool = False
    #: ``applied``, or ``pending`` (a proposal not approved yet).
    status: str = "applied"


@dataclass
class Anomaly:
    """Something worth a question (or a broken rule), with the events concerned."""

    id: str
    kind: str
    #: :data:`VIOLATION` or :data:`QUESTION`.
    severity: str
    #: mã trường ("" for the ledger as a whole, such as the log).
    school: str
    #: Signer's staff code (or mã trường of a seal), when the anomaly is about one signer.
    signer: str
    #: The events concerned (at most :attr:`Thresholds.sample_events` when there are more).
    events: list[EventRef]
    #: How many events are concerned in all.
    count: int
    vi: str
    en: str
    #: The values the explanations are made of (class, subject, term, dates...).
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Summary:
    """Counts of events: by type, by signer (id), by month and by day (Vietnam time)."""

    events: int = 0
    first: datetime | None = None
    last: datetime | None = None
    by_event: dict[str, int] = field(default_factory=dict)
    by_signer: dict[str, int] = field(default_factory=dict)
    by_month: dict[str, int] = field(default_factory=dict)
    #: Per day (``YYYY-MM-DD``): the changes over time; empty in per-record summaries.
    by_day: dict[str, int] = field(default_factory=dict)

    def add(self, row: TimelineRow, *, days: bool = True) -> None:
        self.events += 1
        if self.first is None or row.time < self.first:
            self.first = row.time
        if self.last is None or row.time > self.last:
            self.last = row.time
        _bump(self.by_event, row.event)
        _bump(self.by_signer, row.signer)
        _bump(self.by_month, row.time.strftime("%Y-%m"))
        if days:
            _bump(self.by_day, row.time.date().isoformat())


@dataclass
class SchoolSummary:
    code: str
    name: str
    records: int = 0
    anomalies: int = 0
    summary: Summary = field(default_factory=Summary)


@dataclass
class RecordSummary:
    record: str
    label: str
    kind: str
    school: str
    corrections: int = 0
    anomalies: int = 0
    summary: Summary = field(default_factory=Summary)


@dataclass
class SignerSummary:
    """What one signer (a staff member's certificates, or a school seal) did."""

    id: str
    code: str
    name: str
    title: str
    school: str
    #: ``staff``, ``seal`` or ``unknown`` (a certificate no event registers).
    kind: str
    events: int = 0
    entries: int = 0
    corrections: int = 0
    approvals: int = 0
    night_events: int = 0
    anomalies: int = 0
    first: datetime | None = None
    last: datetime | None = None
    by_event: dict[str, int] = field(default_factory=dict)
    #: "school year HKn" -> classes the signer entered assessments for.
    classes: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Inspection:
    """What :func:`inspect` found; :meth:`as_dict` is the JSON report."""

    generated_at: datetime
    #: ``ledger`` (everything), ``school`` (one mã trường) or ``record``.
    scope: str
    record: str | None
    record_label: str | None
    school: str | None
    thresholds: Thresholds
    #: The audit's outcome: ok, events, records, certificates, problems.
    audit: dict[str, Any]
    summary: Summary
    schools: list[SchoolSummary]
    records: list[RecordSummary]
    signers: list[SignerSummary]
    corrections: list[Correction]
    anomalies: list[Anomaly]
    #: A record's whole timeline; for a school, its most recent rows.
    timeline: list[TimelineRow]
    #: Whether :attr:`timeline` holds every event in scope.
    timeline_complete: bool

    @property
    def violations(self) -> list[Anomaly]:
        return [a for a in self.anomalies if a.severity == VIOLATION]

    @property
    def questions(self) -> list[Anomaly]:
        return [a for a in self.anomalies if a.severity == QUESTION]

    def signer(self, signer_id: str) -> SignerSummary | None:
        return next((s for s in self.signers if s.id == signer_id), None)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: times as ISO 8601 in Vietnam time; :meth:`from_dict` reads it back."""
        return {
            "format": "socai-inspection/1",
            "generated_at": _iso(self.generated_at),
            "scope": self.scope,
            "record": self.record,
            "record_label": self.record_label,
            "school": self.school,
            "thresholds": asdict(self.thresholds),
            "audit": self.audit,
            "summary": _plain(self.summary),
            "schools": [_plain(s) for s in self.schools],
            "records": [_plain(r) for r in self.records],
            "signers": [_plain(s) for s in self.signers],
            "corrections": [_plain(c) for c in self.corrections],
            "anomalies": [_plain(a) for a in self.anomalies],
            "timeline": [_plain(r) for r in self.timeline],
            "timeline_complete": self.timeline_complete,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Inspection:
        """The inspection of :meth:`as_dict` (to render a stored JSON report again)."""
        if data.get("format") != "socai-inspection/1":
            raise InvalidInput("not a socai inspection report (format socai-inspection/1)")
        try:
            return cls(
                generated_at=_time(data["generated_at"]),
                scope=data["scope"],
                record=data["record"],
                record_label=data["record_label"],
                school=data["school"],
                thresholds=Thresholds(**data["thresholds"]),
                audit=data["audit"],
                summary=_summary(data["summary"]),
                schools=[
                    SchoolSummary(**{**s, "summary": _summary(s["summary"])})
                    for s in data["schools"]
                ],
                records=[
                    RecordSummary(**{**r, "summary": _summary(r["summary"])})
                    for r in data["records"]
                ],
                signers=[
                    SignerSummary(
                        **{**s, "first": _opt_time(s["first"]), "last": _opt_time(s["last"])}
                    )
                    for s in data["signers"]
                ],
                corrections=[
                    Correction(
                        **{**c, "at": _time(c["at"]), "approved_at": _opt_time(c["approved_at"])}
                    )
                    for c in data["corrections"]
                ],
                anomalies=[
                    Anomaly(**{**a, "events": [_ref(e) for e in a["events"]]})
                    for a in data["anomalies"]
                ],
                timeline=[TimelineRow(**{**r, "time": _time(r["time"])}) for r in data["timeline"]],
                timeline_complete=data["timeline_complete"],
            )
        except (KeyError, TypeError, ValueError) as e:
            raise InvalidInput(f"malformed inspection report: {e}") from e


# -- the pass -----------------------------------------------------------------------------------


@dataclass
class _Signer:
    id: str
    code: str
    name: str
    title: str
    owner: UUID | None
    kind: str
    school: str = ""


@dataclass
class _Group:
    """Late entries: the days the entries of one class, subject and term were recorded on."""

    #: day -> entries recorded that day (a term spans a few dozen days: bounded)
    days: dict[date, int] = field(default_factory=dict)
    total: int = 0
    first: date | None = None
    open: _Open | None = None

    def median(self) -> date:
        """The (lower) median day of the entries so far."""
        middle = (self.total - 1) // 2
        seen = 0
        for day in sorted(self.days):
            seen += self.days[day]
            if seen > middle:
                return day
        raise AssertionError("median of no entries")

    def add(self, day: date) -> None:
        self.days[day] = self.days.get(day, 0) + 1
        self.total += 1
        self.first = day if self.first is None or day < self.first else self.first


@dataclass
class _Open:
    """An anomaly still collecting events."""

    kind: str
    school: str
    signer: str
    data: dict[str, Any]
    events: list[EventRef] = field(default_factory=list)
    count: int = 0
    touches: bool = False
    end: datetime | None = None


@dataclass
class _Night:
    """One signer's night events in the sliding window: [minute, count, first event, touches]."""

    buckets: deque[list[Any]] = field(default_factory=deque)
    total: int = 0
    burst: _Open | None = None


class _Pass:
    """State of one inspection pass (see the module docstring)."""

    def __init__(
        self,
        ledger: Any,
        record: UUID | None,
        school: str | None,
        thresholds: Thresholds,
        on_event: Callable[[TimelineRow], None] | None,
    ) -> None:
        self.ledger = ledger
        self.only = record
        self.school = school
        self.t = thresholds
        self.on_event = on_event
        self.aggregates: dict[UUID, Any] = {}
        self.certificates: dict[bytes, RegisteredCertificate] = {}
        self.signers: dict[bytes, _Signer] = {}
        self.summary = Summary()
        self.schools: dict[str, SchoolSummary] = {}
        self.school_records: dict[str, set[UUID]] = {}
        self.records: dict[UUID, RecordSummary] = {}
        self.signer_summaries: dict[str, SignerSummary] = {}
        self.signer_classes: dict[str, dict[str, set[str]]] = {}
        self.corrections: list[Correction] = []
        self.proposals: dict[tuple[UUID, int], Correction] = {}
        self.closed_at: dict[tuple[UUID, str, int], datetime] = {}
        self.anomalies: list[_Open] = []
        self.groups: dict[tuple[str, str, str, str, int], _Group] = {}
        self.classes: dict[tuple[str, str, int], tuple[dict[str, EventRef], list[int], _Open]] = {}
        self.nights: dict[str, _Night] = {}
        self.timeline: deque[TimelineRow] | list[TimelineRow] = (
            [] if record is not None else deque(maxlen=thresholds.recent_events)
        )
        self.in_scope_events = 0
        self.undecodable = 0

    # -- signers ---------------------------------------------------------------------------------

    def read_certificates(self) -> None:
        """The registry from the registering events only (the audit's pass 1)."""
        decode = self.ledger.mapper.transcoder.decode
        for stored in _notifications(self.ledger, REGISTRATION_TOPICS):
            try:
                state = decode(envelope.decode(stored.state).payload)
            except Exception:  # noqa: S112 - the audit reports this event's defect
                continue
            owner = _uuid(stored.originator_id)
            for name in CERTIFICATE_FIELDS:
                pem = state.get(name)
                if not isinstance(pem, str):
                    continue
                try:
                    entry = RegisteredCertificate.from_pem(pem, owner)
                except ValueError:
                    continue  # the audit's registry check reports it
                self.certificates.setdefault(entry.fingerprint, entry)

    def signer_of(self, fingerprint: bytes) -> _Signer:
        """The signer of a certificate; cached once its owner's record is replayed."""
        known = self.signers.get(fingerprint)
        if known is not None:
            return known
        entry = self.certificates.get(fingerprint)
        if entry is None:
            signer = _Signer(f"?{fingerprint.hex()[:16]}", "?", "", "", None, "unknown")
            self.signers[fingerprint] = signer
            return signer
        cert = entry.certificate
        owner = self.aggregates.get(entry.owner)
        if isinstance(owner, School):
            code, kind, school = owner.code, "seal", owner.code
        elif isinstance(owner, StaffFile):
            code, kind, school = owner.staff_code, "staff", owner.school_code
        else:
            # A school's genesis is signed by the seal it registers: not replayed yet.
            code = _attribute(cert, NameOID.ORGANIZATION_IDENTIFIER) or _attribute(
                cert, NameOID.USER_ID
            )
            kind = "seal" if _attribute(cert, NameOID.ORGANIZATION_IDENTIFIER) else "staff"
            school = code if kind == "seal" else ""
        signer = _Signer(
            str(entry.owner),
            code,
            _attribute(cert, NameOID.COMMON_NAME),
            _attribute(cert, NameOID.TITLE),
            entry.owner,
            kind,
            school,
        )
        if owner is not None:
            self.signers[fingerprint] = signer
        return signer

    def display(self, signer: _Signer) -> str:
        return f"{signer.code} ({signer.name})" if signer.name else signer.code

    # -- labels ------------------------------------------------------------------------------------

    def label(self, rid: UUID) -> tuple[str, str, str]:
        """(label, kind, mã trường) of a record as it is now in the replay."""
        agg = self.aggregates.get(rid)
        if isinstance(agg, StudentRecord):
            return agg.student_code, "student", self.school_code(agg.school)
        if isinstance(agg, StaffFile):
            return agg.staff_code, "staff", agg.school_code
        if isinstance(agg, SchoolYear):
            return f"{agg.school_code} {agg.school_year}", "school_year", agg.school_code
        if isinstance(agg, School):
            return agg.code, "school", agg.code
        return str(rid), "", ""

    def school_code(self, school: UUID) -> str:
        agg = self.aggregates.get(school)
        return agg.code if isinstance(agg, School) else str(school)

    def in_scope(self, rid: UUID | str, school: str) -> bool:
        if self.only is not None and str(rid) != str(self.only):
            return False
        return self.school is None or school == self.school

    # -- the events --------------------------------------------------------------------------------

    def run(self) -> None:
        self.read_certificates()
        for stored in _notifications(self.ledger, ()):
            if not stored.topic.startswith(DOMAIN_TOPICS):
                continue  # aggregates of other modules (tests, extensions)
            decoded = _decode(self.ledger, stored)
            if decoded is None:
                self.undecodable += 1  # the audit names it (envelope, payload)
                continue
            env, event = decoded
            self.event(stored, env.signer, event)
        for night in self.nights.values():
            if night.burst is not None:
                self.anomalies.append(night.burst)
        for group in self.groups.values():
            if group.open is not None:
                self.anomalies.append(group.open)
        self.close_many_classes()

    def event(self, stored: StoredEvent, fingerprint: bytes, event: Any) -> None:
        rid = _uuid(stored.originator_id)
        target = self.aggregates.get(rid)
        aggregate, _, name = stored.topic.partition(":")[2].rpartition(".")
        values = dict(vars(event))
        moment = values.get("timestamp")
        when = (
            moment.astimezone(VIETNAM)
            if isinstance(moment, datetime)
            else datetime.fromtimestamp(0, VIETNAM)
        )
        signer = self.signer_of(fingerprint)
        by = values.get("by")
        actor = self.aggregates.get(_uuid(by)) if by is not None else None
        # Everything read from the record before the event is read now: mutators change the
        # aggregate in place.
        context = self.context(name, target, values)
        details = self.details(name, target, values)
        basis = _basis(name, actor, target, values, context)
        entry = _corrected_entry(name, target, values)
        school_before = target.school if isinstance(target, StudentRecord) else None
        try:
            self.aggregates[rid] = event.mutate(target)
        except Exception:  # the audit reports the broken chain
            return
        label, kind, school = self.label(rid)
        row = TimelineRow(
            position=int(getattr(stored, "id", 0) or 0),
            time=when,
            record=str(rid),
            record_label=label,
            record_kind=kind,
            school=school,
            version=stored.originator_version,
            event=name,
            aggregate=aggregate,
            signer=signer.id,
            signer_code=signer.code,
            signer_name=signer.name,
            signer_title=signer.title,
            basis=basis,
            school_year=context[0],
            class_name=context[1],
            subject=context[2],
            term=context[3],
            details=details,
        )
        ref = EventRef(str(rid), label, row.version, name, when, school)
        scoped = self.in_scope(rid, school)
        self.detect(row, ref, name, target, values, signer, actor, scoped, entry, school_before)
        if scoped:
            self.count(row, rid, signer, name)

    def context(
        self, name: str, target: Any, values: dict[str, Any]
    ) -> tuple[str, str, str, int | None]:
        """(school year, class, subject, term) an event on a student record is made in."""
        term = values.get("term")
        subject = str(values.get("subject") or "")
        if not isinstance(target, StudentRecord):
            return (
                str(values.get("school_year") or getattr(target, "school_year", "") or ""),
                str(values.get("class_name") or ""),
                subject,
                term if isinstance(term, int) else None,
            )
        entry = _corrected_entry(name, target, values)
        if entry is not None:
            return entry.school_year, entry.class_name, entry.subject, entry.term
        if name == "YearResultRecorded":
            year = str(values.get("school_year"))
            membership = target.years.get(year)
            return year, membership[1] if membership else target.class_name, "", None
        if name in ("ClassJoined", "TransferredIn"):
            return str(values["school_year"]), str(values["class_name"]), "", None
        return (
            target.school_year,
            target.class_name,
            subject,
            term if isinstance(term, int) else None,
        )

    def details(self, name: str, target: Any, values: dict[str, Any]) -> dict[str, str]:
        out: dict[str, str] = {}
        for key, value in values.items():
            if key in HIDDEN_FIELDS or isinstance(value, (dict, list)):
                continue
            if isinstance(value, UUID):
                out[key] = self.label(value)[0] if value in self.aggregates else str(value)
            elif isinstance(value, bool):
                out[key] = "Đạt" if value else "Chưa đạt"
            elif isinstance(value, datetime):
                out[key] = _iso(value.astimezone(VIETNAM))
            elif value is not None:
                out[key] = str(value)
        if name in ("IdentityRecorded", "RemarkRecorded"):
            out["content"] = "encrypted"
        if name == "YearResultRecorded":
            result = values.get("result")
            if isinstance(result, dict):
                conduct = result.get("conduct")
                picked = {
                    "learning": result.get("learning"),
                    "conduct": conduct.get("year") if isinstance(conduct, dict) else conduct,
                    "promotion": result.get("promotion"),
                    "award": result.get("award"),
                }
                out.update({k: str(v) for k, v in picked.items() if isinstance(v, str) and v})
        entry = _corrected_entry(name, target, values)
        if entry is not None:
            out["kind"] = entry.kind
            out["old"] = _value(entry)
        if name == "CorrectionApproved" and isinstance(target, StudentRecord):
            proposal = target.proposals.get(values.get("proposal"))  # type: ignore[arg-type]
            if proposal is not None:
                out.update(
                    corrects=str(proposal.corrects), value=proposal.value, reason=proposal.reason
                )
                pending = self.proposals.get((target.id, int(values["proposal"])))
                if pending is not None:
                    out.update(proposed_by=pending.by_code, proposed_at=_iso(pending.at))
        return out

    # -- detectors ---------------------------------------------------------------------------------

    def detect(
        self,
        row: TimelineRow,
        ref: EventRef,
        name: str,
        target: Any,
        values: dict[str, Any],
        signer: _Signer,
        actor: Any,
        scoped: bool,
        entry: Entry | None,
        school_before: UUID | None,
    ) -> None:
        if name == "TermClosed" and isinstance(target, SchoolYear):
            key = (target.id, str(values.get("class_name")), int(values.get("term") or 0))
            self.closed_at.setdefault(key, row.time)
        if self.t.is_night(row.time):
            self.night(row, ref, signer, scoped)
        if not isinstance(target, StudentRecord):
            return
        if name in TERM_EVENTS and row.term is not None:
            school = school_before or target.school
            closed = self.closed(school, row.school_year, row.class_name, row.term)
            if closed is not None:
                self.single(
                    "entry_after_close",
                    ref,
                    signer,
                    scoped,
                    _entry_data(row) | {"closed_at": _iso(closed)},
                )
        if name in TEACHING_EVENTS and row.subject:
            if not (
                isinstance(actor, StaffFile)
                and actor.teaches(row.school_year, row.class_name, row.subject)
            ):
                self.single("unassigned_subject", ref, signer, scoped, _entry_data(row))
        if name in ENTRY_EVENTS and row.term is not None:
            self.late(row, ref, signer, scoped)
            self.many_classes(row, ref, signer, scoped)
        if name in DIRECT_CORRECTIONS or name in ("CorrectionProposed", "CorrectionApproved"):
            self.correction(row, ref, name, target, values, signer, scoped, entry)

    def closed(self, school: UUID, school_year: str, class_name: str, term: int) -> datetime | None:
        year_id = school_year_id(school, school_year)
        year = self.aggregates.get(year_id)
        if isinstance(year, SchoolYear) and year.is_closed(class_name, term):
            return self.closed_at.get(
                (year_id, class_name, term), datetime.min.replace(tzinfo=VIETNAM)
            )
        return None

    def single(
        self, kind: str, ref: EventRef, signer: _Signer, scoped: bool, data: dict[str, Any]
    ) -> None:
        self.anomalies.append(
            _Open(
                kind,
                ref.school,
                signer.code,
                {
                    **data,
                    "record": ref.label,
                    "version": ref.version,
                    "event": ref.event,
                    "time": _iso(ref.time),
                    "signer": self.display(signer),
                },
                [ref],
                1,
                scoped,
            )
        )

    def correction(
        self,
        row: TimelineRow,
        ref: EventRef,
        name: str,
        record: StudentRecord,
        values: dict[str, Any],
        signer: _Signer,
        scoped: bool,
        entry: Entry | None,
    ) -> None:
        if entry is None:
            return
        school = record.school_in(entry.school_year)
        closed = self.closed(school, entry.school_year, entry.class_name, entry.term)
        if name in DIRECT_CORRECTIONS or name == "CorrectionProposed":
            value = values.get("value")
            if name == "CommentCorrected":
                value = "Đạt" if values.get("passed") else "Chưa đạt"
            correction = Correction(
                record=row.record,
                record_label=row.record_label,
                school=row.school,
                entry_version=int(values["corrects"]),
                school_year=entry.school_year,
                class_name=entry.class_name,
                subject=entry.subject,
                term=entry.term,
                kind=entry.kind,
                old=_value(entry),
                new=str(value),
                reason=str(values.get("reason") or ""),
                method="countersigned" if name == "CorrectionProposed" else "direct",
                version=row.version,
                by_code=signer.code,
                by_name=signer.name,
                at=row.time,
                after_close=closed is not None,
                status="pending" if name == "CorrectionProposed" else "applied",
            )
            if name == "CorrectionProposed":
                self.proposals[(record.id, row.version)] = correction
            if scoped:
                self.corrections.append(correction)
            if name in DIRECT_CORRECTIONS and closed is not None:
                data = _correction_data(correction) | {"closed_at": _iso(closed)}
                self.single("correction_in_closed_term", ref, signer, scoped, data)
            return
        # CorrectionApproved: the principal's countersignature of a proposal.
        proposal_version = int(values["proposal"])
        approved = self.proposals.pop((record.id, proposal_version), None)
        if approved is None:
            return
        approved.approval_version = row.version
        approved.approved_by_code = signer.code
        approved.approved_by_name = signer.name
        approved.approved_at = row.time
        approved.status = "applied"
        approved.after_close = approved.after_close or closed is not None
        if approved.after_close:
            proposal = EventRef(
                ref.record,
                ref.label,
                proposal_version,
                "CorrectionProposed",
                approved.at,
                ref.school,
            )
            original = EventRef(ref.record, ref.label, approved.entry_version, "", None, ref.school)
            data = _correction_data(approved) | {
                "closed_at": _iso(closed) if closed is not None else "",
                "approved_by": f"{signer.code} ({signer.name})" if signer.name else signer.code,
                "approved_at": _iso(row.time),
            }
            self.anomalies.append(
                _Open(
                    "correction_after_close",
                    ref.school,
                    approved.by_code,
                    data,
                    [original, proposal, ref],
                    3,
                    scoped,
                )
            )

    def late(self, row: TimelineRow, ref: EventRef, signer: _Signer, scoped: bool) -> None:
        """Late entries: long after the median day of the earlier entries of the group."""
        assert row.term is not None
        key = (row.school, row.school_year, row.class_name, row.subject, row.term)
        group = self.groups.setdefault(key, _Group())
        day = row.time.date()
        # Only a day beyond the earliest by more than late_days can be beyond the median.
        if (
            group.first is not None
            and group.total >= self.t.late_min_entries
            and (day - group.first).days > self.t.late_days
        ):
            median = group.median()
            gap = (day - median).days
            if gap > self.t.late_days:
                current = group.open
                if current is None or current.data["day"] != day.isoformat():
                    if current is not None:
                        self.anomalies.append(current)
                    current = group.open = _Open(
                        "late_entry",
                        row.school,
                        signer.code,
                        {
                            "school_year": row.school_year,
                            "class_name": row.class_name,
                            "subject": row.subject,
                            "term": row.term,
                            "day": day.isoformat(),
                            "median": median.isoformat(),
                            "days_after": gap,
                            "entries_before": group.total,
                            "signers": [],
                        },
                    )
                self.collect(current, ref, scoped)
                if self.display(signer) not in current.data["signers"]:
                    current.data["signers"].append(self.display(signer))
        group.add(day)

    def many_classes(self, row: TimelineRow, ref: EventRef, signer: _Signer, scoped: bool) -> None:
        key = (signer.id, row.school_year, row.term or 0)
        state = self.classes.get(key)
        if state is None:
            state = self.classes[key] = (
                {},
                [0],
                _Open(
                    "many_classes",
                    signer.school or row.school,
                    signer.code,
                    {
                        "school_year": row.school_year,
                        "term": row.term,
                        "signer": self.display(signer),
                    },
                ),
            )
        first, count, anomaly = state
        count[0] += 1
        anomaly.touches = anomaly.touches or scoped
        if row.class_name not in first:
            first[row.class_name] = ref

    def close_many_classes(self) -> None:
        for first, count, anomaly in self.classes.values():
            if len(first) > self.t.many_classes:
                anomaly.data["classes"] = sorted(first)
                anomaly.data["threshold"] = self.t.many_classes
                anomaly.events = [first[c] for c in sorted(first)][: max(self.t.sample_events, 1)]
                anomaly.count = count[0]
                self.anomalies.append(anomaly)

    def night(self, row: TimelineRow, ref: EventRef, signer: _Signer, scoped: bool) -> None:
        state = self.nights.setdefault(signer.id, _Night())
        minute = int(row.time.timestamp() // 60)
        window = self.t.burst_minutes
        buckets = state.buckets
        while buckets and buckets[0][0] <= minute - window:
            state.total -= buckets.popleft()[1]
        if buckets and buckets[-1][0] >= minute:
            buckets[-1][1] += 1  # the same minute (or an event stored out of time order)
            buckets[-1][3] = buckets[-1][3] or scoped
        else:
            buckets.append([minute, 1, ref, scoped])
        state.total += 1
        burst = state.burst
        if (
            burst is not None
            and burst.end is not None
            and (row.time - burst.end > timedelta(minutes=window))
        ):
            self.anomalies.append(burst)
            burst = state.burst = None
        if burst is not None:
            self.collect(burst, ref, scoped)
            burst.end = row.time
            burst.data["end"] = _iso(row.time)
        elif state.total >= self.t.night_events:
            start = buckets[0][2]
            burst = state.burst = _Open(
                "night_burst",
                signer.school or row.school,
                signer.code,
                {
                    "signer": self.display(signer),
                    "start": _iso(start.time),
                    "end": _iso(row.time),
                    "threshold": self.t.night_events,
                    "minutes": window,
                    "night_start": self.t.night_start,
                    "night_end": self.t.night_end,
                },
                [b[2] for b in buckets][: self.t.sample_events],
                state.total,
                any(b[3] for b in buckets),
            )
            burst.end = row.time
            if ref not in burst.events:
                self.collect(burst, ref, scoped, counted=True)

    def collect(
        self, anomaly: _Open, ref: EventRef, scoped: bool, *, counted: bool = False
    ) -> None:
        if not counted:
            anomaly.count += 1
        if len(anomaly.events) < max(self.t.sample_events, 1):
            anomaly.events.append(ref)
        anomaly.touches = anomaly.touches or scoped

    # -- counts ------------------------------------------------------------------------------------

    def count(self, row: TimelineRow, rid: UUID, signer: _Signer, name: str) -> None:
        self.in_scope_events += 1
        self.summary.add(row)
        school = self.schools.get(row.school)
        if school is None:
            school = self.schools[row.school] = SchoolSummary(
                row.school, self.school_name(row.school)
            )
        school.summary.add(row)
        self.school_records.setdefault(row.school, set()).add(rid)
        record = self.records.get(rid)
        if record is None:
            record = self.records[rid] = RecordSummary(
                str(rid), row.record_label, row.record_kind, row.school
            )
        record.label, record.school = row.record_label, row.school
        record.summary.add(row, days=False)
        if name in DIRECT_CORRECTIONS or name == "CorrectionApproved":
            record.corrections += 1
        s = self.signer_summaries.get(signer.id)
        if s is None:
            s = self.signer_summaries[signer.id] = SignerSummary(
                signer.id, signer.code, signer.name, signer.title, signer.school, signer.kind
            )
        s.events += 1
        _bump(s.by_event, name)
        s.first = row.time if s.first is None or row.time < s.first else s.first
        s.last = row.time if s.last is None or row.time > s.last else s.last
        if name in ENTRY_EVENTS:
            s.entries += 1
            term = f"{row.school_year} HK{row.term}"
            self.signer_classes.setdefault(signer.id, {}).setdefault(term, set()).add(
                row.class_name
            )
        elif name in DIRECT_CORRECTIONS or name == "CorrectionProposed":
            s.corrections += 1
        elif name == "CorrectionApproved":
            s.approvals += 1
        if self.t.is_night(row.time):
            s.night_events += 1
        self.timeline.append(row)
        if self.on_event is not None:
            self.on_event(row)

    def school_name(self, code: str) -> str:
        for agg in self.aggregates.values():
            if isinstance(agg, School) and agg.code == code:
                return str(agg.name)
        return ""

    # -- the result --------------------------------------------------------------------------------

    def result(self, report: AuditReport) -> Inspection:
        anomalies = self.integrity(report)
        opened = [a for a in self.anomalies if self.keep(a)]
        opened.sort(key=lambda a: (KINDS.index(a.kind), _first_time(a)))
        for a in opened:
            a.data["count"] = a.count
            vi, en = explain(a.kind, a.data)
            anomalies.append(
                Anomaly(
                    "",
                    a.kind,
                    SEVERITY[a.kind],
                    a.school,
                    a.signer,
                    a.events,
                    a.count,
                    vi,
                    en,
                    a.data,
                )
            )
        anomalies.sort(key=lambda found: KINDS.index(found.kind))
        for number, found in enumerate(anomalies, 1):
            found.id = f"A{number:04d}"
        self.attribute(anomalies)
        for sid, terms in self.signer_classes.items():
            self.signer_summaries[sid].classes = {k: sorted(v) for k, v in sorted(terms.items())}
        for code, records in self.school_records.items():
            self.schools[code].records = len(records)
        label = None
        if self.only is not None:
            label = self.label(self.only)[0]
        audit_summary = {k: v for k, v in report.as_dict().items() if k != "problems"}
        audit_summary["problems"] = len(report.problems)
        return Inspection(
            generated_at=datetime.now(VIETNAM),
            scope="record" if self.only is not None else "school" if self.school else "ledger",
            record=None if self.only is None else str(self.only),
            record_label=label,
            school=self.school,
            thresholds=self.t,
            audit=audit_summary,
            summary=self.summary,
            schools=sorted(self.schools.values(), key=lambda s: s.code),
            records=sorted(self.records.values(), key=lambda r: (r.kind, r.label)),
            signers=sorted(
                self.signer_summaries.values(), key=lambda s: (s.school, s.kind, s.code)
            ),
            corrections=self.corrections,
            anomalies=anomalies,
            timeline=list(self.timeline),
            timeline_complete=len(self.timeline) == self.in_scope_events,
        )

    def keep(self, anomaly: _Open) -> bool:
        if self.only is not None:
            return anomaly.touches
        return self.school is None or anomaly.school == self.school

    def integrity(self, report: AuditReport) -> list[Anomaly]:
        out = []
        for p in report.problems:
            try:
                rid: UUID | None = UUID(p.record)
            except ValueError:
                rid = None  # "log": the ledger as a whole
            label, _, school = self.label(rid) if rid is not None else (p.record, "", "")
            if self.only is not None and rid != self.only:
                continue
            if self.school is not None and rid is not None and school != self.school:
                continue
            ref = EventRef(p.record, label, p.version, "", None, school)
            data = {"record": label, "version": p.version, "check": p.check, "detail": p.detail}
            vi, en = explain("integrity", data)
            out.append(Anomaly("", "integrity", VIOLATION, school, "", [ref], 1, vi, en, data))
        return out

    def attribute(self, anomalies: list[Anomaly]) -> None:
        """Count anomalies per record, signer and school."""
        by_code = {(s.school, s.code): s for s in self.signer_summaries.values()}
        by_record = {r.record: r for r in self.records.values()}
        for a in anomalies:
            for record in {e.record for e in a.events}:
                if record in by_record:
                    by_record[record].anomalies += 1
            signer = by_code.get((a.school, a.signer))
            if signer is not None:
                signer.anomalies += 1
            if a.school in self.schools:
                self.schools[a.school].anomalies += 1


DOMAIN_TOPICS = f"{School.__module__}:"


def inspect(
    ledger: Any,
    *,
    record: UUID | None = None,
    school: str | None = None,
    thresholds: Thresholds = Thresholds(),
    report: AuditReport | None = None,
    on_event: Callable[[TimelineRow], None] | None = None,
) -> Inspection:
    """Inspect the ledger (or one ``record``, or one ``school`` by mã trường).

    ``report`` is the audit to report as ``integrity`` anomalies; without it,
    :func:`ledger.audit.audit` runs (for the record when one is given). ``on_event`` receives
    every timeline row in scope, in log order, as it is read: a school's report streams its
    whole timeline through it while :attr:`Inspection.timeline` keeps only the most recent
    rows. Raises :class:`~ledger.errors.RecordNotFound` for a record with no events.
    """
    if record is not None and not ledger.recorder.select_events(record, limit=1):
        raise RecordNotFound(f"no record with id {record}")
    state = _Pass(ledger, record, school, thresholds, on_event)
    state.run()
    if (
        school is not None
        and school not in state.schools
        and not any(isinstance(a, School) and a.code == school for a in state.aggregates.values())
    ):
        raise RecordNotFound(f"no school with code {school}")
    if report is None:
        report = audit(ledger, record)
    return state.result(report)


# -- explanations ---------------------------------------------------------------------------------


def explain(kind: str, d: dict[str, Any]) -> tuple[str, str]:
    """The Vietnamese and English explanation of an anomaly of ``kind`` with data ``d``."""
    if kind == "integrity":
        check = str(d["check"])
        return (
            f"Kiểm tra «{CHECKS_VI.get(check, check)}» ({check}) không đạt ở hồ sơ {d['record']}, "
            f"phiên bản {d['version']}: {d['detail']}",
            f"Check '{check}' failed on record {d['record']}, version {d['version']}: "
            f"{d['detail']}",
        )
    if kind == "unassigned_subject":
        return (
            f"{d['signer']} ghi {_what_vi(d)} cho {d['record']} (phiên bản {d['version']}) lúc "
            f"{_vn(d['time'])} mà không được phân công dạy môn {d['subject']} lớp "
            f"{d['class_name']} năm học {d['school_year']} ở thời điểm đó. Lệnh ghi điểm luôn "
            "từ chối trường hợp này: sự kiện đã được đưa vào từ bên ngoài.",
            f"{d['signer']} recorded {_what_en(d)} for {d['record']} (version {d['version']}) at "
            f"{_vn(d['time'])} without an assignment to teach {d['subject']} in class "
            f"{d['class_name']} ({d['school_year']}) at that point. The commands always refuse "
            "this: the event came in behind them.",
        )
    if kind == "entry_after_close":
        return (
            f"{d['signer']} ghi {_what_vi(d)} cho {d['record']} (phiên bản {d['version']}) lúc "
            f"{_vn(d['time'])}, vào học kì {d['term']} lớp {d['class_name']} đã chốt lúc "
            f"{_vn(d['closed_at'])}. Sau khi chốt, mọi thay đổi phải là đề nghị sửa chữa có "
            "xác nhận của Hiệu trưởng.",
            f"{d['signer']} recorded {_what_en(d)} for {d['record']} (version {d['version']}) at "
            f"{_vn(d['time'])} into term {d['term']} of class {d['class_name']}, closed at "
            f"{_vn(d['closed_at'])}. After the close a change must be a correction approved by "
            "the principal.",
        )
    if kind == "correction_in_closed_term":
        return (
            f"{d['by']} sửa trực tiếp {d['subject']} HK{d['term']} ({d['kind']}) lớp "
            f"{d['class_name']} của {d['record']} từ {d['old']} thành {d['new']} lúc "
            f"{_vn(d['at'])} (lý do: «{d['reason']}»), khi học kì đã chốt lúc "
            f"{_vn(d['closed_at'])}, không có xác nhận của Hiệu trưởng.",
            f"{d['by']} corrected {d['subject']} term {d['term']} ({d['kind']}) of class "
            f"{d['class_name']} for {d['record']} directly from {d['old']} to {d['new']} at "
            f"{_vn(d['at'])} (reason: '{d['reason']}') although the term closed at "
            f"{_vn(d['closed_at'])}, without the principal's approval.",
        )
    if kind == "correction_after_close":
        closed_vi = f" (chốt lúc {_vn(d['closed_at'])})" if d.get("closed_at") else ""
        closed_en = f" (closed at {_vn(d['closed_at'])})" if d.get("closed_at") else ""
        return (
            f"Sửa điểm sau khi chốt học kì{closed_vi}: {d['record']}, {d['subject']} "
            f"HK{d['term']} ({d['kind']}) lớp {d['class_name']}, {d['old']} → {d['new']}; lý do: "
            f"«{d['reason']}». {d['by']} đề nghị lúc {_vn(d['at'])}; {d['approved_by']} duyệt "
            f"lúc {_vn(d['approved_at'])}. Hợp lệ (có xác nhận của Hiệu trưởng) nhưng nên hỏi "
            "lại căn cứ (bài kiểm tra, biên bản phúc khảo).",
            f"Correction after the term closed{closed_en}: {d['record']}, {d['subject']} term "
            f"{d['term']} ({d['kind']}) of class {d['class_name']}, {d['old']} → {d['new']}; "
            f"reason: '{d['reason']}'. Proposed by {d['by']} at {_vn(d['at'])}, approved by "
            f"{d['approved_by']} at {_vn(d['approved_at'])}. Legal (countersigned by the "
            "principal) but worth asking for the evidence (the test paper, the review minutes).",
        )
    if kind == "late_entry":
        who = ", ".join(d["signers"])
        return (
            f"Mục nhập muộn: lớp {d['class_name']}, môn {d['subject']}, HK{d['term']} "
            f"({d['school_year']}) có {d['count']} mục được ghi ngày {_day(d['day'])} bởi {who}, "
            f"{d['days_after']} ngày sau ngày trung vị ({_day(d['median'])}) của "
            f"{d['entries_before']} mục nhập trước đó.",
            f"Late entries: class {d['class_name']}, {d['subject']}, term {d['term']} "
            f"({d['school_year']}) has {d['count']} entries recorded on {d['day']} by {who}, "
            f"{d['days_after']} days after the median day ({d['median']}) of the "
            f"{d['entries_before']} earlier entries.",
        )
    if kind == "many_classes":
        classes = ", ".join(d["classes"])
        return (
            f"{d['signer']} nhập điểm/nhận xét cho {len(d['classes'])} lớp trong HK{d['term']} "
            f"năm học {d['school_year']} (ngưỡng {d['threshold']}): {classes}.",
            f"{d['signer']} entered assessments for {len(d['classes'])} classes in term "
            f"{d['term']} of {d['school_year']} (threshold {d['threshold']}): {classes}.",
        )
    if kind == "night_burst":
        return (
            f"{d['signer']} ký dồn dập ban đêm: {d['count']} sự kiện từ {_vn(d['start'])} đến "
            f"{_vn(d['end'])} (giờ Việt Nam), trong khung {d['night_start']:02d}:00–"
            f"{d['night_end']:02d}:00 (ngưỡng: {d['threshold']} sự kiện trong {d['minutes']} "
            "phút).",
            f"{d['signer']} signed a burst at night: {d['count']} events from {_vn(d['start'])} "
            f"to {_vn(d['end'])} (Vietnam time), between {d['night_start']:02d}:00 and "
            f"{d['night_end']:02d}:00 (threshold: {d['threshold']} events within "
            f"{d['minutes']} minutes).",
        )
    raise InvalidInput(f"unknown anomaly kind {kind}")


def _what_vi(d: dict[str, Any]) -> str:
    what = {"ScoreRecorded": "điểm", "CommentAssessed": "đánh giá nhận xét"}.get(
        str(d.get("event")), "mục đánh giá"
    )
    return f"{what} {d['subject']} HK{d['term']}" if d.get("term") else f"{what} {d['subject']}"


def _what_en(d: dict[str, Any]) -> str:
    what = {"ScoreRecorded": "a score", "CommentAssessed": "a comment assessment"}.get(
        str(d.get("event")), "an assessment"
    )
    return (
        f"{what} in {d['subject']} term {d['term']}"
        if d.get("term")
        else f"{what} in {d['subject']}"
    )


# -- helpers --------------------------------------------------------------------------------------


def _decode(ledger: Any, stored: StoredEvent) -> tuple[envelope.Envelope, Any] | None:
    """The envelope and domain event of a stored row, without verification (as the audit's
    ``_replay``: the plain eventsourcing mapper decodes and upcasts)."""
    try:
        env = envelope.decode(stored.state)
        plain = StoredEvent(
            stored.originator_id, stored.originator_version, stored.topic, env.payload
        )
        return env, Mapper.to_domain_event(ledger.mapper, plain)
    except Exception:  # the audit reports the defect of this event
        return None


def _corrected_entry(name: str, record: Any, values: dict[str, Any]) -> Entry | None:
    """The entry a correction (or proposal, or approval) concerns, before it applies."""
    if not isinstance(record, StudentRecord):
        return None
    if name in DIRECT_CORRECTIONS or name == "CorrectionProposed":
        corrects = values.get("corrects")
        return record.entries.get(corrects) if isinstance(corrects, int) else None
    if name == "CorrectionApproved":
        number = values.get("proposal")
        proposal = record.proposals.get(number) if isinstance(number, int) else None
        return record.entries.get(proposal.corrects) if proposal is not None else None
    return None


def _basis(
    name: str,
    actor: Any,
    target: Any,
    values: dict[str, Any],
    context: tuple[str, str, str, int | None],
) -> str:
    """What the signer's authority rested on for this event (see :attr:`TimelineRow.basis`)."""
    if isinstance(actor, School):
        return "seal"
    if not isinstance(actor, StaffFile):
        return ""
    school_year, class_name, subject, _ = context
    if name in TEACHING_EVENTS or (name == "RemarkRecorded" and subject):
        if actor.teaches(school_year, class_name, subject):
            return "assignment"
    if name in HOMEROOM_EVENTS or (name == "RemarkRecorded" and not subject):
        if actor.is_homeroom(school_year, class_name):
            return "homeroom"
    entry = _corrected_entry(name, target, values)
    if entry is not None and name != "CorrectionApproved":
        if entry.by == actor.id:
            return "entry_author"
        if actor.teaches(entry.school_year, entry.class_name, entry.subject):
            return "assignment"
    school = getattr(target, "school", None) or values.get("school")
    if isinstance(target, School):
        school = target.id
    if isinstance(school, UUID) and authority.is_principal(actor, school):
        return "principal"
    if actor.is_staff_officer:
        return "staff_officer"
    return ""


def _entry_data(row: TimelineRow) -> dict[str, Any]:
    return {
        "school_year": row.school_year,
        "class_name": row.class_name,
        "subject": row.subject,
        "term": row.term,
    }


def _correction_data(c: Correction) -> dict[str, Any]:
    return {
        "record": c.record_label,
        "school_year": c.school_year,
        "class_name": c.class_name,
        "subject": c.subject,
        "term": c.term,
        "kind": c.kind,
        "old": c.old,
        "new": c.new,
        "reason": c.reason,
        "by": f"{c.by_code} ({c.by_name})" if c.by_name else c.by_code,
        "at": _iso(c.at),
        "entry_version": c.entry_version,
        "version": c.version,
    }


def _value(entry: Entry) -> str:
    if entry.score is not None:
        return str(entry.score)
    return "Đạt" if entry.passed else "Chưa đạt"


def _first_time(a: _Open) -> str:
    times = [e.time for e in a.events if e.time is not None]
    return _iso(min(times)) if times else ""


def _attribute(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> str:
    values = cert.subject.get_attributes_for_oid(oid)
    return str(values[0].value) if values else ""


def _bump(counter: dict[str, int], key: str) -> None:
    counter[key] = counter.get(key, 0) + 1


def _uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def _iso(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(VIETNAM).isoformat(timespec="seconds")


def _vn(text: str) -> str:
    """ "dd/mm/yyyy HH:MM" (Vietnam time) from an ISO time."""
    if not text:
        return "?"
    return datetime.fromisoformat(text).astimezone(VIETNAM).strftime("%d/%m/%Y %H:%M")


def _day(text: str) -> str:
    return date.fromisoformat(text).strftime("%d/%m/%Y")


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _opt_time(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _plain(obj: Any) -> Any:
    """A dataclass as JSON-ready data: times ISO 8601 in Vietnam time, decimals as text."""
    if hasattr(obj, "__dataclass_fields__"):
        return {f.name: _plain(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, datetime):
        return _iso(obj)
    if isinstance(obj, (Decimal, UUID, date)):
        return str(obj)
    return obj


def _summary(d: dict[str, Any]) -> Summary:
    return Summary(**{**d, "first": _opt_time(d["first"]), "last": _opt_time(d["last"])})


def _ref(d: dict[str, Any]) -> EventRef:
    return EventRef(**{**d, "time": _opt_time(d["time"])})
