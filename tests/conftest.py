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
from ledger.catalog import THCS_PLAN
from ledger.domain import PRINCIPAL, SCORED, staff_id
from signing.keys import SoftwareSigner
from signing.pki import DemoPKI, StaffSpec, create_demo_pki

SCHOOL_CODE = "79000999"
SCHOOL_YEAR = "2025-2026"
CLASS_NAME = "6A1"
#: The fixture's plan: the THCS plan plus subjects older tests write to.
TEST_PLAN = {**THCS_PLAN, **{s: (70, SCORED) for s in ("Hóa học", "Sinh học")}}
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
    # A school year with one class whose every subject every teacher may assess, and
    # GV001 as its GVCN: tests of other rules need not set assignments up. Authority
    # tests build their own, narrower assignments.
    ledger.open_school_year(principal, SCHOOL_YEAR)
    ledger.open_class(principal, SCHOOL_YEAR, CLASS_NAME, 6)
    ledger.plan_subjects(principal, SCHOOL_YEAR, CLASS_NAME, TEST_PLAN)
    for code in teachers:
        for subject in TEST_PLAN:
            ledger.assign_teaching(
                principal, staff_id(SCHOOL_CODE, code), SCHOOL_YEAR, CLASS_NAME, subject
            )
    ledger.assign_homeroom(principal, staff_id(SCHOOL_CODE, "GV001"), SCHOOL_YEAR, CLASS_NAME)
    return School(ledger, settings, pki, school, seal, principal, teachers)


def prepare_class(
    ledger: Ledger,
    principal: SoftwareSigner,
    teachers: list[uuid.UUID],
    class_name: str = CLASS_NAME,
    grade: int = 6,
) -> None:
    """Open the school year and a class with the test plan; let ``teachers`` assess it all."""
    from ledger.domain import School as SchoolRecord
    from ledger.domain import school_year_id

    owner = ledger.load(ledger.actor(principal).owner, object)
    school = getattr(owner, "school", None) or owner.id  # type: ignore[attr-defined]
    assert ledger.load(school, SchoolRecord)
    if not ledger.exists(school_year_id(school, SCHOOL_YEAR)):
        ledger.open_school_year(principal, SCHOOL_YEAR)
    ledger.open_class(principal, SCHOOL_YEAR, class_name, grade)
    ledger.plan_subjects(principal, SCHOOL_YEAR, class_name, TEST_PLAN)
    for staff in teachers:
        ledger.assign_teachings(principal, staff, SCHOOL_YEAR, [(class_name, x) for x in TEST_PLAN])


def allow_subjects(s: School, subjects: list[str], class_name: str = CLASS_NAME) -> None:
    """Plan extra scored subjects in the fixture's class and let every teacher assess them."""
    s.ledger.plan_subjects(
        s.principal, SCHOOL_YEAR, class_name, {x: (70, SCORED) for x in subjects}
    )
    for code in s.teachers:
        pairs = [(class_name, x) for x in subjects]
        s.ledger.assign_teachings(s.principal, s.staff(code), SCHOOL_YEAR, pairs)


def allow_teacher(s: School, staff: uuid.UUID, class_name: str = CLASS_NAME) -> None:
    """Let another staff member assess every subject of the fixture's class."""
    pairs = [(class_name, x) for x in TEST_PLAN]
    s.ledger.assign_teachings(s.principal, staff, SCHOOL_YEAR, pairs)


def open_class(s: School, class_name: str, grade: int = 6) -> None:
    """Open another class in the fixture's school year, with the fixture's plan and teachers."""
    s.ledger.open_class(s.principal, SCHOOL_YEAR, class_name, grade)
    s.ledger.plan_subjects(s.principal, SCHOOL_YEAR, class_name, TEST_PLAN)
    for code in s.teachers:
        allow_teacher(s, s.staff(code), class_name)


@pytest.fixture
def school(settings: Settings, pki: DemoPKI, trust: Trust) -> Iterator[School]:
    s = build_school(settings, pki, trust)
    try:
        yield s
    finally:
        s.ledger.close()
