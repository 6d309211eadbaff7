"""Student records over HTTP: schools, classes, grade books, records, and their signed writes.

Reads (scoped to the caller, logged when they show personal data):

- ``GET /api/v1/schools``: the schools the caller may see.
- ``GET /api/v1/schools/{school}/years/{year}/classes``: the school year's classes.
- ``GET /api/v1/schools/{school}/years/{year}/classes/{class}/gradebook``: the grade book.
- ``GET /api/v1/records/{record}`` and ``…/history``: a student's record and its events.
- ``GET /api/v1/schools/{school}/corrections?state=pending``: proposals for the principal.

Writes (each signed with the caller's own key; the ledger checks authority again):
scores, comment assessments, corrections and their approval, conduct, absences, remarks,
the year result, term close, and the school year's set-up (years, classes, subject plans,
enrolment). Every body is a model with bounded fields and no unknown keys. The answers:
422 for a bad value (a score outside 0–10, a closed term), 403 for a write the caller has
no authority for, 404 for another school's ids, 409 when the record changed under a write
that cannot simply be run again.

Handlers are plain functions: FastAPI runs them in its thread pool, as the ledger blocks.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictFloat, StrictInt, StrictStr

from api import records
from api.access import CallerDep, access
from api.services import Services

router = APIRouter(prefix="/api/v1", tags=["records"])

#: Short text of an event (the ledger's limit for names, codes and reasons).
Text = Annotated[str, Field(min_length=1, max_length=200)]
SchoolYearText = Annotated[str, Field(min_length=1, max_length=20, examples=["2026-2027"])]
ClassName = Annotated[str, Field(min_length=1, max_length=50, examples=["6A1"])]
Term = Annotated[int, Field(ge=1, le=2)]
Kind = Literal["tx", "gk", "ck"]
#: A score as text ("7.5", "7,5") or a JSON number; floats are taken by their shortest text.
Score = Annotated[StrictStr, Field(max_length=16)] | StrictInt | StrictFloat
#: A comment assessment: Đạt / Chưa đạt (or true / false).
Passed = Annotated[StrictStr, Field(max_length=16)] | StrictBool
Identity = Annotated[
    dict[Annotated[str, Field(max_length=64)], Annotated[str, Field(max_length=500)]],
    Field(max_length=30),
]

SchoolPath = Annotated[UUID, Path(description="the school's record id")]
#: A term in a path: 1 or 2, or as schools write it, I or II (học kì I, II).
TermPath = Annotated[Literal["1", "2", "I", "II"], Path(description="học kì: 1, 2, I or II")]
YearPath = Annotated[str, Path(max_length=20, description="school year, e.g. 2026-2027")]
ClassPath = Annotated[str, Path(alias="class", max_length=50, description="class name")]
RecordPath = Annotated[UUID, Path(description="the student record's id")]


def term_of(text: str) -> int:
    return {"1": 1, "2": 2, "I": 1, "II": 2}[text]


def score_value(value: str | int | float | bool) -> object:
    """A JSON score as the ledger parses it (it refuses binary floats)."""
    if isinstance(value, float):
        return repr(value)
    return value


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ScoreIn(_In):
    subject: Text = Field(examples=["Ngoại ngữ 1"])
    term: Term
    kind: Kind
    value: Score = Field(examples=["8.5"])


class ScoreEntryIn(ScoreIn):
    record: UUID


class ScoresIn(_In):
    entries: list[ScoreEntryIn] = Field(min_length=1, max_length=records.MAX_ENTRIES)


class CommentEntryIn(_In):
    record: UUID
    subject: Text = Field(examples=["Giáo dục thể chất"])
    term: Term
    kind: Kind
    value: Passed = Field(examples=["Đạt"])


class CommentsIn(_In):
    entries: list[CommentEntryIn] = Field(min_length=1, max_length=records.MAX_ENTRIES)


class CorrectionIn(_In):
    corrects: int = Field(ge=1, le=10**9, description="version of the entry corrected")
    value: Score | StrictBool = Field(examples=["8.0"])
    reason: Text = Field(examples=["Phúc khảo: cộng sót 0,5 điểm"])


class ConductIn(_In):
    term: Term
    level: Annotated[str, Field(min_length=1, max_length=32, examples=["Tốt"])]


class AbsencesIn(_In):
    term: Term
    sessions: int = Field(ge=0, le=200)


class RemarkIn(_In):
    subject: Text = Field(examples=["Ngoại ngữ 1"])
    text: str = Field(min_length=1, max_length=2000, examples=["Tiến bộ rõ trong học kì."])


class HomeroomRemarkIn(_In):
    text: str = Field(min_length=1, max_length=2000, examples=["Chăm ngoan, hòa đồng."])


class YearResultIn(_In):
    stage: Literal["year", "after_summer"] = "year"


class SchoolYearIn(_In):
    school_year: SchoolYearText = Field(examples=["2026-2027"])
    level: Literal["TH", "THCS", "THPT"] = "THCS"


class ClassIn(_In):
    class_name: ClassName = Field(alias="class", examples=["6A8"])
    grade: int = Field(ge=1, le=12, examples=[6])


class PlannedSubjectIn(_In):
    periods_per_year: int = Field(ge=1, le=400)
    assessed: Literal["score", "comment"]


class PlanIn(_In):
    subjects: dict[Annotated[str, Field(min_length=1, max_length=200)], PlannedSubjectIn] = Field(
        min_length=1,
        max_length=40,
        examples=[{"Tin học": {"periods_per_year": 35, "assessed": "score"}}],
    )


class EnrolIn(_In):
    school: UUID = Field(description="the caller's school (another school's id is a 404)")
    student_code: Text = Field(examples=["HS790007019000"])
    school_year: SchoolYearText = Field(examples=["2026-2027"])
    grade: int = Field(ge=1, le=12, examples=[6])
    class_name: ClassName = Field(alias="class", examples=["6A9"])
    identity: Identity | None = None


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def score_entries(body: ScoresIn) -> list[records.Entry]:
    return [(e.record, e.subject, e.term, e.kind, score_value(e.value)) for e in body.entries]


def comment_entries(body: CommentsIn) -> list[records.Entry]:
    return [(e.record, e.subject, e.term, e.kind, e.value) for e in body.entries]


def plan_of(body: PlanIn) -> dict[str, tuple[int, str]]:
    return {s: (p.periods_per_year, p.assessed) for s, p in body.subjects.items()}


# -- reads ----------------------------------------------------------------------------------------

READERS = ("teacher", "homeroom", "principal", "inspector")


@router.get("/schools", openapi_extra=access("account"))
def list_schools(request: Request, who: CallerDep) -> dict[str, Any]:
    """The schools the caller may see: their own, or those they inspect."""
    return records.schools(_services(request), who)


@router.get(
    "/schools/{school}/years/{year}/classes",
    openapi_extra=access("teacher", "homeroom", "principal", "staff_officer", "inspector"),
)
def list_classes(
    request: Request, who: CallerDep, school: SchoolPath, year: YearPath
) -> dict[str, Any]:
    """The school year's classes, their GVCN, and whether the caller reads each grade book."""
    return records.classes(_services(request), who, school, year)


@router.get(
    "/schools/{school}/years/{year}/classes/{class}/gradebook", openapi_extra=access(*READERS)
)
def get_gradebook(
    request: Request, who: CallerDep, school: SchoolPath, year: YearPath, class_name: ClassPath
) -> dict[str, Any]:
    """The class's grade book (sổ điểm), with what the caller may write; the read is logged."""
    return records.gradebook(_services(request), who, school, year, class_name)


@router.get("/records/{record}", openapi_extra=access(*READERS))
def get_record(request: Request, who: CallerDep, record: RecordPath) -> dict[str, Any]:
    """A student's record (học bạ); the read is logged."""
    return records.record(_services(request), who, record)


@router.get("/records/{record}/history", openapi_extra=access(*READERS))
def get_history(request: Request, who: CallerDep, record: RecordPath) -> dict[str, Any]:
    """Every event of the record, verified, with signer and hashes; the read is logged."""
    return records.history(_services(request), who, record)


@router.get("/schools/{school}/corrections", openapi_extra=access("principal", "inspector"))
def list_corrections(
    request: Request,
    who: CallerDep,
    school: SchoolPath,
    state: Annotated[Literal["pending", "approved", "all"], Query()] = "pending",
) -> dict[str, Any]:
    """Correction proposals of the school (pending ones wait for the principal)."""
    return records.corrections(_services(request), who, school, state)


# -- writes ---------------------------------------------------------------------------------------


@router.post("/records/{record}/scores", openapi_extra=access("teacher"))
def post_score(
    request: Request, who: CallerDep, record: RecordPath, body: ScoreIn
) -> dict[str, Any]:
    """Record one score (subject teacher, term open); answers the event's version."""
    return records.record_score(
        _services(request), who, record, body.subject, body.term, body.kind, score_value(body.value)
    )


@router.post("/scores", openapi_extra=access("teacher"))
def post_scores(request: Request, who: CallerDep, body: ScoresIn) -> dict[str, Any]:
    """Record a grade-book column: up to 500 scores in one signed save, all or nothing."""
    return records.record_scores(_services(request), who, score_entries(body))


@router.post("/comments", openapi_extra=access("teacher"))
def post_comments(request: Request, who: CallerDep, body: CommentsIn) -> dict[str, Any]:
    """Record comment assessments (Đạt / Chưa đạt) in one signed save, all or nothing."""
    return records.assess_comments(_services(request), who, comment_entries(body))


@router.post("/records/{record}/corrections", openapi_extra=access("teacher"))
def post_correction(
    request: Request, who: CallerDep, record: RecordPath, body: CorrectionIn
) -> dict[str, Any]:
    """Correct an entry: directly while its term is open (``kind: correction``), else as a
    proposal the principal must approve (``kind: proposal``)."""
    return records.correct(
        _services(request), who, record, body.corrects, score_value(body.value), body.reason
    )


@router.post("/records/{record}/corrections/{proposal}/approve", openapi_extra=access("principal"))
def post_approval(
    request: Request,
    who: CallerDep,
    record: RecordPath,
    proposal: Annotated[int, Path(ge=1, le=10**9)],
) -> dict[str, Any]:
    """The principal countersigns a correction proposal."""
    return records.approve_correction(_services(request), who, record, proposal)


@router.post("/records/{record}/conduct", openapi_extra=access("homeroom"))
def post_conduct(
    request: Request, who: CallerDep, record: RecordPath, body: ConductIn
) -> dict[str, Any]:
    """The GVCN's rèn luyện level of a term."""
    return records.assess_conduct(_services(request), who, record, body.term, body.level)


@router.post("/records/{record}/absences", openapi_extra=access("homeroom"))
def post_absences(
    request: Request, who: CallerDep, record: RecordPath, body: AbsencesIn
) -> dict[str, Any]:
    """The GVCN records the buổi absent in a term."""
    return records.record_absences(_services(request), who, record, body.term, body.sessions)


@router.post("/records/{record}/remarks", openapi_extra=access("teacher"))
def post_remark(
    request: Request, who: CallerDep, record: RecordPath, body: RemarkIn
) -> dict[str, Any]:
    """A subject teacher's remark on the student (stored encrypted)."""
    return records.record_remark(_services(request), who, record, body.subject, body.text)


@router.post("/records/{record}/homeroom-remark", openapi_extra=access("homeroom"))
def post_homeroom_remark(
    request: Request, who: CallerDep, record: RecordPath, body: HomeroomRemarkIn
) -> dict[str, Any]:
    """The GVCN's remark on the student's year (stored encrypted)."""
    return records.record_remark(_services(request), who, record, "", body.text)


@router.post("/records/{record}/year-result", openapi_extra=access("homeroom"))
def post_year_result(
    request: Request, who: CallerDep, record: RecordPath, body: YearResultIn | None = None
) -> dict[str, Any]:
    """The GVCN records the year result (both terms closed); answers the result."""
    stage = body.stage if body is not None else "year"
    return records.record_year_result(_services(request), who, record, stage)


@router.post(
    "/schools/{school}/years/{year}/classes/{class}/terms/{term}/close",
    openapi_extra=access("principal"),
)
def post_close_term(
    request: Request,
    who: CallerDep,
    school: SchoolPath,
    year: YearPath,
    class_name: ClassPath,
    term: TermPath,
) -> dict[str, Any]:
    """The principal closes a term of a class (refused while an entry is missing)."""
    return records.close_term(_services(request), who, school, year, class_name, term_of(term))


@router.post("/schools/{school}/years", openapi_extra=access("principal"))
def post_school_year(
    request: Request, who: CallerDep, school: SchoolPath, body: SchoolYearIn
) -> dict[str, Any]:
    """The principal opens a school year."""
    return records.open_school_year(_services(request), who, school, body.school_year, body.level)


@router.post("/schools/{school}/years/{year}/classes", openapi_extra=access("principal"))
def post_class(
    request: Request, who: CallerDep, school: SchoolPath, year: YearPath, body: ClassIn
) -> dict[str, Any]:
    """The principal opens a class in the school year."""
    return records.open_class(_services(request), who, school, year, body.class_name, body.grade)


@router.post(
    "/schools/{school}/years/{year}/classes/{class}/plan", openapi_extra=access("principal")
)
def post_plan(
    request: Request,
    who: CallerDep,
    school: SchoolPath,
    year: YearPath,
    class_name: ClassPath,
    body: PlanIn,
) -> dict[str, Any]:
    """The principal plans the class's subjects (periods per year, scored or by comment)."""
    return records.plan_subjects(_services(request), who, school, year, class_name, plan_of(body))


@router.post("/records", openapi_extra=access("principal"))
def post_enrolment(request: Request, who: CallerDep, body: EnrolIn) -> dict[str, Any]:
    """The principal enrols a student in an opened class of the school; answers its id."""
    return records.enrol_student(
        _services(request),
        who,
        body.student_code,
        body.school_year,
        body.grade,
        body.class_name,
        body.identity,
        body.school,
    )
