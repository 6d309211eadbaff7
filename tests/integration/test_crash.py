"""SIGKILL a writer at random moments: no acknowledged event is lost, nothing is half-written.

Each round starts a fresh ``crash_child`` process on the same store (so the
history accumulates across rounds), lets it write for a random 20–300 ms
after it reports ``READY``, and kills it with SIGKILL. Then, from the parent:

- every ``(record, version)`` the child acknowledged is in the store;
- every record's versions are contiguous from 1 (a killed transaction left no gap);
- :func:`ledger.audit.audit` finds no problem (no partial or unverifiable event).

The seed is printed (shown with a failure) and can be replayed with
``SOCAI_CRASH_SEED``; ``SOCAI_CRASH_ROUNDS`` changes the number of rounds.
Timing makes a replay close, not identical.
"""

from __future__ import annotations

import os
import random
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from uuid import UUID

import pytest

from ledger.application import Ledger
from ledger.audit import audit
from ledger.domain import StudentRecord
from signing.keys import PASSPHRASE_ENV
from tests.conftest import PASSPHRASE, School, open_class

ROOT = Path(__file__).resolve().parents[2]
ROUNDS = int(os.environ.get("SOCAI_CRASH_ROUNDS", "50"))
STUDENTS = 4
#: How long a child may take to start before the round fails.
START_TIMEOUT = 60.0
#: ``application_name`` of the children's PostgreSQL connections (libpq's PGAPPNAME).
CHILD_APP = "socai-crash-child"


class Round:
    """What one child printed before it died, and how it died."""

    def __init__(self, lines: list[str], returncode: int, stderr: str, startup: float) -> None:
        self.lines = lines
        self.startup = startup
        self.returncode = returncode
        self.stderr = stderr
        self.acks = [ln for ln in lines if ln.startswith("ACK ")]
        self.other = [ln for ln in lines if not ln.startswith("ACK ") and ln != "READY"]


def run_child(cmd: list[str], env: dict[str, str], delay: float, errors: Path) -> Round:
    """Start the child, wait for READY, let it write for ``delay`` s, SIGKILL it."""
    with errors.open("w+b") as err:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=err)
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        out = bytearray()
        started = time.monotonic()
        ready = started
        try:
            deadline = time.monotonic() + START_TIMEOUT
            while b"READY\n" not in out and time.monotonic() < deadline:
                if select.select([fd], [], [], deadline - time.monotonic())[0]:
                    chunk = os.read(fd, 65536)
                    if not chunk:
                        break  # the child exited before it was ready
                    out += chunk
            if b"READY\n" in out:
                ready = time.monotonic()
                kill_at = time.monotonic() + delay
                while (left := kill_at - time.monotonic()) > 0:
                    if select.select([fd], [], [], left)[0]:
                        chunk = os.read(fd, 65536)
                        if not chunk:
                            break
                        out += chunk
        finally:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
            # What the child wrote before it died is still in the pipe.
            while chunk := os.read(fd, 65536):
                out += chunk
            proc.stdout.close()
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    # A line without its newline was cut by the kill: not an acknowledgement.
    complete = out.decode("utf-8").split("\n")[:-1]
    return Round(complete, proc.returncode, stderr, ready - started)


class ServerSide:
    """Waits until the server has finished what a killed child's connections started.

    SIGKILL stops the client, not its PostgreSQL backends: a COMMIT already
    sent is still carried out (then the backend sees the closed socket and
    exits). Checking before that would race with a legitimate late commit.
    SQLite writes in the killed process itself, so there is nothing to wait for.
    """

    def __init__(self, url: str | None, table: str) -> None:
        self.conn = None
        self.table = table
        self.late = 0
        if url:
            import psycopg

            self.conn = psycopg.connect(url, autocommit=True)

    def _children(self) -> int:
        assert self.conn is not None
        row = self.conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", (CHILD_APP,)
        ).fetchone()
        return int(row[0]) if row else 0

    def _events(self) -> int:
        assert self.conn is not None
        from psycopg.sql import SQL, Identifier

        row = self.conn.execute(
            SQL("SELECT count(*) FROM {}").format(Identifier(self.table))
        ).fetchone()
        return int(row[0]) if row else 0

    def wait(self, where: str) -> None:
        if self.conn is None:
            return
        before = self._events()
        deadline = time.monotonic() + 30
        while self._children():
            assert time.monotonic() < deadline, f"{where}: the killed child's backend lingers"
            time.sleep(0.005)
        self.late += self._events() != before

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


@pytest.mark.slow
def test_sigkill_loses_no_acknowledged_event(school: School, tmp_path: Path) -> None:
    seed = int(os.environ.get("SOCAI_CRASH_SEED") or random.SystemRandom().randrange(2**32))
    print(f"crash test seed: SOCAI_CRASH_SEED={seed} ({school.settings.backend})")
    rng = random.Random(seed)
    ledger = school.ledger
    open_class(school, "7A2", 7)
    students = [
        ledger.enrol_student(school.principal, f"HS{i:04d}", "2025-2026", 7, "7A2")
        for i in range(STUDENTS)
    ]
    cmd = [
        sys.executable,
        "-m",
        "tests.integration.crash_child",
        "--data",
        str(school.settings.data_dir),
        "--pki",
        str(school.pki.directory),
        "--students",
        ",".join(str(s) for s in students),
        "--teachers",
        "GV001,GV002",
    ]
    if school.settings.database_url:
        cmd += ["--database-url", school.settings.database_url]
    env = {**os.environ, PASSPHRASE_ENV: PASSPHRASE.decode("utf-8"), "PGAPPNAME": CHILD_APP}
    env.pop("SOCAI_DATABASE_URL", None)
    settle = ServerSide(school.settings.database_url, ledger.recorder.events_table_name)

    acked: dict[UUID, int] = dict.fromkeys(students, 1)
    others = audit(ledger).events - STUDENTS  # the school, staff files: children never write them
    total_acks = 0
    startup = 0.0
    unacked_commits = 0  # events committed but killed before their ACK was printed
    for n in range(ROUNDS):
        delay = rng.uniform(0.020, 0.300)
        child_seed = rng.randrange(2**32)
        where = f"seed {seed}, round {n}, kill after {delay * 1000:.0f} ms"
        r = run_child([*cmd, "--seed", str(child_seed)], env, delay, tmp_path / "child.err")
        assert r.lines[:1] == ["READY"], f"{where}: child did not start:\n{r.stderr}"
        assert not r.other, f"{where}: child reported {r.other}\n{r.stderr}"
        assert r.returncode == -signal.SIGKILL, f"{where}: exit {r.returncode}\n{r.stderr}"
        settle.wait(where)

        # Acknowledgements continue each record's chain, one version at a time.
        for line in r.acks:
            _, rid_text, version_text = line.split()
            rid, version = UUID(rid_text), int(version_text)
            assert version > acked[rid], f"{where}: {line} does not follow {acked[rid]}"
            acked[rid] = version
        total_acks += len(r.acks)
        startup += r.startup

        stored_heads = {}
        for rid in students:
            versions = [s.originator_version for s in ledger.recorder.select_events(rid)]
            assert versions == list(range(1, len(versions) + 1)), f"{where}: gap in {rid}"
            assert acked[rid] <= len(versions), (
                f"{where}: {rid} version {acked[rid]} was acknowledged but only "
                f"{len(versions)} are stored"
            )
            unacked_commits += len(versions) - acked[rid]
            acked[rid] = stored_heads[rid] = len(versions)  # the next child continues here
        report = audit(ledger)
        assert report.ok, f"{where}: {report.problems[:5]}"
        assert report.events == others + sum(stored_heads.values()), f"{where}: stray events"

    settle.close()
    print(
        f"{ROUNDS} rounds, {total_acks} acknowledged events, {unacked_commits} committed "
        f"but not acknowledged, {settle.late} rounds with a commit after the kill; "
        f"child start-up {startup / ROUNDS * 1000:.0f} ms on average"
    )
    assert total_acks > 0, "no child ever got a write acknowledged: the rounds tested nothing"

    # After all the kills, a fresh ledger opens, verifies every chain and appends.
    again = Ledger(school.settings, school.ledger.trust)
    try:
        for rid in students:
            assert again.load(rid, StudentRecord).version == acked[rid]
        version = again.record_score(
            school.teachers["GV003"], students[0], "Tin học", 2, "ck", "9.0"
        )
        assert version == acked[students[0]] + 1
        assert audit(again).ok
    finally:
        again.close()
