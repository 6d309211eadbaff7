"""The principal's pages: ``/principal`` (approvals, term close, bulk issuance) and
``/issuance/{job}`` (a job's progress).

``/principal`` is for the school's Hiệu trưởng and Phó hiệu trưởng (a deputy reads it; the
ledger decides which writes a deputy may sign). It shows, for a school year (``?year=``,
the latest by default): the classes with their closed terms, the correction proposals
waiting for the principal's countersignature (each with its approve button), the form to
close a term (a confirmation step first: a closed term needs the principal for every later
change) and the bulk issuance form, which starts a job (:func:`api.jobs.start_issuance`)
and goes to its progress page. The progress page refreshes itself: ``static/app.js`` polls
``GET /api/v1/issuance/{job}`` with the session cookie; without JavaScript a
``<noscript><meta http-equiv="refresh"></noscript>`` reloads the page.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from fastapi import Form, Request
from fastapi.responses import Response

from api import jobs, records
from api.access import Caller, access
from api.errors import status_for
from api.services import Services
from api.web import explain, form_user, language, page_router, redirect, render, require_caller
from ledger.domain import SchoolYear, school_year_id
from ledger.errors import InvalidInput, LedgerError, NotAuthorized, RecordNotFound

router = page_router()

#: How many school years back the page offers.
YEARS_BACK = 12
#: Seconds between reloads of a running job's page without JavaScript.
REFRESH_SECONDS = 2


def _fmt(value: object) -> str:
    """A score as teachers write it (7.0 → 7)."""
    text = "" if value is None else str(value)
    return text[:-2] if text.endswith(".0") else text


def school_years(services: Services, school: UUID) -> list[str]:
    """The school's opened school years, newest first (the last :data:`YEARS_BACK`)."""
    now = datetime.now(UTC)
    start = now.year if now.month >= 8 else now.year - 1
    ledger = services.ledger()
    out = []
    for first in range(start + 1, start - YEARS_BACK, -1):
        year = f"{first}-{first + 1}"
        if ledger.exists(school_year_id(school, year)):
            out.append(year)
    return out


def _leader(request: Request, who: Caller) -> UUID:
    """The caller's school, if they lead it (principal or deputy); 403 otherwise."""
    if who.school is None or not who.leads:
        raise NotAuthorized("open the principal's page (Hiệu trưởng, Phó hiệu trưởng)")
    return who.school


def _overview(request: Request, who: Caller, year: str | None) -> dict[str, Any]:
    services: Services = request.app.state.services
    school = _leader(request, who)
    years = school_years(services, school)
    chosen = year if year in years else (years[0] if years else None)
    classes: list[dict[str, Any]] = []
    if chosen is not None:
        listed = records.classes(services, who, school, chosen)["classes"]
        sy = services.ledger().load(school_year_id(school, chosen), SchoolYear)
        for c in listed:
            c["closed"] = sorted(t for (name, t) in sy.closed if name == c["class"])
            classes.append(c)
    proposals = records.corrections(services, who, school, "pending")["proposals"]
    recent = jobs.recent_jobs(services, who, school)["jobs"]
    return {
        "school": school,
        "years": years,
        "year": chosen,
        "classes": classes,
        "proposals": proposals,
        "jobs": recent,
        "errors": {},
        "form": {},
        "confirm": None,
        "fmt": _fmt,
    }


def _page(
    request: Request,
    who: Caller,
    year: str | None,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    form: dict[str, Any] | None = None,
    confirm: dict[str, Any] | None = None,
) -> Response:
    context = _overview(request, who, year)
    context.update(errors=errors or {}, form=form or {}, confirm=confirm)
    return render(request, "principal.html", who, status=status, **context)


def _refused(
    request: Request, who: Caller, year: str, exc: LedgerError, which: str, form: dict[str, Any]
) -> Response:
    return _page(
        request,
        who,
        year,
        status=status_for(exc),
        errors={which: explain(exc, language(request))},
        form={which: form},
    )


@router.get("/principal", openapi_extra=access("principal"))
def principal_page(request: Request, year: str | None = None) -> Response:
    """Approvals, term close and bulk issuance of the caller's school."""
    who = require_caller(request)
    return _page(request, who, year)


@router.post("/principal/approve", openapi_extra=access("principal"))
def approve(
    request: Request,
    csrf: str = Form("", max_length=200),
    record: str = Form("", max_length=64),
    proposal: str = Form("", max_length=12),
    year: str = Form("", max_length=9),
) -> Response:
    """Countersign a correction proposal (the ledger checks the signer is the principal)."""
    who = form_user(request, csrf)
    _leader(request, who)
    services: Services = request.app.state.services
    try:
        if not proposal.isdigit():
            raise InvalidInput("choose a proposal")
        try:
            rid = UUID(record)
        except ValueError:
            raise InvalidInput("choose a proposal") from None
        records.approve_correction(services, who, rid, int(proposal))
    except LedgerError as exc:
        return _refused(request, who, year, exc, "approve", {"record": record})
    return redirect(request, _principal_url(year), flash=("pr.approved", {}))


def _principal_url(year: str) -> str:
    return f"/principal?year={year}" if year and len(year) == 9 else "/principal"


@router.post("/principal/close", openapi_extra=access("principal"))
def close_term(
    request: Request,
    csrf: str = Form("", max_length=200),
    year: str = Form("", max_length=9),
    class_name: str = Form("", alias="class", max_length=50),
    term: str = Form("", max_length=2),
    confirm: str = Form("", max_length=8),
) -> Response:
    """Close a term of a class: first a confirmation page, then the signed close."""
    who = form_user(request, csrf)
    school = _leader(request, who)
    services: Services = request.app.state.services
    form = {"year": year, "class": class_name, "term": term}
    try:
        if term not in ("1", "2") or not class_name or not year:
            raise InvalidInput("choose the school year, the class and the term")
        if confirm != "yes":
            return _page(request, who, year, form={"close": form}, confirm=form)
        records.close_term(services, who, school, year, class_name, int(term))
    except LedgerError as exc:
        return _refused(request, who, year, exc, "close", form)
    return redirect(
        request, _principal_url(year), flash=("pr.closed", {"term": int(term), "cls": class_name})
    )


@router.post("/principal/issuance", openapi_extra=access("principal"))
def start_issuance(
    request: Request,
    csrf: str = Form("", max_length=200),
    year: str = Form("", max_length=9),
    class_name: str = Form("", alias="class", max_length=50),
) -> Response:
    """Start a bulk issuance for a class (or every class, ``class=*``) of a school year."""
    who = form_user(request, csrf)
    school = _leader(request, who)
    services: Services = request.app.state.services
    form = {"year": year, "class": class_name}
    try:
        if not class_name:
            raise InvalidInput("choose a class, or every class")
        every = class_name == "*"
        started = jobs.start_issuance(
            services,
            who,
            school,
            school_year=year or None,
            class_name=None if every else class_name,
            every_class=every,
        )
    except LedgerError as exc:
        return _refused(request, who, year, exc, "issue", form)
    return redirect(request, f"/issuance/{started['job']}")


@router.get("/issuance/{job}", openapi_extra=access("principal"))
def issuance_page(request: Request, job: str) -> Response:
    """A bulk issuance job's progress and the transcripts it issued (with downloads)."""
    who = require_caller(request)
    try:
        jid = UUID(job)
    except ValueError:
        raise RecordNotFound("no issuance job with this id") from None
    services: Services = request.app.state.services
    status = jobs.issuance_status(services, who, jid)
    active = status["state"] in jobs.ACTIVE
    return render(
        request,
        "issuance.html",
        who,
        job=status,
        active=active,
        refresh=REFRESH_SECONDS,
        percent=int(100 * status["done"] / status["total"]) if status["total"] else 100,
    )
