"""Log-in, log-out and the home page by role: ``/login``, ``/logout``, ``/``.

The log-in form posts to ``/login``; a success sets the ``socai_session`` cookie (see
:func:`api.web.set_session_cookie`) and goes on to ``next`` (a local path). Before a session
exists there is no session CSRF token, so the form carries a random token that must match
the ``socai_login`` cookie set with the form (double submit): another site cannot log a
browser in to an account of its choosing. Refusals are shown in the page's language: a
wrong user name, password or code (one message for all, as the API does), a TOTP code
needed (the form then shows its field), a locked account and the per-address rate limit
(429, with ``Retry-After``).
"""

from __future__ import annotations

import hmac
from typing import Any
from uuid import UUID

from fastapi import Form, Request
from fastapi.responses import Response

from api import records
from api.access import access, form_caller, token_of
from api.accounts import AuthFailed, LockedOut, TotpRequired
from api.i18n import t
from api.pages.principal import school_years
from api.ratelimit import RateLimited
from api.routes.auth import client_address
from api.services import Services
from api.web import (
    clear_session_cookie,
    language,
    new_form_token,
    page_caller,
    page_router,
    redirect,
    render,
    safe_next,
    set_session_cookie,
)
from ledger.domain import School
from ledger.errors import LedgerError

router = page_router()

LOGIN_COOKIE = "socai_login"


def _login_page(
    request: Request,
    *,
    next_path: str,
    username: str = "",
    error: str | None = None,
    totp: bool = False,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    token = new_form_token()
    response = render(
        request,
        "login.html",
        None,
        status=status,
        headers=headers,
        form_token=token,
        next=next_path,
        username=username,
        error=error,
        notice=None,
        totp=totp,
    )
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=3600,
        path="/login",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.get("/login", openapi_extra=access("public"))
def login_form(request: Request, next: str = "/") -> Response:
    """The log-in form (an open session goes straight on)."""
    if page_caller(request) is not None:
        return redirect(request, safe_next(next))
    return _login_page(request, next_path=safe_next(next))


@router.post("/login", openapi_extra=access("public"))
def login(
    request: Request,
    username: str = Form("", max_length=64),
    password: str = Form("", max_length=1024),
    totp: str = Form("", max_length=12),
    next: str = Form("/", max_length=2000),
    form: str = Form("", max_length=100),
) -> Response:
    """Check the credentials; set the session cookie and go on, or show the form again."""
    lang = language(request)
    target = safe_next(next)
    kept = request.cookies.get(LOGIN_COOKIE, "")
    if not form or not kept or not hmac.compare_digest(form.encode(), kept.encode()):
        return _login_page(
            request,
            next_path=target,
            username=username,
            error=t("login.expired_form", lang),
            status=403,
        )
    services: Services = request.app.state.services
    try:
        services.limiter().hit("login", client_address(request))
        token, session = services.accounts().login(username.strip(), password, totp or None)
    except RateLimited as exc:
        return _login_page(
            request,
            next_path=target,
            username=username,
            error=t("login.rate_limited", lang, seconds=exc.retry_after),
            status=429,
            headers={"Retry-After": str(exc.retry_after)},
        )
    except TotpRequired:
        return _login_page(
            request,
            next_path=target,
            username=username,
            error=t("login.totp_required", lang),
            totp=True,
            status=401,
        )
    except LockedOut as exc:
        return _login_page(
            request,
            next_path=target,
            username=username,
            error=t("login.locked", lang, seconds=exc.retry_after),
            status=429,
            headers={"Retry-After": str(exc.retry_after)},
        )
    except AuthFailed:
        return _login_page(
            request,
            next_path=target,
            username=username,
            error=t("login.failed", lang),
            totp=bool(totp),
            status=401,
        )
    response = redirect(request, target)
    set_session_cookie(response, request, token, session.expires)
    response.delete_cookie(LOGIN_COOKIE, path="/login")
    return response


@router.post("/logout", openapi_extra=access("account"))
def logout(request: Request, csrf: str = Form("", max_length=200)) -> Response:
    """End the cookie's session (the form's CSRF field checked) and clear the cookie."""
    who = form_caller(request, csrf)
    if who is not None:
        token, _ = token_of(request)
        services: Services = request.app.state.services
        services.accounts().logout(token or "")
    response = redirect(request, "/login", flash=("login.logged_out", {}))
    clear_session_cookie(response, request)
    return response


# -- home -------------------------------------------------------------------------------------


def school_label(services: Services, school: UUID) -> dict[str, str]:
    """``{"id", "code", "name"}`` of a school (its id alone when the ledger does not know it)."""
    try:
        found = services.ledger().load(school, School)
    except LedgerError:
        return {"id": str(school), "code": "", "name": str(school)}
    return {"id": str(school), "code": found.code, "name": found.name}


def teacher_classes(
    teaches: Any, homerooms: dict[str, str]
) -> list[tuple[str, list[dict[str, Any]]]]:
    """The caller's classes by school year, newest first: name, subjects, homeroom or not."""
    years: dict[str, dict[str, dict[str, Any]]] = {}
    for a in teaches:
        cls = years.setdefault(a.school_year, {}).setdefault(
            a.class_name, {"class_name": a.class_name, "subjects": [], "homeroom": False}
        )
        cls["subjects"].append(a.subject)
    for year, class_name in homerooms.items():
        cls = years.setdefault(year, {}).setdefault(
            class_name, {"class_name": class_name, "subjects": [], "homeroom": False}
        )
        cls["homeroom"] = True
    out = []
    for year in sorted(years, reverse=True):
        classes = [years[year][c] for c in sorted(years[year])]
        for cls in classes:
            cls["subjects"].sort()
        out.append((year, classes))
    return out


@router.get("/", openapi_extra=access("public"))
def home(request: Request) -> Response:
    """Home by role: a teacher's classes, the principal's links, an inspector's schools."""
    who = page_caller(request)
    services: Services = request.app.state.services
    context: dict[str, Any] = {"school": None, "years": [], "schools": [], "school_classes": None}
    if who is not None:
        if who.school is not None:
            context["school"] = school_label(services, who.school)
            context["years"] = teacher_classes(who.teaches, who.homerooms)
            if who.leads:
                # The school's classes of its latest school year, each to its grade book.
                latest = next(iter(school_years(services, who.school)), None)
                if latest is not None:
                    listed = records.classes(services, who, who.school, latest)["classes"]
                    context["school_classes"] = (latest, listed)
        context["schools"] = [school_label(services, s) for s in sorted(who.inspects, key=str)]
    return render(request, "home.html", who, **context)
