"""The inspector's API (thanh tra; read-only): timelines, anomalies, changes, reports, reads.

For an inspector account of the school, or the school's principal or deputy (``{school}`` is
the school's id or its mã trường); another school → 404, its teachers → 403. The work is in
:mod:`api.inspecting`; every read is logged there.

* ``GET /api/v1/schools/{school}/timeline``: the school's events, newest first, filtered by
  ``from``, ``to`` (a day or an ISO time), ``actor`` (staff id or code), ``record`` (id or
  mã học sinh), ``event`` (comma list), ``before``/``after`` (log positions); ``page``,
  ``limit`` (≤ 500), ``order`` (``desc``/``asc``), ``lang``.
* ``GET /api/v1/records/{record}/timeline``: one record's (or staff file's) timeline.
* ``GET /api/v1/schools/{school}/anomalies``: what looks odd, with the audit's problems.
* ``GET /api/v1/schools/{school}/changes?bucket=day|week|month``: counts over time.
* ``GET /api/v1/schools/{school}/audit-report?format=json|csv|html|pdf&lang=vi|en``: the
  report as a download (``table`` chooses the CSV: the whole timeline by default).
* ``GET /api/v1/schools/{school}/reads``: who read which record of the school.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from api import inspecting
from api.access import CallerDep, access
from api.inspecting import MAX_LIMIT, TimelineFilter, parse_filter, school_of

router = APIRouter(prefix="/api/v1", tags=["inspection"])

_INSPECTORS = access("principal", "inspector")

Lang = Annotated[Literal["vi", "en"], Query(description="language of labels: vi or en")]
Order = Annotated[Literal["desc", "asc"], Query(description="desc: newest first")]
Page = Annotated[int, Query(ge=1, le=1_000_000)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Position = Annotated[int | None, Query(ge=0, description="log position (a row's position)")]
Text = Annotated[str | None, Query(max_length=64)]
Events = Annotated[str | None, Query(max_length=2000, description="comma list of event names")]
From = Annotated[str | None, Query(alias="from", max_length=40, description="day or ISO time")]
To = Annotated[str | None, Query(max_length=40, description="day (inclusive) or ISO time")]


def _filter(
    start: str | None,
    to: str | None,
    actor: str | None,
    record: str | None,
    event: str | None,
    before: int | None,
    after: int | None,
) -> TimelineFilter:
    return parse_filter(
        start=start,
        end=to,
        actor=actor,
        record=record,
        event=event,
        before=before,
        after=after,
    )


@router.get("/schools/{school}/timeline", openapi_extra=_INSPECTORS)
def school_timeline(
    school: str,
    who: CallerDep,
    request: Request,
    start: From = None,
    to: To = None,
    actor: Text = None,
    record: Text = None,
    event: Events = None,
    before: Position = None,
    after: Position = None,
    page: Page = 1,
    limit: Limit = 100,
    order: Order = "desc",
    lang: Lang = "vi",
) -> Any:
    """One page of the school's timeline."""
    return inspecting.timeline(
        request.app.state.services,
        who,
        school_of(school),
        _filter(start, to, actor, record, event, before, after),
        page=page,
        limit=limit,
        order=order,
        lang=lang,
    )


@router.get("/records/{record}/timeline", openapi_extra=_INSPECTORS)
def record_timeline(
    record: UUID,
    who: CallerDep,
    request: Request,
    start: From = None,
    to: To = None,
    actor: Text = None,
    event: Events = None,
    before: Position = None,
    after: Position = None,
    page: Page = 1,
    limit: Limit = 100,
    order: Order = "desc",
    lang: Lang = "vi",
) -> Any:
    """One page of a student record's (or staff file's) timeline."""
    return inspecting.record_timeline(
        request.app.state.services,
        who,
        record,
        _filter(start, to, actor, None, event, before, after),
        page=page,
        limit=limit,
        order=order,
        lang=lang,
    )


@router.get("/schools/{school}/anomalies", openapi_extra=_INSPECTORS)
def school_anomalies(
    school: str,
    who: CallerDep,
    request: Request,
    kind: Text = None,
    severity: Annotated[Literal["violation", "question"] | None, Query()] = None,
    lang: Lang = "vi",
) -> Any:
    """The school's anomalies and the audit's problems, explained."""
    return inspecting.anomalies(
        request.app.state.services, who, school_of(school), kind=kind, severity=severity, lang=lang
    )


@router.get("/schools/{school}/changes", openapi_extra=_INSPECTORS)
def school_changes(
    school: str,
    who: CallerDep,
    request: Request,
    bucket: Annotated[Literal["day", "week", "month"], Query()] = "day",
    start: From = None,
    to: To = None,
    actor: Text = None,
    record: Text = None,
    event: Events = None,
) -> Any:
    """Counts of the school's events over time (for a chart)."""
    return inspecting.changes(
        request.app.state.services,
        who,
        school_of(school),
        _filter(start, to, actor, record, event, None, None),
        bucket=bucket,
    )


@router.get(
    "/schools/{school}/audit-report",
    openapi_extra=_INSPECTORS,
    response_class=FileResponse,
    responses={
        200: {
            "description": "the report file",
            "content": {
                "application/json": {},
                "text/csv": {},
                "text/html": {},
                "application/pdf": {},
            },
        }
    },
)
def audit_report(
    school: str,
    who: CallerDep,
    request: Request,
    format: Annotated[Literal["json", "csv", "html", "pdf"], Query()] = "json",
    lang: Lang = "vi",
    table: Annotated[
        Literal["timeline", "anomalies", "per-signer", "corrections", "records"], Query()
    ] = "timeline",
) -> FileResponse:
    """The inspection report as a download (CSV: one ``table``, the whole timeline by default)."""
    report = inspecting.audit_report(
        request.app.state.services, who, school_of(school), fmt=format, lang=lang, table=table
    )
    return FileResponse(
        report.path,
        media_type=report.media_type,
        filename=report.filename,
        headers={"Cache-Control": "private, no-store"},
        background=BackgroundTask(report.cleanup),
    )


@router.get("/schools/{school}/reads", openapi_extra=_INSPECTORS)
def school_reads(
    school: str,
    who: CallerDep,
    request: Request,
    record: Text = None,
    username: Text = None,
    limit: Limit = 100,
) -> Any:
    """Who read which record of the school, newest first."""
    return inspecting.reads(
        request.app.state.services,
        who,
        school_of(school),
        record=record,
        username=username,
        limit=limit,
    )
