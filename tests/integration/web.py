"""A demo site for the HTTP, page and browser tests: ``socai demo`` data served for real.

:func:`build_site` runs ``socai init`` and ``socai demo`` into a fresh data directory (on
SQLite, or on a fresh PostgreSQL database), opens a school year in progress on top
(:data:`OPEN_YEAR`: class :data:`OPEN_CLASS` with term I open, GV001 teaching Toán and
Ngữ văn, GV002 its homeroom teacher (GVCN), :data:`OPEN_STUDENTS` new students), and
serves it with ``socai serve`` on a free loopback port. Every demo account has the
password :data:`PASSWORD`.

The fixtures ``site`` (SQLite) and ``pg_site`` (PostgreSQL) live for the whole test
session: tests that write must write what no other test depends on (their own scores in
:data:`OPEN_CLASS`, a correction of their own) or open a site of their own.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx

from api.demo import PARTNER_CODE
from bench.serve import free_port, process_serving
from ledger.application import Ledger, Settings
from ledger.catalog import THCS_PLAN
from ledger.domain import school_id, staff_id, student_id
from signing.keys import resolve_passphrase
from signing.pki import DemoPKI

PASSWORD = "mật-khẩu-demo-kiểm-thử"
PASSPHRASE = "khóa thử của trang demo"
HOME_CODE = "79000701"
OPEN_YEAR = "2026-2027"
OPEN_CLASS = "6A9"
OPEN_STUDENTS = 6
#: Staff of the open class: subject -> teacher, and its GVCN.
OPEN_TEACHERS = {"Toán": "GV001", "Ngữ văn": "GV001"}
OPEN_HOMEROOM = "GV002"
#: Every other subject of the plan is taught by GV003.
OTHER_TEACHER = "GV003"


@dataclass
class Site:
    """A served demo site."""

    data: Path
    base: str
    database_url: str | None
    home: UUID = field(default_factory=lambda: school_id(HOME_CODE))
    partner: UUID = field(default_factory=lambda: school_id(PARTNER_CODE))
    #: Record ids of the open class's students.
    open_students: list[UUID] = field(default_factory=list)

    def login(self, username: str, password: str = PASSWORD, **extra: Any) -> dict[str, Any]:
        """``POST /api/v1/auth/login``; return the JSON (token, csrf, ...)."""
        r = httpx.post(
            f"{self.base}/api/v1/auth/login",
            json={"username": username, "password": password, **extra},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        return dict(r.json())

    def client(self, username: str | None = None) -> httpx.Client:
        """An HTTP client for the site, logged in as ``username`` (bearer token) when given."""
        headers = {}
        if username is not None:
            headers["Authorization"] = f"Bearer {self.login(username)['token']}"
        return httpx.Client(base_url=self.base, headers=headers, timeout=60)

    def settings(self) -> Settings:
        return Settings(data_dir=self.data, database_url=self.database_url)

    def env(self) -> dict[str, str]:
        return site_env(self.database_url)


def site_env(database_url: str | None) -> dict[str, str]:
    env = {
        **os.environ,
        "SOCAI_KEY_PASSPHRASE": PASSPHRASE,
        "SOCAI_DEMO_PASSWORD": PASSWORD,
    }
    env.pop("SOCAI_DATABASE_URL", None)
    if database_url:
        env["SOCAI_DATABASE_URL"] = database_url
    return env


def _socai(data: Path, env: dict[str, str], *args: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "api.cli", "--data", str(data), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr + proc.stdout


def open_year_in_progress(data: Path, database_url: str | None) -> list[UUID]:
    """Open :data:`OPEN_YEAR` with :data:`OPEN_CLASS` and its students; return their ids."""
    settings = Settings(data_dir=data, database_url=database_url)
    os.environ.setdefault("SOCAI_KEY_PASSPHRASE", PASSPHRASE)
    pki = DemoPKI.load(data / "pki", resolve_passphrase(data, create=False))
    from api.trust import load_trust

    ledger = Ledger(settings, load_trust(data, pki))
    try:
        principal = pki.signer_for("HT001")
        ledger.open_school_year(principal, OPEN_YEAR, "THCS")
        ledger.open_class(principal, OPEN_YEAR, OPEN_CLASS, 6)
        ledger.plan_subjects(principal, OPEN_YEAR, OPEN_CLASS, THCS_PLAN)
        teachers: dict[str, list[tuple[str, str]]] = {}
        for subject in THCS_PLAN:
            teacher = OPEN_TEACHERS.get(subject, OTHER_TEACHER)
            teachers.setdefault(teacher, []).append((OPEN_CLASS, subject))
        for code, pairs in teachers.items():
            ledger.assign_teachings(principal, staff_id(HOME_CODE, code), OPEN_YEAR, pairs)
        ledger.assign_homeroom(principal, staff_id(HOME_CODE, OPEN_HOMEROOM), OPEN_YEAR, OPEN_CLASS)
        ids = []
        for i in range(OPEN_STUDENTS):
            code = f"HS{HOME_CODE}9{i:03d}"
            ledger.enrol_student(principal, code, OPEN_YEAR, 6, OPEN_CLASS)
            ids.append(student_id(code))
        return ids
    finally:
        ledger.close()


@contextmanager
def build_site(
    directory: Path, *, database_url: str | None = None, students: int = 8
) -> Iterator[Site]:
    """Init, demo, open a year in progress, and serve; yield the :class:`Site`."""
    data = directory / "data"
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = site_env(database_url)
    _socai(data, env, "init", "--public-url", base)
    _socai(data, env, "demo", "--students", str(students), "--jobs", "1")
    old = os.environ.get("SOCAI_KEY_PASSPHRASE")
    os.environ["SOCAI_KEY_PASSPHRASE"] = PASSPHRASE
    try:
        ids = open_year_in_progress(data, database_url)
    finally:
        if old is None:
            os.environ.pop("SOCAI_KEY_PASSPHRASE", None)
        else:
            os.environ["SOCAI_KEY_PASSPHRASE"] = old
    # One worker: a worker trusts its cached sessions and rights for a few seconds, and tests
    # that change them would race a second worker (test_serve_workers tests several).
    argv = [sys.executable, "-m", "api.cli", "--data", str(data), "serve", "--port", str(port)]
    argv += ["--workers", "1"]
    with process_serving(argv, f"{base}/api/v1/health", env, "socai serve"):
        yield Site(data, base, database_url, open_students=ids)


def supersede(data: Path, code: str) -> None:
    """Correct a closed-term score of ``code`` (proposal, approval, new year result), reissue."""
    from api.cli import open_ledger
    from api.issuing import open_issuer
    from ledger.application import Settings
    from ledger.domain import StudentRecord, student_id
    from projections.views import open_views
    from signing.keys import certificate_fingerprint

    settings = Settings(data)
    ledger, pki = open_ledger(settings)
    assert pki is not None
    try:
        sid = student_id(code)
        record = ledger.load(sid, StudentRecord)
        version, entry = next((v, e) for v, e in sorted(record.entries.items()) if e.score)
        teacher = next(
            c
            for c, cert in pki.staff.items()
            if (r := ledger.registry.get(certificate_fingerprint(cert))) and r.owner == entry.by
        )
        value = "9" if str(entry.score) != "9" else "8"
        proposal = ledger.propose_correction(pki.signer_for(teacher), sid, version, value, "nhầm")
        ledger.approve_correction(pki.signer_for("HT001"), sid, proposal)
        with open_views(settings) as views:
            views.catch_up()
            _, class_name, _ = record.years["2025-2026"]
            gvcn = next(
                h["staff_code"]
                for h in views.staff.homerooms(record.school, "2025-2026")
                if h["class_name"] == class_name
            )
            stage = ledger.load(sid, StudentRecord).results["2025-2026"]["stage"]
            ledger.record_year_result(pki.signer_for(gvcn), sid, stage=stage)
            report = open_issuer(settings, ledger, pki, views).issue([sid], jobs=1)
            assert report.count("issued") == 1, [o.detail for o in report.outcomes]
    finally:
        ledger.close()
