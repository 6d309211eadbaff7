"""Shared fixtures: a demo PKI, and a ledger on each storage backend.

PostgreSQL tests need a server at ``SOCAI_TEST_POSTGRES`` (default
``postgresql://postgres@127.0.0.1:5432/test``). Without one they skip with a
message, unless ``SOCAI_REQUIRE_POSTGRES=1`` (set by CI), where they fail.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ledger.application import Ledger, Settings, Trust
from ledger.domain import PRINCIPAL, staff_id
from signing.keys import SoftwareSigner
from signing.pki import DemoPKI, StaffSpec, create_demo_pki

SCHOOL_CODE = "79000999"
PG_ADMIN_URL = os.environ.get("SOCAI_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
REQUIRE_PG = os.environ.get("SOCAI_REQUIRE_POSTGRES") == "1"

#: staff code -> (name, title, key type)
STAFF = {
    "HT001": ("Trần Thị Hương", PRINCIPAL, "ec-p256"),
    "GV001": ("Nguyễn Văn An", "Giáo viên", "ec-p256"),
    "GV002": ("Lê Thị Bích Ngọc", "Giáo viên", "ed25519"),
    "GV003": ("Phạm Quốc Bảo", "Giáo viên", "rsa-2048"),
}
PASSPHRASE = b"test passphrase, not a secret"


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> DemoPKI:
    directory = tmp_path_factory.mktemp("pki")
    return create_demo_pki(
        directory,
        school_name="Trường THCS Kiểm Thử",
        school_code=SCHOOL_CODE,
        province="Hà Nội",
        staff=[StaffSpec(code, n, t, k) for code, (n, t, k) in STAFF.items()],  # type: ignore[arg-type]
        passphrase=PASSPHRASE,
        now=datetime.now(UTC),
    )


@pytest.fixture(scope="session")
def trust(pki: DemoPKI) -> Trust:
    return Trust(pki.trust_roots(), pki.intermediates())


def _pg_available() -> str | None:
    try:
        import psycopg

        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return None
    except Exception as e:
        return str(e)


_PG_ERROR: list[str | None] = []


def postgres_url() -> str:
    """Create a fresh database and return its URL (skip or fail without a server)."""
    if not _PG_ERROR:
        _PG_ERROR.append(_pg_available())
    if _PG_ERROR[0] is not None:
        msg = f"PostgreSQL not reachable at {PG_ADMIN_URL}: {_PG_ERROR[0]}"
        if REQUIRE_PG:
            pytest.fail(msg + " (SOCAI_REQUIRE_POSTGRES=1)")
        pytest.skip(msg)
    import psycopg

    name = f"socai_t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    return f"{base}/{name}"


def drop_postgres(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Settings]:
    if request.param == "sqlite":
        yield Settings(tmp_path / "data")
        return
    url = postgres_url()
    try:
        yield Settings(tmp_path / "data", url)
    finally:
        drop_postgres(url)


@dataclass
class School:
    """A ledger with a registered school, principal and teachers."""

    ledger: Ledger
    settings: Settings
    pki: DemoPKI
    school: uuid.UUID
    seal: SoftwareSigner
    principal: SoftwareSigner
    teachers: dict[str, SoftwareSigner]

    def staff(self, code: str) -> uuid.UUID:
        return staff_id(SCHOOL_CODE, code)


def build_school(settings: Settings, pki: DemoPKI, trust: Trust) -> School:
    ledger = Ledger(settings, trust)
    seal = pki.seal_signer()
    school = ledger.register_school(seal, SCHOOL_CODE, "Trường THCS Kiểm Thử", "Hà Nội")
    principal_file = ledger.open_staff_file(seal, "HT001", PRINCIPAL)
    ledger.register_certificate(seal, principal_file, pki.staff["HT001"])
    principal = pki.signer_for("HT001")
    teachers = {}
    for code in ("GV001", "GV002", "GV003"):
        sid = ledger.open_staff_file(principal, code, "Giáo viên")
        ledger.register_certificate(principal, sid, pki.staff[code])
        teachers[code] = pki.signer_for(code)
    return School(ledger, settings, pki, school, seal, principal, teachers)


@pytest.fixture
def school(settings: Settings, pki: DemoPKI, trust: Trust) -> Iterator[School]:
    s = build_school(settings, pki, trust)
    try:
        yield s
    finally:
        s.ledger.close()
