"""Issued transcripts of a record, for online verification: ``GET /api/v1/transcripts/{record}``.

Public and read-only: the issue numbers, transcript ids, the PDF hashes, the record versions
they show and whether each was superseded; no personal data. A verifier with a file asks
whether its SHA-256 is a current issue (DESIGN.md §5, "freshness").
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from api.access import access
from api.errors import BadRequest
from api.services import Services
from ledger.domain import StudentRecord

router = APIRouter(prefix="/api/v1", tags=["transcripts"])


@router.get("/transcripts/{record}", openapi_extra=access("public"))
async def transcripts(request: Request, record: str) -> dict[str, Any]:
    """Every issue of the record's transcript, oldest first."""
    services: Services = request.app.state.services
    try:
        rid = UUID(record)
    except ValueError:
        raise BadRequest("record must be a UUID") from None

    def work() -> dict[str, Any]:
        student = services.ledger().load(rid, StudentRecord)
        return {
            "record": str(rid),
            "version": int(student.version),
            "transcripts": [
                {
                    "number": t.number,
                    "transcript": t.transcript,
                    "school_year": t.school_year,
                    "record_version": t.record_version,
                    "sha256": t.sha256,
                    "superseded": t.superseded_at is not None,
                    "supersedes": t.supersedes,
                }
                for t in student.transcripts
            ],
        }

    return await run_in_threadpool(work)
