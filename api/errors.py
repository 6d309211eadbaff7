"""Map errors of the layers below to HTTP answers, in one place.

A route never builds an error response by hand: it raises, and the handlers
installed by :func:`install` choose the status. Nothing here echoes request
bodies, keys or personal data.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from api.access import CsrfFailed, NotAuthenticated
from api.accounts import AuthFailed
from api.ratelimit import RateLimited
from ledger.errors import (
    AlreadyExists,
    ConcurrencyConflict,
    InvalidInput,
    LedgerError,
    NotAuthorized,
    RecordNotFound,
    StorageError,
)
from signing.errors import SigningError, VerificationError


class PayloadTooLarge(Exception):
    """The request body is over the configured limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"request body over the limit of {limit} bytes")
        self.limit = limit


class BadRequest(Exception):
    """The request is malformed; ``body`` (if any) is sent with the 400."""

    def __init__(self, message: str, body: bytes | None = None, media_type: str = "") -> None:
        super().__init__(message)
        self.body = body
        self.media_type = media_type


_STATUS: list[tuple[type[Exception], int]] = [
    (PayloadTooLarge, 413),
    (NotAuthorized, 403),
    (RecordNotFound, 404),
    (AlreadyExists, 409),
    (ConcurrencyConflict, 409),
    (InvalidInput, 422),
    (StorageError, 503),
    (VerificationError, 422),
    (LedgerError, 422),
    (SigningError, 422),
]


def status_for(exc: Exception) -> int:
    for cls, status in _STATUS:
        if isinstance(exc, cls):
            return status
    return 500


def install(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    async def bad_request(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, BadRequest)
        if exc.body is not None:
            from fastapi.responses import Response

            return Response(exc.body, status_code=400, media_type=exc.media_type)  # type: ignore[return-value]
        return JSONResponse({"error": "bad_request", "detail": str(exc)}, status_code=400)

    async def known(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(
            {"error": type(exc).__name__, "detail": str(exc)}, status_code=status_for(exc)
        )

    async def unauthenticated(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse(
            {"error": "NotAuthenticated", "detail": "đăng nhập để tiếp tục (login required)"},
            status_code=401,
            headers={"WWW-Authenticate": 'Bearer realm="socai"'},
        )

    async def csrf(_: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"error": "CsrfFailed", "detail": str(exc)}, status_code=403)

    async def auth_failed(_: Request, exc: Exception) -> JSONResponse:
        headers = {}
        status = 401
        retry = getattr(exc, "retry_after", None)
        if retry is not None:
            status = 429
            headers["Retry-After"] = str(retry)
        return JSONResponse(
            {"error": type(exc).__name__, "detail": str(exc)}, status_code=status, headers=headers
        )

    app.add_exception_handler(NotAuthenticated, unauthenticated)
    app.add_exception_handler(CsrfFailed, csrf)
    app.add_exception_handler(AuthFailed, auth_failed)
    app.add_exception_handler(RateLimited, auth_failed)
    app.add_exception_handler(BadRequest, bad_request)
    for cls in (PayloadTooLarge, LedgerError, SigningError):
        app.add_exception_handler(cls, known)
