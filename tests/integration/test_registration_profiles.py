"""Certificate profiles are enforced when a certificate enters the ledger."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from ledger.domain import PRINCIPAL
from ledger.errors import SignerNotValid
from signing.pki import StaffSpec
from tests.conftest import School


def test_principal_file_needs_a_principal_certificate(school: School) -> None:
    # A second principal's file (a new appointment) given a teacher's certificate.
    code = f"HT9{uuid.uuid4().hex[:5]}"
    sid = school.ledger.open_staff_file(school.seal, code, PRINCIPAL)
    school.pki.issue_staff(StaffSpec(code, "Đỗ Minh Tâm", "Giáo viên"), datetime.now(UTC))
    n = school.ledger.recorder.max_notification_id()
    with pytest.raises(SignerNotValid, match="Hiệu trưởng"):
        school.ledger.register_certificate(school.seal, sid, school.pki.staff[code])
    assert school.ledger.recorder.max_notification_id() == n


def test_school_seal_must_be_an_organisation_certificate(school: School) -> None:
    # A person's certificate offered as a school's seal.
    from ledger.domain import school_id

    code = f"GV8{uuid.uuid4().hex[:5]}"
    school.pki.issue_staff(StaffSpec(code, "Lý Văn Giả", "Giáo viên"), datetime.now(UTC))
    with pytest.raises(SignerNotValid, match="organi"):
        school.ledger.register_school(
            school.pki.signer_for(code), "79000998", "Trường Giả", "Hà Nội"
        )
    assert not school.ledger.exists(school_id("79000998"))


def test_ca_certificate_cannot_be_registered_as_a_signer(school: School) -> None:
    n = school.ledger.recorder.max_notification_id()
    with pytest.raises(SignerNotValid, match="CA"):
        school.ledger.register_certificate(
            school.principal, school.staff("GV001"), school.pki.school
        )
    assert school.ledger.recorder.max_notification_id() == n
