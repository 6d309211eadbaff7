"""The school's commands: school years, staff files, assignments and the học bạ.

Every command takes the acting person's :class:`~signing.keys.Signer` first. It
validates its input, loads the aggregates it touches, asks
:func:`ledger.authority.check` whether the certificate's owner may cause the
event, and only then triggers events and saves them in one signed batch. A
refused command writes nothing.

:class:`SchoolCommands` is mixed into :class:`ledger.application.Ledger`; it
relies on the ledger's ``load``, ``save``, ``exists``, ``actor`` and ``vault``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from contextlib import AbstractContextManager
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from ledger import assessment as rules
from ledger import authority
from ledger.catalog import PRIMARY_QUALITIES
from ledger.domain import (
    COMMENTED,
    DISCIPLINE_FORMS,
    LEVELS,
    POSITIONS,
    SCORE_KINDS,
    SCORED,
    IssuedTranscript,
    School,
    SchoolYear,
    StaffFile,
    StudentRecord,
    school_year_id,
)
from ledger.errors import (
    AlreadyExists,
    ConcurrencyConflict,
    Incomplete,
    InvalidInput,
    NotAuthorized,
    RecordNotFound,
    TermClosed,
)
from ledger.results import AFTER_SUMMER, YEAR, missing_for_term, year_result

if TYPE_CHECKING:
    from ledger.store import RegisteredCertificate
    from ledger.vault import Vault
    from signing.keys import Signer

T = TypeVar("T")
P = ParamSpec("P")
R = TypeVar("R")
C = TypeVar("C", bound="SchoolCommands")

#: Longest free text kept in an event (remarks, reasons, decisions).
MAX_TEXT = 2000


def command(method: Callable[Concatenate[C, P], R]) -> Callable[Concatenate[C, P], R]:
    """Run a command inside :meth:`ledger.application.Ledger.synced`: the aggregate cache is
    brought up to date with the store once, at the start, and trusted within."""

    def run(self: C, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with self.synced():
            return method(self, *args, **kwargs)

    functools.update_wrapper(run, method)
    return run


class SchoolCommands:
    """Commands of the school domain (mixed into the ledger application)."""

    if TYPE_CHECKING:

        def load(self, record: UUID, cls: type[T]) -> T: ...
        def read(self, record: UUID, cls: type[T]) -> T: ...
        def synced(self) -> AbstractContextManager[None]: ...
        def save(self, *objs: Any, **kwargs: Any) -> Any: ...
        def exists(self, record: UUID) -> bool: ...
        def actor(self, signer: Signer) -> RegisteredCertificate: ...
        @property
        def vault(self) -> Vault: ...

    # -- helpers ---------------------------------------------------------------

    def _owner(self, signer: Signer) -> tuple[UUID, School | StaffFile]:
        entry = self.actor(signer)
        try:
            owner: object = self.read(entry.owner, Aggregate)
        except RecordNotFound:
            raise NotAuthorized("the certificate's owner has no record") from None
        if not isinstance(owner, (School, StaffFile)):
            raise NotAuthorized("the certificate's owner is neither a school nor a staff file")
        return entry.owner, owner

    def _authorise(
        self,
        signer: Signer,
        name: str,
        fields: Mapping[str, Any],
        target: object,
        year: SchoolYear | None = None,
    ) -> UUID:
        by, owner = self._owner(signer)
        authority.check(name, fields, owner, target, year)
        return by

    # A school year is read by nearly every command (plans, closed terms) and holds one
    # event per student who joined it: commands that only check it share the cached
    # snapshot (``read``); those that change it ask for their own copy (``change=True``).

    def _year(self, school: UUID, school_year: str, *, change: bool = False) -> SchoolYear:
        get = self.load if change else self.read
        try:
            return get(school_year_id(school, school_year), SchoolYear)
        except RecordNotFound:
            raise InvalidInput(f"school year {school_year} is not opened in this school") from None

    def _year_of(self, record: StudentRecord, *, change: bool = False) -> SchoolYear | None:
        """The record's current school year, if it is opened."""
        return self._year_for(record, record.school_year, change=change)

    def _year_for(
        self, record: StudentRecord, school_year: str, *, change: bool = False
    ) -> SchoolYear | None:
        """The school year ``school_year`` of the school the student was in then."""
        get = self.load if change else self.read
        try:
            return get(school_year_id(record.school_in(school_year), school_year), SchoolYear)
        except RecordNotFound:
            return None

    def _school_of(self, signer: Signer) -> UUID:
        _, owner = self._owner(signer)
        return owner.id if isinstance(owner, School) else owner.school

    # -- school years ----------------------------------------------------------

    @command
    def open_school_year(self, actor: Signer, school_year: str, level: str = "THCS") -> UUID:
        """Open a school year (năm học ``2025-2026``) for the actor's school."""
        _year_text(school_year)
        if level not in LEVELS:
            raise InvalidInput(f"level must be one of {', '.join(LEVELS)}")
        school = self._school_of(actor)
        code = self.read(school, School).code
        fields = {"school": school, "school_code": code, "school_year": school_year}
        by = self._authorise(actor, "Opened", fields, None)
        year = SchoolYear(
            school=school, school_code=code, school_year=school_year, level=level, by=by
        )
        if self.exists(year.id):
            raise AlreadyExists(f"school year {school_year} is already opened")
        self.save(year, signer=actor)
        return year.id

    @command
    def open_class(self, actor: Signer, school_year: str, class_name: str, grade: int) -> None:
        """Open a class of ``grade`` in the school year."""
        require_text(class_name=class_name)
        year = self._year(self._school_of(actor), school_year, change=True)
        lo, hi = {"TH": (1, 5), "THCS": (6, 9), "THPT": (10, 12)}[year.level]
        if isinstance(grade, bool) or not isinstance(grade, int) or not lo <= grade <= hi:
            raise InvalidInput(f"grade must be {lo}–{hi} at {year.level}, not {grade!r}")
        # Authority first: who may not open classes learns nothing about which exist.
        by = self._authorise(actor, "ClassOpened", {}, year)
        if class_name in year.classes:
            raise AlreadyExists(f"class {class_name} is already opened in {school_year}")
        year.open_class(class_name=class_name, grade=grade, by=by)
        self.save(year, signer=actor)

    @command
    def plan_subjects(
        self,
        actor: Signer,
        school_year: str,
        class_name: str,
        subjects: Mapping[str, tuple[int, str]],
    ) -> None:
        """Set the class's subject plan: subject -> (periods per year, SCORED or COMMENTED)."""
        year = self._year(self._school_of(actor), school_year, change=True)
        if class_name not in year.classes:
            raise InvalidInput(f"class {class_name} is not opened in {school_year}")
        if not subjects:
            raise InvalidInput("a plan needs at least one subject")
        by = self._authorise(actor, "SubjectPlanned", {}, year)
        for subject, (periods, assessed) in subjects.items():
            require_text(subject=subject)
            if isinstance(periods, bool) or not isinstance(periods, int) or not 1 <= periods <= 400:
                raise InvalidInput(f"periods per year of {subject} must be 1–400")
            if assessed not in (SCORED, COMMENTED):
                raise InvalidInput(f"{subject} must be assessed {SCORED!r} or {COMMENTED!r}")
            if subject in year.plans.get(class_name, {}):
                raise AlreadyExists(f"{subject} is already planned for {class_name}")
            year.plan_subject(
                class_name=class_name,
                subject=subject,
                periods_per_year=periods,
                assessed=assessed,
                by=by,
            )
        self.save(year, signer=actor)

    @command
    def close_term(self, actor: Signer, school_year: str, class_name: str, term: int) -> None:
        """Close a term for a class: refused while any student misses a required entry."""
        _term(term)
        year = self._year(self._school_of(actor), school_year, change=True)
        if class_name not in year.classes:
            raise InvalidInput(f"class {class_name} is not opened in {school_year}")
        if year.is_closed(class_name, term):
            raise AlreadyExists(f"term {term} of {class_name} is already closed")
        by = self._authorise(actor, "TermClosed", {}, year)
        missing = []
        for student in sorted(year.rosters.get(class_name, set())):
            record = self.read(student, StudentRecord)
            gaps = missing_for_term(record, year, class_name, term)
            missing += [f"{record.student_code}: {g}" for g in gaps]
        if missing:
            shown = "; ".join(missing[:20]) + (" …" if len(missing) > 20 else "")
            raise Incomplete(f"cannot close term {term} of {class_name}: {shown}")
        year.close_term(class_name=class_name, term=term, by=by)
        self.save(year, signer=actor)

    # -- staff files -------------------------------------------------------------

    def _staff(
        self, actor: Signer, staff: UUID, name: str, fields: Mapping[str, Any]
    ) -> tuple[StaffFile, UUID]:
        staff_file = self.load(staff, StaffFile)
        by = self._authorise(actor, name, fields, staff_file)
        return staff_file, by

    @command
    def appoint(self, actor: Signer, staff: UUID, position: str, decision: str) -> None:
        """Appoint a staff member (Hiệu trưởng, Phó hiệu trưởng, Cán bộ tổ chức)."""
        if position not in POSITIONS:
            raise InvalidInput(f"position must be one of {', '.join(POSITIONS)}")
        require_text(decision=decision)
        staff_file, by = self._staff(actor, staff, "Appointed", {})
        if position in staff_file.positions:
            raise AlreadyExists(f"{staff_file.staff_code} already holds {position}")
        staff_file.appoint(position=position, decision=decision, by=by)
        self.save(staff_file, signer=actor)

    @command
    def end_appointment(self, actor: Signer, staff: UUID, position: str, decision: str) -> None:
        require_text(decision=decision)
        staff_file, by = self._staff(actor, staff, "AppointmentEnded", {})
        if position not in staff_file.positions:
            raise InvalidInput(f"{staff_file.staff_code} does not hold {position}")
        staff_file.end_appointment(position=position, decision=decision, by=by)
        self.save(staff_file, signer=actor)

    @command
    def assign_teaching(
        self, actor: Signer, staff: UUID, school_year: str, class_name: str, subject: str
    ) -> None:
        """Assign a teacher to a class and subject (phân công giảng dạy) for a school year."""
        self.assign_teachings(actor, staff, school_year, [(class_name, subject)])

    @command
    def assign_teachings(
        self,
        actor: Signer,
        staff: UUID,
        school_year: str,
        assignments: Sequence[tuple[str, str]],
    ) -> None:
        """Assign a teacher to several (class, subject) pairs in one signed save."""
        if not assignments:
            raise InvalidInput("nothing to assign")
        staff_file, by = self._staff(actor, staff, "TeachingAssigned", {})
        if not staff_file.active:
            raise InvalidInput(f"{staff_file.staff_code} no longer works at this school")
        year = self._year(staff_file.school, school_year)
        for class_name, subject in assignments:
            if subject not in year.plans.get(class_name, {}):
                raise InvalidInput(
                    f"{subject} is not in the plan of class {class_name} ({school_year})"
                )
            if staff_file.teaches(school_year, class_name, subject):
                raise AlreadyExists(
                    f"{staff_file.staff_code} already teaches {subject} in {class_name}"
                )
            staff_file.assign_teaching(
                school_year=school_year, class_name=class_name, subject=subject, by=by
            )
        self.save(staff_file, signer=actor)

    @command
    def unassign_teaching(
        self, actor: Signer, staff: UUID, school_year: str, class_name: str, subject: str
    ) -> None:
        staff_file, by = self._staff(actor, staff, "TeachingUnassigned", {})
        if not staff_file.teaches(school_year, class_name, subject):
            raise InvalidInput(f"{staff_file.staff_code} does not teach {subject} in {class_name}")
        staff_file.unassign_teaching(
            school_year=school_year, class_name=class_name, subject=subject, by=by
        )
        self.save(staff_file, signer=actor)

    @command
    def assign_homeroom(
        self, actor: Signer, staff: UUID, school_year: str, class_name: str
    ) -> None:
        """Make a teacher the homeroom teacher (GVCN) of a class for a school year."""
        staff_file, by = self._staff(actor, staff, "HomeroomAssigned", {})
        year = self._year(staff_file.school, school_year)
        if class_name not in year.classes:
            raise InvalidInput(f"class {class_name} is not opened in {school_year}")
        if not staff_file.active:
            raise InvalidInput(f"{staff_file.staff_code} no longer works at this school")
        staff_file.assign_homeroom(school_year=school_year, class_name=class_name, by=by)
        self.save(staff_file, signer=actor)

    @command
    def unassign_homeroom(
        self, actor: Signer, staff: UUID, school_year: str, class_name: str
    ) -> None:
        staff_file, by = self._staff(actor, staff, "HomeroomUnassigned", {})
        if not staff_file.is_homeroom(school_year, class_name):
            raise InvalidInput(f"{staff_file.staff_code} is not the GVCN of {class_name}")
        staff_file.unassign_homeroom(school_year=school_year, class_name=class_name, by=by)
        self.save(staff_file, signer=actor)

    @command
    def record_staff_identity(
        self, actor: Signer, staff: UUID, identity: Mapping[str, str]
    ) -> None:
        """Record a staff member's identity (sơ yếu lý lịch fields), encrypted for them."""
        staff_file, by = self._staff(actor, staff, "IdentityRecorded", {})
        sealed = self.vault.seal(staff, identity)
        staff_file.record_identity(identity=sealed.ciphertext, commitment=sealed.commitment, by=by)
        self.save(staff_file, signer=actor)

    @command
    def appoint_title(
        self, actor: Signer, staff: UUID, title: str, rank: str, code: str, decision: str
    ) -> None:
        """Chức danh nghề nghiệp, hạng and mã số (NĐ 93/2026; codes are [U] data)."""
        require_text(title=title, rank=rank, code=code, decision=decision)
        staff_file, by = self._staff(actor, staff, "TitleAppointed", {})
        staff_file.appoint_title(title=title, rank=rank, code=code, decision=decision, by=by)
        self.save(staff_file, signer=actor)

    @command
    def raise_salary_step(
        self,
        actor: Signer,
        staff: UUID,
        step: int,
        coefficient: object,
        effective: str,
        decision: str,
    ) -> None:
        """Bậc lương, hệ số lương and ngày hưởng (diễn biến lương)."""
        require_text(effective=effective, decision=decision)
        if isinstance(step, bool) or not isinstance(step, int) or not 1 <= step <= 20:
            raise InvalidInput("salary step must be 1–20")
        coef = _decimal(coefficient, "coefficient", Decimal("0.01"), Decimal("20"))
        staff_file, by = self._staff(actor, staff, "SalaryStepRaised", {})
        staff_file.raise_salary_step(
            step=step, coefficient=coef, effective=effective, decision=decision, by=by
        )
        self.save(staff_file, signer=actor)

    @command
    def record_training(
        self,
        actor: Signer,
        staff: UUID,
        course: str,
        institution: str,
        qualification: str,
        completed_on: str,
    ) -> None:
        require_text(course=course, institution=institution, qualification=qualification)
        require_text(completed_on=completed_on)
        staff_file, by = self._staff(actor, staff, "TrainingCompleted", {})
        staff_file.complete_training(
            course=course,
            institution=institution,
            qualification=qualification,
            completed_on=completed_on,
            by=by,
        )
        self.save(staff_file, signer=actor)

    @command
    def grant_staff_award(
        self, actor: Signer, staff: UUID, award: str, decision: str, school_year: str
    ) -> None:
        require_text(award=award, decision=decision)
        _year_text(school_year)
        staff_file, by = self._staff(actor, staff, "AwardGranted", {})
        staff_file.grant_award(award=award, decision=decision, school_year=school_year, by=by)
        self.save(staff_file, signer=actor)

    @command
    def impose_discipline(
        self, actor: Signer, staff: UUID, form: str, decision: str, school_year: str
    ) -> None:
        """Kỷ luật (NĐ 234/2026 [S]): recorded in the file and weighed in the evaluation."""
        if form not in DISCIPLINE_FORMS:
            raise InvalidInput(f"form must be one of {', '.join(DISCIPLINE_FORMS)}")
        require_text(decision=decision)
        _year_text(school_year)
        staff_file, by = self._staff(actor, staff, "DisciplineImposed", {})
        staff_file.impose_discipline(form=form, decision=decision, school_year=school_year, by=by)
        self.save(staff_file, signer=actor)

    @command
    def record_evaluation(
        self, actor: Signer, staff: UUID, school_year: str, general: object, performance: object
    ) -> str:
        """Annual evaluation (NĐ 233/2026 [S]); returns the level recorded."""
        _year_text(school_year)
        staff_file, by = self._staff(actor, staff, "AnnualEvaluationRecorded", {})
        g = _decimal(general, "general points", Decimal(0), Decimal(rules.EVALUATION_MAX_GENERAL))
        p = _decimal(
            performance, "performance points", Decimal(0), Decimal(rules.EVALUATION_MAX_PERFORMANCE)
        )
        level = rules.evaluation_level(g, p, disciplined=school_year in staff_file.disciplines)
        if school_year in staff_file.evaluations:
            raise AlreadyExists(f"{staff_file.staff_code} is already evaluated for {school_year}")
        staff_file.record_evaluation(
            school_year=school_year,
            general=g,
            performance=p,
            level=level.value,
            regulation=rules.REGULATION_ND233,
            by=by,
        )
        self.save(staff_file, signer=actor)
        return level.value

    @command
    def transfer_staff(
        self, actor: Signer, staff: UUID, to_school_code: str, decision: str
    ) -> None:
        """Điều động / thuyên chuyển: the person leaves; their posts and assignments end."""
        require_text(to_school_code=to_school_code, decision=decision)
        staff_file, by = self._staff(actor, staff, "Transferred", {})
        if not staff_file.active:
            raise InvalidInput(f"{staff_file.staff_code} already left this school")
        staff_file.transfer(to_school_code=to_school_code, decision=decision, by=by)
        self.save(staff_file, signer=actor)

    # -- enrolment and transfer ------------------------------------------------------

    @command
    def enrol_student(
        self,
        actor: Signer,
        student_code: str,
        school_year: str,
        grade: int,
        class_name: str,
        identity: Mapping[str, str] | None = None,
    ) -> UUID:
        """Enrol a student (mã học sinh) in an opened class; ``identity`` is encrypted."""
        require_text(student_code=student_code, school_year=school_year, class_name=class_name)
        if isinstance(grade, bool) or not isinstance(grade, int) or not 1 <= grade <= 12:
            raise InvalidInput(f"grade must be 1–12, not {grade!r}")
        school = self._school_of(actor)
        year = self._year(school, school_year, change=True)
        if year.classes.get(class_name) != grade:
            raise InvalidInput(
                f"class {class_name} of grade {grade} is not opened in {school_year}"
            )
        fields = {"school": school}
        by = self._authorise(actor, "Enrolled", fields, None)
        record = StudentRecord(
            student_code=student_code,
            school=school,
            school_year=school_year,
            grade=grade,
            class_name=class_name,
            by=by,
        )
        if self.exists(record.id):
            raise AlreadyExists(f"student {student_code} is already enrolled")
        if identity is not None:
            sealed = self.vault.seal(record.id, identity)
            record.record_identity(identity=sealed.ciphertext, commitment=sealed.commitment, by=by)
        year.join(class_name=class_name, student=record.id, by=by)
        self.save(record, year, signer=actor)
        return record.id

    @command
    def join_class(
        self, actor: Signer, student: UUID, school_year: str, grade: int, class_name: str
    ) -> None:
        """Move a student into a class of a (new) school year of the same school."""
        record = self.load(student, StudentRecord)
        new_year = self._year(record.school, school_year, change=True)
        if new_year.classes.get(class_name) != grade:
            raise InvalidInput(
                f"class {class_name} of grade {grade} is not opened in {school_year}"
            )
        by = self._authorise(actor, "ClassJoined", {}, record)
        if record.transferred_out_to is not None:
            raise InvalidInput("the student has transferred out of this school")
        changed: list[Any] = [record, new_year]
        old_year = self._year_of(record, change=True)
        if old_year is not None and student in old_year.rosters.get(record.class_name, set()):
            if old_year.id == new_year.id:
                new_year.leave(class_name=record.class_name, student=student, by=by)
            else:
                old_year.leave(class_name=record.class_name, student=student, by=by)
                changed.append(old_year)
        record.join_class(school_year=school_year, grade=grade, class_name=class_name, by=by)
        new_year.join(class_name=class_name, student=student, by=by)
        self.save(*changed, signer=actor)

    @command
    def transfer_out(self, actor: Signer, student: UUID, to_school_code: str, reason: str) -> None:
        """The sending school's principal releases the record (chuyển trường)."""
        require_text(to_school_code=to_school_code, reason=reason)
        record = self.load(student, StudentRecord)
        by = self._authorise(actor, "TransferredOut", {}, record)
        if record.transferred_out_to is not None:
            raise AlreadyExists("the student has already transferred out")
        changed: list[Any] = [record]
        year = self._year_of(record, change=True)
        if year is not None and student in year.rosters.get(record.class_name, set()):
            year.leave(class_name=record.class_name, student=student, by=by)
            changed.append(year)
        record.transfer_out(to_school_code=to_school_code, reason=reason, by=by)
        self.save(*changed, signer=actor)

    @command
    def transfer_in(
        self, actor: Signer, student: UUID, school_year: str, grade: int, class_name: str
    ) -> None:
        """The receiving school takes the record over; its history comes with it."""
        record = self.load(student, StudentRecord)
        school = self._school_of(actor)
        year = self._year(school, school_year, change=True)
        if year.classes.get(class_name) != grade:
            raise InvalidInput(
                f"class {class_name} of grade {grade} is not opened in {school_year}"
            )
        by = self._authorise(actor, "TransferredIn", {"school": school}, record)
        if record.school == school:
            raise AlreadyExists("the student is already in this school")
        code = self.read(record.school, School).code
        if record.transferred_out_to != self.read(school, School).code:
            raise InvalidInput(f"school {code} has not released the student to this school")
        record.transfer_in(
            school=school, school_year=school_year, grade=grade, class_name=class_name, by=by
        )
        year.join(class_name=class_name, student=student, by=by)
        self.save(record, year, signer=actor)

    # -- assessments -------------------------------------------------------------------

    def _assessment(
        self,
        record: StudentRecord,
        year: SchoolYear | None,
        subject: str,
        term: int,
        kind: str,
        assessed: str,
    ) -> None:
        """Plan, form and per-term count checks (subject and term are checked by the caller)."""
        if kind not in SCORE_KINDS:
            raise InvalidInput(f"kind must be one of {', '.join(SCORE_KINDS)}, not {kind!r}")
        if year is None:
            raise InvalidInput(f"school year {record.school_year} is not opened")
        plan = year.plans.get(record.class_name, {}).get(subject)
        if plan is None:
            raise InvalidInput(f"{subject} is not in the plan of class {record.class_name}")
        if plan.assessed != assessed:
            how = "by comment (Đạt/Chưa đạt)" if plan.assessed == COMMENTED else "with scores"
            raise InvalidInput(f"{subject} is assessed {how} (TT 22/2021 Điều 5)")
        if record.transferred_out_to is not None:
            raise InvalidInput("the student has transferred out of this school")
        have = [
            e
            for e in record.entries_of(record.school_year).values()
            if e.subject == subject and e.term == term and e.kind == kind
        ]
        if year.level == "TH":
            # TT 27/2020: regular assessment is by comment (not recorded as entries); the
            # periodic tests are mid-term (grades 4–5, Tiếng Việt and Toán) and end of term.
            if kind == "tx" or assessed == COMMENTED:
                raise InvalidInput("primary records periodic tests (gk, ck) and levels only")
            need = 1
        elif kind == "tx":
            need = (
                rules.comment_regular_count()
                if assessed == COMMENTED
                else rules.regular_score_count(plan.periods_per_year)
            )
        else:
            need = 1
        if len(have) >= need:
            # TT 22/2021 Điều 6, 7: the number recorded per term is fixed; change one by correction.
            raise InvalidInput(
                f"{subject} HK{term} already has {len(have)} {kind} (of {need}): correct one"
            )

    @command
    def record_score(
        self, actor: Signer, student: UUID, subject: str, term: int, kind: str, value: object
    ) -> int:
        """Record a score (ĐĐGtx, ĐĐGgk or ĐĐGck); return the event's version."""
        saved = self._assess(actor, [(student, subject, term, kind, value)], SCORED)
        return int(saved[student].version)

    @command
    def record_scores(
        self, actor: Signer, entries: Sequence[tuple[UUID, str, int, str, object]]
    ) -> int:
        """Record many scores in one signed save, as a gradebook column is saved.

        Each entry is ``(student, subject, term, kind, value)``. All entries are
        checked before anything is written. Returns the number recorded.
        """
        self._assess(actor, entries, SCORED)
        return len(entries)

    @command
    def assess_comments(
        self, actor: Signer, entries: Sequence[tuple[UUID, str, int, str, object]]
    ) -> int:
        """Record comment assessments (``True``/"Đạt" or ``False``/"Chưa đạt") in one save."""
        self._assess(actor, entries, COMMENTED)
        return len(entries)

    def _assess(
        self, actor: Signer, entries: Sequence[tuple[UUID, str, int, str, object]], assessed: str
    ) -> dict[UUID, StudentRecord]:
        if not entries:
            raise InvalidInput("nothing to record")
        by, owner = self._owner(actor)
        records: dict[UUID, StudentRecord] = {}
        years: dict[UUID, SchoolYear | None] = {}
        for student, subject, term, kind, value in entries:
            record = records.get(student) or self.load(student, StudentRecord)
            records[student] = record
            key = school_year_id(record.school, record.school_year)
            if key not in years:
                years[key] = self._year_of(record)
            year = years[key]
            require_text(subject=subject)
            _term(term)
            name = "ScoreRecorded" if assessed == SCORED else "CommentAssessed"
            authority.check(name, {"subject": subject, "term": term}, owner, record, year)
            self._assessment(record, year, subject, term, kind, assessed)
            if assessed == SCORED:
                primary = year is not None and year.level == "TH"
                score = rules.parse_score(value, integer_only=primary)
                record.record_score(subject=subject, term=term, kind=kind, value=score, by=by)
            else:
                passed = _passed(value)
                record.assess_comment(subject=subject, term=term, kind=kind, passed=passed, by=by)
        self.save(*records.values(), signer=actor)
        return records

    @command
    def correct_score(
        self, actor: Signer, student: UUID, corrects: int, value: object, reason: str
    ) -> int:
        """Correct an entry of an open term (the teacher who recorded it); return the version.

        After the term is closed this raises :class:`TermClosed`: use
        :meth:`propose_correction` and the principal's :meth:`approve_correction`.
        """
        require_text(reason=reason)
        record = self.load(student, StudentRecord)
        entry = record.entries.get(corrects)
        if entry is None:
            raise InvalidInput(f"version {corrects} of this record is not a recorded assessment")
        fields = {"corrects": corrects}
        year = self._year_for(record, entry.school_year)
        if entry.score is not None:
            primary = year is not None and year.level == "TH"
            score = rules.parse_score(value, integer_only=primary)
            by = self._authorise(actor, "ScoreCorrected", fields, record, year)
            record.correct_score(corrects=corrects, value=score, reason=reason, by=by)
        else:
            passed = _passed(value)
            by = self._authorise(actor, "CommentCorrected", fields, record, year)
            record.correct_comment(corrects=corrects, passed=passed, reason=reason, by=by)
        self.save(record, signer=actor)
        return int(record.version)

    @command
    def propose_correction(
        self, actor: Signer, student: UUID, corrects: int, value: object, reason: str
    ) -> int:
        """Propose a correction of a closed term's entry; returns the proposal's version."""
        require_text(reason=reason)
        record = self.load(student, StudentRecord)
        entry = record.entries.get(corrects)
        if entry is None:
            raise InvalidInput(f"version {corrects} of this record is not a recorded assessment")
        year = self._year_for(record, entry.school_year)
        if entry.score is not None:
            primary = year is not None and year.level == "TH"
            text = str(rules.parse_score(value, integer_only=primary))
        else:
            text = "Đạt" if _passed(value) else "Chưa đạt"
        by = self._authorise(actor, "CorrectionProposed", {"corrects": corrects}, record, year)
        record.propose_correction(corrects=corrects, value=text, reason=reason, by=by)
        self.save(record, signer=actor)
        return int(record.version)

    @command
    def approve_correction(self, actor: Signer, student: UUID, proposal: int) -> int:
        """The principal countersigns a proposed correction; it takes effect now."""
        record = self.load(student, StudentRecord)
        by = self._authorise(actor, "CorrectionApproved", {"proposal": proposal}, record)
        record.approve_correction(proposal=proposal, by=by)
        self.save(record, signer=actor)
        return int(record.version)

    # -- primary (TT 27/2020) ------------------------------------------------------------------

    @command
    def record_subject_levels(
        self, actor: Signer, entries: Sequence[tuple[UUID, str, int, str]]
    ) -> int:
        """Primary subject levels (student, subject, term, "Hoàn thành tốt"/…/"T"/"H"/"C")."""
        if not entries:
            raise InvalidInput("nothing to record")
        by, owner = self._owner(actor)
        records: dict[UUID, StudentRecord] = {}
        for student, subject, term, level in entries:
            require_text(subject=subject)
            _term(term)
            record = records.get(student) or self.load(student, StudentRecord)
            records[student] = record
            year = self._year_of(record)
            if year is None or year.level != "TH":
                raise InvalidInput("subject levels T/H/C are for primary school years (TT 27/2020)")
            if subject not in year.plans.get(record.class_name, {}):
                raise InvalidInput(f"{subject} is not in the plan of class {record.class_name}")
            fields = {"subject": subject, "term": term}
            authority.check("SubjectLevelRecorded", fields, owner, record, year)
            label = _primary_level(level)
            record.record_subject_level(subject=subject, term=term, level=label, by=by)
        self.save(*records.values(), signer=actor)
        return len(entries)

    @command
    def assess_qualities(
        self, actor: Signer, student: UUID, term: int, levels: Mapping[str, str]
    ) -> None:
        """Primary phẩm chất and năng lực of a term (Tốt / Đạt / Cần cố gắng), by the GVCN."""
        _term(term)
        record = self.load(student, StudentRecord)
        year = self._year_of(record)
        if year is None or year.level != "TH":
            raise InvalidInput("qualities are assessed in primary school years (TT 27/2020)")
        by = self._authorise(actor, "QualityAssessed", {"term": term}, record, year)
        if not levels:
            raise InvalidInput("nothing to record")
        for quality, level in levels.items():
            if quality not in PRIMARY_QUALITIES:
                raise InvalidInput(f"{quality!r} is not a phẩm chất or năng lực chung")
            try:
                label = rules.QualityLevel(level).value
            except ValueError:
                raise InvalidInput(f"{quality}: Tốt, Đạt or Cần cố gắng, not {level!r}") from None
            record.assess_quality(term=term, quality=quality, level=label, by=by)
        self.save(record, signer=actor)

    # -- homeroom (GVCN) ---------------------------------------------------------------------

    @command
    def assess_conduct(self, actor: Signer, student: UUID, term: int, level: str) -> None:
        """Rèn luyện of a term (TT 22/2021 Điều 8), by the GVCN."""
        _term(term)
        lvl = _level(level)
        record = self.load(student, StudentRecord)
        year = self._year_of(record)
        by = self._authorise(actor, "ConductAssessed", {}, record, year)
        if year is not None and year.is_closed(record.class_name, term):
            raise TermClosed(f"term {term} of class {record.class_name} is closed")
        record.assess_conduct(term=term, level=lvl, by=by)
        self.save(record, signer=actor)

    @command
    def record_absences(self, actor: Signer, student: UUID, term: int, sessions: int) -> None:
        """Buổi absent in a term, excused or not (TT 22/2021 Điều 12); no reasons are kept."""
        _term(term)
        if isinstance(sessions, bool) or not isinstance(sessions, int) or not 0 <= sessions <= 200:
            raise InvalidInput("absences must be a whole number of buổi, 0–200")
        record = self.load(student, StudentRecord)
        year = self._year_of(record)
        by = self._authorise(actor, "AbsencesRecorded", {}, record, year)
        record.record_absences(term=term, sessions=sessions, by=by)
        self.save(record, signer=actor)

    @command
    def record_remark(self, actor: Signer, student: UUID, subject: str, text: str) -> None:
        """A subject teacher's remark (``subject``) or the GVCN's (``subject=""``), encrypted."""
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT:
            raise InvalidInput(f"a remark must be non-empty text of at most {MAX_TEXT} characters")
        if not isinstance(subject, str) or len(subject) > 200:
            raise InvalidInput("subject must be text")
        record = self.load(student, StudentRecord)
        year = self._year_of(record)
        by = self._authorise(actor, "RemarkRecorded", {"subject": subject}, record, year)
        sealed = self.vault.seal(student, {"remark": text, "subject": subject})
        record.record_remark(subject=subject, remark=sealed.ciphertext, by=by)
        self.save(record, signer=actor)

    @command
    def record_year_result(self, actor: Signer, student: UUID, stage: str = YEAR) -> dict[str, Any]:
        """Compute and record the year result (GVCN); both terms must be closed."""
        record = self.load(student, StudentRecord)
        year = self._year_of(record)
        if year is None:
            raise InvalidInput(f"school year {record.school_year} is not opened")
        fields = {"school_year": record.school_year}
        by = self._authorise(actor, "YearResultRecorded", fields, record, year)
        for term in (1, 2):
            if not year.is_closed(record.class_name, term):
                raise Incomplete(f"term {term} of class {record.class_name} is not closed yet")
        result = year_result(record, year, stage=stage)
        record.record_year_result(school_year=record.school_year, stage=stage, result=result, by=by)
        self.save(record, signer=actor)
        return result

    @command
    def reassess_conduct(self, actor: Signer, student: UUID, level: str) -> None:
        """The GVCN's re-evaluation after summer training (TT 22/2021 Điều 13)."""
        lvl = _level(level)
        record = self.load(student, StudentRecord)
        result = record.results.get(record.school_year)
        if result is None or result["conduct"]["year"] != rules.Level.NOT_PASSED.value:
            raise InvalidInput("summer training is only for a year conduct of Chưa đạt")
        by = self._authorise(actor, "SummerConductReassessed", {}, record, self._year_of(record))
        record.reassess_conduct(level=lvl, by=by)
        self.save(record, signer=actor)

    @command
    def reassess_subject(self, actor: Signer, student: UUID, subject: str, value: object) -> None:
        """A summer re-assessment result (TT 22/2021 Điều 14); it replaces the year result."""
        record = self.load(student, StudentRecord)
        result = record.results.get(record.school_year)
        if result is None or result["promotion"] not in (
            rules.Promotion.REASSESSMENT_REQUIRED.value,
            rules.Promotion.SUMMER_TRAINING_REQUIRED.value,
        ):
            raise InvalidInput("no summer re-assessment is due for this student")
        row = result["subjects"].get(subject)
        if row is None:
            raise InvalidInput(f"{subject} is not in the student's year result")
        if row["assessed"] == COMMENTED:
            text = "Đạt" if _passed(value) else "Chưa đạt"
            due = row["year"] == rules.Comment.NOT_PASSED.value
        else:
            text = str(rules.parse_score(value))
            due = Decimal(row["year"]) < Decimal("5.0")
        if not due:
            raise InvalidInput(f"{subject} is not due for re-assessment (TT 22/2021 Điều 14)")
        by = self._authorise(
            actor, "SubjectReassessed", {"subject": subject}, record, self._year_of(record)
        )
        record.reassess_subject(subject=subject, value=text, by=by)
        self.save(record, signer=actor)

    @command
    def record_summer_result(self, actor: Signer, student: UUID) -> dict[str, Any]:
        """The GVCN records the result after the summer steps (the final promotion)."""
        return self.record_year_result(actor, student, AFTER_SUMMER)

    @command
    def grant_student_award(self, actor: Signer, student: UUID, award: str, decision: str) -> None:
        """A commendation beyond the Điều 15 titles, decided by the principal."""
        require_text(award=award, decision=decision)
        record = self.load(student, StudentRecord)
        by = self._authorise(actor, "AwardGranted", {}, record)
        record.grant_award(award=award, decision=decision, by=by)
        self.save(record, signer=actor)

    # -- issued transcripts (học bạ số) ---------------------------------------------------------

    @command
    def transcript_gaps(
        self,
        student: UUID | StudentRecord,
        *,
        years: MutableMapping[tuple[UUID, str], SchoolYear | None] | None = None,
    ) -> list[str]:
        """What the record lacks before a transcript can be issued; empty when nothing.

        Every school year of the record needs its year result (TT 22/2021 Điều 8–14,
        TT 27/2020 Điều 9), still equal to the result recomputed from the events (a
        correction after it means the GVCN records it again), and a pending summer step
        (re-assessment, conduct training) needs its outcome. A year without a result names
        each missing entry. ``student`` may be the loaded record; ``years`` caches the
        school years across calls (a bulk run).
        """
        record = (
            student if isinstance(student, StudentRecord) else self.read(student, StudentRecord)
        )
        cache: MutableMapping[tuple[UUID, str], SchoolYear | None] = {} if years is None else years

        def year_of(school_year: str) -> SchoolYear | None:
            key = (record.school_in(school_year), school_year)
            if key not in cache:
                cache[key] = self._year_for(record, school_year)
            return cache[key]

        gaps: list[str] = []
        for school_year, (_grade, class_name, _school) in sorted(record.years.items()):
            result = record.results.get(school_year)
            if result is None:
                year = year_of(school_year)
                missing: list[str] = []
                if year is not None:
                    for term in (1, 2):
                        missing += missing_for_term(record, year, class_name, term)
                detail = f": {'; '.join(missing)}" if missing else ""
                gaps.append(f"năm học {school_year} ({class_name}): chưa có kết quả cả năm{detail}")
            elif (stale := self._stale_result(record, year_of(school_year), result)) is not None:
                gaps.append(f"năm học {school_year} ({class_name}): {stale}")
            elif result.get("stage") == YEAR and result.get("promotion") in (
                rules.Promotion.REASSESSMENT_REQUIRED.value,
                rules.Promotion.SUMMER_TRAINING_REQUIRED.value,
            ):
                gaps.append(
                    f"năm học {school_year} ({class_name}): chưa có kết quả sau "
                    f"{result['promotion'].removeprefix('Phải ').lower()}"
                )
        return gaps

    @staticmethod
    def _stale_result(
        record: StudentRecord, year: SchoolYear | None, recorded: Mapping[str, Any]
    ) -> str | None:
        """Why the recorded year result no longer follows from the events, or None."""
        if year is None or year.school_year != record.school_year:
            return None  # a year at another school: its result is that school's record
        stage = recorded.get("stage", YEAR)
        try:
            now = year_result(record, year, stage=stage)
        except Incomplete as e:
            return f"kết quả cả năm không còn tính được từ các sự kiện ({e})"
        if now != {k: v for k, v in recorded.items() if k != "stage"}:
            return "kết quả cả năm đã ghi khác kết quả tính lại sau đính chính (GVCN cần ghi lại)"
        return None

    @command
    def issue_transcript(
        self,
        actor: Signer,
        student: UUID,
        *,
        transcript: str,
        school_year: str,
        record_version: int,
        sha256: str,
        reason: str = "đính chính sau khi cấp",
        years: MutableMapping[tuple[UUID, str], SchoolYear | None] | None = None,
    ) -> IssuedTranscript:
        """Record that the principal issued a signed transcript (its PDF's SHA-256).

        The transcript shows the record up to ``record_version``, which must still be
        the record's head: a record that changed since the document was made is refused
        (:class:`ConcurrencyConflict`), so is a second issue of the same version
        (:class:`AlreadyExists`). When an earlier issue is current it is marked
        superseded in the same save, with ``reason``.
        """
        require_text(transcript=transcript, school_year=school_year, reason=reason)
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise InvalidInput("sha256 must be 64 lowercase hex digits")
        record = self.load(student, StudentRecord)
        if record_version != record.version:
            raise ConcurrencyConflict(
                f"the record changed since the transcript was made (version {record_version}, "
                f"now {record.version}); make it again"
            )
        if school_year not in record.years:
            raise InvalidInput(f"the student has no school year {school_year}")
        gaps = self.transcript_gaps(record, years=years)
        if gaps:
            raise Incomplete("chưa thể cấp học bạ: " + "; ".join(gaps))
        current = record.current_transcript
        if record.transcript_up_to_date and current is not None:
            raise AlreadyExists(
                f"transcript {current.number} already shows this record as it is "
                f"(version {current.record_version})"
            )
        fields = {"school_year": school_year}
        by = self._authorise(actor, "TranscriptIssued", fields, record)
        if current is not None:
            self._authorise(actor, "TranscriptSuperseded", fields, record)
            record.supersede_transcript(sha256=current.sha256, reason=reason, by=by)
        record.issue_transcript(
            transcript=transcript,
            number=len(record.transcripts) + 1,
            school_year=school_year,
            record_version=record_version,
            sha256=sha256,
            supersedes=None if current is None else current.sha256,
            by=by,
        )
        self.save(record, signer=actor)
        return record.transcripts[-1]

    # -- personal data -------------------------------------------------------------------------

    @command
    def identity_of(self, person: UUID) -> dict[str, str] | None:
        """The decrypted identity of a student or staff member; ``None`` once shredded."""
        agg: object = self.read(person, Aggregate)
        ciphertext = getattr(agg, "identity", None)
        if not isinstance(ciphertext, str):
            return None
        return self.vault.open(person, ciphertext)

    @command
    def shred(self, actor: Signer, person: UUID, reason: str) -> None:
        """Destroy a person's identity key and record a signed erasure (no personal data).

        Academic results and HR decisions stay; every hash, signature and proof
        still verifies because they cover the ciphertext (DESIGN.md invariant 8).
        """
        require_text(reason=reason)
        agg: object = self.load(person, Aggregate)
        if not isinstance(agg, (StudentRecord, StaffFile)):
            raise InvalidInput("only a student record or a staff file holds personal data")
        if agg.shredded:
            raise AlreadyExists("this person's identity is already shredded")
        by = self._authorise(actor, "PersonalDataShredded", {}, agg)
        agg.shred(reason=reason, by=by)
        # Record first, then destroy: a crash between leaves a recorded erasure whose key
        # `socai shred` destroys on a rerun, never a destroyed key without its record.
        self.save(agg, signer=actor)
        self.vault.shred(person)


def require_text(**values: object) -> None:
    """Refuse a value that is not non-empty text of at most 200 characters."""
    for name, value in values.items():
        if not isinstance(value, str) or not value.strip() or len(value) > 200:
            raise InvalidInput(f"{name} must be non-empty text of at most 200 characters")


def _year_text(school_year: object) -> None:
    require_text(school_year=school_year)
    assert isinstance(school_year, str)
    parts = school_year.split("-")
    if (
        len(parts) != 2
        or not all(p.isdigit() and len(p) == 4 for p in parts)
        or int(parts[1]) != int(parts[0]) + 1
    ):
        raise InvalidInput(f"school year must look like 2025-2026, not {school_year!r}")


def _term(term: object) -> None:
    if term not in (1, 2) or isinstance(term, bool):
        raise InvalidInput(f"term must be 1 or 2, not {term!r}")


def _level(level: object) -> str:
    try:
        return rules.Level(level).value
    except ValueError:
        labels = ", ".join(lv.value for lv in rules.Level)
        raise InvalidInput(f"level must be one of {labels}, not {level!r}") from None


def _primary_level(level: object) -> str:
    for lv in rules.PrimaryLevel:
        if level in (lv.value, lv.code):
            return lv.value
    raise InvalidInput(f"a primary level is T, H or C, not {level!r}")


def _passed(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if value in ("Đạt", "Đ", "pass"):
        return True
    if value in ("Chưa đạt", "CĐ", "fail"):
        return False
    raise InvalidInput(f"a comment assessment is Đạt or Chưa đạt, not {value!r}")


def _decimal(value: object, what: str, lo: Decimal, hi: Decimal) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, str, Decimal)):
        raise InvalidInput(f"{what} must be a number")
    try:
        d = Decimal(str(value).strip().replace(",", "."))
    except ArithmeticError:
        raise InvalidInput(f"{what} is not a number: {value!r}") from None
    if not d.is_finite() or not lo <= d <= hi or d != d.quantize(Decimal("0.01")):
        raise InvalidInput(f"{what} must be {lo}–{hi} with at most two decimals")
    return d
