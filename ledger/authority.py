"""Who may cause which event: DESIGN.md invariant 5, as one table of rules.

The same function, :func:`check`, runs twice: when a command arrives (on the
aggregates as they are now) and in ``socai audit`` (on aggregates replayed from
the events alone, in log order, so "at that time" means "at that point of the
log"). A rule that fails raises :class:`~ledger.errors.NotAuthorized`, or
:class:`~ledger.errors.TermClosed` for an entry into a closed term, or
:class:`~ledger.errors.InvalidInput` for an event that names something that
does not exist.

The rules (DESIGN.md §1, §3 invariant 5; DOMAIN.md §3.3, §3.5):

- School years, classes, subject plans, term closes, enrolments, class changes,
  transfers, identity and erasure of student records, commendations: the
  principal (Hiệu trưởng) of the school, or the school's seal.
- Staff files: opening and the HR history (title, salary, training, awards,
  discipline, evaluation, identity) by the principal, the seal or a staff
  officer (cán bộ tổ chức) of the school; certificates, appointments and
  assignments by the principal or the seal only.
- Scores and comment assessments: only the teacher assigned to that class and
  subject in that school year, and only while the term is open.
- A direct correction: only the teacher who recorded the entry, and only while
  its term is open. After close: a correction proposed by that teacher (or the
  subject's current teacher) takes effect only with the principal's approval.
- Conduct, absences, the GVCN remark, summer conduct training and the year
  result: only the homeroom teacher (GVCN) of the student's class that year.
- Issuing a transcript (học bạ số) and marking one superseded: the principal of
  the school of the transcript's last school year, or the school's seal.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from uuid import UUID

from ledger.domain import School, SchoolYear, StaffFile, StudentRecord
from ledger.errors import InvalidInput, NotAuthorized, TermClosed

Actor = School | StaffFile


def is_principal(actor: object, school: UUID) -> bool:
    """The school's seal, or its principal (appointed and still there)."""
    if isinstance(actor, School):
        return actor.id == school
    return isinstance(actor, StaffFile) and actor.school == school and actor.is_principal


def _principal(actor: object, school: UUID, what: str) -> None:
    if not is_principal(actor, school):
        raise NotAuthorized(f"only the principal (Hiệu trưởng) of the school may {what}")


def _hr(actor: object, school: UUID, what: str) -> None:
    if is_principal(actor, school):
        return
    if isinstance(actor, StaffFile) and actor.school == school and actor.is_staff_officer:
        return
    raise NotAuthorized(
        f"only the principal or a staff officer (cán bộ tổ chức) of the school may {what}"
    )


def _teacher(actor: object, record: StudentRecord, subject: str) -> StaffFile:
    if not isinstance(actor, StaffFile) or actor.school != record.school:
        raise NotAuthorized("only staff of the student's school may record assessments")
    if not actor.teaches(record.school_year, record.class_name, subject):
        raise NotAuthorized(
            f"{actor.staff_code} is not assigned to teach {subject} in class "
            f"{record.class_name} ({record.school_year})"
        )
    return actor


def _homeroom(actor: object, record: StudentRecord, school_year: str, what: str) -> None:
    membership = record.years.get(school_year)
    class_name = membership[1] if membership else record.class_name
    if (
        not isinstance(actor, StaffFile)
        or actor.school != record.school
        or not actor.is_homeroom(school_year, class_name)
    ):
        raise NotAuthorized(
            f"only the homeroom teacher (GVCN) of class {class_name} ({school_year}) may {what}"
        )


def _open_term(year: SchoolYear | None, class_name: str, term: int) -> None:
    if year is not None and year.is_closed(class_name, term):
        raise TermClosed(
            f"term {term} of class {class_name} is closed: a change needs a correction "
            "approved by the principal"
        )


def _student(
    name: str, f: Mapping[str, Any], actor: object, record: StudentRecord, year: SchoolYear | None
) -> None:
    if name in ("ScoreRecorded", "CommentAssessed"):
        _teacher(actor, record, f["subject"])
        _open_term(year, record.class_name, f["term"])
    elif name in ("ScoreCorrected", "CommentCorrected"):
        entry = record.entries.get(f["corrects"])
        if entry is None:
            raise InvalidInput(f"version {f['corrects']} of this record is not an assessment")
        if not isinstance(actor, StaffFile) or actor.id != entry.by:
            raise NotAuthorized("only the teacher who recorded an entry may correct it")
        _open_term(year, entry.class_name, entry.term)
    elif name == "CorrectionProposed":
        entry = record.entries.get(f["corrects"])
        if entry is None:
            raise InvalidInput(f"version {f['corrects']} of this record is not an assessment")
        own = isinstance(actor, StaffFile) and actor.id == entry.by
        if not own and not (
            isinstance(actor, StaffFile)
            and actor.teaches(entry.school_year, entry.class_name, entry.subject)
        ):
            raise NotAuthorized("only the entry's teacher may propose its correction")
    elif name == "CorrectionApproved":
        _principal(actor, record.school, "approve a correction")
        proposal = record.proposals.get(f["proposal"])
        if proposal is None or proposal.approved:
            raise InvalidInput(f"version {f['proposal']} is not a pending correction proposal")
    elif name == "SubjectLevelRecorded":
        _teacher(actor, record, f["subject"])
        _open_term(year, record.class_name, f["term"])
    elif name == "QualityAssessed":
        _homeroom(actor, record, record.school_year, "assess qualities and competences")
        _open_term(year, record.class_name, f["term"])
    elif name in ("ConductAssessed", "AbsencesRecorded", "SummerConductReassessed"):
        _homeroom(actor, record, record.school_year, "record conduct and absences")
    elif name == "YearResultRecorded":
        _homeroom(actor, record, f["school_year"], "record the year result")
    elif name == "RemarkRecorded":
        if f["subject"]:
            _teacher(actor, record, f["subject"])
        else:
            _homeroom(actor, record, record.school_year, "write the homeroom remark")
    elif name == "SubjectReassessed":
        _teacher(actor, record, f["subject"])
    elif name == "TransferredIn":
        _principal(actor, f["school"], "receive a transferred student")
    elif name in ("TranscriptIssued", "TranscriptSuperseded"):
        # DOMAIN.md §3.3: the principal confirms and issues the học bạ.
        school = record.school_in(f["school_year"]) if "school_year" in f else record.school
        _principal(actor, school, "issue or supersede a transcript")
    elif name in (
        "IdentityRecorded",
        "ClassJoined",
        "TransferredOut",
        "AwardGranted",
        "PersonalDataShredded",
    ):
        _principal(actor, record.school, "change a student's enrolment or identity")
    else:
        raise NotAuthorized(f"no authority rule for StudentRecord.{name}")


_STAFF_PRINCIPAL_ONLY = frozenset(
    {
        "CertificateRegistered",
        "CertificateRevoked",
        "Appointed",
        "AppointmentEnded",
        "TeachingAssigned",
        "TeachingUnassigned",
        "HomeroomAssigned",
        "HomeroomUnassigned",
        "Transferred",
    }
)
_STAFF_HR = frozenset(
    {
        "IdentityRecorded",
        "TitleAppointed",
        "SalaryStepRaised",
        "TrainingCompleted",
        "AwardGranted",
        "DisciplineImposed",
        "AnnualEvaluationRecorded",
        "PersonalDataShredded",
    }
)


def check(
    name: str,
    fields: Mapping[str, Any],
    actor: object,
    target: object,
    year: SchoolYear | None = None,
) -> None:
    """Raise unless ``actor`` may cause event ``name`` with ``fields`` on ``target``.

    ``name`` is the event class name (``ScoreRecorded``); ``target`` is the aggregate
    before the event (``None`` for a created record); ``year`` is the student's
    current :class:`SchoolYear` for student events (``None`` if not known).
    """
    if isinstance(target, StudentRecord):
        _student(name, fields, actor, target, year)
    elif isinstance(target, StaffFile):
        if name in _STAFF_PRINCIPAL_ONLY:
            _principal(actor, target.school, "change certificates, posts or assignments")
        elif name in _STAFF_HR:
            _hr(actor, target.school, "change a staff file")
        else:
            raise NotAuthorized(f"no authority rule for StaffFile.{name}")
    elif isinstance(target, SchoolYear):
        _principal(actor, target.school, "plan the school year or close a term")
    elif target is None:
        _created(name, fields, actor)
    else:
        raise NotAuthorized(f"no authority rule for {type(target).__name__}.{name}")


def _created(name: str, fields: Mapping[str, Any], actor: object) -> None:
    rules: dict[str, Callable[[], None]] = {
        "Registered": lambda: None,  # a school's genesis, signed by its own seal
        "Opened": lambda: (
            _hr(actor, fields["school"], "open a staff file")
            if "staff_code" in fields
            else _principal(actor, fields["school"], "open a school year")
        ),
        "Enrolled": lambda: _principal(actor, fields["school"], "enrol a student"),
    }
    rule = rules.get(name)
    if rule is None:
        raise NotAuthorized(f"no authority rule for creating a record with {name}")
    rule()
