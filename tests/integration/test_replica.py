"""Past one machine: a streaming replica serving reads, and point-in-time recovery.

Real PostgreSQL clusters of our own (:mod:`tests.integration.pgcluster`, ports 5540-5549):
a primary that archives its WAL, and a hot standby made by ``pg_basebackup -R``. The demo
school year (``socai demo``, a few thousand signed events) is written on the primary
while the standby streams it.

1. The standby serves what only reads: the views rebuilt and caught up from the standby's
   ledger equal the primary's; the audit passes on it; a record's history, its issued
   transcripts (what online verification asks for) and the inclusion proof of its head in
   the witnessed checkpoint all come from it; a write against it fails with
   :class:`~ledger.errors.StorageError` and writes nothing, and ``socai serve`` pointed at
   it answers 503, never 500. The replication lag (commit on the primary to visible on the
   standby) is measured and printed.
2. A base backup and the WAL archive, restored to a point in time between two witnessed
   checkpoints: signing refuses with ``LogBehind`` naming the missing leaves, the audit
   with the later checkpoint reports the truncation, and after recovering to the end of
   the archive instead, signing resumes and the audit passes (docs/operations.md,
   "Past one machine").

The clusters are made with the PostgreSQL binaries (``SOCAI_PG_BIN``, default
``/usr/lib/postgresql/15/bin``); without them the module skips, unless
``SOCAI_REQUIRE_POSTGRES=1`` (CI), where it fails.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx
import pytest

from api.cli import main
from api.demo import PARTNER_CODE
from api.trust import load_trust
from bench.serve import free_port, process_serving
from ledger.application import Ledger, Settings, Trust
from ledger.audit import audit
from ledger.checkpoints import CheckpointStore
from ledger.domain import StudentRecord, school_id, student_id
from ledger.errors import StorageError
from ledger.log import TransparencyLog
from ledger.replica import ReplicaLedger
from projections.errors import InvalidView
from projections.issued_index import find_issue
from projections.runner import POSTGRESQL, SQLITE, LiveView, View, ViewRunner
from projections.views import DashboardView, GradebookView, StaffView, TranscriptView, Views
from signing import merkle
from signing.keys import resolve_passphrase
from signing.pki import DemoPKI
from tests.conftest import REQUIRE_PG
from tests.integration.pgcluster import Cluster, Clusters, missing
from tests.integration.web import (
    HOME_CODE,
    OPEN_CLASS,
    OPEN_YEAR,
    PASSPHRASE,
    open_year_in_progress,
)

pytestmark = pytest.mark.postgres

DATABASE = "socai"
#: Demo students: 24 in three classes, about 3,400 signed events with the issued transcripts.
STUDENTS = 24
DEMO_YEAR = "2025-2026"
#: Enrolments whose commit-to-visible time on the standby is measured.
LAG_SAMPLES = 40


# -- the province: a primary, a standby, a demo school ---------------------------------------


@dataclass
class Province:
    clusters: Clusters
    primary: Cluster
    standby: Cluster
    data: Path
    pki: DemoPKI
    trust: Trust
    #: The ledger on the primary, where every write goes.
    ledger: Ledger
    demo: dict[str, Any]
    #: WAL bytes the primary wrote for the demo (its events, vault keys, accounts, views)
    #: and the events it wrote.
    demo_wal: tuple[int, int]

    @property
    def primary_url(self) -> str:
        return self.primary.url(DATABASE)

    @property
    def standby_url(self) -> str:
        return self.standby.url(DATABASE)

    def replicated(self) -> float:
        """Wait until the standby has replayed everything committed on the primary so far."""
        return self.standby.wait_for_replay(self.primary.wal_position())

    def enrol(self, prefix: str, count: int) -> list[UUID]:
        """Enrol ``count`` new students in the open class, one signed command each."""
        principal = self.pki.signer_for("HT001")
        return [
            self.ledger.enrol_student(principal, f"{prefix}{i:03d}", OPEN_YEAR, 6, OPEN_CLASS)
            for i in range(count)
        ]


def socai(data: Path, url: str, *args: str) -> tuple[int, str, str]:
    """``socai --data DATA ARGS`` in this process with ``SOCAI_DATABASE_URL=url``."""
    out, err = io.StringIO(), io.StringIO()
    with pytest.MonkeyPatch.context() as mp, redirect_stdout(out), redirect_stderr(err):
        mp.setenv("SOCAI_DATABASE_URL", url)
        code = main(["--data", str(data), *args])
    return code, out.getvalue(), err.getvalue()


@pytest.fixture(scope="module")
def province(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Province]:
    reason = missing()
    if reason is not None:
        if REQUIRE_PG:
            pytest.fail(f"{reason} (SOCAI_REQUIRE_POSTGRES=1)")
        pytest.skip(reason)
    with pytest.MonkeyPatch.context() as mp, Clusters() as clusters:
        mp.setenv("SOCAI_KEY_PASSPHRASE", PASSPHRASE)
        mp.delenv("SOCAI_DATABASE_URL", raising=False)
        primary = clusters.primary()
        url = clusters.create_database(primary, DATABASE)
        # The standby exists before the school does: it streams the demo as it is written.
        standby = clusters.standby(primary)
        data = tmp_path_factory.mktemp("province") / "data"
        wal_before = primary.wal_position()
        code, out, err = socai(
            data, url, "demo", "--students", str(STUDENTS), "--jobs", "1", "--json"
        )
        assert code == 0, err
        demo = json.loads(out)
        demo_wal = (
            int(
                primary.value(
                    "SELECT pg_wal_lsn_diff(%s::pg_lsn, %s::pg_lsn)",
                    (primary.wal_position(), wal_before),
                )
            ),
            int(primary.value("SELECT max(notification_id) FROM socai_events", dbname=DATABASE)),
        )
        open_year_in_progress(data, url)
        pki = DemoPKI.load(data / "pki", resolve_passphrase(data, create=False))
        trust = load_trust(data, pki)
        ledger = Ledger(Settings(data, url), trust)
        try:
            yield Province(clusters, primary, standby, data, pki, trust, ledger, demo, demo_wal)
        finally:
            ledger.close()


# -- views whose ledger is the standby ----------------------------------------------------------


class ReplicaViewRunner(ViewRunner):
    """A view runner that reads the ledger at ``ledger`` (a standby) and keeps the views'
    tables at ``views`` (a standby takes no writes, so they cannot live in its database).

    The runner itself takes one :class:`~ledger.application.Settings` for both; this is
    the smallest split (see docs/operations.md, "Past one machine"). Catch-up and rebuild
    only; a live runner would LISTEN, which a hot standby refuses.
    """

    def __init__(self, ledger: Settings, views: Settings) -> None:
        super().__init__(ledger)
        self.settings = views
        self.dialect = POSTGRESQL if views.database_url else SQLITE

    def start(self, view: View) -> LiveView:
        raise InvalidView(
            "a standby cannot be followed live (LISTEN is refused during recovery); "
            "call catch_up() on a timer"
        )


def four_views(runner: ViewRunner) -> Views:
    return Views(
        runner,
        TranscriptView(runner),
        GradebookView(runner),
        StaffView(runner),
        DashboardView(runner),
    )


def what_views_answer(views: Views, students: list[UUID]) -> dict[str, Any]:
    """Every typed query of the four views over the demo's schools, classes and students."""
    out: dict[str, Any] = {}
    for code in (HOME_CODE, PARTNER_CODE):
        school = school_id(code)
        out[f"staff {code}"] = views.staff.staff_of_school(school)
        for year in (DEMO_YEAR, OPEN_YEAR):
            key = f"{code} {year}"
            classes = views.gradebook.classes(school, year)
            out[f"classes {key}"] = classes
            out[f"dashboard {key}"] = views.dashboard.dashboard(school, year)
            out[f"assignments {key}"] = views.staff.assignments(school, year)
            out[f"homerooms {key}"] = views.staff.homerooms(school, year)
            for c in classes:
                name = c["class_name"]
                out[f"gradebook {key} {name}"] = views.gradebook.gradebook(school, year, name)
                out[f"terms {key} {name}"] = views.gradebook.term_records(school, year, name)
                out[f"closed {key} {name}"] = views.gradebook.closed_terms(school, year, name)
    for sid in students:
        out[f"transcripts {sid}"] = views.transcripts.transcripts_of(sid)
        out[f"entries {sid}"] = views.gradebook.entries(sid)
    return out


def students_of(views: Views) -> list[UUID]:
    """The record ids of every student in the home school's classes, both years."""
    school = school_id(HOME_CODE)
    found: set[UUID] = set()
    for year in (DEMO_YEAR, OPEN_YEAR):
        for c in views.gradebook.classes(school, year):
            rows = views.gradebook.term_records(school, year, c["class_name"])
            rows += views.gradebook.gradebook(school, year, c["class_name"])
            found.update(UUID(str(r["student"])) for r in rows)
    return sorted(found)


def test_views_rebuilt_from_the_standby_equal_the_primarys(
    province: Province, tmp_path: Path
) -> None:
    province.replicated()
    primary_views = four_views(ViewRunner(Settings(province.data, province.primary_url)))
    replica_views = four_views(
        ReplicaViewRunner(
            Settings(province.data, province.standby_url), Settings(tmp_path / "replica-views")
        )
    )
    with primary_views, replica_views:
        # The primary keeps its views in its own database (PostgreSQL schemas); the
        # replica's are SQLite files on the replica's host, built from the standby alone.
        primary_views.rebuild()
        rebuilt = replica_views.rebuild()
        head = province.ledger.recorder.max_notification_id()
        assert [p.position for p in rebuilt] == [head] * 4
        assert sum(p.events for p in rebuilt) > 0
        students = students_of(primary_views)
        assert len(students) >= STUDENTS
        expected = what_views_answer(primary_views, students)
        assert sum(len(v) for v in expected.values() if isinstance(v, list)) > 1000
        assert what_views_answer(replica_views, students) == expected

        # Catching up: new students and scores on the primary reach the replica's views.
        new = province.enrol("HSVIEW", 5)
        teacher = province.pki.signer_for("GV001")
        province.ledger.record_scores(teacher, [(s, "Toán", 1, "tx", "7.5") for s in new])
        province.replicated()
        primary_views.catch_up()
        caught_up = replica_views.catch_up()
        head = province.ledger.recorder.max_notification_id()
        assert [p.position for p in caught_up] == [head] * 4
        expected = what_views_answer(primary_views, [*students, *new])
        assert len(expected[f"entries {new[0]}"]) == 1
        assert what_views_answer(replica_views, [*students, *new]) == expected


# -- audit, records, proofs and writes on the standby ------------------------------------------


@pytest.fixture
def replica(province: Province) -> Iterator[ReplicaLedger]:
    province.replicated()
    ledger = ReplicaLedger(Settings(province.data, province.standby_url), province.trust)
    try:
        yield ledger
    finally:
        ledger.close()


def test_the_audit_passes_reading_from_the_standby(
    province: Province, replica: ReplicaLedger
) -> None:
    report = audit(replica)
    assert report.ok, report.problems[:5]
    assert report.events == province.ledger.recorder.max_notification_id()
    assert report.events > 3000
    assert report.certificates >= 10


def test_records_transcripts_and_proofs_come_from_the_standby(
    province: Province, replica: ReplicaLedger, tmp_path: Path
) -> None:
    sid = student_id(province.demo["example_student"])
    # A record's signed history, every event verified on the way (what `socai history` shows).
    assert replica.history(sid) == province.ledger.history(sid)
    # What GET /api/v1/transcripts/{record} answers a verifier: the issues and their hashes.
    issued = replica.load(sid, StudentRecord).transcripts
    assert issued and issued == province.ledger.load(sid, StudentRecord).transcripts
    # The QR code's transcript id found through the index view built from the standby.
    runner = ReplicaViewRunner(replica.settings, Settings(tmp_path / "views"))
    try:
        found = find_issue(runner, issued[0].transcript)
    finally:
        runner.close()
    assert found is not None and (found.record, found.sha256) == (sid, issued[0].sha256)
    # The record head's inclusion in the latest witnessed checkpoint, proved from the
    # standby's log (what GET /api/v1/log/prove serves).
    store = CheckpointStore(province.data / "log" / "checkpoints.sqlite")
    try:
        latest = store.checkpoints()[0]
    finally:
        store.close()
    assert "socai-local-witness" in latest.cosigned_by
    log = TransparencyLog(replica.recorder)
    head = replica.recorder.select_events(sid, desc=True, limit=1)[0].originator_version
    leaf = log.leaf(sid, head)
    assert leaf.index < latest.size
    proof = log.inclusion_proof(leaf.index, latest.size)
    merkle.verify_inclusion(leaf.hash, leaf.index, latest.size, proof, latest.root)


def test_a_write_against_the_standby_fails_cleanly_and_writes_nothing(
    province: Province, replica: ReplicaLedger
) -> None:
    before = province.ledger.recorder.max_notification_id()
    principal = province.pki.signer_for("HT001")
    with pytest.raises(StorageError) as refused:
        replica.enrol_student(principal, "HSSTANDBY1", OPEN_YEAR, 6, OPEN_CLASS)
    message = str(refused.value)
    assert "not written" in message
    assert "during recovery" in message or "read-only transaction" in message, message
    province.replicated()
    assert province.ledger.recorder.max_notification_id() == before
    assert replica.recorder.max_notification_id() == before
    assert not province.ledger.exists(student_id("HSSTANDBY1"))
    # The ordinary ledger does not open on a standby at all: it sets its schema up first.
    with pytest.raises(StorageError, match="read-only"):
        Ledger(Settings(province.data, province.standby_url), province.trust)


def test_socai_serve_on_the_standby_answers_503_not_500(province: Province) -> None:
    """``socai serve`` pointed at the standby: it starts, says it is not ready, and every
    route that needs the database (a login writes a session) answers 503 with the
    StorageError; nothing is written."""
    province.replicated()
    before = province.ledger.recorder.max_notification_id()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "SOCAI_DATABASE_URL": province.standby_url}
    argv = [sys.executable, "-m", "api.cli", "--data", str(province.data), "serve"]
    argv += ["--port", str(port), "--workers", "1"]
    sid = student_id(province.demo["example_student"])
    password = (province.data / "secrets" / "demo-password").read_text("utf-8").strip()
    with process_serving(argv, f"{base}/api/v1/health", env, "socai serve on the standby"):
        with httpx.Client(base_url=base, timeout=30) as client:
            ready = client.get("/api/v1/ready")
            assert ready.status_code == 503
            assert ready.json()["checks"]["ledger"] == "failed (StorageError)"
            for answer in (
                client.get(f"/api/v1/transcripts/{sid}"),
                client.post(
                    "/api/v1/auth/login", json={"username": "thanhtra", "password": password}
                ),
            ):
                assert answer.status_code == 503, answer.text
                assert answer.json()["error"] == "StorageError"
                assert "read-only transaction" in answer.json()["detail"]
    province.replicated()
    assert province.ledger.recorder.max_notification_id() == before
    assert province.primary.value("SELECT count(*) FROM socai_sessions", dbname=DATABASE) == 0


def test_replication_lag(province: Province, record_property: Callable[[str, Any], None]) -> None:
    """Commit on the primary (the command has returned) to visible on the standby.

    Each sample is one enrolment (one signed save, one transaction); the standby is polled
    on one connection for the new record until it is there. Printed, and kept as JUnit
    properties; docs/operations.md quotes the figures.
    """
    province.replicated()
    wal_before = province.primary.wal_position()
    events_before = province.ledger.recorder.max_notification_id() or 0
    lags = []
    with province.standby.connect(DATABASE) as standby:
        for sample in range(LAG_SAMPLES):
            (record,) = province.enrol(f"HSLAG{sample:03d}", 1)
            committed = time.perf_counter()
            while True:
                row = standby.execute(
                    "SELECT EXISTS (SELECT 1 FROM socai_events WHERE originator_id = %s)",
                    (record,),
                ).fetchone()
                if row is not None and row[0]:
                    break
                assert time.perf_counter() - committed < 30, "the standby stopped replaying"
            lags.append(time.perf_counter() - committed)
    events = (province.ledger.recorder.max_notification_id() or 0) - events_before
    wal = province.primary.value(
        "SELECT pg_wal_lsn_diff(%s::pg_lsn, %s::pg_lsn)",
        (province.primary.wal_position(), wal_before),
    )
    lags.sort()
    median = statistics.median(lags)
    p95 = lags[int(0.95 * (len(lags) - 1))]
    figures = {
        "replication_lag_median_ms": round(median * 1000, 2),
        "replication_lag_p95_ms": round(p95 * 1000, 2),
        "replication_lag_max_ms": round(lags[-1] * 1000, 2),
        "wal_bytes_per_event": round(float(wal) / events),
        "demo_wal_bytes_per_event": round(province.demo_wal[0] / province.demo_wal[1]),
    }
    for name, value in figures.items():
        record_property(name, value)
    print(
        f"\nreplication lag over {len(lags)} commits ({events} events): "
        f"median {median * 1000:.2f} ms, p95 {p95 * 1000:.2f} ms, max {lags[-1] * 1000:.2f} ms; "
        f"WAL {figures['wal_bytes_per_event']} bytes per event "
        f"({figures['demo_wal_bytes_per_event']} over the demo's {province.demo_wal[1]})"
    )
    # Asynchronous streaming on loopback: well under a second unless replay is stuck.
    assert median < 1.0


# -- point-in-time recovery, reconciled with witnessed checkpoints -----------------------------


def checkpoint(data: Path, url: str) -> tuple[int, str]:
    """``socai log checkpoint --json``: the size and the cosigned note."""
    code, out, err = socai(data, url, "log", "checkpoint", "--json")
    assert code == 0, err
    signed = json.loads(out)
    assert signed["witnesses"] == {"socai-local-witness": "cosigned"}, signed
    return int(signed["size"]), str(signed["note"])


def audit_json(data: Path, url: str, note: Path) -> tuple[int, dict[str, Any]]:
    code, out, err = socai(data, url, "audit", "--json", "--jobs", "1", "--checkpoint", str(note))
    assert out, err
    return code, json.loads(out)


def log_size(data: Path, url: str) -> int:
    ledger = Ledger(Settings(data, url))
    try:
        ledger.transparency_log.catch_up()
        return ledger.transparency_log.size
    finally:
        ledger.close()


def test_point_in_time_restore_is_reconciled_with_witnessed_checkpoints(
    province: Province, tmp_path: Path
) -> None:
    clusters, primary = province.clusters, province.primary
    # The school's data directory as it stands (keys, checkpoint record, local witness):
    # a copy, so that this scenario's checkpoints do not bind the other tests' primary.
    data = tmp_path / "data"
    shutil.copytree(province.data, data)
    base = clusters.base_backup(primary, "base")

    province.enrol("HSPITRA", 8)
    size_a, _ = checkpoint(data, province.primary_url)
    # A moment and a WAL position after checkpoint A's events, before anything else.
    between_time = primary.value("SELECT clock_timestamp()").isoformat()
    between_lsn = primary.wal_position()
    province.enrol("HSPITRB", 8)
    size_b, note_b = checkpoint(data, province.primary_url)
    assert size_b > size_a
    # The inspector's copy of the later witnessed checkpoint (from the witness, say).
    later = tmp_path / "checkpoint-b.txt"
    later.write_text(note_b, "utf-8")
    clusters.archive_now(primary)
    store = CheckpointStore(data / "log" / "checkpoints.sqlite")
    try:
        signed_before = [c.size for c in store.checkpoints()]
    finally:
        store.close()

    # Restored to the moment between the checkpoints (by time, and by WAL position).
    by_lsn = clusters.restore(base, "pitr-lsn", target_lsn=between_lsn)
    assert log_size(data, by_lsn.url(DATABASE)) == size_a
    by_lsn.stop()
    restored = clusters.restore(base, "pitr-time", target_time=between_time)
    url = restored.url(DATABASE)
    assert log_size(data, url) == size_a

    # Signing refuses, naming the missing leaves; nothing is signed.
    code, out, err = socai(data, url, "log", "checkpoint")
    assert code != 0 and not out
    assert "LogBehind" in err
    assert f"events {size_a}…{size_b - 1} are missing" in err and "nothing is signed" in err
    store = CheckpointStore(data / "log" / "checkpoints.sqlite")
    try:
        assert [c.size for c in store.checkpoints()] == signed_before
    finally:
        store.close()
    # The audit with the later witnessed checkpoint reports the truncation and its range.
    code, report = audit_json(data, url, later)
    assert code != 0 and not report["ok"]
    details = [p["detail"] for p in report["problems"] if p["check"] == "checkpoint"]
    assert any(
        d.startswith(str(later)) and f"leaves {size_a}…{size_b - 1} are missing" in d
        for d in details
    ), details
    assert {p["check"] for p in report["problems"]} == {"checkpoint"}
    restored.stop()

    # Recovered to the end of the archive instead: the tree extends what was signed.
    recovered = clusters.restore(base, "pitr-end")
    url = recovered.url(DATABASE)
    assert log_size(data, url) == size_b
    code, report = audit_json(data, url, later)
    assert code == 0 and report["ok"], report["problems"][:5]
    ledger = Ledger(Settings(data, url), province.trust)
    try:
        ledger.enrol_student(province.pki.signer_for("HT001"), "HSPITRC", OPEN_YEAR, 6, OPEN_CLASS)
    finally:
        ledger.close()
    size_c, _ = checkpoint(data, url)
    assert size_c > size_b
    code, report = audit_json(data, url, later)
    assert code == 0 and report["ok"], report["problems"][:5]


def test_the_cli_reads_a_standby_with_the_read_only_setting(
    province: Province, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``SOCAI_DATABASE_READONLY=1``: ``socai audit`` and ``socai history`` run against the
    standby (no schema setup), and a write is refused before it reaches the database."""
    province.replicated()
    monkeypatch.setenv("SOCAI_DATABASE_READONLY", "1")
    code, out, err = socai(province.data, province.standby_url, "audit", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["ok"] is True and report["events"] > 1000
    code, out, err = socai(
        province.data, province.standby_url, "history", province.demo["example_student"]
    )
    assert code == 0, err
    assert "ScoreRecorded" in out or "Điểm" in out or len(out.splitlines()) > 10
    before = province.ledger.recorder.max_notification_id()
    monkeypatch.setenv("SOCAI_DATABASE_URL", province.standby_url)
    replica = Ledger(Settings.from_env(province.data), province.trust)
    try:
        assert replica.settings.read_only
        with pytest.raises(StorageError, match="read replica"):
            replica.open_class(province.pki.signer_for("HT001"), OPEN_YEAR, "6Z9", 6)
    finally:
        replica.close()
    assert province.ledger.recorder.max_notification_id() == before
