"""Small HTTP helpers shared by the routes."""

from __future__ import annotations

from fastapi import Request

from api.errors import BadRequest, PayloadTooLarge


async def read_body(request: Request, limit: int, *, media_type: str | None = None) -> bytes:
    """Read the body, refusing it with 413 as soon as it exceeds ``limit`` bytes.

    A declared Content-Length over the limit is refused before anything is
    read; a chunked body is read until it passes the limit, never whole.
    """
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise PayloadTooLarge(limit)
        except ValueError:
            raise BadRequest("invalid Content-Length") from None
    if media_type is not None:
        got = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if got != media_type:
            raise BadRequest(f"expected Content-Type {media_type}")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)
