"""Public verification of an issued học bạ số: ``POST /api/v1/verify`` (DESIGN.md §5).

The PDF comes as a raw ``application/pdf`` body or as the field ``file`` of a
``multipart/form-data`` body. A body over the upload limit (``verify_upload_limit`` in
``socai.json``, default 20 MB) gets 413 before it is read whole. The answer is the report of
``socai verify --json``, with HTTP 200 whatever the verdict (429 past the per-address rate limit,
:mod:`api.ratelimit`): the verdict is the report's
``status``, never an HTTP error (a malformed PDF is a TOTAL-FAILED report, not a 4xx/5xx).
"""

from __future__ import annotations

import email.parser
import email.policy
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool

from api.access import access
from api.errors import BadRequest
from api.http import read_body
from api.services import Services
from projections.verify import Limits, VerifyTrust, trust_from_data_dir, verify_file

router = APIRouter(prefix="/api/v1", tags=["verify"])

DEFAULT_LIMIT = 20 * 1024 * 1024
#: Room for the multipart framing around the file itself.
FRAMING = 64 * 1024


@cache
def verify_trust(data_dir: Path) -> VerifyTrust:
    return trust_from_data_dir(data_dir)


def upload_limit(services: Services) -> int:
    path = services.settings.data_dir / "socai.json"
    try:
        import json

        return int(json.loads(path.read_text("utf-8")).get("verify_upload_limit", DEFAULT_LIMIT))
    except (OSError, ValueError):
        return DEFAULT_LIMIT


def _file_of(body: bytes, content_type: str) -> bytes:
    """The ``file`` part of a multipart/form-data body."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1")
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    if not message.is_multipart():
        raise BadRequest("malformed multipart body")
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == "file":
            payload = part.get_payload(decode=True)
            if isinstance(payload, bytes):
                return payload
    raise BadRequest("no form field named 'file'")


@router.post("/verify", openapi_extra=access("public"))
async def verify(request: Request) -> dict[str, Any]:
    """Verify an uploaded transcript; the ETSI-style report of ``socai verify --json``."""
    services: Services = request.app.state.services
    services.limiter().hit("verify", request.client.host if request.client else "?")
    limit = upload_limit(services)
    content_type = request.headers.get("content-type", "")
    kind = content_type.split(";")[0].strip().lower()
    if kind not in ("application/pdf", "multipart/form-data"):
        raise BadRequest("send the PDF as application/pdf or as multipart field 'file'")
    framing = FRAMING if kind == "multipart/form-data" else 0
    body = await read_body(request, limit + framing)
    data = _file_of(body, content_type) if kind == "multipart/form-data" else body
    limits = Limits(max_bytes=limit)
    report = await run_in_threadpool(
        verify_file, data, verify_trust(services.settings.data_dir), limits=limits
    )
    return report.as_dict()
