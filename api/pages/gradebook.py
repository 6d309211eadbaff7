"""The teacher's grade book of a class: ``/classes/{school}/{year}/{class}``.

Who sees what: a subject teacher sees and enters the subjects they teach in the class; the
homeroom teacher (GVCN) sees every subject read-only and enters conduct and absences; the
principal, deputies and the school's inspectors read it all. Another school's class is 404,
a class of the school the caller may not read is 403 (:mod:`api.access`).

Forms (each posts the session's ``csrf`` field, then comes back here with a message):

* ``POST …/scores``: one score (student, subject, term, kind, value);
* ``POST …/column``: a whole column (subject, term, kind, one box per student), signed in
  one save: every box is checked before anything is written;
* ``POST …/corrections``: a recorded entry, its new value and the reason. While the term is
  open the teacher's correction takes effect at once; once closed it is a proposal that the
  principal approves on ``/principal`` (the page says so);
* ``POST …/homeroom``: conduct and absences of a student for a term (GVCN).

A refused form is shown again with the values typed and the reason in the page's language
(e.g. "Điểm phải từ 0 đến 10"); nothing is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote, urlencode
from uuid import UUID

from fastapi import Form, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from api import records
from api.access import Caller, access
from api.errors import status_for
from api.services import Services
from api.web import (
    MissingField,
    explain,
    form_user,
    language,
    page_router,
    redirect,
    render,
    require_caller,
)
from ledger import assessment as rules
from ledger.domain import COMMENTED, SCORE_KINDS, SchoolYear, school_year_id
from ledger.errors import InvalidInput, LedgerError, RecordNotFound

router = page_router()

TERMS = (1, 2)
CONDUCT_LEVELS = tuple(level.value for level in rules.Level)
#: Largest number of boxes a column form may carry (a class is at most ~45 students).
MAX_COLUMN = 200


def book_path(school: UUID, year: str, class_name: str) -> str:
    return f"/classes/{school}/{quote(year, safe='')}/{quote(class_name, safe='')}"


def _fmt(value: Any) -> str:
    """A score as teachers write it (7.5, 10.0 → 10)."""
    text = str(value)
    if text.endswith(".0"):
        text = text[:-2]
    return text


def _average(entries: list[dict[str, Any]], need: int) -> str:
    """ĐTBmhk when the term has every required score (TT 22/2021 Điều 9 k.1), else ""."""
    tx = [e for e in entries if e["kind"] == "tx"]
    gk = [e for e in entries if e["kind"] == "gk"]
    ck = [e for e in entries if e["kind"] == "ck"]
    if len(tx) < need or not gk or not ck:
        return ""
    try:
        avg = rules.term_average(
            [Decimal(e["value"]) for e in tx], Decimal(gk[0]["value"]), Decimal(ck[0]["value"])
        )
    except (InvalidOperation, LedgerError):
        return ""
    return _fmt(avg)


def book_context(
    request: Request, who: Caller, school: UUID, year: str, class_name: str
) -> dict[str, Any]:
    """Everything the grade book template shows, read by :func:`api.records.gradebook`."""
    services: Services = request.app.state.services
    book = records.gradebook(services, who, school, year, class_name)
    plan = {s["subject"]: s for s in book["subjects"]}
    mine: list[str] = list(book["may"]["record"])
    chosen = [s for s in request.query_params.getlist("subject") if s in plan]
    if not chosen:
        chosen = mine or sorted(plan)[:1]
    closed = set(book["closed_terms"])
    students = book["students"]
    summary = request.query_params.get("view") == "summary"
    averages = {
        (s["record"], subject, term): _average(
            [e for e in s["entries"] if e["subject"] == subject and e["term"] == term],
            int(plan[subject]["required"].get("tx", 0)),
        )
        for s in students
        for subject in (plan if summary else ())
        if plan[subject]["assessed"] != COMMENTED
        for term in TERMS
    }
    rows = []
    for s in students:
        row: dict[str, Any] = {"student": s, "subjects": []}
        for subject in chosen:
            need = int(plan[subject]["required"].get("tx", 0))
            scored = plan[subject]["assessed"] != COMMENTED
            terms = []
            for term in TERMS:
                got = [e for e in s["entries"] if e["subject"] == subject and e["term"] == term]
                terms.append(
                    {
                        "term": term,
                        "closed": term in closed,
                        "kinds": {k: [e for e in got if e["kind"] == k] for k in SCORE_KINDS},
                        "average": _average(got, need) if scored else "",
                    }
                )
            row["subjects"].append({"subject": subject, "terms": terms})
        rows.append(row)
    # A teacher corrects the subjects they teach (the ledger checks who recorded what).
    correctable = [
        {**e, "record": s["record"], "student_code": s["student_code"]}
        for s in students
        for e in s["entries"]
        if e["subject"] in mine
    ]
    return {
        "school": school,
        "year": year,
        "class_name": class_name,
        "book_path": book_path(school, year, class_name),
        "plan": plan,
        "subjects": sorted(plan),
        "mine": mine,
        "chosen": chosen,
        "closed": sorted(closed),
        # The forms start on the first open term (the last one when every term is closed).
        "default_term": next((t for t in TERMS if t not in closed), TERMS[-1]),
        "terms": TERMS,
        "kinds": SCORE_KINDS,
        "students": students,
        "rows": rows,
        "correctable": correctable,
        "homeroom": bool(book["may"]["homeroom"]),
        "summary": summary,
        "scored": [k for k in sorted(plan) if plan[k]["assessed"] != COMMENTED],
        "averages": averages,
        "conduct_levels": CONDUCT_LEVELS,
        "fmt": _fmt,
        "subject_query": lambda subjects: urlencode([("subject", s) for s in subjects]),
        "errors": {},
        "form": {},
    }


def _assessed(services: Services, school: UUID, year: str, class_name: str) -> dict[str, str]:
    """subject -> score / comment, from the class's plan (the write itself checks access)."""
    try:
        sy = services.ledger().load(school_year_id(school, year), SchoolYear)
    except RecordNotFound:
        return {}
    return {k: p.assessed for k, p in sy.plans.get(class_name, {}).items()}


def _save(
    services: Services,
    who: Caller,
    school: UUID,
    year: str,
    class_name: str,
    entries: Sequence[tuple[UUID, str, int, str, object]],
) -> None:
    """Record scores, or a comment subject's Đạt / Chưa đạt, in one signed save each."""
    how = _assessed(services, school, year, class_name)
    scored = [e for e in entries if how.get(e[1]) != COMMENTED]
    commented = [e for e in entries if how.get(e[1]) == COMMENTED]
    if scored:
        records.record_scores(services, who, scored)
    if commented:
        records.assess_comments(services, who, commented)


def _page(
    request: Request,
    who: Caller,
    school: UUID,
    year: str,
    class_name: str,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    form: dict[str, Any] | None = None,
) -> Response:
    context = book_context(request, who, school, year, class_name)
    context["errors"] = errors or {}
    context["form"] = form or {}
    return render(request, "gradebook.html", who, status=status, **context)


def _back(school: UUID, year: str, class_name: str, subject: str = "") -> str:
    path = book_path(school, year, class_name)
    return f"{path}?{urlencode({'subject': subject})}" if subject else path


@router.get(
    "/classes/{school}/{year}/{class_name}",
    openapi_extra=access("teacher", "homeroom", "principal", "inspector"),
)
def gradebook_page(request: Request, school: UUID, year: str, class_name: str) -> Response:
    """The class's grade book, with the forms the caller may use."""
    who = require_caller(request)
    return _page(request, who, school, year, class_name)


def _refused(
    request: Request,
    who: Caller,
    school: UUID,
    year: str,
    class_name: str,
    exc: LedgerError,
    which: str,
    form: dict[str, Any],
) -> Response:
    return _page(
        request,
        who,
        school,
        year,
        class_name,
        status=status_for(exc),
        errors={which: explain(exc, language(request))},
        form={which: form},
    )


def _filled(**fields: str) -> None:
    """Refuse a form with a required field left empty (nothing is written)."""
    empty = sorted(k for k, v in fields.items() if not v.strip())
    if empty:
        raise MissingField(f"required: {', '.join(empty)}")


def _term(value: str) -> int:
    if value not in ("1", "2"):
        raise InvalidInput("term must be 1 or 2")
    return int(value)


def _student(value: str) -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise InvalidInput("choose a student") from None


@router.post("/classes/{school}/{year}/{class_name}/scores", openapi_extra=access("teacher"))
def record_one(
    request: Request,
    school: UUID,
    year: str,
    class_name: str,
    csrf: str = Form("", max_length=200),
    student: str = Form("", max_length=64),
    subject: str = Form("", max_length=200),
    term: str = Form("", max_length=2),
    kind: str = Form("", max_length=4),
    value: str = Form("", max_length=32),
) -> Response:
    """Record one score (or a comment subject's Đạt / Chưa đạt)."""
    who = form_user(request, csrf)
    form = {"student": student, "subject": subject, "term": term, "kind": kind, "value": value}
    services: Services = request.app.state.services
    try:
        _filled(student=student, subject=subject, kind=kind, value=value)
        _save(
            services,
            who,
            school,
            year,
            class_name,
            [(_student(student), subject, _term(term), kind, value.strip())],
        )
    except LedgerError as exc:
        return _refused(request, who, school, year, class_name, exc, "entry", form)
    return redirect(
        request, _back(school, year, class_name, subject), flash=("gb.recorded", {"n": 1})
    )


@router.post("/classes/{school}/{year}/{class_name}/column", openapi_extra=access("teacher"))
async def record_column(request: Request, school: UUID, year: str, class_name: str) -> Response:
    """Record a column: one box per student, all checked before one signed save."""
    raw = await request.form(max_fields=MAX_COLUMN + 10)
    fields = {k: v for k, v in raw.items() if isinstance(v, str)}
    csrf = fields.get("csrf", "")
    who = await run_in_threadpool(form_user, request, csrf)
    subject = fields.get("subject", "")[:200]
    term = fields.get("term", "")[:2]
    kind = fields.get("kind", "")[:4]
    values = {
        k[len("value-") :]: v.strip()[:32]
        for k, v in fields.items()
        if k.startswith("value-") and v.strip()
    }
    form: dict[str, Any] = {"subject": subject, "term": term, "kind": kind, "values": values}
    services: Services = request.app.state.services

    def work() -> Response:
        try:
            _filled(subject=subject, kind=kind)
            if not values:
                raise MissingField("nothing to record")
            entries = [(_student(sid), subject, _term(term), kind, v) for sid, v in values.items()]
            _save(services, who, school, year, class_name, entries)
        except LedgerError as exc:
            return _refused(request, who, school, year, class_name, exc, "column", form)
        return redirect(
            request,
            _back(school, year, class_name, subject),
            flash=("gb.recorded", {"n": len(values)}),
        )

    return await run_in_threadpool(work)


@router.post("/classes/{school}/{year}/{class_name}/corrections", openapi_extra=access("teacher"))
def correct(
    request: Request,
    school: UUID,
    year: str,
    class_name: str,
    csrf: str = Form("", max_length=200),
    entry: str = Form("", max_length=100),
    value: str = Form("", max_length=32),
    reason: str = Form("", max_length=1000),
) -> Response:
    """Correct an entry (open term), or propose the correction (closed term)."""
    who = form_user(request, csrf)
    form = {"entry": entry, "value": value, "reason": reason}
    services: Services = request.app.state.services
    try:
        _filled(entry=entry, value=value, reason=reason)
        student_text, _, version_text = entry.partition(":")
        if not version_text.isdigit():
            raise InvalidInput("choose the score to correct")
        outcome = records.correct(
            services, who, _student(student_text), int(version_text), value.strip(), reason.strip()
        )
    except LedgerError as exc:
        return _refused(request, who, school, year, class_name, exc, "correct", form)
    key = "gb.proposed" if outcome.get("kind") == "proposal" else "gb.corrected"
    return redirect(request, _back(school, year, class_name), flash=(key, {}))


@router.post("/classes/{school}/{year}/{class_name}/homeroom", openapi_extra=access("homeroom"))
def homeroom(
    request: Request,
    school: UUID,
    year: str,
    class_name: str,
    csrf: str = Form("", max_length=200),
    student: str = Form("", max_length=64),
    term: str = Form("", max_length=2),
    conduct: str = Form("", max_length=32),
    absences: str = Form("", max_length=8),
) -> Response:
    """The GVCN's conduct and absences of a student for a term."""
    who = form_user(request, csrf)
    form = {"student": student, "term": term, "conduct": conduct, "absences": absences}
    services: Services = request.app.state.services
    try:
        if not conduct and not absences.strip():
            raise MissingField("nothing to record")
        sessions = None
        if absences.strip():
            if not absences.strip().isdigit():
                raise InvalidInput("absences must be a whole number of buổi, 0–200")
            sessions = int(absences.strip())
        record, which = _student(student), _term(term)
        if conduct:
            records.assess_conduct(services, who, record, which, conduct)
        if sessions is not None:
            records.record_absences(services, who, record, which, sessions)
    except LedgerError as exc:
        return _refused(request, who, school, year, class_name, exc, "homeroom", form)
    return redirect(request, _back(school, year, class_name), flash=("gb.homeroom_saved", {}))
