"""The transparency log over HTTP: checkpoints, the log key, inclusion and consistency proofs.

Static-shaped answers (a checkpoint, a proof for fixed sizes), so any HTTP cache can serve
them (DESIGN.md §7).
"""

from __future__ import annotations

import base64
from typing import Any
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from api.access import access
from api.services import Services
from ledger.domain import student_id
from ledger.errors import InvalidInput, RecordNotFound
from ledger.log import LogError

router = APIRouter(prefix="/api/v1/log", tags=["log"])


def _services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


def _b64(h: bytes) -> str:
    return base64.b64encode(h).decode()


@router.get("/checkpoint", response_class=Response, openapi_extra=access("public"))
async def checkpoint(request: Request) -> Response:
    """The latest signed checkpoint with its cosignatures (C2SP signed note, text/plain)."""
    checkpointer = _services(request).checkpointer()
    latest = await run_in_threadpool(checkpointer.latest)
    if latest is None:
        raise RecordNotFound("the log has not signed a checkpoint yet")
    return Response(latest.note, media_type="text/plain; charset=utf-8")


@router.get("/vkey", response_class=Response, openapi_extra=access("public"))
def vkey(request: Request) -> Response:
    """The log's verifier key (C2SP vkey)."""
    return Response(_services(request).checkpointer().verifier.vkey + "\n", media_type="text/plain")


@router.get("/prove", openapi_extra=access("public"))
async def prove(request: Request, record: str = Query(max_length=100)) -> dict[str, Any]:
    """Inclusion of a record's newest event in the latest signed checkpoint."""
    services = _services(request)
    try:
        rid = UUID(record)
    except ValueError:
        rid = student_id(record)

    def work() -> dict[str, Any]:
        ledger = services.ledger()
        rows = ledger.recorder.select_events(rid, desc=True, limit=1)
        if not rows:
            raise RecordNotFound(f"no record {record}")
        checkpointer = services.checkpointer()
        latest = checkpointer.latest()
        if latest is None:
            raise RecordNotFound("the log has not signed a checkpoint yet")
        try:
            return checkpointer.prove_record(rid, rows[0].originator_version, latest)
        except LogError as e:
            raise RecordNotFound(str(e)) from e

    return await run_in_threadpool(work)


@router.get("/consistency", openapi_extra=access("public"))
async def consistency(
    request: Request, old: int = Query(ge=0), new: int = Query(ge=0)
) -> dict[str, Any]:
    """RFC 9162 consistency proof between two tree sizes, with both roots."""
    services = _services(request)

    def work() -> dict[str, Any]:
        log = services.ledger().transparency_log
        try:
            proof = log.consistency_proof(old, new)
            return {
                "old_size": old,
                "new_size": new,
                "old_root": _b64(log.root(old)),
                "new_root": _b64(log.root(new)),
                "consistency_proof": [_b64(h) for h in proof],
            }
        except LogError as e:
            raise InvalidInput(str(e)) from e

    return await run_in_threadpool(work)
