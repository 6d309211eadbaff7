"""Tampering in the database, behind the application's back, on each storage backend.

Every test writes a small record through the application, then changes the
stored rows with raw SQL (``sqlite3`` or ``psycopg``, never the ledger), and
checks both detectors:

- ``ledger.audit.audit`` names the exact record id, version and check;
- reading the record through a freshly opened ledger (no cache can hide the
  change) raises :class:`ledger.errors.IntegrityViolation`.

The one thing the per-record chain cannot see, a deleted tail, is pinned as a
documented limitation (DESIGN.md §3 invariant 4: the Merkle log handles it).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import replace
from pathlib import Path
from uuid import UUID

import psycopg
import pytest

from ledger.application import Ledger, Settings
from ledger.audit import AuditReport, Problem
from ledger.audit import audit as serial_audit
from ledger.domain import StudentRecord
from ledger.errors import IntegrityViolation
from signing import envelope
from signing.algorithms import Algorithm
from signing.keys import Signer
from tests.conftest import School

ROOT = Path(__file__).resolve().parents[2]

# Envelope offsets (signing/envelope.py): magic 4, alg 1, signer 32, prev 32, hash 32.
SIGNER = slice(5, 37)
PREV = slice(37, 69)


def audit(ledger: Ledger) -> AuditReport:
    """The audit, serial and with its replay in a forked process: both find the same."""
    report = serial_audit(ledger)
    parallel = serial_audit(ledger, jobs=2)
    assert sorted(map(repr, parallel.problems)) == sorted(map(repr, report.problems))
    assert (parallel.events, parallel.records, parallel.certificates) == (
        report.events,
        report.records,
        report.certificates,
    )
    return report


# -- raw storage access --------------------------------------------------------------------


@contextmanager
def raw(settings: Settings) -> Iterator[tuple[str, sqlite3.Connection | psycopg.Connection]]:
    """A direct connection to the ledger's database, bypassing the application."""
    if settings.database_url:
        with psycopg.connect(settings.database_url, autocommit=True) as pg:
            yield "postgres", pg
    else:
        with closing(sqlite3.connect(settings.sqlite_path, timeout=10)) as lite:
            yield "sqlite", lite


def _key(kind: str, rid: UUID) -> object:
    # SQLite keeps the id as 32 hex digits; PostgreSQL as a uuid.
    return rid.hex if kind == "sqlite" else rid


def _table(kind: str) -> str:
    return "stored_events" if kind == "sqlite" else "socai_events"


def read_states(settings: Settings, rid: UUID) -> dict[int, bytes]:
    """version -> stored ``state`` bytes of one record."""
    with raw(settings) as (kind, conn):
        rows = conn.execute(
            f"SELECT originator_version, state FROM {_table(kind)} "
            f"WHERE originator_id = {_ph(kind)} ORDER BY originator_version",
            (_key(kind, rid),),
        ).fetchall()
    return {int(v): bytes(s) for v, s in rows}


def _ph(kind: str) -> str:
    return "?" if kind == "sqlite" else "%s"


def write_states(settings: Settings, rid: UUID, states: dict[int, bytes]) -> None:
    """Overwrite the ``state`` of the given versions, all in one transaction."""
    with raw(settings) as (kind, conn):
        p = _ph(kind)
        sql = (
            f"UPDATE {_table(kind)} SET state = {p} "
            f"WHERE originator_id = {p} AND originator_version = {p}"
        )
        params = [(s, _key(kind, rid), v) for v, s in states.items()]
        if kind == "sqlite":
            assert isinstance(conn, sqlite3.Connection)
            with conn:  # one transaction, committed on exit
                for args in params:
                    assert conn.execute(sql, args).rowcount == 1
        else:
            assert isinstance(conn, psycopg.Connection)
            with conn.transaction():
                for args in params:
                    assert conn.execute(sql, args).rowcount == 1


def delete_version(settings: Settings, rid: UUID, version: int) -> None:
    with raw(settings) as (kind, conn):
        p = _ph(kind)
        sql = f"DELETE FROM {_table(kind)} WHERE originator_id = {p} AND originator_version = {p}"
        if kind == "sqlite":
            assert isinstance(conn, sqlite3.Connection)
            with conn:
                assert conn.execute(sql, (_key(kind, rid), version)).rowcount == 1
        else:
            assert conn.execute(sql, (_key(kind, rid), version)).rowcount == 1


# -- helpers -------------------------------------------------------------------------------


@contextmanager
def reopened(school: School) -> Iterator[Ledger]:
    """A fresh ledger on the same storage: no head, batch or registry cache from the writer."""
    ledger = Ledger(school.settings, None)
    try:
        yield ledger
    finally:
        ledger.close()


def four_event_record(s: School, code: str = "HS7001") -> UUID:
    """Enrolled (principal, EC) then scores by GV001 (EC), GV002 (Ed25519), GV003 (RSA)."""
    rid = s.ledger.enrol_student(s.principal, code, "2025-2026", 6, "6A1")
    s.ledger.record_score(s.teachers["GV001"], rid, "Toán", 1, "tx", "8.5")
    s.ledger.record_score(s.teachers["GV002"], rid, "Ngữ văn", 1, "tx", "7.0")
    s.ledger.record_score(s.teachers["GV003"], rid, "Ngoại ngữ 1", 1, "gk", "9.0")
    assert sorted(read_states(s.settings, rid)) == [1, 2, 3, 4]
    return rid


def problems_at(problems: list[Problem], rid: UUID) -> dict[int, set[str]]:
    """version -> checks that failed, for one record (the per-event checks).

    The transparency log also notices every change made after an event was logged; those
    ``log`` findings are pinned in test_log_tampering.py, not here.
    """
    out: dict[int, set[str]] = {}
    for p in problems:
        if p.record == str(rid) and p.check != "log":
            out.setdefault(p.version, set()).add(p.check)
    return out


def assert_clean_before(s: School) -> None:
    report = audit(s.ledger)
    assert report.ok, report.problems


def expect_read_violation(s: School, rid: UUID, version: int, checks: set[str]) -> None:
    """Loading and listing the record through a fresh ledger both refuse, naming the event."""
    with reopened(s) as fresh:
        with pytest.raises(IntegrityViolation) as load_err:
            fresh.load(rid, StudentRecord)
        assert load_err.value.record == str(rid)
        assert load_err.value.version == version
        assert load_err.value.check in checks
        with pytest.raises(IntegrityViolation) as hist_err:
            fresh.history(rid)
        assert (hist_err.value.record, hist_err.value.version) == (str(rid), version)


def resign(state: bytes, signer: Signer, *, claim: Signer | None = None) -> bytes:
    """Replace the batch signature with ``signer``'s over the same batch message.

    The algorithm byte and the signer fingerprint stay as stored unless ``claim``
    is given, in which case both are switched to ``claim``'s (a "proper" re-signing).
    """
    env = envelope.decode(state)
    forged = replace(env, signature=signer.sign(env.signed_message()))
    if claim is not None:
        forged = replace(forged, algorithm=claim.algorithm, signer=claim.fingerprint)
    return forged.encode()


# -- cases -----------------------------------------------------------------------------------


def test_flipped_payload_bit_fails_hash(school: School) -> None:
    rid = four_event_record(school)
    assert_clean_before(school)
    state = bytearray(read_states(school.settings, rid)[2])
    state[-1] ^= 0x01
    write_states(school.settings, rid, {2: bytes(state)})

    with reopened(school) as fresh:
        found = problems_at(audit(fresh).problems, rid)
    assert "hash" in found.get(2, set()), found
    assert set(found) == {2}, found  # the chain after it still links to the stored hash
    expect_read_violation(school, rid, 2, {"hash"})


def test_changed_prev_fails_hash_and_chain(school: School) -> None:
    rid = four_event_record(school)
    state = bytearray(read_states(school.settings, rid)[2])
    state[PREV] = bytes(b ^ 0xFF for b in state[PREV])
    write_states(school.settings, rid, {2: bytes(state)})

    with reopened(school) as fresh:
        found = problems_at(audit(fresh).problems, rid)
    assert {"hash", "chain"} <= found.get(2, set()), found
    expect_read_violation(school, rid, 2, {"hash", "chain"})


def test_swapped_events_fail_at_both_versions(school: School) -> None:
    rid = four_event_record(school)
    states = read_states(school.settings, rid)
    # Both are ScoreRecorded, so the topic column still matches after the swap.
    write_states(school.settings, rid, {2: states[3], 3: states[2]})

    with reopened(school) as fresh:
        found = problems_at(audit(fresh).problems, rid)
    assert "hash" in found.get(2, set()) and "hash" in found.get(3, set()), found
    assert "chain" in found.get(2, set()) and "chain" in found.get(3, set()), found
    expect_read_violation(school, rid, 2, {"hash"})


def test_deleted_middle_event_breaks_chain(school: School) -> None:
    rid = four_event_record(school)
    delete_version(school.settings, rid, 2)

    with reopened(school) as fresh:
        found = problems_at(audit(fresh).problems, rid)
    assert found == {3: {"chain"}}, found
    expect_read_violation(school, rid, 3, {"chain"})


@pytest.mark.parametrize(
    "forger",
    [
        # Ed25519 bytes under an ECDSA algorithm byte and GV001's EC certificate.
        "GV002",
        # A well-formed ECDSA P-256 signature, but by the principal's key.
        "HT001",
    ],
)
def test_signature_from_another_staff_key_fails(school: School, forger: str) -> None:
    rid = four_event_record(school)
    original = read_states(school.settings, rid)[2]
    assert envelope.decode(original).algorithm is Algorithm.ECDSA_P256_SHA256  # GV001
    signer = school.principal if forger == "HT001" else school.teachers[forger]
    write_states(school.settings, rid, {2: resign(original, signer)})

    with reopened(school) as fresh:
        found = problems_at(audit(fresh).problems, rid)
    assert found == {2: {"signature"}}, found
    expect_read_violation(school, rid, 2, {"signature"})


@pytest.mark.parametrize("forger", ["HT001", "GV002"])
def test_resigned_by_another_staff_member_fails_actor(school: School, forger: str) -> None:
    """Signer fingerprint and algorithm switched to another registered certificate and re-signed.

    Hash, chain and signature all verify; only the payload's ``by`` (GV001) still
    names the original teacher, and the audit's ``actor`` check catches it.
    """
    rid = four_event_record(school)
    signer = school.principal if forger == "HT001" else school.teachers[forger]
    original = read_states(school.settings, rid)[2]
    write_states(school.settings, rid, {2: resign(original, signer, claim=signer)})

    with reopened(school) as fresh:
        found = problems_at(audit(fresh).problems, rid)
    assert found == {2: {"actor"}}, found


def test_resigned_by_another_staff_member_is_refused_on_read(school: School) -> None:
    rid = four_event_record(school)
    original = read_states(school.settings, rid)[2]
    forged = resign(original, school.principal, claim=school.principal)
    write_states(school.settings, rid, {2: forged})
    expect_read_violation(school, rid, 2, {"actor", "signer"})


def test_deleted_tail_event_is_invisible_to_the_chain_but_not_to_the_log(school: School) -> None:
    """Deleting a record's newest event leaves a valid shorter chain (each event only links
    backwards), so the per-record checks and the read path see nothing; the transparency log
    still holds the deleted event's leaf, and the audit reports it (DESIGN.md §3 invariant 4).
    """
    rid = four_event_record(school)
    delete_version(school.settings, rid, 4)

    with reopened(school) as fresh:
        report = audit(fresh)
        assert problems_at(report.problems, rid) == {}
        assert [p.check for p in report.problems] == ["log"]
        assert "no longer stored" in report.problems[0].detail
        record = fresh.load(rid, StudentRecord)
        assert record.version == 3
        assert 4 not in record.scores
        assert [h["version"] for h in fresh.history(rid)] == [1, 2, 3]


# -- the CLI, end to end (SQLite) ------------------------------------------------------------


def _socai(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("SOCAI_DATABASE_URL", "SOCAI_DATA")}
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data directory after ``socai init`` and ``socai demo --students 3`` (made once)."""
    data = tmp_path_factory.mktemp("cli") / "data"
    for args in (("init",), ("demo", "--students", "3")):
        done = _socai("--data", str(data), *args)
        assert done.returncode == 0, done.stderr
    return data


@pytest.fixture
def demo_copy(demo_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the demo data directory (database, WAL, PKI and key files)."""
    return Path(shutil.copytree(demo_dir, tmp_path / "data"))


def test_cli_audit_passes_on_clean_demo(demo_copy: Path) -> None:
    done = _socai("--data", str(demo_copy), "audit")
    assert done.returncode == 0, done.stdout + done.stderr
    done = _socai("--data", str(demo_copy), "audit", "--json")
    assert done.returncode == 0
    report = json.loads(done.stdout)
    assert report["ok"] is True and report["problems"] == [] and report["events"] > 0


def test_cli_audit_reports_tampered_payload(demo_copy: Path) -> None:
    db = demo_copy / "ledger.sqlite"
    with closing(sqlite3.connect(db, timeout=10)) as conn, conn:
        # The newest event: the demo's score correction, on the first student's record.
        hex_id, version, state = conn.execute(
            "SELECT originator_id, originator_version, state FROM stored_events "
            "ORDER BY rowid DESC LIMIT 1"
        ).fetchone()
        tampered = bytearray(state)
        tampered[-1] ^= 0x01
        conn.execute(
            "UPDATE stored_events SET state = ? WHERE originator_id = ? AND originator_version = ?",
            (bytes(tampered), hex_id, version),
        )
    rid = str(UUID(hex=hex_id))

    done = _socai("--data", str(demo_copy), "audit")
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"hồ sơ {rid} phiên bản {version}: [hash]" in done.stdout, done.stdout

    done = _socai("--data", str(demo_copy), "audit", "--json")
    assert done.returncode == 1
    report = json.loads(done.stdout)
    assert report["ok"] is False
    assert {"record": rid, "version": version, "check": "hash"} in [
        {k: p[k] for k in ("record", "version", "check")} for p in report["problems"]
    ]
    assert {p["record"] for p in report["problems"]} == {rid}


def test_algorithm_byte_changed_in_a_verified_batch_is_reported(school: School) -> None:
    """Regression: the audit's verified-batch cache ignored the algorithm byte.

    Two events of one RSA batch share a signature; after the first verified,
    the second was taken from the cache even with its algorithm switched from
    PSS to PKCS#1 v1.5, under which the signature is not valid.
    """
    ids = [
        school.ledger.enrol_student(school.principal, f"HS8{i}", "2025-2026", 6, "6A1")
        for i in range(2)
    ]
    school.ledger.record_scores(
        school.teachers["GV003"], [(rid, "Ngoại ngữ 1", 1, "tx", "7.5") for rid in ids]
    )
    state = read_states(school.settings, ids[1])[2]
    assert envelope.decode(state).algorithm is Algorithm.RSA_PSS_SHA256
    forged = state[:4] + bytes([Algorithm.RSA_PKCS1V15_SHA256]) + state[5:]
    write_states(school.settings, ids[1], {2: forged})
    with reopened(school) as fresh:
        found = problems_at(audit(fresh).problems, ids[1])
    assert found == {2: {"signature"}}, found
