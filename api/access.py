"""Who is calling, and what they may read: the access layer of every object endpoint.

A request carries a session token (:mod:`api.accounts`) as ``Authorization: Bearer <token>``
or in the ``socai_session`` cookie (pages). What a staff account may do is read from the
ledger, not stored with the account: its staff file's school, positions (Hiệu trưởng, Phó
hiệu trưởng, cán bộ tổ chức), teaching assignments and homerooms (DESIGN.md invariant 5).
Writes are checked again by the ledger itself when the command runs; the checks here decide
what may be *read* and give early, clear refusals.

Scoping answers: an object of a school the caller may not see is **404** (its existence is
not disclosed); an object the caller may see but an action they may not take is **403**;
no or a dead session is **401**.

Every route declares who may call it with :func:`access` (the OpenAPI extension
``x-socai-access``); ``tests/integration/test_authorization_matrix.py`` reads the OpenAPI
document and checks every declared route for every role, so no route can be missed.

CSRF: a request authenticated by the cookie with an unsafe method must carry the session's
CSRF token (header ``X-CSRF-Token``, or the form field ``csrf`` on pages); a bearer token is
not sent by browsers on their own, so it needs none.
"""

from __future__ import annotations

import hmac
import threading
import time
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from fastapi import Depends, Request

from api.accounts import Account, Session
from api.middleware import note_account
from ledger.domain import DEPUTY, Assignment, StaffFile, StudentRecord
from ledger.errors import NotAuthorized, RecordNotFound
from signing.keys import SoftwareSigner

__all__ = [
    "ROLES",
    "Caller",
    "CallerDep",
    "NotAuthenticated",
    "OptionalCallerDep",
    "access",
    "caller",
    "optional_caller",
]

COOKIE = "socai_session"
CSRF_HEADER = "x-csrf-token"
#: How long a worker trusts the staff file it read for a caller's rights.
RIGHTS_CACHE_SECONDS = 5.0

#: The roles of the authorization matrix, and what each means:
#: ``public``: anyone, no account; ``account``: any logged-in account; ``teacher``: a staff
#: account assigned to teach the object's class; ``homeroom``: the GVCN of the object's class;
#: ``principal``: the school's Hiệu trưởng (a Phó hiệu trưởng reads as one, writes as the
#: ledger allows); ``staff_officer``: the school's cán bộ tổ chức; ``inspector``: an inspector
#: account of the object's school (read-only).
ROLES = ("public", "account", "teacher", "homeroom", "principal", "staff_officer", "inspector")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class NotAuthenticated(Exception):
    """No session, or a dead one: 401."""


class CsrfFailed(Exception):
    """A cookie-authenticated unsafe request without the session's CSRF token: 403."""


def access(*roles: str) -> dict[str, Any]:
    """``openapi_extra`` declaring who may call a route (see :data:`ROLES`)."""
    unknown = set(roles) - set(ROLES)
    if unknown or not roles:
        raise ValueError(f"unknown roles {sorted(unknown)}")
    return {"x-socai-access": list(roles)}


@dataclass(frozen=True)
class Caller:
    """A logged-in account with its rights as of the staff file (or inspector list)."""

    session: Session
    account: Account
    #: The staff member's school (``None`` for inspectors).
    school: UUID | None
    principal: bool
    deputy: bool
    staff_officer: bool
    teaches: frozenset[Assignment]
    #: school year -> homeroom class
    homerooms: dict[str, str]
    inspects: frozenset[UUID]

    @property
    def staff(self) -> UUID | None:
        return self.account.staff

    @property
    def leads(self) -> bool:
        """Principal or deputy: reads the whole school."""
        return self.principal or self.deputy

    def signer(self) -> SoftwareSigner:
        """The caller's own signing key, unlocked for this session; 403 without one."""
        if self.session.signer is None:
            raise NotAuthorized("this account holds no signing key: it cannot write")
        return self.session.signer

    # -- reading ---------------------------------------------------------------------------

    def in_school(self, school: UUID) -> bool:
        """Staff of the school, or an inspector of it: may know its objects exist."""
        return school == self.school or school in self.inspects

    def reads_school(self, school: UUID) -> bool:
        """Reads everything of the school (principal, deputy, inspector)."""
        return (self.leads and school == self.school) or school in self.inspects

    def reads_staff_files(self, school: UUID) -> bool:
        return self.reads_school(school) or (self.staff_officer and school == self.school)

    def reads_class(self, school: UUID, school_year: str, class_name: str) -> bool:
        if self.reads_school(school):
            return True
        if school != self.school:
            return False
        return self.homerooms.get(school_year) == class_name or any(
            a.school_year == school_year and a.class_name == class_name for a in self.teaches
        )

    def reads_record(self, record: StudentRecord) -> bool:
        """The record's school leads, inspectors, or a teacher of a class it was in."""
        if self.reads_school(record.school):
            return True
        return any(
            school == self.school and self.reads_class(school, year, class_name)
            for year, (_, class_name, school) in record.years.items()
        )

    def reads_staff(self, staff: StaffFile) -> bool:
        return staff.id == self.staff or self.reads_staff_files(staff.school)

    def require(self, allowed: bool, what: str) -> None:
        """403 unless ``allowed``."""
        if not allowed:
            raise NotAuthorized(f"this account may not {what}")


def visible(found: bool, what: str) -> None:
    """404 unless the caller may know the object exists."""
    if not found:
        raise RecordNotFound(f"no {what} with this id")


# -- from the request ---------------------------------------------------------------------------


def token_of(request: Request) -> tuple[str | None, bool]:
    """The session token, and whether it came from the cookie."""
    auth = request.headers.get("authorization", "")
    if auth[:7].lower() == "bearer ":
        return auth[7:].strip(), False
    cookie = request.cookies.get(COOKIE)
    return (cookie, True) if cookie else (None, False)


class _Rights:
    """Per-process cache of the rights read from staff files."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[UUID, tuple[float, StaffFile]] = {}

    def staff_file(self, services: Any, staff: UUID) -> StaffFile:
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(staff)
        if hit is not None and now - hit[0] < RIGHTS_CACHE_SECONDS:
            return hit[1]
        found: StaffFile = services.ledger().load(staff, StaffFile)
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[staff] = (now, found)
        return found

    def forget(self, staff: UUID) -> None:
        with self._lock:
            self._cache.pop(staff, None)


RIGHTS = _Rights()


def caller_of(services: Any, session: Session) -> Caller:
    account = session.account
    if account.kind == "inspector" or account.staff is None:
        return Caller(
            session, account, None, False, False, False, frozenset(), {}, frozenset(account.schools)
        )
    staff = RIGHTS.staff_file(services, account.staff)
    active = bool(staff.active)
    return Caller(
        session,
        account,
        staff.school if active else None,
        active and staff.is_principal,
        active and DEPUTY in staff.positions,
        active and staff.is_staff_officer,
        frozenset(staff.assignments) if active else frozenset(),
        dict(staff.homerooms) if active else {},
        frozenset(),
    )


def _session(request: Request, *, csrf_form: str | None = None) -> Session | None:
    token, from_cookie = token_of(request)
    if not token:
        return None
    services = request.app.state.services
    session: Session | None = services.accounts().session(token)
    if session is None:
        return None
    note_account(request.scope, session.account.id)
    if from_cookie and request.method not in SAFE_METHODS:
        sent = csrf_form if csrf_form is not None else request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), session.csrf.encode()):
            raise CsrfFailed("missing or wrong CSRF token")
    return session


def optional_caller(request: Request) -> Caller | None:
    """The caller, or None without a live session (FastAPI dependency)."""
    session = _session(request)
    if session is None:
        return None
    return caller_of(request.app.state.services, session)


def caller(request: Request) -> Caller:
    """The caller; 401 without a live session (FastAPI dependency)."""
    found = optional_caller(request)
    if found is None:
        raise NotAuthenticated()
    return found


#: A route parameter for the caller: ``who: CallerDep`` (401 without a session).
CallerDep = Annotated[Caller, Depends(caller)]
#: The caller when there is one (``None`` otherwise).
OptionalCallerDep = Annotated[Caller | None, Depends(optional_caller)]


def form_caller(request: Request, csrf: str) -> Caller | None:
    """For page forms: the caller, with the form's CSRF field checked."""
    session = _session(request, csrf_form=csrf)
    return None if session is None else caller_of(request.app.state.services, session)
