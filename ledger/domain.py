"""The school domain: schools, school years, staff files and student records.

Events are past-tense facts and a stored contract: their topics
(``ledger.domain:StudentRecord.ScoreRecorded``...) and fields never change
meaning. A schema change bumps ``class_version`` on the event class and adds
``upcast_vN_vN+1`` (eventsourcing's upcasting), and a move keeps the old topic
with ``eventsourcing.utils.register_topic``.

Every event that a person causes carries ``by``: the id of the record (staff
file, or the school for its seal) that owns the signing certificate. The event
store checks that ``by`` is the owner of the certificate that signs the event;
:mod:`ledger.authority` checks that the owner had the authority for it, both
when a command arrives and again in ``socai audit``.

The aggregates hold only what the rules need. Their mutators never refuse:
commands validate before they trigger events, and the audit must be able to
replay whatever was stored (including forged events it then flags).

Personal identity data (names, số định danh, parents, address...) never
appears in clear in an event: ``IdentityRecorded`` and ``RemarkRecorded`` carry
ciphertext under the person's own key (:mod:`ledger.vault`), so shredding the
key erases it while every hash and signature still verifies (DESIGN.md
invariant 8). Records are keyed by the opaque mã học sinh / mã giáo viên
(TT 42/2021 Điều 10).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

#: Namespace for deterministic record ids, so a record is found by its codes.
NAMESPACE = uuid5(NAMESPACE_URL, "https://socai.invalid/records")

#: Title that carries the principal's authority (DOMAIN.md §3.3).
PRINCIPAL = "Hiệu trưởng"
#: Deputy principal (phó hiệu trưởng): an appointment, no authority of its own here.
DEPUTY = "Phó hiệu trưởng"
#: The staff officer who keeps staff files (cán bộ tổ chức, DESIGN.md §1).
STAFF_OFFICER = "Cán bộ tổ chức"
#: Positions a staff member can be appointed to.
POSITIONS = (PRINCIPAL, DEPUTY, STAFF_OFFICER)

#: Regular (thường xuyên), mid-term (giữa kì) and end-term (cuối kì) assessments.
SCORE_KINDS = ("tx", "gk", "ck")

#: How a subject is assessed (TT 22/2021 Điều 5): with scores, or by comment only.
SCORED = "score"
COMMENTED = "comment"

#: School levels (cấp học) and the regulation each is assessed under.
LEVELS = {"TH": "TT27/2020", "THCS": "TT22/2021", "THPT": "TT22/2021"}

#: Discipline forms for viên chức (NĐ 234/2026, DOMAIN.md §4.4 [S]).
DISCIPLINE_FORMS = ("Khiển trách", "Cảnh cáo", "Cách chức", "Buộc thôi việc")


def school_id(school_code: str) -> UUID:
    """The record id of the school with this mã trường."""
    return uuid5(NAMESPACE, f"school/{school_code}")


def staff_id(school_code: str, staff_code: str) -> UUID:
    """The record id of a staff file (mã giáo viên within a school)."""
    return uuid5(NAMESPACE, f"staff/{school_code}/{staff_code}")


def student_id(student_code: str) -> UUID:
    """The record id of a student record (mã học sinh is national, TT 42/2021)."""
    return uuid5(NAMESPACE, f"student/{student_code}")


@lru_cache(maxsize=4096)
def school_year_id(school: UUID, school_year: str) -> UUID:
    """The record id of one school's school year (its classes, plans and term closes).

    Cached: the audit's replay asks it for every event of a student record.
    """
    return uuid5(NAMESPACE, f"year/{school}/{school_year}")


class School(Aggregate):
    """A school, registered by its own organisation seal certificate (the genesis)."""

    @staticmethod
    def create_id(code: str, **_: Any) -> UUID:
        return school_id(code)

    @event("Registered")
    def __init__(
        self, code: str, name: str, province: str, seal_certificate: str, seal_fingerprint: str
    ) -> None:
        self.code = code
        self.name = name
        self.province = province
        self.seal_fingerprint = seal_fingerprint


@dataclass(frozen=True)
class Subject:
    """A subject in a class's plan: periods per year and how it is assessed."""

    periods_per_year: int
    assessed: str


class SchoolYear(Aggregate):
    """One school's school year: its classes, subject plans, rosters and closed terms."""

    @staticmethod
    def create_id(school: UUID, school_year: str, **_: Any) -> UUID:
        return school_year_id(school, school_year)

    @event("Opened")
    def __init__(
        self, school: UUID, school_code: str, school_year: str, level: str, by: UUID
    ) -> None:
        self.school = school
        self.school_code = school_code
        self.school_year = school_year
        self.level = level
        #: class name -> grade
        self.classes: dict[str, int] = {}
        #: class name -> subject -> plan
        self.plans: dict[str, dict[str, Subject]] = {}
        #: class name -> students in it now
        self.rosters: dict[str, set[UUID]] = {}
        #: (class name, term) closed
        self.closed: set[tuple[str, int]] = set()

    @property
    def regulation(self) -> str:
        return LEVELS.get(self.level, "TT22/2021")

    @event("ClassOpened")
    def open_class(self, class_name: str, grade: int, by: UUID) -> None:
        self.classes[class_name] = grade
        self.plans.setdefault(class_name, {})
        self.rosters.setdefault(class_name, set())

    @event("SubjectPlanned")
    def plan_subject(
        self, class_name: str, subject: str, periods_per_year: int, assessed: str, by: UUID
    ) -> None:
        self.plans.setdefault(class_name, {})[subject] = Subject(periods_per_year, assessed)

    @event("StudentJoined")
    def join(self, class_name: str, student: UUID, by: UUID) -> None:
        self.rosters.setdefault(class_name, set()).add(student)

    @event("StudentLeft")
    def leave(self, class_name: str, student: UUID, by: UUID) -> None:
        self.rosters.setdefault(class_name, set()).discard(student)

    @event("TermClosed")
    def close_term(self, class_name: str, term: int, by: UUID) -> None:
        self.closed.add((class_name, term))

    def is_closed(self, class_name: str, term: int) -> bool:
        return (class_name, term) in self.closed


@dataclass(frozen=True)
class Assignment:
    """A teaching assignment (phân công): teacher → class and subject in a school year."""

    school_year: str
    class_name: str
    subject: str


class StaffFile(Aggregate):
    """Hồ sơ cán bộ, giáo viên: opened on recruitment; certificates, posts and the HR history."""

    @staticmethod
    def create_id(school: UUID, school_code: str, staff_code: str, **_: Any) -> UUID:
        return staff_id(school_code, staff_code)

    @event("Opened")
    def __init__(
        self, school: UUID, school_code: str, staff_code: str, title: str, by: UUID
    ) -> None:
        self.school = school
        self.school_code = school_code
        self.staff_code = staff_code
        self.title = title
        self.certificates: dict[str, str] = {}
        self.revoked: dict[str, datetime] = {}
        self.positions: set[str] = {PRINCIPAL} if title == PRINCIPAL else set()
        self.assignments: set[Assignment] = set()
        #: school year -> homeroom class
        self.homerooms: dict[str, str] = {}
        self.active = True
        self.identity: str | None = None
        self.shredded = False
        self.rank: str | None = None
        self.salary_step: int | None = None
        self.disciplines: list[str] = []
        self.evaluations: dict[str, str] = {}

    @event("CertificateRegistered")
    def register_certificate(self, certificate: str, fingerprint: str, by: UUID) -> None:
        self.certificates[fingerprint] = certificate

    @event("CertificateRevoked")
    def revoke_certificate(
        self, fingerprint: str, reason: str, revoked_at: datetime, by: UUID
    ) -> None:
        # What the certificate signed before ``revoked_at`` stays valid;
        # nothing it signs from then on is accepted.
        self.revoked[fingerprint] = revoked_at

    @event("IdentityRecorded")
    def record_identity(self, identity: str, commitment: str, by: UUID) -> None:
        self.identity = identity

    @event("TitleAppointed")
    def appoint_title(self, title: str, rank: str, code: str, decision: str, by: UUID) -> None:
        # Chức danh nghề nghiệp, hạng and mã số (NĐ 93/2026 Điều 3; TT 01–04/2021 codes [U]).
        self.title = title
        self.rank = rank

    @event("SalaryStepRaised")
    def raise_salary_step(
        self, step: int, coefficient: Decimal, effective: str, decision: str, by: UUID
    ) -> None:
        self.salary_step = step

    @event("Appointed")
    def appoint(self, position: str, decision: str, by: UUID) -> None:
        self.positions.add(position)

    @event("AppointmentEnded")
    def end_appointment(self, position: str, decision: str, by: UUID) -> None:
        self.positions.discard(position)

    @event("TeachingAssigned")
    def assign_teaching(self, school_year: str, class_name: str, subject: str, by: UUID) -> None:
        self.assignments.add(Assignment(school_year, class_name, subject))

    @event("TeachingUnassigned")
    def unassign_teaching(self, school_year: str, class_name: str, subject: str, by: UUID) -> None:
        self.assignments.discard(Assignment(school_year, class_name, subject))

    @event("HomeroomAssigned")
    def assign_homeroom(self, school_year: str, class_name: str, by: UUID) -> None:
        self.homerooms[school_year] = class_name

    @event("HomeroomUnassigned")
    def unassign_homeroom(self, school_year: str, class_name: str, by: UUID) -> None:
        if self.homerooms.get(school_year) == class_name:
            del self.homerooms[school_year]

    @event("TrainingCompleted")
    def complete_training(
        self, course: str, institution: str, qualification: str, completed_on: str, by: UUID
    ) -> None:
        pass

    @event("AwardGranted")
    def grant_award(self, award: str, decision: str, school_year: str, by: UUID) -> None:
        pass

    @event("DisciplineImposed")
    def impose_discipline(self, form: str, decision: str, school_year: str, by: UUID) -> None:
        self.disciplines.append(school_year)

    @event("AnnualEvaluationRecorded")
    def record_evaluation(
        self,
        school_year: str,
        general: Decimal,
        performance: Decimal,
        level: str,
        regulation: str,
        by: UUID,
    ) -> None:
        self.evaluations[school_year] = level

    @event("Transferred")
    def transfer(self, to_school_code: str, decision: str, by: UUID) -> None:
        # Điều động / thuyên chuyển (NĐ 93/2026): the person leaves this school;
        # every post and assignment here ends with it.
        self.active = False
        self.positions.clear()
        self.assignments.clear()
        self.homerooms.clear()

    @event("PersonalDataShredded")
    def shred(self, reason: str, by: UUID) -> None:
        self.identity = None
        self.shredded = True

    @property
    def is_principal(self) -> bool:
        return self.active and PRINCIPAL in self.positions

    @property
    def is_staff_officer(self) -> bool:
        return self.active and STAFF_OFFICER in self.positions

    def teaches(self, school_year: str, class_name: str, subject: str) -> bool:
        return self.active and Assignment(school_year, class_name, subject) in self.assignments

    def is_homeroom(self, school_year: str, class_name: str) -> bool:
        return self.active and self.homerooms.get(school_year) == class_name


@dataclass(frozen=True)
class IssuedTranscript:
    """A transcript issued from a student record (``TranscriptIssued``)."""

    transcript: str
    number: int
    school_year: str
    #: The record version the transcript shows (the events up to it are in its proof).
    record_version: int
    #: Hex SHA-256 of the signed PDF.
    sha256: str
    #: Version of the ``TranscriptIssued`` event.
    issued_at: int
    #: SHA-256 of the issue this one replaced, or None for a first issue.
    supersedes: str | None
    #: Version of the ``TranscriptSuperseded`` event, or None while it is current.
    superseded_at: int | None


@dataclass(frozen=True)
class Entry:
    """One recorded assessment: a score or a comment (Đạt / Chưa đạt), as corrected."""

    school_year: str
    class_name: str
    subject: str
    term: int
    kind: str
    #: A score, or ``None`` for a comment assessment.
    score: Decimal | None
    #: A comment assessment's result (True = Đạt), or ``None`` for a score.
    passed: bool | None
    by: UUID
    #: Version of the latest correction applied, if any.
    corrected_by_version: int | None = None


@dataclass(frozen=True)
class Proposal:
    """A correction after term close, waiting for the principal's countersignature."""

    corrects: int
    value: str
    reason: str
    by: UUID
    approved: bool = False


class StudentRecord(Aggregate):
    """Học bạ: a student's record. Nothing in it is ever edited, only corrected."""

    @staticmethod
    def create_id(student_code: str, **_: Any) -> UUID:
        return student_id(student_code)

    @event("Enrolled")
    def __init__(
        self,
        student_code: str,
        school: UUID,
        school_year: str,
        grade: int,
        class_name: str,
        by: UUID,
    ) -> None:
        self.student_code = student_code
        self.school = school
        self.school_year = school_year
        self.grade = grade
        self.class_name = class_name
        #: version -> entry (scores and comment assessments)
        self.entries: dict[int, Entry] = {}
        #: school year -> version -> entry: the same entries by year, so that a check or a
        #: result of one year costs that year's entries, not the whole record's
        self.entries_by_year: dict[str, dict[int, Entry]] = {}
        #: version of the corrected entry -> version of the latest correction
        self.corrections: dict[int, int] = {}
        #: version of a CorrectionProposed -> proposal
        self.proposals: dict[int, Proposal] = {}
        #: (school year, term) -> conduct level label (rèn luyện, by the GVCN)
        self.conduct: dict[tuple[str, int], str] = {}
        #: (school year, term) -> buổi absent
        self.absences: dict[tuple[str, int], int] = {}
        #: school year -> conduct after summer training (TT 22/2021 Điều 13)
        self.summer_conduct: dict[str, str] = {}
        #: (school year, subject) -> re-assessment result (score text or label, Điều 14)
        self.reassessed: dict[tuple[str, str], str] = {}
        #: school year -> (stage, the recorded year result)
        self.results: dict[str, dict[str, Any]] = {}
        #: school year -> [(grade, class name, school)] memberships, in order
        self.years: dict[str, tuple[int, str, UUID]] = {school_year: (grade, class_name, school)}
        #: (school year, subject, term) -> T/H/C level label (primary, TT 27/2020)
        self.subject_levels: dict[tuple[str, str, int], str] = {}
        #: (school year, quality, term) -> Tốt/Đạt/Cần cố gắng (primary, TT 27/2020)
        self.qualities: dict[tuple[str, str, int], str] = {}
        self.identity: str | None = None
        self.shredded = False
        self.transferred_out_to: str | None = None
        #: issued transcripts, oldest first (TranscriptIssued, TranscriptSuperseded)
        self.transcripts: list[IssuedTranscript] = []

    # -- membership ---------------------------------------------------------

    @event("IdentityRecorded")
    def record_identity(self, identity: str, commitment: str, by: UUID) -> None:
        self.identity = identity

    @event("ClassJoined")
    def join_class(self, school_year: str, grade: int, class_name: str, by: UUID) -> None:
        """A new school year's class (or a class change within one)."""
        self.school_year, self.grade, self.class_name = school_year, grade, class_name
        self.years[school_year] = (grade, class_name, self.school)

    @event("TransferredOut")
    def transfer_out(self, to_school_code: str, reason: str, by: UUID) -> None:
        self.transferred_out_to = to_school_code

    @event("TransferredIn")
    def transfer_in(
        self, school: UUID, school_year: str, grade: int, class_name: str, by: UUID
    ) -> None:
        """The receiving school takes the record over; the chain continues (DOMAIN.md §3)."""
        self.school = school
        self.school_year, self.grade, self.class_name = school_year, grade, class_name
        self.years[school_year] = (grade, class_name, school)
        self.transferred_out_to = None

    # -- assessments ----------------------------------------------------------

    @event("ScoreRecorded")
    def record_score(self, subject: str, term: int, kind: str, value: Decimal, by: UUID) -> None:
        # The event's own version is the next one; eventsourcing increments it after this runs.
        self._add_entry(
            Entry(self.school_year, self.class_name, subject, term, kind, value, None, by)
        )

    @event("CommentAssessed")
    def assess_comment(self, subject: str, term: int, kind: str, passed: bool, by: UUID) -> None:
        self._add_entry(
            Entry(self.school_year, self.class_name, subject, term, kind, None, passed, by)
        )

    def _add_entry(self, entry: Entry) -> None:
        # The event's own version is the next one; eventsourcing increments it after this runs.
        self.entries[self.version + 1] = entry
        self.entries_by_year.setdefault(entry.school_year, {})[self.version + 1] = entry

    @event("ScoreCorrected")
    def correct_score(self, corrects: int, value: Decimal, reason: str, by: UUID) -> None:
        self._apply_correction(corrects, str(value), self.version + 1)

    @event("CommentCorrected")
    def correct_comment(self, corrects: int, passed: bool, reason: str, by: UUID) -> None:
        self._apply_correction(corrects, "Đạt" if passed else "Chưa đạt", self.version + 1)

    @event("CorrectionProposed")
    def propose_correction(self, corrects: int, value: str, reason: str, by: UUID) -> None:
        self.proposals[self.version + 1] = Proposal(corrects, value, reason, by)

    @event("CorrectionApproved")
    def approve_correction(self, proposal: int, by: UUID) -> None:
        """The principal's countersignature: the proposed value takes effect now."""
        p = self.proposals.get(proposal)
        if p is None:
            return
        self.proposals[proposal] = replace(p, approved=True)
        self._apply_correction(p.corrects, p.value, self.version + 1)

    def _apply_correction(self, corrects: int, value: str, version: int) -> None:
        old = self.entries.get(corrects)
        if old is None:
            return
        if old.score is not None:
            new = replace(old, score=Decimal(value), corrected_by_version=version)
        else:
            new = replace(old, passed=value == "Đạt", corrected_by_version=version)
        self.entries[corrects] = new
        self.entries_by_year[new.school_year][corrects] = new
        self.corrections[corrects] = version

    @event("SubjectLevelRecorded")
    def record_subject_level(self, subject: str, term: int, level: str, by: UUID) -> None:
        """A primary subject's level at the end of a term (TT 27/2020): T, H or C."""
        self.subject_levels[(self.school_year, subject, term)] = level

    @event("QualityAssessed")
    def assess_quality(self, term: int, quality: str, level: str, by: UUID) -> None:
        """A primary phẩm chất or năng lực at the end of a term (TT 27/2020), by the GVCN."""
        self.qualities[(self.school_year, quality, term)] = level

    # -- homeroom (GVCN) ------------------------------------------------------------

    @event("ConductAssessed")
    def assess_conduct(self, term: int, level: str, by: UUID) -> None:
        self.conduct[(self.school_year, term)] = level

    @event("AbsencesRecorded")
    def record_absences(self, term: int, sessions: int, by: UUID) -> None:
        # Counted in buổi, excused and not (TT 22/2021 Điều 12); reasons stay out of the ledger.
        self.absences[(self.school_year, term)] = sessions

    @event("RemarkRecorded")
    def record_remark(self, subject: str, remark: str, by: UUID) -> None:
        """A teacher's or the GVCN's remark (``subject`` "" for the GVCN), encrypted."""

    @event("SummerConductReassessed")
    def reassess_conduct(self, level: str, by: UUID) -> None:
        self.summer_conduct[self.school_year] = level

    @event("SubjectReassessed")
    def reassess_subject(self, subject: str, value: str, by: UUID) -> None:
        self.reassessed[(self.school_year, subject)] = value

    @event("YearResultRecorded")
    def record_year_result(
        self, school_year: str, stage: str, result: dict[str, Any], by: UUID
    ) -> None:
        self.results[school_year] = {"stage": stage, **result}

    @event("AwardGranted")
    def grant_award(self, award: str, decision: str, by: UUID) -> None:
        """A commendation beyond the Điều 15 titles (a decision, not a rule)."""

    @event("PersonalDataShredded")
    def shred(self, reason: str, by: UUID) -> None:
        self.identity = None
        self.shredded = True

    # -- issued transcripts (học bạ số) ----------------------------------------

    @event("TranscriptIssued")
    def issue_transcript(
        self,
        transcript: str,
        number: int,
        school_year: str,
        record_version: int,
        sha256: str,
        supersedes: str | None,
        by: UUID,
    ) -> None:
        """The principal issued a signed transcript of the record up to ``record_version``.

        ``sha256`` is the hex SHA-256 of the signed PDF; ``number`` counts the issues of
        this record (1, 2, …); ``supersedes`` is the hash of the issue it replaces.
        """
        # The body runs before the aggregate takes the event's version.
        self.transcripts.append(
            IssuedTranscript(
                transcript,
                number,
                school_year,
                record_version,
                sha256,
                self.version + 1,
                supersedes,
                None,
            )
        )

    @event("TranscriptSuperseded")
    def supersede_transcript(self, sha256: str, reason: str, by: UUID) -> None:
        """An issued transcript no longer shows the record (a correction came after it)."""
        for i, issued in enumerate(self.transcripts):
            if issued.sha256 == sha256:
                self.transcripts[i] = replace(issued, superseded_at=self.version + 1)

    # -- queries --------------------------------------------------------------

    @property
    def current_transcript(self) -> IssuedTranscript | None:
        """The latest issued transcript, unless it was superseded."""
        if self.transcripts and self.transcripts[-1].superseded_at is None:
            return self.transcripts[-1]
        return None

    @property
    def transcript_up_to_date(self) -> bool:
        """True when the current transcript shows the record as it is (nothing came after)."""
        current = self.current_transcript
        return current is not None and current.issued_at == self.version

    def school_in(self, school_year: str) -> UUID:
        """The school the student was in during ``school_year`` (the current one if unknown)."""
        membership = self.years.get(school_year)
        return membership[2] if membership else self.school

    def entries_of(self, school_year: str) -> Mapping[int, Entry]:
        """The entries of ``school_year`` by version (read-only: the record's own index)."""
        return self.entries_by_year.get(school_year, {})

    # Compatibility with the first slice: version -> (subject, term, kind, value, by).
    @property
    def scores(self) -> dict[int, tuple[str, int, str, Decimal, UUID]]:
        return {
            v: (e.subject, e.term, e.kind, e.score, e.by)
            for v, e in self.entries.items()
            if e.score is not None
        }
