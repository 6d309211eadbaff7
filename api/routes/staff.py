"""Staff files over HTTP: the school's staff, a staff file, assignments, posts and HR events.

- ``GET /api/v1/schools/{school}/staff[?school_year=…]``: the staff list (principal, deputy,
  staff officer, inspectors), with the year's assignments and homerooms when asked.
- ``GET /api/v1/staff/{staff}``: a staff file (also for its owner); the identity is shown to
  the owner, the principal and the staff officer only; every read is logged.
- ``POST /api/v1/schools/{school}/staff``: open a staff file (principal or staff officer).
- ``POST``/``DELETE /api/v1/staff/{staff}/assignments`` and ``…/homeroom``, ``POST
  …/appointments`` and ``…/appointments/end``: the principal's.
- ``POST …/titles``, ``…/salary-steps``, ``…/trainings``, ``…/awards``, ``…/disciplines``,
  ``…/evaluations``, ``…/identity``: the HR events the staff officer (or principal) keeps.

Every write is signed with the caller's own key; the ledger checks authority again.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr

from api import staffing
from api.access import CallerDep, access
from api.routes.records import ClassName, Identity, SchoolPath, SchoolYearText, Text
from api.services import Services
from ledger.domain import DISCIPLINE_FORMS, POSITIONS

router = APIRouter(prefix="/api/v1", tags=["staff"])

StaffPath = Annotated[UUID, Path(description="the staff file's id")]
#: A decimal given as text ("4.32") or a JSON number (taken by its shortest text).
Points = Annotated[StrictStr, Field(max_length=16)] | StrictInt | StrictFloat
Position = Literal[POSITIONS]  # type: ignore[valid-type]
DisciplineForm = Literal[DISCIPLINE_FORMS]  # type: ignore[valid-type]
HR = ("principal", "staff_officer")


def decimal_text(value: str | int | float) -> str:
    return repr(value) if isinstance(value, float) else str(value)


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class StaffFileIn(_In):
    staff_code: Text = Field(examples=["GV003"])
    title: Text = Field(examples=["Giáo viên"])
    identity: Identity | None = None


class AssignmentIn(_In):
    school_year: SchoolYearText = Field(examples=["2026-2027"])
    class_name: ClassName = Field(alias="class", examples=["6A9"])
    subject: Text = Field(examples=["Ngoại ngữ 1"])


class HomeroomIn(_In):
    school_year: SchoolYearText = Field(examples=["2026-2027"])
    class_name: ClassName = Field(alias="class", examples=["6A9"])


class AppointmentIn(_In):
    position: Position = Field(examples=["Phó hiệu trưởng"])
    decision: Text = Field(examples=["QĐ số 12/QĐ-THCS"])


class IdentityIn(_In):
    identity: Identity = Field(min_length=1, examples=[{"ho_va_ten": "Phạm Quốc Bảo"}])


class TitleIn(_In):
    title: Text = Field(examples=["Giáo viên trung học cơ sở hạng II"])
    rank: Text = Field(examples=["Hạng II"])
    code: Text = Field(examples=["V.07.04.31"])
    decision: Text = Field(examples=["QĐ số 15/QĐ-THCS"])


class SalaryStepIn(_In):
    step: int = Field(ge=1, le=20, examples=[5])
    coefficient: Points = Field(examples=["4.32"])
    effective: Text = Field(examples=["2026-09-01"])
    decision: Text = Field(examples=["QĐ số 16/QĐ-THCS"])


class TrainingIn(_In):
    course: Text = Field(examples=["Bồi dưỡng chương trình GDPT 2018"])
    institution: Text = Field(examples=["Sở GD&ĐT TP.HCM"])
    qualification: Text = Field(examples=["Chứng chỉ"])
    completed_on: Text = Field(examples=["2026-08-15"])


class AwardIn(_In):
    award: Text = Field(examples=["Giáo viên dạy giỏi cấp trường"])
    decision: Text = Field(examples=["QĐ số 20/QĐ-THCS"])
    school_year: SchoolYearText = Field(examples=["2026-2027"])


class DisciplineIn(_In):
    form: DisciplineForm
    decision: Text = Field(examples=["QĐ số 21/QĐ-THCS"])
    school_year: SchoolYearText = Field(examples=["2026-2027"])


class EvaluationIn(_In):
    school_year: SchoolYearText = Field(examples=["2026-2027"])
    general: Points = Field(examples=["27"])
    performance: Points = Field(examples=["65"])


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


# -- reads ----------------------------------------------------------------------------------------


@router.get(
    "/schools/{school}/staff", openapi_extra=access("principal", "staff_officer", "inspector")
)
def list_staff(
    request: Request,
    who: CallerDep,
    school: SchoolPath,
    school_year: Annotated[str | None, Query(max_length=20)] = None,
) -> dict[str, Any]:
    """The school's staff files (no identity); with ``school_year``, its assignments."""
    return staffing.staff_list(_services(request), who, school, school_year)


#: ``teacher`` here is the file's owner: a staff member reads their own file.
@router.get(
    "/staff/{staff}",
    openapi_extra=access("teacher", "principal", "staff_officer", "inspector"),
)
def get_staff_file(request: Request, who: CallerDep, staff: StaffPath) -> dict[str, Any]:
    """A staff file: its owner, the principal and deputy, the staff officer and inspectors
    read it; the identity is shown to the owner, the principal and the staff officer."""
    return staffing.staff_file(_services(request), who, staff)


# -- writes ---------------------------------------------------------------------------------------


@router.post("/schools/{school}/staff", openapi_extra=access(*HR))
def post_staff_file(
    request: Request, who: CallerDep, school: SchoolPath, body: StaffFileIn
) -> dict[str, Any]:
    """Open a staff file (hồ sơ) in the school."""
    return staffing.open_staff_file(
        _services(request), who, school, body.staff_code, body.title, body.identity
    )


@router.post("/staff/{staff}/assignments", openapi_extra=access("principal"))
def post_assignment(
    request: Request, who: CallerDep, staff: StaffPath, body: AssignmentIn
) -> dict[str, Any]:
    """Assign the teacher to a class and subject for a school year (phân công)."""
    return staffing.assign_teaching(
        _services(request), who, staff, body.school_year, [(body.class_name, body.subject)]
    )


@router.delete("/staff/{staff}/assignments", openapi_extra=access("principal"))
def delete_assignment(
    request: Request,
    who: CallerDep,
    staff: StaffPath,
    school_year: Annotated[str, Query(min_length=1, max_length=20)],
    class_name: Annotated[str, Query(alias="class", min_length=1, max_length=50)],
    subject: Annotated[str, Query(min_length=1, max_length=200)],
) -> dict[str, Any]:
    """End a teaching assignment (query: ``school_year``, ``class``, ``subject``)."""
    return staffing.unassign_teaching(
        _services(request), who, staff, school_year, class_name, subject
    )


@router.post("/staff/{staff}/homeroom", openapi_extra=access("principal"))
def post_homeroom(
    request: Request, who: CallerDep, staff: StaffPath, body: HomeroomIn
) -> dict[str, Any]:
    """Make the teacher the GVCN of a class for a school year."""
    return staffing.assign_homeroom(
        _services(request), who, staff, body.school_year, body.class_name
    )


@router.delete("/staff/{staff}/homeroom", openapi_extra=access("principal"))
def delete_homeroom(
    request: Request,
    who: CallerDep,
    staff: StaffPath,
    school_year: Annotated[str, Query(min_length=1, max_length=20)],
    class_name: Annotated[str, Query(alias="class", min_length=1, max_length=50)],
) -> dict[str, Any]:
    """End a GVCN assignment (query: ``school_year``, ``class``)."""
    return staffing.unassign_homeroom(_services(request), who, staff, school_year, class_name)


@router.post("/staff/{staff}/appointments", openapi_extra=access("principal"))
def post_appointment(
    request: Request, who: CallerDep, staff: StaffPath, body: AppointmentIn
) -> dict[str, Any]:
    """Appoint to a position (Hiệu trưởng, Phó hiệu trưởng, Cán bộ tổ chức)."""
    return staffing.appoint(_services(request), who, staff, body.position, body.decision)


@router.post("/staff/{staff}/appointments/end", openapi_extra=access("principal"))
def post_appointment_end(
    request: Request, who: CallerDep, staff: StaffPath, body: AppointmentIn
) -> dict[str, Any]:
    """End an appointment."""
    return staffing.end_appointment(_services(request), who, staff, body.position, body.decision)


@router.post("/staff/{staff}/identity", openapi_extra=access(*HR))
def post_identity(
    request: Request, who: CallerDep, staff: StaffPath, body: IdentityIn
) -> dict[str, Any]:
    """Record the staff member's identity (sơ yếu lý lịch), encrypted for them."""
    return staffing.record_identity(_services(request), who, staff, body.identity)


@router.post("/staff/{staff}/titles", openapi_extra=access(*HR))
def post_title(request: Request, who: CallerDep, staff: StaffPath, body: TitleIn) -> dict[str, Any]:
    """Chức danh nghề nghiệp, hạng and mã số."""
    return staffing.appoint_title(
        _services(request), who, staff, body.title, body.rank, body.code, body.decision
    )


@router.post("/staff/{staff}/salary-steps", openapi_extra=access(*HR))
def post_salary_step(
    request: Request, who: CallerDep, staff: StaffPath, body: SalaryStepIn
) -> dict[str, Any]:
    """Bậc lương, hệ số lương and the date it takes effect."""
    return staffing.raise_salary_step(
        _services(request),
        who,
        staff,
        body.step,
        decimal_text(body.coefficient),
        body.effective,
        body.decision,
    )


@router.post("/staff/{staff}/trainings", openapi_extra=access(*HR))
def post_training(
    request: Request, who: CallerDep, staff: StaffPath, body: TrainingIn
) -> dict[str, Any]:
    """A completed training (bồi dưỡng)."""
    return staffing.record_training(
        _services(request),
        who,
        staff,
        body.course,
        body.institution,
        body.qualification,
        body.completed_on,
    )


@router.post("/staff/{staff}/awards", openapi_extra=access(*HR))
def post_award(request: Request, who: CallerDep, staff: StaffPath, body: AwardIn) -> dict[str, Any]:
    """An award (khen thưởng) of a school year."""
    return staffing.grant_award(
        _services(request), who, staff, body.award, body.decision, body.school_year
    )


@router.post("/staff/{staff}/disciplines", openapi_extra=access(*HR))
def post_discipline(
    request: Request, who: CallerDep, staff: StaffPath, body: DisciplineIn
) -> dict[str, Any]:
    """A discipline (kỷ luật) of a school year."""
    return staffing.impose_discipline(
        _services(request), who, staff, body.form, body.decision, body.school_year
    )


@router.post("/staff/{staff}/evaluations", openapi_extra=access(*HR))
def post_evaluation(
    request: Request, who: CallerDep, staff: StaffPath, body: EvaluationIn
) -> dict[str, Any]:
    """The annual evaluation; answers the level recorded (NĐ 233/2026)."""
    return staffing.record_evaluation(
        _services(request),
        who,
        staff,
        body.school_year,
        decimal_text(body.general),
        decimal_text(body.performance),
    )
