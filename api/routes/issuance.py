"""Bulk issuance of học bạ số and the download of issued transcripts (DESIGN.md §1, §5).

* ``POST /api/v1/schools/{school}/issuance`` (the school's principal): start a job for
  ``{"school_year"?, "class"?, "students"?: [record ids], "all"?: true}``; 202 with
  ``{"job", "total", "state"}``; 409 while another job of the school runs.
* ``GET /api/v1/schools/{school}/issuance``: the school's latest jobs.
* ``GET /api/v1/issuance/{job}``: a job's progress: ``state`` (queued, running, done,
  failed), ``total``, ``done``, ``failed``, ``issued`` ([{record, number, sha256}]),
  ``errors``.
* ``GET /api/v1/records/{record}/transcripts``: the record's issues (for those who read it).
* ``GET /api/v1/records/{record}/transcripts/{number}.pdf``: the signed PDF, byte for byte
  the issued file (its SHA-256 is the ledger's); the read is logged.

``{school}`` is the school's id or its mã trường. The work is in :mod:`api.jobs`.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from api import jobs
from api.access import CallerDep, access
from api.inspecting import school_of

router = APIRouter(prefix="/api/v1", tags=["issuance"])

_READERS = access("teacher", "homeroom", "principal", "inspector")


class IssuanceIn(BaseModel):
    """Which students to issue for: ``students``, a ``class`` of ``school_year``, or ``all``."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    school_year: str | None = Field(default=None, max_length=9, examples=["2025-2026"])
    class_name: str | None = Field(default=None, alias="class", max_length=50, examples=["6A1"])
    students: list[UUID] = Field(default_factory=list, max_length=jobs.MAX_STUDENTS)
    all: bool = False


@router.post("/schools/{school}/issuance", status_code=202, openapi_extra=access("principal"))
def start_issuance(school: str, body: IssuanceIn, who: CallerDep, request: Request) -> Any:
    """Start signing and issuing the transcripts of the chosen students (Hiệu trưởng only)."""
    return jobs.start_issuance(
        request.app.state.services,
        who,
        school_of(school),
        school_year=body.school_year,
        class_name=body.class_name,
        students=body.students,
        every_class=body.all,
    )


@router.get("/schools/{school}/issuance", openapi_extra=access("principal"))
def school_jobs(
    school: str, who: CallerDep, request: Request, limit: int = Query(20, ge=1, le=100)
) -> Any:
    """The school's latest issuance jobs, newest first."""
    return jobs.recent_jobs(request.app.state.services, who, school_of(school), limit)


@router.get("/issuance/{job}", openapi_extra=access("principal"))
def job_status(job: UUID, who: CallerDep, request: Request) -> Any:
    """A job's progress, the transcripts it issued and what it refused."""
    return jobs.issuance_status(request.app.state.services, who, job)


@router.get("/records/{record}/transcripts", openapi_extra=_READERS)
def record_transcripts(record: UUID, who: CallerDep, request: Request) -> Any:
    """The record's issued transcripts, oldest first, with their download addresses."""
    return jobs.transcripts_of(request.app.state.services, who, record)


@router.get(
    "/records/{record}/transcripts/{number}.pdf",
    openapi_extra=_READERS,
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "the signed PDF"}},
)
def download_transcript(record: UUID, number: int, who: CallerDep, request: Request) -> Response:
    """The signed PDF of one issue, exactly as issued."""
    found = jobs.transcript_file(request.app.state.services, who, record, number)
    return Response(
        found.content,
        media_type=found.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{found.filename}"',
            "Cache-Control": "private, no-store",
            "ETag": f'"{found.sha256}"',
        },
    )
