"""Clients that hold their own keys: prepare on the server, sign on the client, submit."""

from __future__ import annotations

import pytest

from ledger.audit import audit
from ledger.domain import StudentRecord
from ledger.errors import ConcurrencyConflict, InvalidInput, RecordNotFound, SignerMismatch
from signing import algorithms
from signing.keys import load_private_key
from tests.conftest import PASSPHRASE, School


def client_sign(school: School, code: str, messages: tuple[bytes, ...]) -> list[bytes]:
    """What the client does with its own key; the ledger only ever sees the signatures."""
    key = load_private_key(school.pki.staff_key_path(code), PASSPHRASE)
    alg = algorithms.default_algorithm_for(key)
    return [algorithms.sign(key, alg, m) for m in messages]


def test_prepare_sign_submit(school: School) -> None:
    rid = school.ledger.enrol_student(school.principal, "HS0001", "2025-2026", 6, "6A1")
    cert = school.pki.staff["GV002"]
    prepared = school.ledger.prepare(
        cert,
        algorithms.Algorithm.ED25519,
        lambda signer: school.ledger.record_score(signer, rid, "Ngữ văn", 1, "tx", "9.5"),
    )
    assert len(prepared.messages) == 1
    # Nothing is written until the signatures arrive.
    assert school.ledger.load(rid, StudentRecord).version == 1
    n = school.ledger.submit(prepared.token, client_sign(school, "GV002", prepared.messages))
    assert n == 1
    assert school.ledger.load(rid, StudentRecord).scores[2][3].to_eng_string() == "9.5"
    assert audit(school.ledger).ok
    with pytest.raises(RecordNotFound):  # a token is used once
        school.ledger.submit(prepared.token, client_sign(school, "GV002", prepared.messages))


def test_prepared_batch_of_many_records(school: School) -> None:
    ids = [
        school.ledger.enrol_student(school.principal, f"HS{i:04d}", "2025-2026", 6, "6A1")
        for i in range(70)
    ]
    prepared = school.ledger.prepare(
        school.pki.staff["GV001"],
        algorithms.Algorithm.ECDSA_P256_SHA256,
        lambda s: school.ledger.record_scores(s, [(r, "Toán", 1, "gk", "8.0") for r in ids]),
    )
    assert len(prepared.messages) == 2  # 64 + 6 events
    school.ledger.submit(prepared.token, client_sign(school, "GV001", prepared.messages))
    assert audit(school.ledger).ok


def test_bad_signature_writes_nothing(school: School) -> None:
    rid = school.ledger.enrol_student(school.principal, "HS0001", "2025-2026", 6, "6A1")
    prepared = school.ledger.prepare(
        school.pki.staff["GV001"],
        algorithms.Algorithm.ECDSA_P256_SHA256,
        lambda s: school.ledger.record_score(s, rid, "Toán", 1, "tx", "7.0"),
    )
    # Signed by the wrong key (the principal's), as a forged or confused client would.
    forged = client_sign(school, "HT001", prepared.messages)
    n = school.ledger.recorder.max_notification_id()
    with pytest.raises(SignerMismatch):
        school.ledger.submit(prepared.token, forged)
    with pytest.raises(InvalidInput):
        school.ledger.submit(
            school.ledger.prepare(
                school.pki.staff["GV001"],
                algorithms.Algorithm.ECDSA_P256_SHA256,
                lambda s: school.ledger.record_score(s, rid, "Toán", 1, "tx", "7.0"),
            ).token,
            [],
        )
    assert school.ledger.recorder.max_notification_id() == n


def test_record_changed_since_prepare_is_a_conflict(school: School) -> None:
    rid = school.ledger.enrol_student(school.principal, "HS0001", "2025-2026", 6, "6A1")
    prepared = school.ledger.prepare(
        school.pki.staff["GV001"],
        algorithms.Algorithm.ECDSA_P256_SHA256,
        lambda s: school.ledger.record_score(s, rid, "Toán", 1, "tx", "7.0"),
    )
    school.ledger.record_score(school.teachers["GV002"], rid, "Ngữ văn", 1, "tx", "8.0")
    with pytest.raises(ConcurrencyConflict, match="prepare it again"):
        school.ledger.submit(prepared.token, client_sign(school, "GV001", prepared.messages))
    assert school.ledger.load(rid, StudentRecord).version == 2
