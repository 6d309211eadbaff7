"""Bad input gets a clear ledger error and writes nothing (DESIGN.md §3 invariant 7).

Run once per storage backend. Every test snapshots the newest notification id
and the certificate registry's row count just before the bad call, and checks
both are unchanged after it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from uuid import UUID

import pytest
from cryptography import x509

from ledger.application import Ledger
from ledger.audit import audit
from ledger.domain import StudentRecord
from ledger.errors import (
    InvalidInput,
    LedgerError,
    SignerMismatch,
    SignerNotValid,
    UnknownSigner,
)
from signing import algorithms
from signing.algorithms import Algorithm
from signing.errors import KeyMismatch
from signing.keys import SoftwareSigner, certificate_fingerprint, load_private_key
from signing.pki import DemoPKI, StaffSpec, create_demo_pki
from tests.conftest import PASSPHRASE, School, allow_teacher


def unique_code(prefix: str = "GVX") -> str:
    # The PKI fixture is session-scoped: every issued staff code must be new.
    return f"{prefix}{uuid.uuid4().hex[:8]}"


def enrol(s: School, code: str = "HS8001") -> UUID:
    return s.ledger.enrol_student(s.principal, code, "2025-2026", 6, "6A1")


def _counts(ledger: Ledger) -> tuple[int, int]:
    return ledger.recorder.max_notification_id() or 0, len(ledger.recorder.select_certificates())


@contextmanager
def writes_nothing(ledger: Ledger) -> Iterator[None]:
    """Assert that the block leaves the events table and the registry as they were."""
    before = _counts(ledger)
    yield
    assert _counts(ledger) == before


@pytest.fixture(scope="module")
def foreign_pki(tmp_path_factory: pytest.TempPathFactory) -> DemoPKI:
    """Another school's demo PKI: its own root, so the test ledger does not trust it."""
    return create_demo_pki(
        tmp_path_factory.mktemp("foreign") / "pki",
        school_name="Trường THCS Ngoài Hệ Thống",
        school_code="01000888",
        province="Đà Nẵng",
        staff=[StaffSpec("GV900", "Đỗ Văn Khách", "Giáo viên")],
        passphrase=PASSPHRASE,
        now=datetime.now(UTC),
    )


# -- signers -----------------------------------------------------------------------------------


def test_unknown_signer_writes_nothing(school: School) -> None:
    rid = enrol(school)
    code = unique_code()
    school.pki.issue_staff(StaffSpec(code, "Hoàng Văn Lạ", "Giáo viên"), datetime.now(UTC))
    stranger = school.pki.signer_for(code)
    with writes_nothing(school.ledger), pytest.raises(UnknownSigner):
        school.ledger.record_score(stranger, rid, "Toán", 1, "tx", "7.0")
    # Straight to the store, bypassing the command's own actor lookup.
    record = school.ledger.load(rid, StudentRecord)
    record.record_score(
        subject="Toán", term=1, kind="tx", value=Decimal("7.0"), by=school.staff("GV001")
    )
    with writes_nothing(school.ledger), pytest.raises(UnknownSigner):
        school.ledger.save(record, signer=stranger)


def test_save_without_signer_writes_nothing(school: School) -> None:
    rid = enrol(school)
    record = school.ledger.load(rid, StudentRecord)
    record.record_score(
        subject="Toán", term=1, kind="tx", value=Decimal("7.0"), by=school.staff("GV001")
    )
    with writes_nothing(school.ledger), pytest.raises(UnknownSigner):
        school.ledger.save(record)


def test_key_not_matching_certificate_is_refused(school: School) -> None:
    principal_key = load_private_key(school.pki.staff_key_path("HT001"), PASSPHRASE)
    with pytest.raises(KeyMismatch):
        SoftwareSigner(principal_key, school.pki.staff["GV001"])


class HandRolledSigner:
    """A hand-rolled :class:`signing.keys.Signer` (as a token driver or client would write):
    it claims ``certificate`` and signs with whatever ``key`` currently holds."""

    def __init__(self, certificate: x509.Certificate, key: object) -> None:
        self._certificate = certificate
        self.key = key

    @property
    def certificate(self) -> x509.Certificate:
        return self._certificate

    @property
    def fingerprint(self) -> bytes:
        return certificate_fingerprint(self._certificate)

    @property
    def algorithm(self) -> Algorithm:
        return Algorithm.ECDSA_P256_SHA256

    def sign(self, message: bytes) -> bytes:
        return algorithms.sign(self.key, Algorithm.ECDSA_P256_SHA256, message)  # type: ignore[arg-type]


def test_signer_with_wrong_key_writes_nothing(school: School) -> None:
    """Regression: the store once wrote events whose signature did not verify under the
    signer's own certificate (no check on write), leaving the record unreadable."""
    rid = enrol(school)
    principal_key = load_private_key(school.pki.staff_key_path("HT001"), PASSPHRASE)
    bad = HandRolledSigner(school.pki.staff["GV001"], principal_key)
    with writes_nothing(school.ledger), pytest.raises(SignerMismatch):
        school.ledger.record_score(bad, rid, "Toán", 1, "tx", "7.0")
    assert school.ledger.load(rid, StudentRecord).version == 1


def test_signer_whose_key_changes_after_first_use_writes_nothing(school: School) -> None:
    rid = enrol(school)
    gv001_key = load_private_key(school.pki.staff_key_path("GV001"), PASSPHRASE)
    signer = HandRolledSigner(school.pki.staff["GV001"], gv001_key)
    school.ledger.record_score(signer, rid, "Toán", 1, "tx", "7.0")  # proves possession
    signer.key = load_private_key(school.pki.staff_key_path("HT001"), PASSPHRASE)
    with writes_nothing(school.ledger), pytest.raises(LedgerError):
        school.ledger.record_score(signer, rid, "Toán", 1, "tx", "8.0")
    with Ledger(school.settings, None) as fresh:
        assert audit(fresh).ok  # nothing unverifiable was stored


# -- certificates at registration and at signing time ----------------------------------------------


def _new_staff_file(s: School, code: str) -> UUID:
    return s.ledger.open_staff_file(s.principal, code, "Giáo viên")


@pytest.mark.parametrize("when", ["expired", "not-yet-valid"])
def test_registering_certificate_outside_validity_is_refused(school: School, when: str) -> None:
    now = datetime.now(UTC)
    if when == "expired":
        start, end = now - timedelta(days=400), now - timedelta(days=1)
    else:
        start, end = now + timedelta(days=1), now + timedelta(days=400)
    code = unique_code()
    cert = school.pki.issue_staff(
        StaffSpec(code, "Vũ Thị Hạn", "Giáo viên"), now, not_before=start, not_after=end
    )
    sid = _new_staff_file(school, code)
    with writes_nothing(school.ledger), pytest.raises(SignerNotValid):
        school.ledger.register_certificate(school.principal, sid, cert)


@pytest.mark.parametrize("when", ["expired", "not-yet-valid"])
def test_signing_with_certificate_outside_validity_is_refused(school: School, when: str) -> None:
    """Registered without a path check (``trust=None``), as if it had been valid back then;
    signing an event at a time outside its validity is still refused by the store."""
    now = datetime.now(UTC)
    if when == "expired":
        start, end = now - timedelta(days=400), now - timedelta(days=1)
    else:
        start, end = now + timedelta(days=1), now + timedelta(days=400)
    code = unique_code()
    cert = school.pki.issue_staff(
        StaffSpec(code, "Vũ Thị Hạn", "Giáo viên"), now, not_before=start, not_after=end
    )
    rid = enrol(school)
    lax = Ledger(school.settings, None)
    try:
        sid = lax.open_staff_file(school.principal, code, "Giáo viên")
        lax.register_certificate(school.principal, sid, cert)
        allow_teacher(school, sid)
        signer = school.pki.signer_for(code)
        with writes_nothing(lax), pytest.raises(SignerNotValid):
            lax.record_score(signer, rid, "Toán", 1, "tx", "7.0")
    finally:
        lax.close()


def test_foreign_ca_certificate_is_refused(school: School, foreign_pki: DemoPKI) -> None:
    code = unique_code()
    sid = _new_staff_file(school, code)
    with writes_nothing(school.ledger), pytest.raises(SignerNotValid):
        school.ledger.register_certificate(school.principal, sid, foreign_pki.staff["GV900"])


# -- malformed commands -----------------------------------------------------------------------


def test_unencodable_event_attribute_is_invalid_input(school: School) -> None:
    rid = enrol(school)
    record = school.ledger.load(rid, StudentRecord)
    record.record_score(
        subject="Toán",
        term=1,
        kind="tx",
        value=object(),  # type: ignore[arg-type]
        by=school.staff("GV001"),
    )
    with writes_nothing(school.ledger), pytest.raises(InvalidInput):
        school.ledger.save(record, signer=school.teachers["GV001"])


@pytest.mark.parametrize(
    ("subject", "term", "kind"),
    [
        ("Toán", 3, "tx"),
        ("Toán", 0, "tx"),
        ("Toán", "1", "tx"),
        ("Toán", 1, "xx"),
        ("Toán", 1, ""),
        ("", 1, "tx"),
        ("   ", 1, "tx"),
        ("T" * 201, 1, "tx"),
    ],
)
def test_bad_score_command_is_invalid_input(
    school: School, subject: str, term: int, kind: str
) -> None:
    rid = enrol(school)
    teacher = school.teachers["GV001"]
    with writes_nothing(school.ledger), pytest.raises(InvalidInput):
        school.ledger.record_score(teacher, rid, subject, term, kind, "7.0")
    with writes_nothing(school.ledger), pytest.raises(InvalidInput):
        # One bad entry in a column refuses the whole column.
        school.ledger.record_scores(
            teacher, [(rid, "Toán", 1, "tx", "7.0"), (rid, subject, term, kind, "7.0")]
        )


@pytest.mark.parametrize(
    ("grade", "class_name", "student_code"),
    [
        (13, "6A1", "HS8101"),
        (0, "6A1", "HS8102"),
        ("6", "6A1", "HS8103"),
        (6, "L" * 300, "HS8104"),
        (6, "", "HS8105"),
        (6, "6A1", ""),
    ],
)
def test_bad_enrolment_is_invalid_input(
    school: School, grade: int, class_name: str, student_code: str
) -> None:
    with writes_nothing(school.ledger), pytest.raises(InvalidInput):
        school.ledger.enrol_student(school.principal, student_code, "2025-2026", grade, class_name)


def test_bad_input_leaves_a_clean_audit(school: School) -> None:
    """After a run of refused commands the ledger still audits clean."""
    rid = enrol(school)
    for args in (("Toán", 3, "tx", "7"), ("Toán", 1, "xx", "7"), ("", 1, "tx", "7")):
        with pytest.raises(InvalidInput):
            school.ledger.record_score(school.teachers["GV001"], rid, *args)
    report = audit(school.ledger)
    assert report.ok, report.problems
