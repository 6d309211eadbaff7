"""The web pages' frame: templates, language, the caller from the cookie, errors as pages.

Layout (decided for every page engineer): this module holds the shared machinery; the pages
themselves live in the package :mod:`api.pages`, one module per audience, each defining
``router = page_router()``:

* ``api/pages/auth.py`` – ``/login``, ``/logout``, ``/`` (home by role)
* ``api/pages/gradebook.py`` – ``/classes/{school}/{year}/{class}`` (teacher grade book)
* ``api/pages/records.py`` – ``/records/{record}``
* ``api/pages/principal.py`` – ``/principal``, ``/issuance/{job}``
* ``api/pages/public.py`` – ``/verify``, ``/verify/{transcript_id}`` (H5)
* ``api/pages/inspect.py`` – ``/inspect/{school}``, ``/inspect/records/{record}`` (H5)

Each router is included in :func:`api.app.create_app` (one ``app.include_router`` line per
module). Templates are in ``api/templates/`` and extend ``base.html`` (blocks ``title`` and
``content``); static files are in ``api/static/`` served at ``/static``. No inline script or
style anywhere (the CSP forbids them): behaviour goes in ``static/app.js`` keyed on
``data-*`` attributes, looks in ``static/app.css``.

A page handler:

.. code-block:: python

    @router.get("/things/{thing}", openapi_extra=access("account"))
    def thing_page(request: Request, thing: UUID) -> Response:
        who = require_caller(request)          # 303 to /login without a session
        ...                                    # call the service functions (they log reads)
        return render(request, "thing.html", who, thing=...)

    @router.post("/things/{thing}", openapi_extra=access("account"))
    def thing_form(request: Request, thing: UUID, csrf: str = Form(""), ...) -> Response:
        who = form_user(request, csrf)         # checks the form's CSRF field; 303 without session
        ...
        return redirect(request, "/things/...", flash=("key", {}))

Routes of :func:`page_router` are left out of the OpenAPI document (they answer HTML and
redirects, not the JSON API the authorization matrix and schemathesis exercise); they still
declare ``openapi_extra=access(...)`` as documentation of who may open them.

Errors: a page raises like a route does; :class:`PageRoute` turns the error into an HTML page
with the status of :func:`api.errors.status_for` and a message from the catalogue
(:func:`explain`): no session → 303 to ``/login?next=…``; CSRF failure → 403; rate limit →
429 with ``Retry-After``; a missing or malformed form field → 422. A form that is refused
should instead render its own page again with the values kept and ``error=explain(exc, lang)``.

Language: ``?lang=en`` or ``?lang=vi`` on any page sets the ``socai_lang`` cookie; without
either, Vietnamese. Templates get ``t`` (bound to the page's language), ``lang``, ``who``
(the :class:`~api.access.Caller` or ``None``), ``csrf`` (the session's form token),
``lang_url(code)``, ``nav`` and ``flash``.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
from collections.abc import Callable, Coroutine, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

import jinja2
from fastapi import APIRouter, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.routing import APIRoute

from api import i18n
from api.access import COOKIE, Caller, CsrfFailed, NotAuthenticated, form_caller, optional_caller
from api.errors import PayloadTooLarge, status_for
from api.ratelimit import RateLimited
from ledger.errors import (
    AlreadyExists,
    ConcurrencyConflict,
    Incomplete,
    InvalidInput,
    InvalidScore,
    LedgerError,
    NotAuthorized,
    RecordNotFound,
    StorageError,
    TermClosed,
)
from signing.errors import SigningError

__all__ = [
    "FLASH_COOKIE",
    "LANG_COOKIE",
    "MissingField",
    "PageRoute",
    "explain",
    "form_user",
    "language",
    "page_caller",
    "page_router",
    "redirect",
    "render",
    "require_caller",
    "set_session_cookie",
]

log = logging.getLogger("socai.web")

LANG_COOKIE = "socai_lang"
FLASH_COOKIE = "socai_flash"
#: Missing entries named in the message of a refused term close (the rest: fill them first).
INCOMPLETE_SHOWN = 3
#: A year, as long as a language choice is remembered.
LANG_COOKIE_SECONDS = 365 * 24 * 3600

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("api", "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def environment() -> jinja2.Environment:
    """The pages' Jinja2 environment (autoescaping, strict undefined)."""
    return _env


# -- language ---------------------------------------------------------------------------------


def language(request: Request) -> str:
    """The page's language: ``?lang=``, else the ``socai_lang`` cookie, else Vietnamese."""
    asked = request.query_params.get("lang")
    if asked in i18n.LANGUAGES:
        return asked
    kept = request.cookies.get(LANG_COOKIE)
    return kept if kept in i18n.LANGUAGES else i18n.DEFAULT


def lang_url(request: Request, code: str) -> str:
    """The current page's path with ``?lang=code`` (other query parameters kept)."""
    query = [(k, v) for k, v in request.query_params.multi_items() if k != "lang"]
    query.append(("lang", code))
    return f"{request.url.path}?{urlencode(query)}"


# -- the caller -------------------------------------------------------------------------------


def page_caller(request: Request) -> Caller | None:
    """The logged-in caller of a page (``socai_session`` cookie), or ``None``."""
    return optional_caller(request)


def require_caller(request: Request) -> Caller:
    """The caller; without a live session :class:`PageRoute` redirects to ``/login``."""
    who = page_caller(request)
    if who is None:
        raise NotAuthenticated()
    return who


def form_user(request: Request, csrf: str) -> Caller:
    """The caller of a form post, its ``csrf`` field checked (403 page when wrong)."""
    who = form_caller(request, csrf)
    if who is None:
        raise NotAuthenticated()
    return who


def set_session_cookie(
    response: Response, request: Request, token: str, expires: datetime | None
) -> None:
    """Set ``socai_session``: HttpOnly, SameSite=Strict, Secure over https, Path=/."""
    response.set_cookie(
        COOKIE,
        token,
        expires=expires,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        COOKIE, path="/", httponly=True, samesite="strict", secure=request.url.scheme == "https"
    )


# -- rendering --------------------------------------------------------------------------------


def _nav(who: Caller | None, lang: str) -> list[tuple[str, str]]:
    """(href, label) of the header's links for the caller's roles."""
    items = [("/", i18n.t("nav.home", lang))]
    if who is not None and who.leads:
        items.append(("/principal", i18n.t("nav.principal", lang)))
    if who is not None and who.leads and who.school is not None:
        items.append((f"/inspect/{who.school}", i18n.t("nav.inspect", lang)))
    elif who is not None:
        for school in sorted(who.inspects, key=str):
            items.append((f"/inspect/{school}", i18n.t("nav.inspect", lang)))
            break
    items.append(("/verify", i18n.t("nav.verify", lang)))
    return items


def _read_flash(request: Request) -> str | None:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return None
    try:
        key, values = json.loads(base64.urlsafe_b64decode(raw.encode("ascii")))
        if not isinstance(key, str) or not isinstance(values, dict):
            return None
        return i18n.t(key, language(request), **values)
    except (ValueError, KeyError, IndexError, TypeError, UnicodeError):
        return None


def render(
    request: Request,
    template: str,
    who: Caller | None,
    *,
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """Render ``template`` for ``who`` in the page's language (no-store: pages hold tokens)."""
    lang = language(request)

    def tr(key: str, **values: object) -> str:
        return i18n.t(key, lang, **values)

    flash = _read_flash(request)
    body = _env.get_template(template).render(
        t=tr,
        lang=lang,
        who=who,
        csrf=who.session.csrf if who is not None else "",
        nav=_nav(who, lang),
        path=request.url.path,
        lang_url=lambda code: lang_url(request, code),
        flash=flash,
        **context,
    )
    response = HTMLResponse(body, status_code=status, headers=dict(headers or {}))
    response.headers["Cache-Control"] = "no-store"
    asked = request.query_params.get("lang")
    if asked in i18n.LANGUAGES and request.cookies.get(LANG_COOKIE) != asked:
        response.set_cookie(
            LANG_COOKIE, asked, max_age=LANG_COOKIE_SECONDS, path="/", samesite="lax"
        )
    if flash is not None or request.cookies.get(FLASH_COOKIE):
        response.delete_cookie(FLASH_COOKIE, path="/")
    return response


def redirect(
    request: Request, url: str, *, flash: tuple[str, Mapping[str, Any]] | None = None
) -> RedirectResponse:
    """303 to ``url`` (a local path), with a one-time message from the catalogue."""
    if not url.startswith("/") or url.startswith("//") or "\\" in url:
        url = "/"
    response = RedirectResponse(url, status_code=303)
    if flash is not None:
        i18n.MESSAGES[flash[0]]  # an unknown key fails here, not on the next page
        raw = json.dumps([flash[0], dict(flash[1])], ensure_ascii=True).encode()
        response.set_cookie(
            FLASH_COOKIE,
            base64.urlsafe_b64encode(raw).decode("ascii"),
            max_age=60,
            path="/",
            httponly=True,
            samesite="strict",
        )
    return response


def safe_next(target: str | None) -> str:
    """A local path to go to after log-in (anything else: home)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


# -- errors -----------------------------------------------------------------------------------


class MissingField(InvalidInput):
    """A page's form came with a required field empty (422, "fill in every field")."""


def explain(exc: BaseException, lang: str) -> str:
    """A user's message for a refusal, from the catalogue (never the raw exception text)."""
    text = str(exc)
    if isinstance(exc, MissingField):
        return i18n.t("err.missing_field", lang)
    if isinstance(exc, InvalidScore):
        if "outside 0" in text:
            return i18n.t("err.score_range", lang)
        if "more than one decimal" in text:
            return i18n.t("err.score_decimals", lang)
        if "integer" in text and "must be an integer" in text:
            return i18n.t("err.score_integer", lang)
        return i18n.t("err.score_nan", lang)
    if isinstance(exc, InvalidInput) and "absences must be" in text:
        return i18n.t("err.absences", lang)
    if isinstance(exc, InvalidInput) and "level must be one of" in text:
        return i18n.t("err.conduct", lang)
    if isinstance(exc, Incomplete):
        # "cannot close term 1 of 6A9: HS…: Toán HK1: thiếu ĐĐGgk; …": the first few gaps.
        gaps = text.split(": ", 1)[-1].split("; ")
        shown = "; ".join(gaps[:INCOMPLETE_SHOWN]) + (" …" if len(gaps) > INCOMPLETE_SHOWN else "")
        return i18n.t("err.incomplete", lang, detail=shown)
    if isinstance(exc, TermClosed):
        return i18n.t("err.term_closed", lang)
    if isinstance(exc, NotAuthorized):
        if "no signing key" in text:
            return i18n.t("err.no_key", lang)
        return i18n.t("err.forbidden", lang)
    if isinstance(exc, RecordNotFound):
        return i18n.t("err.not_found", lang)
    if isinstance(exc, AlreadyExists):
        return i18n.t("err.exists", lang)
    if isinstance(exc, ConcurrencyConflict):
        return i18n.t("err.conflict", lang)
    if isinstance(exc, StorageError):
        return i18n.t("err.storage", lang)
    if isinstance(exc, CsrfFailed):
        return i18n.t("err.csrf", lang)
    if isinstance(exc, RateLimited):
        return i18n.t("err.rate_limited", lang, seconds=exc.retry_after)
    if isinstance(exc, PayloadTooLarge):
        return i18n.t("err.too_large", lang)
    if isinstance(exc, RequestValidationError):
        return i18n.t("err.missing_field", lang)
    return i18n.t("err.invalid", lang)


def technical_detail(exc: BaseException) -> str | None:
    """The error's own text for the expandable detail (domain errors only: no internals)."""
    if isinstance(exc, (InvalidInput, TermClosed, AlreadyExists)) and str(exc):
        return str(exc)
    return None


def error_page(request: Request, exc: BaseException) -> Response:
    """The HTML answer for an error raised by a page handler."""
    if isinstance(exc, NotAuthenticated):
        target = request.url.path
        if request.method not in ("GET", "HEAD"):
            # A form posted after its session ended: come back to the page of the form
            # (every form posts to a path under its page: …/scores, /principal/approve).
            target = target.rsplit("/", 1)[0] or "/"
        elif request.url.query:
            target += "?" + request.url.query
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    lang = language(request)
    headers: dict[str, str] = {}
    if isinstance(exc, CsrfFailed):
        status = 403
    elif isinstance(exc, RateLimited):
        status = 429
        headers["Retry-After"] = str(exc.retry_after)
    elif isinstance(exc, RequestValidationError):
        # A malformed id in the path names nothing: not found, as an unknown one.
        if all(e.get("loc", ("",))[0] == "path" for e in exc.errors()):
            status = 404
            exc = RecordNotFound("malformed id in the path")
        else:
            status = 422
    elif isinstance(exc, (LedgerError, SigningError, PayloadTooLarge)):
        status = status_for(exc)
    else:
        raise exc
    retry = getattr(exc, "retry_after", None)
    if retry is not None:
        headers["Retry-After"] = str(retry)
    who = None
    try:
        who = page_caller(request)
    except (LedgerError, CsrfFailed):
        who = None
    return render(
        request,
        "error.html",
        who,
        status=status,
        headers=headers,
        message=explain(exc, lang),
        detail=technical_detail(exc),
    )


class PageRoute(APIRoute):
    """A route whose errors become HTML pages (see the module docstring)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def page_handler(request: Request) -> Response:
            try:
                return await handler(request)
            except (
                NotAuthenticated,
                CsrfFailed,
                RateLimited,
                RequestValidationError,
                LedgerError,
                SigningError,
                PayloadTooLarge,
            ) as exc:
                return error_page(request, exc)

        return page_handler


def page_router() -> APIRouter:
    """A router for pages: :class:`PageRoute` routes, left out of the OpenAPI document."""
    return APIRouter(route_class=PageRoute, include_in_schema=False, tags=["pages"])


def new_form_token() -> str:
    """A random token for a pre-session form (the log-in form's double-submit check)."""
    return secrets.token_urlsafe(24)
