"""Helpers of the JSON API tests (records, staff files, pre-signed writes) on a served site.

Sessions are opened in the test process through the site's own account store (the same
``AccountStore.login`` the log-in route calls), so the many callers of these tests do not
spend the shared site's log-in rate limit, which other tests rely on; the server then finds
the session in the database like any other. The ledger head and record versions are read
from the site's store directly, to check that a refused request wrote nothing.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

import httpx
import pytest

from api.accounts import AccountStore, open_accounts
from ledger.application import Ledger
from ledger.domain import StudentRecord, school_id, staff_id, student_id
from tests.integration.web import HOME_CODE, OPEN_YEAR, PASSPHRASE, PASSWORD, Site

API = "/api/v1"
PARTNER_CODE = "79000702"
#: A record of the partner school (its class 6B) and a staff file of it.
PARTNER_RECORD = student_id(f"HS{PARTNER_CODE}0002")
PARTNER_STAFF = staff_id(PARTNER_CODE, "GV201")
HOME = school_id(HOME_CODE)
PARTNER = school_id(PARTNER_CODE)

_lock = threading.Lock()
_stores: dict[str, AccountStore] = {}
_ledgers: dict[str, Ledger] = {}
_tokens: dict[tuple[str, str], str] = {}


def staff(code: str) -> UUID:
    return staff_id(HOME_CODE, code)


def _store(site: Site) -> AccountStore:
    with _lock:
        if site.base not in _stores:
            os.environ.setdefault("SOCAI_KEY_PASSPHRASE", PASSPHRASE)
            _stores[site.base] = open_accounts(site.settings())
        return _stores[site.base]


def accounts(site: Site) -> AccountStore:
    """The site's account store, opened in the test process (read log, sessions)."""
    return _store(site)


def token(site: Site, username: str) -> str:
    """A session token of ``username`` (opened once per site and user)."""
    key = (site.base, username)
    with _lock:
        found = _tokens.get(key)
    if found is None:
        found, _ = _store(site).login(username, PASSWORD)
        with _lock:
            _tokens[key] = found
    return found


def client(site: Site, username: str | None = None) -> httpx.Client:
    """An HTTP client of the site, with ``username``'s bearer token when given."""
    headers = {} if username is None else {"Authorization": f"Bearer {token(site, username)}"}
    return httpx.Client(base_url=site.base + API, headers=headers, timeout=60)


@contextmanager
def clients(site: Site, *usernames: str | None) -> Iterator[dict[str | None, httpx.Client]]:
    """Clients of several users, closed on the way out (``None`` for no session)."""
    made = {u: client(site, u) for u in usernames}
    try:
        yield made
    finally:
        for c in made.values():
            c.close()


def ledger(site: Site) -> Ledger:
    """The site's ledger opened in the test process (reads only)."""
    with _lock:
        if site.base not in _ledgers:
            _ledgers[site.base] = Ledger(site.settings())
        return _ledgers[site.base]


def head(site: Site) -> int:
    """The ledger's newest notification id: unchanged when nothing was written."""
    return int(ledger(site).recorder.max_notification_id() or 0)


def version(site: Site, record: UUID) -> int:
    return int(ledger(site).load(record, StudentRecord).version)


def ok(response: httpx.Response) -> dict[str, Any]:
    """The JSON of a 200 answer (the body is shown when it is not)."""
    assert response.status_code == 200, (response.status_code, response.text)
    found: dict[str, Any] = response.json()
    return found


def refused(response: httpx.Response, status: int, error: str | None = None) -> dict[str, Any]:
    """The JSON of a refusal with ``status`` (and the error's name, when given)."""
    assert response.status_code == status, (response.status_code, response.text)
    body: dict[str, Any] = response.json()
    if error is not None:
        assert body.get("error") == error, body
    return body


def forget(site: Site) -> None:
    """Close what this module opened on ``site`` (its sessions stay valid on the server)."""
    with _lock:
        store = _stores.pop(site.base, None)
        led = _ledgers.pop(site.base, None)
        for key in [k for k in _tokens if k[0] == site.base]:
            del _tokens[key]
    if store is not None:
        store.close()
    if led is not None:
        led.close()


@pytest.fixture(
    scope="module", params=["site", pytest.param("pg_site", marks=pytest.mark.postgres)]
)
def web(request: pytest.FixtureRequest) -> Iterator[Site]:
    """The shared demo site of each engine (SQLite, then PostgreSQL)."""
    found: Site = request.getfixturevalue(request.param)
    yield found
    forget(found)


def setup_class(
    site: Site,
    class_name: str,
    plan: dict[str, tuple[int, str]],
    teachers: dict[str, str],
    homeroom: str | None,
    students: list[tuple[str, dict[str, str] | None]],
) -> list[UUID]:
    """Open ``class_name`` in the open year through the API as the principal: plan it,
    assign its teachers (subject -> staff code) and GVCN, enrol ``students`` (code, identity);
    return their record ids. Classes of their own keep these tests apart from the others on
    the shared site."""
    school_path = f"/schools/{HOME}/years/{OPEN_YEAR}/classes"
    with client(site, "ht001") as principal:
        ok(principal.post(school_path, json={"class": class_name, "grade": 6}))
        subjects = {
            s: {"periods_per_year": periods, "assessed": how} for s, (periods, how) in plan.items()
        }
        ok(principal.post(f"{school_path}/{class_name}/plan", json={"subjects": subjects}))
        for subject, code in teachers.items():
            ok(
                principal.post(
                    f"/staff/{staff(code)}/assignments",
                    json={"school_year": OPEN_YEAR, "class": class_name, "subject": subject},
                )
            )
        if homeroom is not None:
            ok(
                principal.post(
                    f"/staff/{staff(homeroom)}/homeroom",
                    json={"school_year": OPEN_YEAR, "class": class_name},
                )
            )
        ids = []
        for code, identity in students:
            body: dict[str, Any] = {
                "school": str(HOME),
                "student_code": code,
                "school_year": OPEN_YEAR,
                "grade": 6,
                "class": class_name,
            }
            if identity is not None:
                body["identity"] = identity
            made = ok(principal.post("/records", json=body))
            ids.append(UUID(made["record"]))
    return ids


def wait_readable(site: Site, username: str, class_name: str, timeout: float = 15.0) -> None:
    """Until ``username`` reads the class's grade book: a worker trusts the rights it read
    from a staff file for a few seconds (api.access.RIGHTS_CACHE_SECONDS)."""
    import time

    path = f"/schools/{HOME}/years/{OPEN_YEAR}/classes/{class_name}/gradebook"
    deadline = time.monotonic() + timeout
    with client(site, username) as c:
        while True:
            r = c.get(path)
            if r.status_code == 200 or time.monotonic() > deadline:
                ok(r)
                return
            time.sleep(0.25)
