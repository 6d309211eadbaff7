"""Student records as the API and the pages serve them: service functions.

Every function takes the process's :class:`~api.services.Services`, the
:class:`~api.access.Caller` and plain arguments, and returns a JSON-ready dict. Routes
(:mod:`api.routes.records`) and pages call these same functions; errors are raised (the
ledger's, mapped to HTTP by :mod:`api.errors`), never turned into responses here.

Reads are scoped by the caller (:mod:`api.access`): an object of a school the caller may not
see is a 404, a visible object the caller may not read a 403. Every read of personal data
(a student's record, names, a class's grade book) is written to the read log
(:meth:`api.accounts.AccountStore.log_reads`) with the records shown. Reads of the views
catch them up first (:func:`api.readmodels.caught_up`), so a caller sees their own writes.

Writes are ledger commands signed with the caller's own key (:func:`api.writes.execute`);
each also exists as a :class:`~api.writes.Command` (``*_command``) that
:mod:`api.routes.presigned` prepares for clients that sign with keys they hold.

Sources, measured on the demo data (SQLite, a 131-event record, a busy 2-core machine):
a changeable copy of the record's aggregate costs about 0.9 ms of CPU (``Ledger.load``), its
shared snapshot (:meth:`~ledger.application.Ledger.read`) 0.05 ms once cached, and the
record's entries from the grade-book view about 0.8 ms. :func:`record`
reads the aggregate (authoritative membership, conduct, absences, year results, proposals
and issued transcripts; the access check needs it anyway) and takes the entries from the
grade-book view, which keeps each entry's original value and its correction trail (the
aggregate keeps only the corrected value): about 2.2 ms of CPU in all, read log included.
Reads use :meth:`~ledger.application.Ledger.read` (never changed here), writes the
commands' own loads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from uuid import UUID

from api.readmodels import caught_up, query, view_errors
from api.writes import Command, Target, execute, record_visible
from ledger import assessment as rules
from ledger.domain import (
    COMMENTED,
    Assignment,
    School,
    SchoolYear,
    StudentRecord,
    school_year_id,
)
from ledger.errors import InvalidInput, RecordNotFound, TermClosed
from ledger.results import YEAR

if TYPE_CHECKING:
    from api.access import Caller
    from api.services import Services
    from signing.keys import Signer

__all__ = [
    "approve_correction",
    "assess_comments",
    "assess_conduct",
    "classes",
    "close_term",
    "correct",
    "corrections",
    "enrol_student",
    "gradebook",
    "history",
    "open_class",
    "open_school_year",
    "plan_subjects",
    "record",
    "record_absences",
    "record_remark",
    "record_score",
    "record_scores",
    "record_year_result",
    "schools",
]

#: Most entries one grade-book save may carry.
MAX_ENTRIES = 500
#: Most correction proposals one listing shows.
MAX_PROPOSALS = 1000

Entry = tuple[UUID, str, int, str, object]


# -- helpers --------------------------------------------------------------------------------------


def jsonable(value: Any) -> Any:
    """Event fields as JSON: ids, decimals and times as text, sets and tuples as lists."""
    if isinstance(value, UUID | Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        items = [jsonable(v) for v in value]
        return sorted(items, key=str) if isinstance(value, set | frozenset) else items
    return value


def visible_school(who: Caller, school: UUID) -> None:
    """404 unless the caller is staff or an inspector of ``school``."""
    if not who.in_school(school):
        raise RecordNotFound("no school with this id")


def _school_year(services: Services, school: UUID, school_year: str) -> SchoolYear:
    try:
        return services.ledger().read(school_year_id(school, school_year), SchoolYear)
    except RecordNotFound:
        raise RecordNotFound(f"no school year {school_year} in this school") from None


def _visible_record(services: Services, who: Caller, record_id: UUID) -> StudentRecord:
    """The record; 404 if the caller may not know it exists, 403 if they may not read it."""
    loaded = services.ledger().read(record_id, StudentRecord)
    if not record_visible(who, loaded):
        raise RecordNotFound("no student record with this id")
    who.require(who.reads_record(loaded), "read this student record")
    return loaded


def _open(services: Services, person: UUID, ciphertext: object) -> dict[str, str] | None:
    if not isinstance(ciphertext, str):
        return None
    return services.ledger().vault.open(person, ciphertext)


def _required(year: SchoolYear, periods: int, assessed: str) -> dict[str, int]:
    """Entries a subject needs per term (TT 22/2021 Điều 6, 7; TT 27/2020 periodic tests)."""
    if year.level == "TH":
        return {"gk": 1, "ck": 1} if assessed != COMMENTED else {}
    tx = (
        rules.comment_regular_count()
        if assessed == COMMENTED
        else rules.regular_score_count(periods)
    )
    return {"tx": tx, "gk": 1, "ck": 1}


# -- reads ----------------------------------------------------------------------------------------


def schools(services: Services, who: Caller) -> dict[str, Any]:
    """The schools the caller may see: their own (staff), or those they inspect."""
    ledger = services.ledger()
    out = []
    ids = ([who.school] if who.school is not None else []) + sorted(who.inspects, key=str)
    for sid in dict.fromkeys(ids):
        school = ledger.read(sid, School)
        out.append(
            {
                "school": str(sid),
                "code": school.code,
                "name": school.name,
                "province": school.province,
                "as": "staff" if sid == who.school else "inspector",
            }
        )
    return {"schools": out}


def classes(services: Services, who: Caller, school: UUID, school_year: str) -> dict[str, Any]:
    """The school year's classes: name, grade, students now in it, GVCN, and whether the
    caller reads its grade book."""
    visible_school(who, school)
    if not services.ledger().exists(school_year_id(school, school_year)):
        raise RecordNotFound(f"no school year {school_year} in this school")
    views = caught_up(services, lambda v: (v.gradebook, v.staff))
    with view_errors():
        rows = views.gradebook.classes(school, school_year)
        homerooms = {r["class_name"]: r for r in views.staff.homerooms(school, school_year)}
    return {
        "school": str(school),
        "school_year": school_year,
        "classes": [
            {
                "class": r["class_name"],
                "grade": r["grade"],
                "students": r["students"],
                "homeroom": homerooms[r["class_name"]]["staff_code"]
                if r["class_name"] in homerooms
                else None,
                "reads": who.reads_class(school, school_year, r["class_name"]),
            }
            for r in rows
        ],
    }


def _student_rows(views: Any, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Code, identity ciphertext and shredded flag of students, from the transcript view."""
    out: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), 500):
        chunk = list(ids[start : start + 500])
        marks = ", ".join("?" for _ in chunk)
        for row in query(
            views,
            views.transcripts,
            "SELECT student, student_code, identity, shredded FROM students "  # noqa: S608
            f"WHERE student IN ({marks})",
            chunk,
        ):
            out[str(row["student"])] = row
    return out


def _entry(row: Mapping[str, Any]) -> dict[str, Any]:
    keep = (
        "version",
        "school_year",
        "class_name",
        "subject",
        "term",
        "kind",
        "assessed",
        "value",
        "original",
        "teacher",
        "recorded_at",
        "corrected_version",
        "corrected_by",
        "approved_by",
        "correction_reason",
        "corrected_at",
    )
    return {k: row[k] for k in keep}


def gradebook(
    services: Services, who: Caller, school: UUID, school_year: str, class_name: str
) -> dict[str, Any]:
    """A class's grade book (sổ điểm): every entry as corrected, conduct and absences per term,
    the closed terms, the subject plan with what each subject needs per term, and what the
    caller may write. Students' names (personal data) are opened from the vault; the read is
    logged for every student shown."""
    visible_school(who, school)
    year = _school_year(services, school, school_year)
    if class_name not in year.classes:
        raise RecordNotFound(f"no class {class_name} in {school_year}")
    who.require(who.reads_class(school, school_year, class_name), "read this class's grade book")
    views = caught_up(services, lambda v: (v.gradebook, v.transcripts))
    with view_errors():
        entries = views.gradebook.gradebook(school, school_year, class_name)
        terms = views.gradebook.term_records(school, school_year, class_name)
    roster = {str(s) for s in year.rosters.get(class_name, set())}
    ids = sorted(roster | {e["student"] for e in entries} | {t["student"] for t in terms})
    info = _student_rows(views, ids)
    students: dict[str, dict[str, Any]] = {}
    for sid in ids:
        row = info.get(sid, {})
        identity = None if row.get("shredded") else _open(services, UUID(sid), row.get("identity"))
        students[sid] = {
            "record": sid,
            "student_code": row.get("student_code"),
            "name": identity.get("ho_va_ten") if identity else None,
            "in_class": sid in roster,
            "conduct": {},
            "absences": {},
            "entries": [],
        }
    for e in entries:
        students[e["student"]]["entries"].append(_entry(e))
    for t in terms:
        term = str(t["term"])
        if t["conduct"] is not None:
            students[t["student"]]["conduct"][term] = t["conduct"]
        if t["absences"] is not None:
            students[t["student"]]["absences"][term] = t["absences"]
    closed = sorted(term for (name, term) in year.closed if name == class_name)
    plan = year.plans.get(class_name, {})
    own = school == who.school
    writable = sorted(
        s for s in plan if own and Assignment(school_year, class_name, s) in who.teaches
    )
    ordered = sorted(students.values(), key=lambda s: (s["student_code"] or "", s["record"]))
    services.accounts().log_reads(who.account, "gradebook", [s["record"] for s in ordered])
    return {
        "school": str(school),
        "school_year": school_year,
        "class": class_name,
        "grade": year.classes[class_name],
        "level": year.level,
        "regulation": year.regulation,
        "closed_terms": closed,
        "open_terms": [t for t in (1, 2) if t not in closed],
        "subjects": [
            {
                "subject": subject,
                "assessed": p.assessed,
                "periods_per_year": p.periods_per_year,
                "required": _required(year, p.periods_per_year, p.assessed),
                "writable": subject in writable,
            }
            for subject, p in sorted(plan.items())
        ],
        "may": {
            "record": writable,
            "homeroom": own and who.homerooms.get(school_year) == class_name,
            "close_terms": own and who.principal,
            "approve": own and who.principal,
        },
        "students": ordered,
    }


def record(services: Services, who: Caller, record_id: UUID) -> dict[str, Any]:
    """A student's record (học bạ): identity, membership per year, every entry with its
    correction trail, proposals, conduct, absences, year results and issued transcripts."""
    loaded = _visible_record(services, who, record_id)
    views = caught_up(services, lambda v: (v.gradebook,))
    with view_errors():
        entries = [_entry(e) for e in views.gradebook.entries(record_id)]
    identity = None if loaded.shredded else _open(services, record_id, loaded.identity)
    services.accounts().log_reads(who.account, "record", [record_id])
    return {
        "record": str(record_id),
        "student_code": loaded.student_code,
        "version": int(loaded.version),
        "school": str(loaded.school),
        "school_year": loaded.school_year,
        "grade": loaded.grade,
        "class": loaded.class_name,
        "transferred_out_to": loaded.transferred_out_to,
        "shredded": loaded.shredded,
        "identity": identity,
        "years": [
            {"school_year": y, "grade": g, "class": c, "school": str(s)}
            for y, (g, c, s) in sorted(loaded.years.items())
        ],
        "entries": entries,
        "proposals": [
            {
                "version": v,
                "corrects": p.corrects,
                "value": p.value,
                "reason": p.reason,
                "by": str(p.by),
                "approved": p.approved,
            }
            for v, p in sorted(loaded.proposals.items())
        ],
        "conduct": [
            {"school_year": y, "term": t, "level": level}
            for (y, t), level in sorted(loaded.conduct.items())
        ],
        "absences": [
            {"school_year": y, "term": t, "sessions": n}
            for (y, t), n in sorted(loaded.absences.items())
        ],
        "summer_conduct": dict(loaded.summer_conduct),
        "reassessed": [
            {"school_year": y, "subject": s, "value": v}
            for (y, s), v in sorted(loaded.reassessed.items())
        ],
        "subject_levels": [
            {"school_year": y, "subject": s, "term": t, "level": v}
            for (y, s, t), v in sorted(loaded.subject_levels.items())
        ],
        "qualities": [
            {"school_year": y, "quality": q, "term": t, "level": v}
            for (y, q, t), v in sorted(loaded.qualities.items())
        ],
        "results": jsonable(loaded.results),
        "transcripts": [
            {
                "number": t.number,
                "transcript": t.transcript,
                "school_year": t.school_year,
                "record_version": t.record_version,
                "sha256": t.sha256,
                "issued_at": t.issued_at,
                "superseded_at": t.superseded_at,
                "supersedes": t.supersedes,
            }
            for t in loaded.transcripts
        ],
        "transcript_up_to_date": loaded.transcript_up_to_date,
    }


def history(services: Services, who: Caller, record_id: UUID) -> dict[str, Any]:
    """Every event of the record, verified, with its signer and hashes (ciphertext stays
    ciphertext: identity and remarks are not opened here)."""
    _visible_record(services, who, record_id)
    events = jsonable(services.ledger().history(record_id))
    services.accounts().log_reads(who.account, "history", [record_id])
    return {"record": str(record_id), "events": events}


_PROPOSALS = (
    "SELECT s.student, s.student_code, p.version, p.corrects, p.value, p.reason, "
    "p.proposed_by, p.proposed_at, p.approved_version, p.approved_by, p.approved_at, "
    "e.subject, e.term, e.kind, e.value AS recorded, e.corrected, "
    "c.school_year, c.class_name FROM proposals p "
    "JOIN students s ON s.student_key = p.student_key "
    "LEFT JOIN entries e ON e.student_key = p.student_key AND e.version = p.corrects "
    "LEFT JOIN classes c ON c.class_key = e.class_key "
    "WHERE s.school = ?"
)


def corrections(
    services: Services, who: Caller, school: UUID, state: str = "pending"
) -> dict[str, Any]:
    """Correction proposals of the school's students (``pending``, ``approved`` or ``all``),
    oldest first: the entry, its value now, the proposed value, the reason, who proposed."""
    visible_school(who, school)
    who.require(who.reads_school(school), "read the school's correction proposals")
    if state not in ("pending", "approved", "all"):
        raise InvalidInput("state must be pending, approved or all")
    sql = (
        _PROPOSALS
        + {
            "pending": " AND p.approved_version IS NULL",
            "approved": " AND p.approved_version IS NOT NULL",
            "all": "",
        }[state]
    )
    views = caught_up(services, lambda v: (v.gradebook,))
    rows = query(
        views,
        views.gradebook,
        sql + " ORDER BY p.proposed_at, s.student, p.version LIMIT ?",
        (str(school), MAX_PROPOSALS),
    )
    out = [
        {
            "record": r["student"],
            "student_code": r["student_code"],
            "proposal": r["version"],
            "corrects": r["corrects"],
            "school_year": r["school_year"],
            "class": r["class_name"],
            "subject": r["subject"],
            "term": r["term"],
            "kind": r["kind"],
            "recorded": r["recorded"],
            "current": r["corrected"] if r["corrected"] is not None else r["recorded"],
            "proposed": r["value"],
            "reason": r["reason"],
            "proposed_by": r["proposed_by"],
            "proposed_at": r["proposed_at"],
            "approved_version": r["approved_version"],
            "approved_by": r["approved_by"],
            "approved_at": r["approved_at"],
        }
        for r in rows
    ]
    services.accounts().log_reads(
        who.account, "corrections", list(dict.fromkeys(r["record"] for r in out))
    )
    return {"school": str(school), "state": state, "proposals": out}


# -- writes: commands -----------------------------------------------------------------------------


def score_command(
    services: Services, record_id: UUID, subject: str, term: int, kind: str, value: object
) -> Command:
    def run(signer: Signer) -> dict[str, Any]:
        version = services.ledger().record_score(signer, record_id, subject, term, kind, value)
        return {"record": str(record_id), "version": version}

    return Command("record_score", Target.records(record_id), run)


def scores_command(services: Services, entries: Sequence[Entry]) -> Command:
    _check_entries(entries)

    def run(signer: Signer) -> dict[str, Any]:
        return {"recorded": services.ledger().record_scores(signer, entries)}

    return Command("record_scores", Target.records(*(e[0] for e in entries)), run)


def comments_command(services: Services, entries: Sequence[Entry]) -> Command:
    _check_entries(entries)

    def run(signer: Signer) -> dict[str, Any]:
        return {"recorded": services.ledger().assess_comments(signer, entries)}

    return Command("assess_comments", Target.records(*(e[0] for e in entries)), run)


def _check_entries(entries: Sequence[Entry]) -> None:
    if not entries:
        raise InvalidInput("nothing to record")
    if len(entries) > MAX_ENTRIES:
        raise InvalidInput(f"at most {MAX_ENTRIES} entries per save")


def correct_command(
    services: Services, record_id: UUID, corrects: int, value: object, reason: str
) -> Command:
    def run(signer: Signer) -> dict[str, Any]:
        ledger = services.ledger()
        try:
            version = ledger.correct_score(signer, record_id, corrects, value, reason)
            how = "correction"
        except TermClosed:
            # After the term closed a change is a proposal the principal countersigns.
            version = ledger.propose_correction(signer, record_id, corrects, value, reason)
            how = "proposal"
        return {"record": str(record_id), "kind": how, "version": version}

    def check(who: Caller) -> None:
        # Who may correct or propose (ledger.authority): the entry's author, or a teacher of
        # the subject. Refused here first, so that a stranger to the record is told so
        # rather than that the version they named is not an entry.
        loaded = services.ledger().read(record_id, StudentRecord)
        entry = loaded.entries.get(corrects)
        own = entry is not None and entry.by == who.staff
        classes = {(y, c) for y, (_, c, _) in loaded.years.items()}
        teaches = any((a.school_year, a.class_name) in classes for a in who.teaches)
        who.require(own or teaches, "correct this record's entries (its teachers only)")

    # Not retried: the caller corrects the value they saw; a conflict means it moved on.
    return Command("correct", Target.records(record_id), run, retry=False, check=check)


def approve_command(services: Services, record_id: UUID, proposal: int) -> Command:
    def run(signer: Signer) -> dict[str, Any]:
        version = services.ledger().approve_correction(signer, record_id, proposal)
        return {"record": str(record_id), "approved": proposal, "version": version}

    return Command("approve_correction", Target.records(record_id), run, retry=False)


def conduct_command(services: Services, record_id: UUID, term: int, level: str) -> Command:
    def run(signer: Signer) -> dict[str, Any]:
        services.ledger().assess_conduct(signer, record_id, term, level)
        return {"record": str(record_id), "term": term, "conduct": level}

    return Command("assess_conduct", Target.records(record_id), run)


def absences_command(services: Services, record_id: UUID, term: int, sessions: int) -> Command:
    def run(signer: Signer) -> dict[str, Any]:
        services.ledger().record_absences(signer, record_id, term, sessions)
        return {"record": str(record_id), "term": term, "absences": sessions}

    return Command("record_absences", Target.records(record_id), run)


def remark_command(services: Services, record_id: UUID, subject: str, text: str) -> Command:
    def run(signer: Signer) -> dict[str, Any]:
        services.ledger().record_remark(signer, record_id, subject, text)
        return {"record": str(record_id), "subject": subject, "status": "recorded"}

    return Command("record_remark", Target.records(record_id), run)


def year_result_command(services: Services, record_id: UUID, stage: str = YEAR) -> Command:
    def run(signer: Signer) -> dict[str, Any]:
        result = services.ledger().record_year_result(signer, record_id, stage)
        return {"record": str(record_id), "stage": stage, "result": jsonable(result)}

    return Command("record_year_result", Target.records(record_id), run)


def close_term_command(
    services: Services, school: UUID, school_year: str, class_name: str, term: int
) -> Command:
    def run(signer: Signer) -> dict[str, Any]:
        services.ledger().close_term(signer, school_year, class_name, term)
        return {"school_year": school_year, "class": class_name, "closed": term}

    return Command("close_term", Target.school(school), run)


def open_year_command(services: Services, school: UUID, school_year: str, level: str) -> Command:
    def run(signer: Signer) -> dict[str, Any]:
        year = services.ledger().open_school_year(signer, school_year, level)
        return {"school_year": school_year, "level": level, "id": str(year)}

    return Command("open_school_year", Target.school(school), run)


def open_class_command(
    services: Services, school: UUID, school_year: str, class_name: str, grade: int
) -> Command:
    def run(signer: Signer) -> dict[str, Any]:
        services.ledger().open_class(signer, school_year, class_name, grade)
        return {"school_year": school_year, "class": class_name, "grade": grade}

    return Command("open_class", Target.school(school), run)


def plan_command(
    services: Services,
    school: UUID,
    school_year: str,
    class_name: str,
    subjects: Mapping[str, tuple[int, str]],
) -> Command:
    def run(signer: Signer) -> dict[str, Any]:
        services.ledger().plan_subjects(signer, school_year, class_name, subjects)
        return {"school_year": school_year, "class": class_name, "planned": sorted(subjects)}

    return Command("plan_subjects", Target.school(school), run)


def enrol_command(
    services: Services,
    student_code: str,
    school_year: str,
    grade: int,
    class_name: str,
    identity: Mapping[str, str] | None = None,
    school: UUID | None = None,
) -> Command:
    """Enrol in the signer's own school; ``school``, when given, must be the caller's."""

    def run(signer: Signer) -> dict[str, Any]:
        rid = services.ledger().enrol_student(
            signer, student_code, school_year, grade, class_name, identity
        )
        return {"record": str(rid), "student_code": student_code}

    target = Target.school(school) if school is not None else Target.records()
    return Command("enrol_student", target, run)


# -- writes: with the caller's key ----------------------------------------------------------------


def record_score(
    services: Services,
    who: Caller,
    record_id: UUID,
    subject: str,
    term: int,
    kind: str,
    value: object,
) -> dict[str, Any]:
    """Record one score (ĐĐGtx, ĐĐGgk, ĐĐGck); answers the event's version."""
    return execute(services, who, score_command(services, record_id, subject, term, kind, value))


def record_scores(services: Services, who: Caller, entries: Sequence[Entry]) -> dict[str, Any]:
    """Record many scores in one signed save (a grade-book column); all or nothing."""
    return execute(services, who, scores_command(services, entries))


def assess_comments(services: Services, who: Caller, entries: Sequence[Entry]) -> dict[str, Any]:
    """Record comment assessments (Đạt / Chưa đạt) in one signed save; all or nothing."""
    return execute(services, who, comments_command(services, entries))


def correct(
    services: Services, who: Caller, record_id: UUID, corrects: int, value: object, reason: str
) -> dict[str, Any]:
    """Correct an entry: directly while its term is open (``kind: correction``), else as a
    proposal for the principal to countersign (``kind: proposal``)."""
    return execute(services, who, correct_command(services, record_id, corrects, value, reason))


def approve_correction(
    services: Services, who: Caller, record_id: UUID, proposal: int
) -> dict[str, Any]:
    """The principal countersigns a correction proposal; it takes effect now."""
    return execute(services, who, approve_command(services, record_id, proposal))


def assess_conduct(
    services: Services, who: Caller, record_id: UUID, term: int, level: str
) -> dict[str, Any]:
    """The GVCN's rèn luyện level of a term."""
    return execute(services, who, conduct_command(services, record_id, term, level))


def record_absences(
    services: Services, who: Caller, record_id: UUID, term: int, sessions: int
) -> dict[str, Any]:
    """The GVCN records the buổi absent in a term."""
    return execute(services, who, absences_command(services, record_id, term, sessions))


def record_remark(
    services: Services, who: Caller, record_id: UUID, subject: str, text: str
) -> dict[str, Any]:
    """A subject teacher's remark, or the GVCN's (``subject`` empty); encrypted in the ledger."""
    return execute(services, who, remark_command(services, record_id, subject, text))


def record_year_result(
    services: Services, who: Caller, record_id: UUID, stage: str = YEAR
) -> dict[str, Any]:
    """The GVCN records the year result (both terms closed); answers the result."""
    return execute(services, who, year_result_command(services, record_id, stage))


def close_term(
    services: Services, who: Caller, school: UUID, school_year: str, class_name: str, term: int
) -> dict[str, Any]:
    """The principal closes a term for a class (refused while an entry is missing)."""
    return execute(
        services, who, close_term_command(services, school, school_year, class_name, term)
    )


def open_school_year(
    services: Services, who: Caller, school: UUID, school_year: str, level: str
) -> dict[str, Any]:
    """The principal opens a school year (năm học) for the school."""
    return execute(services, who, open_year_command(services, school, school_year, level))


def open_class(
    services: Services, who: Caller, school: UUID, school_year: str, class_name: str, grade: int
) -> dict[str, Any]:
    """The principal opens a class of a grade in a school year."""
    return execute(
        services, who, open_class_command(services, school, school_year, class_name, grade)
    )


def plan_subjects(
    services: Services,
    who: Caller,
    school: UUID,
    school_year: str,
    class_name: str,
    subjects: Mapping[str, tuple[int, str]],
) -> dict[str, Any]:
    """The principal plans subjects for a class: subject -> (periods per year, score/comment)."""
    return execute(services, who, plan_command(services, school, school_year, class_name, subjects))


def enrol_student(
    services: Services,
    who: Caller,
    student_code: str,
    school_year: str,
    grade: int,
    class_name: str,
    identity: Mapping[str, str] | None = None,
    school: UUID | None = None,
) -> dict[str, Any]:
    """The principal enrols a student in an opened class of their school (``school``, when
    given, must be it: another school's id is a 404); ``identity`` is encrypted."""
    command = enrol_command(
        services, student_code, school_year, grade, class_name, identity, school
    )
    return execute(services, who, command)
