"""The HTTP surface's outer layer: body limits, security headers, access logs, the catch-all.

One pure ASGI middleware (:class:`Guard`), installed once by :func:`install` in
:func:`api.app.create_app`. For every HTTP request it:

1. refuses a body over the route's limit with **413**: a declared ``Content-Length`` over it
   before anything is read; a chunked body as soon as the bytes received pass it (the body is
   never read whole). The answer carries ``Connection: close`` so the client stops sending.
   Limits are per path prefix in :data:`BODY_LIMITS` (values from ``socai.json``); every
   other route gets ``request_limit`` (default 1 MiB). Routes may check a tighter limit of
   their own (:func:`api.http.read_body`).
2. adds the security headers of :func:`security_headers` to every response (CSP without
   inline script or style, ``nosniff``, ``DENY`` framing, no referrer, a Permissions-Policy
   that allows only the camera (QR scanning), COOP, HSTS over https) and
   ``Cache-Control: no-store`` to every response of a request that carries credentials and
   to everything under ``/api/v1/auth/``.
3. writes one access line to ``socai.http`` (see :mod:`api.obs`) and returns the request id
   as ``X-Request-ID``; ``X-Worker`` names the serving process by a random id (not its PID).
4. answers an unexpected exception with a JSON 500 (the request id in it) after logging the
   exception's type and frames, never the request's data.
"""

from __future__ import annotations

import os
import secrets
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from starlette.requests import ClientDisconnect
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api import errors, obs

__all__ = [
    "BODY_LIMITS",
    "DEFAULT_REQUEST_LIMIT",
    "BodyLimit",
    "Guard",
    "install",
    "limit_for",
    "security_headers",
]

#: Default limit of a request body (JSON routes), ``request_limit`` in ``socai.json``.
DEFAULT_REQUEST_LIMIT = 1024 * 1024
#: Default limit of an uploaded transcript, ``verify_upload_limit`` in ``socai.json``.
DEFAULT_VERIFY_LIMIT = 20 * 1024 * 1024
#: Room for multipart framing around an uploaded file.
MULTIPART_FRAMING = 64 * 1024

#: Scope key where the access layer notes the caller's account id (see :func:`note_account`).
ACCOUNT_KEY = "socai.account"


@dataclass(frozen=True)
class BodyLimit:
    """The body limit of every path under ``prefix`` (the prefix itself included)."""

    prefix: str
    #: The ``socai.json`` key holding the limit in bytes.
    key: str
    default: int
    #: Bytes allowed on top (multipart framing around a file of ``key`` bytes).
    framing: int = 0

    def covers(self, path: str) -> bool:
        return path == self.prefix or path.startswith(self.prefix.rstrip("/") + "/")


#: Limits by path prefix; the first that covers the path applies, else ``request_limit``.
#: Verification uploads (the API and the public page's multipart form) get the upload limit.
BODY_LIMITS: tuple[BodyLimit, ...] = (
    BodyLimit("/api/v1/verify", "verify_upload_limit", DEFAULT_VERIFY_LIMIT, MULTIPART_FRAMING),
    BodyLimit("/verify", "verify_upload_limit", DEFAULT_VERIFY_LIMIT, MULTIPART_FRAMING),
    BodyLimit("/xac-minh", "verify_upload_limit", DEFAULT_VERIFY_LIMIT, MULTIPART_FRAMING),
)


def limit_for(path: str, config: dict[str, Any]) -> int:
    """The body limit in bytes of a request to ``path`` under ``config`` (``socai.json``)."""
    for entry in BODY_LIMITS:
        if entry.covers(path):
            return _int(config.get(entry.key), entry.default) + entry.framing
    return _int(config.get("request_limit"), DEFAULT_REQUEST_LIMIT)


def _int(value: Any, default: int) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return default


# -- headers --------------------------------------------------------------------------------

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
)
#: FastAPI's interactive API docs load Swagger UI / ReDoc from a CDN with an inline script;
#: they show no data of ours, so only they get this wider policy.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net https://fonts.googleapis.com; "
    "font-src 'self' https://fonts.gstatic.com; img-src 'self' data: https:; "
    "worker-src 'self' blob:; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)
DOCS_PATHS = frozenset({"/docs", "/docs/oauth2-redirect", "/redoc"})
#: Only the camera is allowed (the verification page scans a transcript's QR code).
PERMISSIONS_POLICY = ", ".join(
    [
        "camera=(self)",
        *(
            f"{feature}=()"
            for feature in (
                "accelerometer",
                "autoplay",
                "bluetooth",
                "browsing-topics",
                "display-capture",
                "geolocation",
                "gyroscope",
                "hid",
                "idle-detection",
                "magnetometer",
                "microphone",
                "midi",
                "payment",
                "publickey-credentials-get",
                "screen-wake-lock",
                "serial",
                "usb",
                "xr-spatial-tracking",
            )
        ),
    ]
)
HSTS = "max-age=63072000; includeSubDomains"
AUTH_PREFIX = "/api/v1/auth/"
SESSION_COOKIE = b"socai_session="


def security_headers(path: str, https: bool) -> list[tuple[bytes, bytes]]:
    """The headers every response gets (a route may set its own CSP)."""
    headers = [
        (b"content-security-policy", (DOCS_CSP if path in DOCS_PATHS else CSP).encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"x-frame-options", b"DENY"),
        (b"referrer-policy", b"no-referrer"),
        (b"permissions-policy", PERMISSIONS_POLICY.encode()),
        (b"cross-origin-opener-policy", b"same-origin"),
    ]
    if https:
        headers.append((b"strict-transport-security", HSTS.encode()))
    return headers


def _carries_credentials(scope: Scope) -> bool:
    for name, value in scope.get("headers", ()):
        if name == b"authorization" or (name == b"cookie" and SESSION_COOKIE in value):
            return True
    return False


def _worker() -> bytes:
    """A random id of this process, fixed for its life (tells workers apart, hides the PID)."""
    pid = os.getpid()
    if _WORKER[0] != pid:
        _WORKER[:] = [pid, secrets.token_hex(4).encode()]
    return bytes(_WORKER[1])


_WORKER: list[Any] = [None, b""]


# -- the route template ---------------------------------------------------------------------


def route_template(scope: Scope) -> str:
    """The template of the route that served ``scope`` (never the concrete path).

    A request answered before routing (a body refused for its declared length) is matched
    against the app's routes here.
    """
    route = scope.get("route")
    if route is None:
        route = _match(scope)
    if route is None:
        return "<unmatched>"
    if isinstance(route, Mount):
        return route.path.rstrip("/") + "/{path}"
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return str(template) if template else "<unmatched>"


def concrete_routes(routes: Any) -> Iterator[Any]:
    """The app's routes, with routers included by FastAPI (``original_router``) walked into."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from concrete_routes(inner.routes)
        else:
            yield route


def _match(scope: Scope) -> Any:
    from starlette.routing import Match

    router = getattr(scope.get("app"), "router", None)
    partial = None
    for route in concrete_routes(getattr(router, "routes", ())):
        try:
            match, _ = route.matches(dict(scope))
        except Exception:  # noqa: S112 - a route that cannot judge this scope does not name it
            continue
        if match is Match.FULL:
            return route
        if match is Match.PARTIAL and partial is None:
            partial = route
    return partial


def note_account(scope: Scope, account: uuid.UUID) -> None:
    """For the access layer: the request is authenticated as ``account`` (an opaque id)."""
    scope[ACCOUNT_KEY] = account


# -- the middleware -------------------------------------------------------------------------


class _BodyTooLarge(Exception):
    """Raised into the app from ``receive`` once the 413 is sent."""


class Guard:
    """The pure ASGI middleware of the module docstring."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._config: dict[str, Any] | None = None

    def config(self, scope: Scope) -> dict[str, Any]:
        """``socai.json``, read once per process (empty before the services are loaded)."""
        if self._config is None:
            app = scope.get("app")
            services = getattr(getattr(app, "state", None), "services", None)
            if services is None:
                return {}
            self._config = services.config()
        return self._config

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        rid = uuid.uuid4().hex
        token = obs.request_id.set(rid)
        path = str(scope.get("path", ""))
        limit = limit_for(path, self.config(scope))
        https = scope.get("scheme") == "https"
        no_store = path.startswith(AUTH_PREFIX) or _carries_credentials(scope)
        state = _State()

        async def send_guarded(message: Message) -> None:
            if state.cut_off:
                return  # the 413 is out; whatever the app answers now is dropped
            if message["type"] == "http.response.start":
                state.status = int(message["status"])
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in security_headers(path, https):
                    if name not in present:
                        headers.append((name, value))
                if no_store:
                    headers = [(n, v) for n, v in headers if n.lower() != b"cache-control"]
                    headers.append((b"cache-control", b"no-store"))
                headers.append((b"x-request-id", rid.encode()))
                headers.append((b"x-worker", _worker()))
                message = {**message, "headers": headers}
            await send(message)
            if message["type"] == "http.response.start":
                state.started = True

        async def refuse_too_large() -> None:
            body, media_type = errors.payload_too_large_body(limit)
            await send_guarded(
                {
                    "type": "http.response.start",
                    "status": 413,
                    "headers": [
                        (b"content-type", media_type.encode()),
                        (b"content-length", str(len(body)).encode()),
                        (b"connection", b"close"),
                    ],
                }
            )
            await send_guarded({"type": "http.response.body", "body": body})
            state.cut_off = True

        async def receive_limited() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                state.received += len(message.get("body", b""))
                if state.received > limit:
                    if not state.started:
                        await refuse_too_large()
                    raise _BodyTooLarge()
            return message

        try:
            declared = _declared_length(scope)
            if declared is not None and declared > limit:
                await refuse_too_large()
                return
            try:
                await self.app(scope, receive_limited, send_guarded)
            except (_BodyTooLarge, ClientDisconnect):
                pass  # answered with 413 already, or nobody left to answer
            except Exception as exc:
                if state.cut_off:
                    return  # the app tripped over the refused body: already answered
                obs.log_exception(exc, route_template(scope))
                if not state.started:
                    body, media_type = errors.internal_error_body(rid)
                    await send_guarded(
                        {
                            "type": "http.response.start",
                            "status": 500,
                            "headers": [
                                (b"content-type", media_type.encode()),
                                (b"content-length", str(len(body)).encode()),
                            ],
                        }
                    )
                    await send_guarded({"type": "http.response.body", "body": body})
        finally:
            account = scope.get(ACCOUNT_KEY)
            if account is None and state.status is not None and state.status < 400:
                account = await _account_of(scope)
            obs.ACCESS.info(
                "request",
                extra={
                    "fields": {
                        "method": scope.get("method"),
                        "route": route_template(scope),
                        "status": state.status,
                        "ms": round((time.perf_counter() - started) * 1000, 1),
                        "account": account.hex if isinstance(account, uuid.UUID) else None,
                        "request_id": rid,
                    }
                },
            )
            obs.request_id.reset(token)


@dataclass
class _State:
    status: int | None = None
    started: bool = False
    cut_off: bool = False
    received: int = 0


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None  # the server's HTTP parser refuses it before we get here
    return None


async def _account_of(scope: Scope) -> uuid.UUID | None:
    """The account of the session the request presented, when the access layer noted none.

    Only asked after a success, so the session is in the account store's per-process cache
    (the route just checked it) and this costs no database read in the usual case.
    """
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request

    from api.access import token_of

    services = getattr(getattr(scope.get("app"), "state", None), "services", None)
    if services is None:
        return None
    token, _ = token_of(Request(scope))
    if not token:
        return None
    try:
        session = await run_in_threadpool(services.accounts().session, token)
    except Exception:  # a log line must not fail the request; the account stays unknown
        return None
    return None if session is None else session.account.id


def install(app: Any) -> None:
    """Install :class:`Guard` on a FastAPI/Starlette app (outermost of the app's own layers)."""
    app.add_middleware(Guard)
