"""Map errors of the layers below to HTTP answers, in one place.

A route never builds an error response by hand: it raises, and the handlers
installed by :func:`install` choose the status. Nothing here echoes request
bodies, keys or personal data.
"""

from __future__ import annotations

import errno
import json

from eventsourcing.persistence import PersistenceError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
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


class NotReady(Exception):
    """The server cannot serve yet (readiness probe): 503 with the failed checks."""

    def __init__(self, checks: dict[str, str]) -> None:
        super().__init__("not ready: " + ", ".join(k for k, v in checks.items() if v != "ok"))
        self.checks = checks


def payload_too_large_body(limit: int) -> tuple[bytes, str]:
    """The 413 answer's body and media type (sent by :mod:`api.middleware` before routing)."""
    detail = f"nội dung yêu cầu vượt giới hạn {limit} byte (request body over {limit} bytes)"
    return _json({"error": "PayloadTooLarge", "detail": detail, "limit": limit})


def internal_error_body(request_id: str) -> tuple[bytes, str]:
    """The 500 answer of an unexpected exception: no detail, only the request id to report."""
    detail = (
        f"lỗi máy chủ; báo mã yêu cầu {request_id} cho quản trị viên "
        f"(internal error; report request id {request_id})"
    )
    return _json({"error": "InternalError", "detail": detail, "request_id": request_id})


def validation_detail(exc: RequestValidationError) -> list[dict[str, object]]:
    """FastAPI's validation errors without the input and context they quote.

    The input may be a password or personal data, or a value JSON cannot carry back (NaN,
    infinity: a 500 when FastAPI's own handler serialises it); the location, message and
    type say what is wrong.
    """
    return [
        {
            "loc": [p if isinstance(p, (str, int)) else str(p) for p in e.get("loc", ())],
            "msg": str(e.get("msg", "")),
            "type": str(e.get("type", "")),
        }
        for e in exc.errors()
    ]


def _json(content: dict[str, object]) -> tuple[bytes, str]:
    return json.dumps(content, ensure_ascii=False).encode("utf-8"), "application/json"


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


#: SQLite's result code SQLITE_FULL, PostgreSQL's SQLSTATE disk_full.
_SQLITE_FULL = 13
_PG_DISK_FULL = "53100"
STORAGE_FULL_DETAIL = (
    "máy chủ đã hết chỗ lưu trữ nên chưa ghi gì; báo quản trị viên giải phóng dung lượng "
    "rồi thử lại (storage full: nothing was written)"
)


def storage_full(exc: BaseException) -> bool:
    """Whether ``exc`` or an error that caused it says the store ran out of space.

    The store's own error (SQLite's "database or disk is full", PostgreSQL's disk_full, the
    system's ENOSPC) is chained under the ledger's :class:`StorageError`; an operator must
    free space, so the answer says so (507) rather than "try again shortly" (503).
    """
    seen: set[int] = set()
    found: BaseException | None = exc
    while found is not None and id(found) not in seen:
        seen.add(id(found))
        if getattr(found, "sqlite_errorcode", None) == _SQLITE_FULL:
            return True
        if getattr(found, "sqlstate", None) == _PG_DISK_FULL:
            return True
        if isinstance(found, OSError) and found.errno == errno.ENOSPC:
            return True
        found = found.__cause__ or found.__context__
    return False


#: What a client reads when the store failed under a request (its own text names hosts).
STORAGE_DOWN_DETAIL = (
    "hệ thống lưu trữ tạm thời không sẵn sàng; vui lòng thử lại "
    "(storage temporarily unavailable; try again)"
)


def status_for(exc: Exception) -> int:
    if isinstance(exc, (StorageError, PersistenceError)) and storage_full(exc):
        return 507  # Insufficient Storage (RFC 4918 §11.5)
    if isinstance(exc, PersistenceError):
        return 503  # the store's own error, not translated by the ledger
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
        status = status_for(exc)
        if status == 507:
            return JSONResponse(
                {"error": "StorageFull", "detail": STORAGE_FULL_DETAIL},
                status_code=507,
                headers={"Retry-After": "60"},
            )
        if isinstance(exc, PersistenceError):
            return JSONResponse(
                {"error": "StorageError", "detail": STORAGE_DOWN_DETAIL},
                status_code=503,
                headers={"Retry-After": "5"},
            )
        return JSONResponse({"error": type(exc).__name__, "detail": str(exc)}, status_code=status)

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

    async def not_ready(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, NotReady)
        return JSONResponse(
            {"status": "not ready", "checks": exc.checks},
            status_code=503,
            headers={"Retry-After": "5"},
        )

    async def invalid_request(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return JSONResponse({"error": "InvalidInput", "detail": validation_detail(exc)}, 422)

    app.add_exception_handler(RequestValidationError, invalid_request)
    app.add_exception_handler(NotReady, not_ready)
    app.add_exception_handler(NotAuthenticated, unauthenticated)
    app.add_exception_handler(CsrfFailed, csrf)
    app.add_exception_handler(AuthFailed, auth_failed)
    app.add_exception_handler(RateLimited, auth_failed)
    app.add_exception_handler(BadRequest, bad_request)
    for cls in (PayloadTooLarge, LedgerError, SigningError, PersistenceError):
        app.add_exception_handler(cls, known)
