"""Pre-signed writes over HTTP, for clients that hold their own keys (DESIGN.md invariant 2).

``POST /api/v1/prepare`` takes ``{"command": name, "arguments": {...}, "algorithm"?}``:
``command`` is one of the API's writes (:data:`COMMANDS`; its arguments are the route's
body plus the ids of its path, e.g. ``record_score`` takes ``record``, ``subject``,
``term``, ``kind``, ``value``). The command runs with every check, nothing is written,
and the answer carries a ``token``, the batch ``messages`` to sign (base64, in order), the
``signer`` certificate fingerprint (the certificate of the caller's account: the client signs
with the key it holds for it), the ``algorithm`` and the ``expires`` time.

``POST /api/v1/submit`` takes ``{"token", "signatures": [base64, ...]}`` and writes the events
once every signature verifies (``{"written": n}``); a wrong signature writes nothing (422),
a record changed since the prepare is a 409, an unknown, used or expired token a 404.
Prepared saves live in the database (see :mod:`api.writes`), so the submit may reach
another worker process than the prepare did.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from api import records, staffing, writes
from api.access import CallerDep, access
from api.routes import records as r
from api.routes import staff as s
from api.services import Services
from ledger.errors import InvalidInput
from signing.algorithms import Algorithm

router = APIRouter(prefix="/api/v1", tags=["pre-signed"])


class _Args(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class RecordArgs(_Args):
    record: UUID


class StaffArgs(_Args):
    staff: UUID


class SchoolArgs(_Args):
    school: UUID


class RecordScoreArgs(r.ScoreIn, RecordArgs):
    pass


class CorrectionArgs(r.CorrectionIn, RecordArgs):
    pass


class ApprovalArgs(RecordArgs):
    proposal: int = Field(ge=1, le=10**9)


class ConductArgs(r.ConductIn, RecordArgs):
    pass


class AbsencesArgs(r.AbsencesIn, RecordArgs):
    pass


class RemarkArgs(r.RemarkIn, RecordArgs):
    pass


class HomeroomRemarkArgs(r.HomeroomRemarkIn, RecordArgs):
    pass


class YearResultArgs(r.YearResultIn, RecordArgs):
    pass


class CloseTermArgs(SchoolArgs):
    school_year: r.SchoolYearText
    class_name: r.ClassName = Field(alias="class")
    term: r.Term


class OpenYearArgs(r.SchoolYearIn, SchoolArgs):
    pass


class OpenClassArgs(r.ClassIn, SchoolArgs):
    school_year: r.SchoolYearText


class PlanArgs(r.PlanIn, SchoolArgs):
    school_year: r.SchoolYearText
    class_name: r.ClassName = Field(alias="class")


class StaffFileArgs(s.StaffFileIn, SchoolArgs):
    pass


class AssignmentArgs(s.AssignmentIn, StaffArgs):
    pass


class HomeroomArgs(s.HomeroomIn, StaffArgs):
    pass


class AppointmentArgs(s.AppointmentIn, StaffArgs):
    pass


class IdentityArgs(s.IdentityIn, StaffArgs):
    pass


class TitleArgs(s.TitleIn, StaffArgs):
    pass


class SalaryStepArgs(s.SalaryStepIn, StaffArgs):
    pass


class TrainingArgs(s.TrainingIn, StaffArgs):
    pass


class AwardArgs(s.AwardIn, StaffArgs):
    pass


class DisciplineArgs(s.DisciplineIn, StaffArgs):
    pass


class EvaluationArgs(s.EvaluationIn, StaffArgs):
    pass


Builder = Callable[[Services, Any], writes.Command]

#: Every write a client may prepare: name -> (its arguments, how to build the command).
COMMANDS: dict[str, tuple[type[BaseModel], Builder]] = {
    "record_score": (
        RecordScoreArgs,
        lambda sv, a: records.score_command(
            sv, a.record, a.subject, a.term, a.kind, r.score_value(a.value)
        ),
    ),
    "record_scores": (
        r.ScoresIn,
        lambda sv, a: records.scores_command(sv, r.score_entries(a)),
    ),
    "assess_comments": (
        r.CommentsIn,
        lambda sv, a: records.comments_command(sv, r.comment_entries(a)),
    ),
    "correct": (
        CorrectionArgs,
        lambda sv, a: records.correct_command(
            sv, a.record, a.corrects, r.score_value(a.value), a.reason
        ),
    ),
    "approve_correction": (
        ApprovalArgs,
        lambda sv, a: records.approve_command(sv, a.record, a.proposal),
    ),
    "assess_conduct": (
        ConductArgs,
        lambda sv, a: records.conduct_command(sv, a.record, a.term, a.level),
    ),
    "record_absences": (
        AbsencesArgs,
        lambda sv, a: records.absences_command(sv, a.record, a.term, a.sessions),
    ),
    "record_remark": (
        RemarkArgs,
        lambda sv, a: records.remark_command(sv, a.record, a.subject, a.text),
    ),
    "record_homeroom_remark": (
        HomeroomRemarkArgs,
        lambda sv, a: records.remark_command(sv, a.record, "", a.text),
    ),
    "record_year_result": (
        YearResultArgs,
        lambda sv, a: records.year_result_command(sv, a.record, a.stage),
    ),
    "close_term": (
        CloseTermArgs,
        lambda sv, a: records.close_term_command(sv, a.school, a.school_year, a.class_name, a.term),
    ),
    "open_school_year": (
        OpenYearArgs,
        lambda sv, a: records.open_year_command(sv, a.school, a.school_year, a.level),
    ),
    "open_class": (
        OpenClassArgs,
        lambda sv, a: records.open_class_command(
            sv, a.school, a.school_year, a.class_name, a.grade
        ),
    ),
    "plan_subjects": (
        PlanArgs,
        lambda sv, a: records.plan_command(sv, a.school, a.school_year, a.class_name, r.plan_of(a)),
    ),
    "enrol_student": (
        r.EnrolIn,
        lambda sv, a: records.enrol_command(
            sv, a.student_code, a.school_year, a.grade, a.class_name, a.identity, a.school
        ),
    ),
    "open_staff_file": (
        StaffFileArgs,
        lambda sv, a: staffing.open_file_command(sv, a.school, a.staff_code, a.title, a.identity),
    ),
    "assign_teaching": (
        AssignmentArgs,
        lambda sv, a: staffing.assign_command(
            sv, a.staff, a.school_year, [(a.class_name, a.subject)]
        ),
    ),
    "unassign_teaching": (
        AssignmentArgs,
        lambda sv, a: staffing.unassign_command(
            sv, a.staff, a.school_year, a.class_name, a.subject
        ),
    ),
    "assign_homeroom": (
        HomeroomArgs,
        lambda sv, a: staffing.homeroom_command(sv, a.staff, a.school_year, a.class_name),
    ),
    "unassign_homeroom": (
        HomeroomArgs,
        lambda sv, a: staffing.unhomeroom_command(sv, a.staff, a.school_year, a.class_name),
    ),
    "appoint": (
        AppointmentArgs,
        lambda sv, a: staffing.appoint_command(sv, a.staff, a.position, a.decision),
    ),
    "end_appointment": (
        AppointmentArgs,
        lambda sv, a: staffing.end_appointment_command(sv, a.staff, a.position, a.decision),
    ),
    "record_staff_identity": (
        IdentityArgs,
        lambda sv, a: staffing.identity_command(sv, a.staff, a.identity),
    ),
    "appoint_title": (
        TitleArgs,
        lambda sv, a: staffing.title_command(sv, a.staff, a.title, a.rank, a.code, a.decision),
    ),
    "raise_salary_step": (
        SalaryStepArgs,
        lambda sv, a: staffing.salary_command(
            sv, a.staff, a.step, s.decimal_text(a.coefficient), a.effective, a.decision
        ),
    ),
    "record_training": (
        TrainingArgs,
        lambda sv, a: staffing.training_command(
            sv, a.staff, a.course, a.institution, a.qualification, a.completed_on
        ),
    ),
    "grant_staff_award": (
        AwardArgs,
        lambda sv, a: staffing.award_command(sv, a.staff, a.award, a.decision, a.school_year),
    ),
    "impose_discipline": (
        DisciplineArgs,
        lambda sv, a: staffing.discipline_command(sv, a.staff, a.form, a.decision, a.school_year),
    ),
    "record_evaluation": (
        EvaluationArgs,
        lambda sv, a: staffing.evaluation_command(
            sv,
            a.staff,
            a.school_year,
            s.decimal_text(a.general),
            s.decimal_text(a.performance),
        ),
    ),
}

CommandName = Literal[tuple(COMMANDS)]  # type: ignore[valid-type]
AlgorithmLabel = Literal[tuple(a.label for a in Algorithm)]  # type: ignore[valid-type]
Base64 = Annotated[str, Field(min_length=1, max_length=4096)]


class PrepareIn(BaseModel):
    """A write to prepare: its name, its arguments (validated as that write's), the algorithm."""

    model_config = ConfigDict(extra="forbid")

    command: CommandName  # type: ignore[valid-type]
    arguments: dict[str, Any] = Field(default_factory=dict, max_length=64)
    algorithm: AlgorithmLabel | None = None  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _valid_arguments(self) -> PrepareIn:
        model, _ = COMMANDS[self.command]
        try:
            model.model_validate(self.arguments)
        except ValidationError as e:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or 'arguments'}: {err['msg']}"
                for err in e.errors()[:10]
            )
            raise ValueError(f"arguments of {self.command}: {problems}") from None
        return self

    def build(self, services: Services) -> writes.Command:
        model, builder = COMMANDS[self.command]
        return builder(services, model.model_validate(self.arguments))


class SubmitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=128)
    signatures: list[Base64] = Field(min_length=1, max_length=writes.MAX_PREPARED_EVENTS)


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


@router.post("/prepare", openapi_extra=access("account"))
def post_prepare(request: Request, who: CallerDep, body: PrepareIn) -> dict[str, Any]:
    """Prepare a write for a client that signs with its own key; nothing is written yet."""
    services = _services(request)
    return writes.prepare(services, who, body.build(services), body.algorithm)


@router.post("/submit", openapi_extra=access("account"))
def post_submit(request: Request, who: CallerDep, body: SubmitIn) -> dict[str, Any]:
    """Write a prepared save with the client's signatures (each verified first)."""
    try:
        signatures = [base64.b64decode(sig, validate=True) for sig in body.signatures]
    except (binascii.Error, ValueError):
        raise InvalidInput("signatures must be standard base64") from None
    return writes.submit(_services(request), who, body.token, signatures)
