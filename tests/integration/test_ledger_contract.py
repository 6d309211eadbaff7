"""The event-store contract, run once per storage backend (SQLite, PostgreSQL)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledger.audit import audit
from ledger.domain import StudentRecord, student_id
from ledger.errors import (
    AlreadyExists,
    InvalidScore,
    NotAuthorized,
    RecordNotFound,
    SignerMismatch,
    UnknownSigner,
)
from signing import envelope
from signing.algorithms import Algorithm
from signing.keys import SoftwareSigner, load_private_key
from tests.conftest import PASSPHRASE, School


def enrol(s: School, code: str = "HS0001") -> object:
    return s.ledger.enrol_student(s.principal, code, "2025-2026", 6, "6A1")


def test_events_round_trip_signed_and_chained(school: School) -> None:
    rid = enrol(school)
    v2 = school.ledger.record_score(school.teachers["GV001"], rid, "Toán", 1, "tx", "8.5")
    v3 = school.ledger.record_score(school.teachers["GV002"], rid, "Ngữ văn", 1, "gk", "7")
    assert (v2, v3) == (2, 3)
    record = school.ledger.load(rid, StudentRecord)
    assert record.scores[2][3] == Decimal("8.5")
    assert record.scores[3][3] == Decimal("7.0")
    rows = school.ledger.recorder.select_events(rid)
    envs = [envelope.decode(r.state) for r in rows]
    assert envs[0].prev == envelope.ZERO_HASH
    assert envs[1].prev == envs[0].hash and envs[2].prev == envs[1].hash
    assert envs[1].algorithm is Algorithm.ECDSA_P256_SHA256
    assert envs[2].algorithm is Algorithm.ED25519
    assert audit(school.ledger).ok


@pytest.mark.parametrize("algorithm", [Algorithm.RSA_PSS_SHA256, Algorithm.RSA_PKCS1V15_SHA256])
def test_rsa_signatures_both_paddings(school: School, algorithm: Algorithm) -> None:
    rid = enrol(school)
    key = load_private_key(school.pki.staff_key_path("GV003"), PASSPHRASE)
    signer = SoftwareSigner(key, school.pki.staff["GV003"], algorithm)
    school.ledger.record_score(signer, rid, "Ngoại ngữ 1", 1, "tx", "9.0")
    env = envelope.decode(school.ledger.recorder.select_events(rid)[-1].state)
    assert env.algorithm is algorithm
    assert audit(school.ledger).ok


def test_batch_of_many_records_is_one_signature_per_chunk(school: School) -> None:
    ids = [enrol(school, f"HS{i:04d}") for i in range(130)]
    n = school.ledger.record_scores(
        school.teachers["GV001"], [(rid, "Toán", 1, "tx", "6.5") for rid in ids]
    )
    assert n == 130
    sigs = {
        envelope.decode(school.ledger.recorder.select_events(rid)[-1].state).signature
        for rid in ids
    }
    assert len(sigs) == 3  # 64 + 64 + 2
    report = audit(school.ledger)
    assert report.ok, report.problems


def test_history_and_correction(school: School) -> None:
    rid = enrol(school)
    v = school.ledger.record_score(school.teachers["GV001"], rid, "Toán", 1, "tx", "5.0")
    school.ledger.correct_score(school.teachers["GV001"], rid, v, "5.5", "Chấm sót câu 3")
    hist = school.ledger.history(rid)
    assert [h["event"] for h in hist] == ["Enrolled", "ScoreRecorded", "ScoreCorrected"]
    assert hist[2]["fields"]["corrects"] == v
    assert hist[2]["fields"]["reason"] == "Chấm sót câu 3"


def test_only_the_owner_corrects(school: School) -> None:
    rid = enrol(school)
    v = school.ledger.record_score(school.teachers["GV001"], rid, "Toán", 1, "tx", "5.0")
    before = school.ledger.recorder.max_notification_id()
    with pytest.raises(NotAuthorized):
        school.ledger.correct_score(school.teachers["GV002"], rid, v, "6.0", "sửa")
    assert school.ledger.recorder.max_notification_id() == before


@pytest.mark.parametrize("value", ["10.1", "-0.1", "8.25", "abc", "NaN", "Infinity", "1e1000"])
def test_out_of_range_score_writes_nothing(school: School, value: str) -> None:
    rid = enrol(school)
    before = school.ledger.recorder.max_notification_id()
    with pytest.raises(InvalidScore):
        school.ledger.record_score(school.teachers["GV001"], rid, "Toán", 1, "tx", value)
    with pytest.raises(InvalidScore):
        school.ledger.record_scores(
            school.teachers["GV001"], [(rid, "Toán", 1, "tx", "7.0"), (rid, "Toán", 1, "tx", value)]
        )
    assert school.ledger.recorder.max_notification_id() == before


def test_unknown_signer_writes_nothing(school: School) -> None:
    rid = enrol(school)
    # A certificate issued by the school CA but never registered in the ledger.
    import uuid
    from datetime import UTC, datetime

    from signing.pki import StaffSpec

    code = f"GV9{uuid.uuid4().hex[:6]}"
    school.pki.issue_staff(StaffSpec(code, "Hoàng Văn Lạ", "Giáo viên"), datetime.now(UTC))
    stranger = school.pki.signer_for(code)
    before = school.ledger.recorder.max_notification_id()
    with pytest.raises(UnknownSigner):
        school.ledger.record_score(stranger, rid, "Toán", 1, "tx", "7.0")
    assert school.ledger.recorder.max_notification_id() == before


def test_event_naming_another_actor_is_refused(school: School) -> None:
    rid = enrol(school)
    record = school.ledger.load(rid, StudentRecord)
    record.record_score(
        subject="Toán", term=1, kind="tx", value=Decimal("9.0"), by=school.staff("GV002")
    )
    with pytest.raises(SignerMismatch):
        school.ledger.save(record, signer=school.teachers["GV001"])
    assert len(school.ledger.recorder.select_events(rid)) == 1


def test_duplicates_refused(school: School) -> None:
    enrol(school)
    with pytest.raises(AlreadyExists):
        enrol(school)
    with pytest.raises(AlreadyExists):
        school.ledger.register_certificate(
            school.principal, school.staff("GV001"), school.pki.staff["GV001"]
        )


def test_teacher_cannot_open_staff_files(school: School) -> None:
    with pytest.raises(NotAuthorized):
        school.ledger.open_staff_file(school.teachers["GV001"], "GV777", "Giáo viên")


def test_missing_record(school: School) -> None:
    with pytest.raises(RecordNotFound):
        school.ledger.history(student_id("HS-NONE"))


def test_reopen_verifies_from_storage(school: School) -> None:
    rid = enrol(school)
    school.ledger.record_score(school.teachers["GV001"], rid, "Toán", 1, "tx", "8.0")
    from ledger.application import Ledger

    again = Ledger(school.settings, None)
    try:
        assert again.load(rid, StudentRecord).scores[2][3] == Decimal("8.0")
        assert audit(again).ok
        # Appending after reopening chains to the stored head.
        again.record_score(school.teachers["GV001"], rid, "Toán", 1, "tx", "9.0")
        assert audit(again).ok
    finally:
        again.close()
