"""Log-in, log-out and the caller's own account: ``/api/v1/auth/...``.

``POST /api/v1/auth/login`` takes ``{"username", "password", "totp"?}`` and answers with a
session token (``Authorization: Bearer <token>`` on later calls) and the session's CSRF
token (for cookie-authenticated calls). Wrong credentials, a locked or disabled account and
an unknown user name all give the same 401; too many attempts from one address give 429.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from api.access import Caller, CallerDep, access, token_of
from api.services import Services

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class Login(BaseModel):
    username: str = Field(max_length=64)
    password: str = Field(max_length=1024)
    totp: str | None = Field(default=None, max_length=12)


class PasswordChange(BaseModel):
    old: str = Field(max_length=1024)
    new: str = Field(max_length=1024)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "?"


def me_of(who: Caller) -> dict[str, Any]:
    """The caller's account and rights, as the API shows them."""
    account = who.account
    return {
        "username": account.username,
        "kind": account.kind,
        "display_name": account.display_name,
        "staff": str(account.staff) if account.staff else None,
        "school": str(who.school) if who.school else None,
        "principal": who.principal,
        "deputy": who.deputy,
        "staff_officer": who.staff_officer,
        "teaches": [
            {"school_year": a.school_year, "class": a.class_name, "subject": a.subject}
            for a in sorted(who.teaches, key=lambda a: (a.school_year, a.class_name, a.subject))
        ],
        "homerooms": who.homerooms,
        "inspects": sorted(str(s) for s in who.inspects),
        "signs": who.session.signer is not None,
        "totp": account.totp,
        "expires": who.session.expires.isoformat(),
    }


@router.post("/login", openapi_extra=access("public"))
async def login(request: Request, body: Login) -> dict[str, Any]:
    """Open a session (argon2id check of the password, then TOTP when enrolled)."""
    services: Services = request.app.state.services
    services.limiter().hit("login", client_address(request))
    token, session = await run_in_threadpool(
        services.accounts().login, body.username, body.password, body.totp
    )
    return {
        "token": token,
        "csrf": session.csrf,
        "expires": session.expires.isoformat(),
        "username": session.account.username,
    }


@router.post("/logout", openapi_extra=access("account"))
async def logout(request: Request, who: CallerDep) -> dict[str, str]:
    """End the session of the token presented."""
    token, _ = token_of(request)
    services: Services = request.app.state.services
    await run_in_threadpool(services.accounts().logout, token or "")
    return {"status": "logged out"}


@router.get("/me", openapi_extra=access("account"))
def me(who: CallerDep) -> dict[str, Any]:
    """The caller's account and what the ledger lets it do."""
    return me_of(who)


@router.post("/password", openapi_extra=access("account"))
async def change_password(request: Request, body: PasswordChange, who: CallerDep) -> dict[str, str]:
    """Change the password (the signing key is sealed again under it; every session ends)."""
    services: Services = request.app.state.services
    services.limiter().hit("login", client_address(request))
    await run_in_threadpool(
        services.accounts().change_password, who.account.username, body.old, body.new
    )
    return {"status": "changed; log in again"}
