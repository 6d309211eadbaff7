"""The embedded time-stamping authority over HTTP (RFC 3161 §3.4)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from api.access import access
from api.errors import BadRequest
from api.http import read_body
from api.services import Services
from ledger.errors import RecordNotFound

router = APIRouter(tags=["tsa"])

QUERY = "application/timestamp-query"
REPLY = "application/timestamp-reply"


@router.post("/tsa", response_class=Response, openapi_extra=access("public"))
async def timestamp(request: Request) -> Response:
    """A DER TimeStampReq in, a DER TimeStampResp out; a rejected request gets 400."""
    services: Services = request.app.state.services
    if services.tsa is None:
        raise RecordNotFound("this deployment runs no time-stamping authority")
    body = await read_body(request, services.request_limit, media_type=QUERY)
    ok, answer = services.tsa.respond_or_reject(body)
    if not ok:
        raise BadRequest("time-stamp request rejected", answer, REPLY)
    return Response(answer, media_type=REPLY)
