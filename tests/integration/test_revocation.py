"""Revocation is a ledger event: refused after, valid before, flagged by the audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ledger.audit import audit
from ledger.domain import StaffFile, StudentRecord
from ledger.errors import AlreadyExists, InvalidInput, NotAuthorized, SignerNotValid
from signing.keys import certificate_fingerprint
from tests.conftest import School


def enrol(s: School, code: str = "HS0001") -> object:
    return s.ledger.enrol_student(s.principal, code, "2025-2026", 6, "6A1")


def test_revoked_certificate_refused_after_and_valid_before(school: School) -> None:
    rid = enrol(school)
    teacher = school.teachers["GV001"]
    before = school.ledger.record_score(teacher, rid, "Toán", 1, "tx", "7.0")
    fp = certificate_fingerprint(teacher.certificate)
    school.ledger.revoke_certificate(school.principal, school.staff("GV001"), fp, "keyCompromise")
    staff = school.ledger.load(school.staff("GV001"), StaffFile)
    assert fp.hex() in staff.revoked
    n = school.ledger.recorder.max_notification_id()
    with pytest.raises(SignerNotValid, match="revoked"):
        school.ledger.record_score(teacher, rid, "Toán", 1, "tx", "8.0")
    assert school.ledger.recorder.max_notification_id() == n
    # What was signed before the revocation stays valid and readable.
    assert school.ledger.load(rid, StudentRecord).scores[before][3] is not None
    report = audit(school.ledger)
    assert report.ok, report.problems


def test_backdated_revocation_makes_audit_flag_later_events(school: School) -> None:
    rid = enrol(school)
    teacher = school.teachers["GV002"]
    moment = datetime.now(UTC)
    v = school.ledger.record_score(teacher, rid, "Ngữ văn", 1, "tx", "6.0")
    fp = certificate_fingerprint(teacher.certificate)
    # A key compromise discovered late: revoked from a time before the score.
    school.ledger.revoke_certificate(
        school.principal, school.staff("GV002"), fp, "keyCompromise", moment - timedelta(seconds=1)
    )
    problems = [(p.record, p.version, p.check) for p in audit(school.ledger).problems]
    assert problems == [(str(rid), v, "certificate")]


def test_key_rotation_keeps_old_signatures_valid(school: School) -> None:
    from signing.pki import StaffSpec

    rid = enrol(school)
    old = school.teachers["GV001"]
    school.ledger.record_score(old, rid, "Toán", 1, "tx", "5.0")
    # A new certificate for the same person, registered while the old one is valid.
    import uuid

    code = f"GV1{uuid.uuid4().hex[:6]}"
    school.pki.issue_staff(StaffSpec(code, "Nguyễn Văn An", "Giáo viên"), datetime.now(UTC))
    new_cert = school.pki.staff[code]
    school.ledger.register_certificate(school.principal, school.staff("GV001"), new_cert)
    new = school.pki.signer_for(code)
    school.ledger.revoke_certificate(
        school.principal,
        school.staff("GV001"),
        certificate_fingerprint(old.certificate),
        "superseded",
    )
    # The new key signs for the same staff file; the old key can no longer sign.
    school.ledger.record_score(new, rid, "Toán", 1, "tx", "6.0")
    with pytest.raises(SignerNotValid):
        school.ledger.record_score(old, rid, "Toán", 1, "tx", "7.0")
    assert audit(school.ledger).ok


def test_revocation_input_checks(school: School) -> None:
    teacher = school.teachers["GV003"]
    fp = certificate_fingerprint(teacher.certificate)
    n = school.ledger.recorder.max_notification_id()
    with pytest.raises(InvalidInput):
        school.ledger.revoke_certificate(school.principal, school.staff("GV003"), fp, "because")
    with pytest.raises(InvalidInput):
        school.ledger.revoke_certificate(
            school.principal,
            school.staff("GV003"),
            fp,
            "unspecified",
            datetime.now(UTC) + timedelta(days=1),
        )
    with pytest.raises(InvalidInput):  # not this staff file's certificate
        school.ledger.revoke_certificate(school.principal, school.staff("GV001"), fp)
    with pytest.raises(NotAuthorized):
        school.ledger.revoke_certificate(school.teachers["GV001"], school.staff("GV003"), fp)
    assert school.ledger.recorder.max_notification_id() == n
    school.ledger.revoke_certificate(school.principal, school.staff("GV003"), fp)
    with pytest.raises(AlreadyExists):
        school.ledger.revoke_certificate(school.principal, school.staff("GV003"), fp)


def test_deleting_a_revocation_row_is_reported(school: School) -> None:
    teacher = school.teachers["GV001"]
    fp = certificate_fingerprint(teacher.certificate)
    school.ledger.revoke_certificate(school.principal, school.staff("GV001"), fp)
    if school.settings.database_url:
        import psycopg

        with psycopg.connect(school.settings.database_url, autocommit=True) as conn:
            conn.execute("DELETE FROM socai_revocations")
    else:
        import sqlite3

        with sqlite3.connect(school.settings.sqlite_path) as conn:
            conn.execute("DELETE FROM socai_revocations")
    checks = {p.check for p in audit(school.ledger).problems}
    assert checks == {"registry"}


def test_point_in_time_needs_proof_of_existence_for_a_late_revocation(
    school: School, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key compromise found late: revoked from an hour ago, recorded now.

    A score claiming to be from two hours ago, by that key, is INDETERMINATE (REVOKED_NO_POE)
    unless a timestamped checkpoint proves it existed before the revocation.
    """
    from eventsourcing.domain import CanCreateTimestamp

    rid = enrol(school)
    teacher = school.teachers["GV001"]
    now = datetime.now(UTC)
    with monkeypatch.context() as m:
        m.setattr(
            CanCreateTimestamp, "create_timestamp", staticmethod(lambda: now - timedelta(hours=2))
        )
        v = school.ledger.record_score(teacher, rid, "Toán", 1, "tx", "7.0")
    fp = certificate_fingerprint(teacher.certificate)
    school.ledger.revoke_certificate(
        school.principal, school.staff("GV001"), fp, "keyCompromise", now - timedelta(hours=1)
    )
    size = school.ledger.transparency_log.size
    problems = [(p.record, p.version, p.check) for p in audit(school.ledger).problems]
    assert problems == [(str(rid), v, "certificate")]
    assert "REVOKED_NO_POE" in audit(school.ledger).problems[0].detail
    # A timestamped checkpoint from before the revocation, covering the score, proves it.
    proof = [(size, now - timedelta(minutes=90))]
    assert audit(school.ledger, existence=proof).ok
    # One from after the revocation does not.
    late = [(size, now)]
    assert not audit(school.ledger, existence=late).ok
