"""``socai bench soak``: a mixed load on PostgreSQL for minutes, then a crash of the server.

A real ``socai serve --workers 2`` on PostgreSQL serves, for ``minutes``, at a steady offered
rate (not flat out: a soak looks for what grows or slows down over time, so every sample must
see the same load):

- ``score``: one signed score a request (``POST /api/v1/records/{record}/scores``), from
  several connections, each filling in its own classes' grade books;
- ``column``: a class's column of 35 scores in one signed save (``POST /api/v1/scores``);
- ``issue``: now and then the principal grants the demo student an award (their transcript
  is then due again) and starts a bulk issuance job over HTTP, polled until it ends;
- ``verify``: the latest issued transcript, downloaded over HTTP, uploaded to
  ``POST /api/v1/verify``;
- ``audit``: ``socai audit`` in a process of its own, over the whole ledger.

Every sample interval (30 s; 5 s in quick mode) it records the resident memory of each server
worker and of the whole process tree (the forked verifiers included), and per kind of
operation the requests answered, their rate and their p50/p99 latency in that interval.

At the end, with the load still running, the server's process group is killed with SIGKILL
(:class:`ServerGroup`), restarted on the same port, and checked (:func:`recover`): every write
the clients got a 2xx for is in the ledger (each record read back, every event verified), a
write in flight at the kill landed at most once, the issuance job run again issues each due
transcript once (one ``TranscriptIssued`` per record version), the views caught up after the
crash equal a rebuild, and ``socai audit`` passes. ``tests/integration/test_faults.py`` uses
the same pieces for its faults.

The load generator is :mod:`bench.api`'s: its site (``socai init``, ``socai demo``, an open year
of 35-student classes), its requests and its log-in; here a connection survives the server
going away (the request it was sending is "in doubt": sent, never answered) and reconnects.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx

from bench.api import (
    CLASS_SIZE,
    QUICK,
    SCHOOL_YEAR,
    Bench,
    Score,
    _build,
    _children,
    _column_writes,
    _drop_postgres,
    _environment,
    _fresh_postgres,
    _login,
    _machine,
    _quantile,
    _rss_mib,
    _single_writes,
)
from bench.api import _load as _load_average
from bench.serve import ROOT, free_port

#: The demo's school year: its transcripts are the ones issued again and verified.
DEMO_YEAR = "2025-2026"
#: ``application_name`` of the server's PostgreSQL connections (libpq reads ``PGAPPNAME``):
#: after a SIGKILL, the checks wait until the server's backends are gone.
SERVER_APP = "socai-soak-server"
#: The longest a request may take before the generator gives up on it (counted as a hang).
REQUEST_TIMEOUT = 60.0


@dataclass(frozen=True)
class Plan:
    """How a soak loads the server."""

    #: Seconds between samples.
    sample_seconds: float
    #: Connections writing single scores, and the requests a second each offers.
    score_connections: int
    score_rate: float
    #: Connections writing columns (35 scores a save), and the requests a second each offers.
    column_connections: int
    column_rate: float
    #: Seconds between verifications, issuance jobs and audits.
    verify_every: float
    issue_every: float
    audit_every: float


FULL = Plan(30.0, 4, 5.0, 2, 0.5, verify_every=10.0, issue_every=120.0, audit_every=300.0)
QUICK_PLAN = Plan(5.0, 2, 5.0, 1, 0.5, verify_every=4.0, issue_every=10.0, audit_every=12.0)


# -- the server as a process group ------------------------------------------------------------


@dataclass
class ServerGroup:
    """``socai serve`` in a session of its own, so one signal reaches every process of it.

    :meth:`kill` is a crash: SIGKILL to the whole group (the uvicorn supervisor and each
    worker at once: nothing runs a shutdown handler). :meth:`start` again serves the same
    data on the same port.
    """

    data: Path
    port: int
    env: dict[str, str]
    log: Path
    workers: int = 2
    proc: subprocess.Popen[bytes] | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 120.0) -> float:
        """Start the server; return the seconds until ``/api/v1/ready`` answers 200."""
        argv = [sys.executable, "-m", "api.cli", "--data", str(self.data), "serve"]
        argv += ["--port", str(self.port), "--workers", str(self.workers)]
        env = {**self.env, "PGAPPNAME": SERVER_APP}
        started = time.monotonic()
        with self.log.open("ab") as sink:
            self.proc = subprocess.Popen(  # noqa: S603 - our own CLI, fixed argv
                argv, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        deadline = started + timeout
        while True:
            try:
                if httpx.get(f"{self.base}/api/v1/ready", timeout=5).status_code == 200:
                    return time.monotonic() - started
            except httpx.TransportError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                tail = self.log.read_text("utf-8", "replace")[-3000:]
                self.stop()
                raise RuntimeError(f"socai serve did not become ready:\n{tail}")
            time.sleep(0.1)

    def kill(self) -> list[int]:
        """SIGKILL the whole process group; return the PIDs it had."""
        assert self.proc is not None
        pids = _children(self.proc.pid)
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()
        return pids

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM (a requested stop); SIGKILL the group after ``timeout``."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def memory(self) -> dict[str, Any]:
        """Resident memory (MiB) of the supervisor, each worker and the whole process tree."""
        assert self.proc is not None
        tree = _children(self.proc.pid)
        # The supervisor's own children: a worker's forked verifiers run the same program.
        workers = [p for p in _direct_children(self.proc.pid) if _is_worker(p)]
        return {
            "supervisor_mib": sum(_rss_mib([self.proc.pid])),
            "workers_mib": _rss_mib(workers),
            "tree_mib": round(sum(_rss_mib(tree)), 1),
            "processes": len(tree),
        }


def _direct_children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def _is_worker(pid: int) -> bool:
    """A uvicorn worker (multiprocessing's spawn), not its resource tracker."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"spawn_main" in cmdline and b"resource_tracker" not in cmdline


def wait_for_backends(database_url: str, timeout: float = 60.0) -> float:
    """Wait until no PostgreSQL backend of the killed server remains; return the seconds.

    SIGKILL stops the server, not its backends: a COMMIT already sent is still carried
    out. Reading the ledger back before they are gone would race a legitimate late commit.
    """
    from ledger.postgres import connect

    started = time.monotonic()
    name = database_url.rsplit("/", 1)[1]
    with connect(database_url) as conn:
        while True:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE application_name = %s"
                " AND datname = %s",
                (SERVER_APP, name),
            ).fetchone()
            if not row or not row[0]:
                return time.monotonic() - started
            if time.monotonic() - started > timeout:
                raise RuntimeError(f"{row[0]} backends of the killed server linger")
            time.sleep(0.02)


# -- the load generator -------------------------------------------------------------------------


@dataclass(frozen=True)
class Op:
    """One operation that ended: a request answered or failed, a job, an audit."""

    kind: str
    #: ``time.monotonic()`` when it ended.
    ended: float
    seconds: float
    #: HTTP status; 0 when there was no answer (connection refused or lost, timeout).
    status: int
    ok: bool
    #: Why it failed: the exception's name, or the start of the answer's body.
    error: str = ""


@dataclass
class WriteSet:
    """Writes of one kind: their requests, the scores each carries, and what became of them.

    ``sent`` are the writes whose request went out (fully or not); ``acked`` those answered
    2xx; ``refused`` those answered otherwise; the rest of ``sent`` are in doubt (no answer:
    the server died, or the request timed out) and may or may not have landed.
    """

    kind: str
    requests: list[bytes]
    scores: list[list[Score]]
    lanes: list[int]
    sent: set[int] = field(default_factory=set)
    acked: set[int] = field(default_factory=set)
    refused: dict[int, int] = field(default_factory=dict)

    def queues(self, connections: int, reserve: int = 0) -> tuple[list[deque[int]], list[int]]:
        """The writes not sent yet of each connection (a lane stays on one connection, in
        order), and ``reserve`` writes kept aside (the last of each of the first lanes):
        never sent by the load, they are the probes of a recovery."""
        lanes = sorted(set(self.lanes))
        kept: list[int] = []
        for lane in lanes[:reserve]:
            kept.append(max(i for i, x in enumerate(self.lanes) if x == lane))
        queues: list[deque[int]] = [deque() for _ in range(max(1, min(connections, len(lanes))))]
        skip = set(kept) | self.sent
        for i, lane in enumerate(self.lanes):
            if i not in skip:
                queues[lanes.index(lane) % len(queues)].append(i)
        return queues, kept

    def in_doubt(self) -> set[int]:
        return self.sent - self.acked - set(self.refused)

    def scores_of(self, writes: Iterable[int]) -> list[Score]:
        return [s for i in writes for s in self.scores[i]]


def write_sets(bench: Bench, tokens: dict[str, str]) -> dict[str, WriteSet]:
    """bench.api's single-score and column workloads of ``bench``, as write sets."""
    single, singles, _ = _single_writes(bench, tokens)
    column, columns, _ = _column_writes(bench, tokens)
    assert single.lanes is not None and column.lanes is not None
    return {
        "score": WriteSet("score", list(single.requests), [[s] for s in singles], [*single.lanes]),
        "column": WriteSet("column", list(column.requests), columns, [*column.lanes]),
    }


async def _answer(reader: asyncio.StreamReader) -> tuple[int, bool, bytes]:
    """One HTTP/1.1 response: status, whether the server closes, the body.

    bench.api's reader drops the body; a fault test must see what the client was told.
    """
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split(b" ", 2)[1])
    length = 0
    chunked = close = False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding":
            chunked = b"chunked" in value.lower()
        elif name == b"connection":
            close = b"close" in value.lower()
    body = b""
    if chunked:
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            body += (await reader.readexactly(size + 2))[:-2]
            if size == 0:
                break
    elif length:
        body = await reader.readexactly(length)
    return status, close, body


class Load:
    """Write lanes driven by an event loop in a background thread, until stopped.

    Each connection sends its writes one after another (at most ``rate`` a second; flat out
    without a rate). A connection that cannot connect keeps its next write (nothing was sent)
    and tries again shortly; a write whose answer never comes is in doubt and not sent again.
    :attr:`ops` collects every operation that ended, other threads' (jobs, audits) too.
    """

    def __init__(self, port: int, timeout: float = REQUEST_TIMEOUT) -> None:
        self.port = port
        self.timeout = timeout
        self.ops: list[Op] = []
        self._lock = threading.Lock()
        self._lanes: list[tuple[WriteSet, deque[int], float]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        #: Connection attempts that failed (the server down): nothing was sent by them.
        self.refused_connects = 0

    def add(
        self, writes: WriteSet, connections: int, rate: float = 0.0, reserve: int = 0
    ) -> list[int]:
        """Send ``writes`` over ``connections``; return the writes kept aside (see
        :meth:`WriteSet.queues`)."""
        queues, kept = writes.queues(connections, reserve)
        self._lanes += [(writes, q, rate) for q in queues]
        return kept

    def record(self, op: Op) -> None:
        with self._lock:
            self.ops.append(op)

    def snapshot(self) -> list[Op]:
        with self._lock:
            return list(self.ops)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="soak-load", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop sending; wait for the requests in flight (each ends within the timeout)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.timeout + 30)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _run(self) -> None:
        async def everything() -> None:
            await asyncio.gather(*(self._lane(w, q, r) for w, q, r in self._lanes))

        asyncio.run(everything())

    async def _lane(self, writes: WriteSet, queue: deque[int], rate: float) -> None:
        interval = 1.0 / rate if rate > 0 else 0.0
        reader: asyncio.StreamReader | None = None
        writer: asyncio.StreamWriter | None = None
        next_at = time.monotonic()
        try:
            while queue and not self._stop.is_set():
                while (wait := next_at - time.monotonic()) > 0 and not self._stop.is_set():
                    await asyncio.sleep(min(wait, 0.2))
                if self._stop.is_set():
                    break
                if writer is None:
                    try:
                        reader, writer = await asyncio.wait_for(
                            asyncio.open_connection("127.0.0.1", self.port), 5.0
                        )
                    except (OSError, TimeoutError):
                        self.refused_connects += 1
                        next_at = time.monotonic() + 0.2  # nothing was sent: the write waits
                        continue
                assert reader is not None and writer is not None
                i = queue.popleft()
                writes.sent.add(i)
                t0 = time.monotonic()
                next_at = t0 + interval
                error, body = "", b""
                try:
                    writer.write(writes.requests[i])
                    status, close, body = await asyncio.wait_for(_answer(reader), self.timeout)
                except TimeoutError:
                    status, close, error = 0, True, "timeout"
                except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as e:
                    status, close, error = 0, True, type(e).__name__
                ended = time.monotonic()
                ok = 200 <= status < 300
                if ok:
                    writes.acked.add(i)
                elif status:
                    writes.refused[i] = status
                    error = body[:400].decode("utf-8", "replace")
                self.record(Op(writes.kind, ended, ended - t0, status, ok, error))
                if close:
                    writer.close()
                    writer = reader = None
        finally:
            if writer is not None:
                writer.close()


# -- checks ---------------------------------------------------------------------------------------


def _open_ledger(data: Path, database_url: str | None) -> Any:
    from api.trust import load_trust
    from ledger.application import Ledger, Settings
    from signing.keys import resolve_passphrase
    from signing.pki import DemoPKI

    pki = DemoPKI.load(data / "pki", resolve_passphrase(data, create=False))
    return Ledger(Settings(data, database_url), load_trust(data, pki)), pki


def _key(s: Score) -> tuple[UUID, str, int, str, Decimal]:
    return (s.record, s.subject, s.term, s.kind, Decimal(s.value))


def check_writes(data: Path, database_url: str | None, sets: Iterable[WriteSet]) -> dict[str, Any]:
    """Read back every record written to: every acknowledged score is there, nothing else.

    Each record is loaded by a ledger of its own (every event's hash, chain and signature
    verified on the way). ``missing``: acknowledged, not stored (must be 0). ``stray``:
    stored more often than it was ever sent, or never sent (must be 0: nothing written
    twice). ``unacknowledged_landed``: sent without a 2xx (in doubt, or refused) and stored
    all the same; the ``in_doubt`` ones may land (the answer was lost, not the commit).
    """
    from ledger.domain import StudentRecord

    started = time.perf_counter()
    sets = list(sets)
    acked: Counter[tuple[UUID, str, int, str, Decimal]] = Counter(
        _key(s) for w in sets for s in w.scores_of(w.acked)
    )
    sent: Counter[tuple[UUID, str, int, str, Decimal]] = Counter(
        _key(s) for w in sets for s in w.scores_of(w.sent)
    )
    refused = Counter(_key(s) for w in sets for s in w.scores_of(w.refused))
    doubt = Counter(_key(s) for w in sets for s in w.scores_of(w.in_doubt()))
    records = {k[0] for k in sent}
    ledger, _ = _open_ledger(data, database_url)
    have: Counter[tuple[UUID, str, int, str, Decimal]] = Counter()
    events = 0
    try:
        for record_id in records:
            record = ledger.load(record_id, StudentRecord)
            events += record.version
            for e in record.entries_of(SCHOOL_YEAR).values():
                if e.score is not None:
                    have[(record_id, e.subject, e.term, e.kind, e.score)] += 1
    finally:
        ledger.close()
    landed_unacked = have - acked
    return {
        "records": len(records),
        "events_verified": events,
        "acknowledged_scores": sum(acked.values()),
        "sent_scores": sum(sent.values()),
        "in_doubt_writes": sum(len(w.in_doubt()) for w in sets),
        "refused_writes": sum(len(w.refused) for w in sets),
        "missing": sum((acked - have).values()),
        "stray": sum((have - sent).values()),
        "unacknowledged_landed": sum(landed_unacked.values()),
        "refused_landed": sum((landed_unacked & refused).values()),
        # Per status of the refusal: a 4xx is a definite "no", a 503 may hide a lost answer.
        "refused_landed_by_status": _by_status(sets, landed_unacked),
        "in_doubt_landed": sum((landed_unacked & doubt).values()),
        "seconds": round(time.perf_counter() - started, 2),
        "ok": not (acked - have) and not (have - sent),
    }


def _by_status(
    sets: Sequence[WriteSet], landed: Counter[tuple[UUID, str, int, str, Decimal]]
) -> dict[int, int]:
    """Refused writes with a score among ``landed``, by the status they were refused with."""
    out: Counter[int] = Counter()
    for w in sets:
        for i, status in w.refused.items():
            if any(landed[_key(s)] for s in w.scores[i]):
                out[status] += 1
    return dict(out)


def check_transcripts(data: Path, database_url: str | None) -> dict[str, Any]:
    """Every issued transcript of the demo school once: one ``TranscriptIssued`` per record
    version, numbers 1..n, each PDF on disk the bytes the ledger recorded, none pending."""
    from ledger.domain import SchoolYear, StudentRecord, school_id, school_year_id
    from projections.issuance import PENDING

    ledger, pki = _open_ledger(data, database_url)
    problems: list[str] = []
    issued = up_to_date = students = 0
    try:
        year = ledger.load(school_year_id(school_id(pki.school_code), DEMO_YEAR), SchoolYear)
        for student in sorted({s for r in year.rosters.values() for s in r}, key=str):
            record = ledger.load(student, StudentRecord)
            students += 1
            ts = record.transcripts
            issued += len(ts)
            up_to_date += bool(record.transcript_up_to_date)
            code = record.student_code
            if [t.number for t in ts] != list(range(1, len(ts) + 1)):
                problems.append(f"{code}: numbers {[t.number for t in ts]}")
            versions = [t.record_version for t in ts]
            if len(set(versions)) != len(versions):
                problems.append(f"{code}: two transcripts of one version {versions}")
            for t in ts:
                path = data / "out" / f"{code}-{t.number}.pdf"
                if not path.is_file():
                    problems.append(f"{path.name}: missing")
                elif hashlib.sha256(path.read_bytes()).hexdigest() != t.sha256:
                    problems.append(f"{path.name}: not the bytes recorded")
    finally:
        ledger.close()
    pending_dir = data / "out" / PENDING
    pending = sorted(p.name for p in pending_dir.iterdir()) if pending_dir.is_dir() else []
    return {
        "students": students,
        "transcripts": issued,
        "up_to_date": up_to_date,
        "pending": pending,
        "problems": problems,
        "ok": not problems,
    }


def _view_tables(views: Any, view: Any) -> list[str]:
    from projections.store import RESERVED_TABLES

    if views.runner.dialect.is_postgres:
        sql = (
            "SELECT table_name AS name FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
        )
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
    rows = views.runner.query(view, sql)
    return sorted(r["name"] for r in rows if r["name"] not in RESERVED_TABLES)


def view_rows(views: Any) -> dict[str, dict[str, list[str]]]:
    """Every row of every view's tables (the store's own tables aside), sorted."""
    out: dict[str, dict[str, list[str]]] = {}
    for view in views.all():
        out[view.name] = {
            table: sorted(
                repr(tuple(sorted(r.items())))
                for r in views.runner.query(view, f"SELECT * FROM {table}")  # noqa: S608
            )
            for table in _view_tables(views, view)
        }
    return out


def check_views(data: Path, database_url: str | None) -> dict[str, Any]:
    """Catch the views up (from wherever a crash left them), then rebuild them: the rows of
    both must be the same."""
    from ledger.application import Settings
    from projections.views import open_views

    started = time.perf_counter()
    with open_views(Settings(data, database_url)) as views:
        caught = views.catch_up()
        after_catch_up = view_rows(views)
        positions = {p.view: p.position for p in caught}
        rebuilt_progress = views.rebuild()
        rebuilt = view_rows(views)
    differing = sorted(
        f"{v}.{t}"
        for v in set(after_catch_up) | set(rebuilt)
        for t in set(after_catch_up.get(v, {})) | set(rebuilt.get(v, {}))
        if after_catch_up.get(v, {}).get(t) != rebuilt.get(v, {}).get(t)
    )
    return {
        "caught_up_events": sum(p.events for p in caught),
        "positions": positions,
        "rebuilt_positions": {p.view: p.position for p in rebuilt_progress},
        "rows": sum(len(rows) for t in rebuilt.values() for rows in t.values()),
        "differing_tables": differing,
        "seconds": round(time.perf_counter() - started, 2),
        "ok": not differing and after_catch_up == rebuilt,
    }


def run_audit(data: Path, env: dict[str, str], jobs: int = 1) -> dict[str, Any]:
    """``socai audit --json`` in a process of its own: ok, events, problems, seconds."""
    argv = [sys.executable, "-m", "api.cli", "--data", str(data), "audit", "--json"]
    started = time.perf_counter()
    proc = subprocess.run(  # noqa: S603 - our own CLI, fixed argv
        [*argv, "--jobs", str(jobs)], cwd=ROOT, env=env, capture_output=True, text=True,
        timeout=3600, check=False,
    )  # fmt: skip
    seconds = round(time.perf_counter() - started, 2)
    try:
        report = json.loads(proc.stdout)
    except ValueError:
        return {
            "ok": False,
            "exit": proc.returncode,
            "error": proc.stderr[-1000:],
            "seconds": seconds,
        }
    return {
        "ok": bool(report["ok"]) and proc.returncode == 0,
        "exit": proc.returncode,
        "events": report["events"],
        "problems": report["problems"][:5],
        "seconds": seconds,
    }


# -- issuance and verification over HTTP -----------------------------------------------------------


@dataclass
class Principal:
    """The demo school's principal over HTTP: awards (a transcript is then due again), bulk
    issuance jobs over every class of the demo year, downloads of what they issued."""

    data: Path
    database_url: str | None
    base: str
    token: str
    school: UUID
    #: Every student of the demo year's classes at the demo school.
    students: list[UUID]
    #: The latest issued PDF (what the verifications upload).
    latest: bytes = b""
    _ledger: Any = None
    _pki: Any = None

    @classmethod
    def open(cls, data: Path, database_url: str | None, base: str, token: str) -> Principal:
        from ledger.domain import SchoolYear, school_id, school_year_id

        ledger, pki = _open_ledger(data, database_url)
        school = school_id(pki.school_code)
        year = ledger.load(school_year_id(school, DEMO_YEAR), SchoolYear)
        students = sorted({s for r in year.rosters.values() for s in r}, key=str)
        return cls(data, database_url, base, token, school, students, _ledger=ledger, _pki=pki)

    @classmethod
    def of(cls, bench: Bench, base: str) -> Principal:
        """bench.api's site: its demo has one student, and one issued PDF to start from."""
        p = cls.open(bench.data, bench.database_url, base, _login(base, "ht001"))
        p.latest = bench.pdfs[0].read_bytes()
        return p

    def close(self) -> None:
        if self._ledger is not None:
            self._ledger.close()

    def award(self, students: Sequence[UUID] | None = None) -> None:
        """Grant an award (signed by the principal, straight to the ledger) to ``students``
        (default: all): each record changes after its issue, so its transcript is due."""
        for student in self.students if students is None else students:
            self._ledger.grant_student_award(
                self._pki.signer_for("HT001"), student, "Học sinh tiêu biểu", "QĐ 1/2026"
            )

    def transcripts(self) -> dict[UUID, int]:
        """How many transcripts each student has been issued."""
        from ledger.domain import StudentRecord

        self._ledger.forget_cached()
        return {s: len(self._ledger.load(s, StudentRecord).transcripts) for s in self.students}

    def _client(self) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.token}"}
        return httpx.Client(base_url=self.base, headers=headers, timeout=60)

    def start(self) -> str:
        """Start a job over every class of the demo year; return its id."""
        with self._client() as client:
            r = client.post(
                f"/api/v1/schools/{self.school}/issuance",
                json={"school_year": DEMO_YEAR, "all": True},
            )
        if r.status_code != 202:
            raise RuntimeError(f"issuance not started: {r.status_code} {r.text[:300]}")
        return str(r.json()["job"])

    def job(self, job: str) -> dict[str, Any]:
        with self._client() as client:
            r = client.get(f"/api/v1/issuance/{job}")
        if r.status_code != 200:
            raise RuntimeError(f"job {job}: {r.status_code} {r.text[:300]}")
        return dict(r.json())

    def wait(self, job: str, timeout: float = 300.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            state = self.job(job)
            if state["state"] in ("done", "failed"):
                return state
            time.sleep(0.2)
        return {"state": "timeout", "job": job}

    def issue(self) -> dict[str, Any]:
        """A job, started and waited for."""
        return self.wait(self.start())

    def download(self) -> int:
        """Fetch the first student's current transcript as issued; return the HTTP status."""
        with self._client() as client:
            listed = client.get(f"/api/v1/records/{self.students[0]}/transcripts")
            if listed.status_code != 200:
                return listed.status_code
            current = [t for t in listed.json()["transcripts"] if t["current"]]
            if not current:
                return 404
            r = client.get(current[-1]["download"])
        if r.status_code == 200:
            self.latest = r.content
        return r.status_code


def _verify(base: str, pdf: bytes) -> tuple[int, str]:
    r = httpx.post(
        f"{base}/api/v1/verify",
        content=pdf,
        headers={"Content-Type": "application/pdf"},
        timeout=REQUEST_TIMEOUT * 2,
    )
    return r.status_code, (r.json().get("status", "") if r.status_code == 200 else r.text[:200])


class Periodic:
    """A thread that runs ``task`` every ``every`` seconds until stopped; errors are ops."""

    def __init__(self, name: str, every: float, task: Callable[[], None], load: Load) -> None:
        self.name = name
        self.every = every
        self.task = task
        self.load = load
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"soak-{name}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(900)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            t0 = time.monotonic()
            try:
                self.task()
            except Exception as e:  # the soak goes on; the failure is counted
                now = time.monotonic()
                self.load.record(Op(self.name, now, now - t0, 0, False, f"{type(e).__name__}: {e}"))


# -- recovery from a crash -------------------------------------------------------------------------


def recover(
    server: ServerGroup,
    load: Load,
    sets: dict[str, WriteSet],
    probes: list[tuple[WriteSet, int]],
    *,
    principal: Principal | None,
    env: dict[str, str],
    kill_after: float,
) -> dict[str, Any]:
    """SIGKILL the server ``kill_after`` seconds from now, with the load running; restart it
    and check everything (see the module docstring). Stops the load."""
    assert server.proc is not None and server.data is not None
    time.sleep(kill_after)
    before = sum(len(w.acked) for w in sets.values())
    killed = server.kill()
    t_kill = time.monotonic()
    load.stop()
    in_flight = sum(len(w.in_doubt()) for w in sets.values())
    database_url = env.get("SOCAI_DATABASE_URL") or None
    backends = wait_for_backends(database_url) if database_url else 0.0
    ready = server.start()
    recovered = time.monotonic() - t_kill
    # The first writes after the restart: probes kept aside, sent one at a time.
    probe_statuses = []
    for writes, i in probes:
        writes.sent.add(i)
        status, _, _ = asyncio.run(_send_once(server.port, writes.requests[i]))
        probe_statuses.append(status)
        if 200 <= status < 300:
            writes.acked.add(i)
        else:
            writes.refused[i] = status
    result: dict[str, Any] = {
        "killed_processes": len(killed),
        "acknowledged_before_kill": before,
        "in_doubt_at_kill": in_flight,
        "backends_gone_seconds": round(backends, 2),
        "restart_ready_seconds": round(ready, 2),
        "kill_to_ready_seconds": round(recovered, 2),
        "probe_statuses": probe_statuses,
    }
    # The views first, from wherever the crash left them (before the rerun catches them up).
    result["views"] = check_views(server.data, database_url)
    if principal is not None:
        rerun = principal.issue()
        result["issuance_rerun"] = {
            k: rerun.get(k) for k in ("state", "issued_count", "up_to_date", "failed", "error")
        }
    result["writes"] = check_writes(server.data, database_url, sets.values())
    result["transcripts"] = check_transcripts(server.data, database_url)
    result["audit"] = run_audit(server.data, env)
    result["ok"] = (
        all(200 <= s < 300 for s in probe_statuses)
        and result["writes"]["ok"]
        and result["transcripts"]["ok"]
        and not result["transcripts"]["pending"]
        and result["views"]["ok"]
        and result["audit"]["ok"]
        and (principal is None or result["issuance_rerun"]["state"] == "done")
    )
    return result


async def _send_once(port: int, request: bytes) -> tuple[int, bool, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        return await asyncio.wait_for(_answer(reader), REQUEST_TIMEOUT)
    finally:
        writer.close()


# -- the soak --------------------------------------------------------------------------------------


def _classes_for(plan: Plan, seconds: float) -> tuple[int, int]:
    """Classes for single scores and for columns, enough for ``seconds`` at the plan's rates
    (a class takes 84 columns of 35 scores: TT 22/2021's counts, both terms), with margin."""
    per_class = 84
    singles = plan.score_connections * plan.score_rate * seconds * 1.3 / (per_class * CLASS_SIZE)
    columns = plan.column_connections * plan.column_rate * seconds * 1.3 / per_class
    return (
        max(plan.score_connections, math.ceil(singles)),
        max(plan.column_connections, math.ceil(columns)),
    )


def _sample(ops: Sequence[Op], since: float, until: float) -> dict[str, Any]:
    """Per kind: operations ended in (since, until], their rate and latency."""
    window = until - since
    kinds: dict[str, Any] = {}
    for kind in sorted({o.kind for o in ops}):
        mine = [o for o in ops if o.kind == kind and since < o.ended <= until]
        ok = sorted(o.seconds for o in mine if o.ok)
        events = {"score": 1, "column": CLASS_SIZE}.get(kind, 0)
        kinds[kind] = {
            "ok": len(ok),
            "errors": len(mine) - len(ok),
            "per_s": round(len(ok) / window, 2) if window > 0 else 0.0,
            "events_per_s": round(len(ok) * events / window, 1) if window > 0 else 0.0,
            "p50_ms": round(_quantile(ok, 0.50) * 1e3, 1),
            "p99_ms": round(_quantile(ok, 0.99) * 1e3, 1),
        }
    return kinds


def run_soak(
    minutes: float, database_url: str, out: Path | None = None, quick: bool = False
) -> dict[str, Any]:
    """Soak a 2-worker ``socai serve`` on PostgreSQL for ``minutes`` (see the module docstring).

    ``database_url`` names a PostgreSQL server; a fresh database is made next to the one it
    names and dropped afterwards. ``out``: also write ``soak.json`` and ``soak.md`` there.
    """
    from ledger.errors import InvalidInput

    if not database_url.startswith(("postgresql://", "postgres://")):
        raise InvalidInput(
            "socai bench soak runs on PostgreSQL: set SOCAI_DATABASE_URL=postgresql://…"
        )
    if not minutes > 0:
        raise InvalidInput("--minutes must be more than 0")
    plan = QUICK_PLAN if quick else FULL
    seconds = minutes * 60.0
    started = time.perf_counter()
    url = _fresh_postgres(database_url, f"socai_bench_soak_{os.getpid()}")
    singles, columns = _classes_for(plan, seconds)
    sizes = dataclasses.replace(QUICK, single_classes=singles, column_classes=columns)
    results: dict[str, Any] = {
        "suite": "soak",
        "quick": quick,
        "minutes": minutes,
        "machine": _machine(),
        "plan": vars(plan),
    }
    try:
        with (
            tempfile.TemporaryDirectory(prefix="socai-soak-") as d,
            _environment(url) as env,
        ):
            port = free_port()
            t = time.perf_counter()
            bench = _build(Path(d), url, sizes, f"http://127.0.0.1:{port}")
            results["setup_seconds"] = round(time.perf_counter() - t, 1)
            results["students"] = len(bench.students)
            server = ServerGroup(bench.data, port, env, Path(d) / "serve.log")
            server.start()
            try:
                results.update(_soak(bench, server, plan, seconds, env))
            finally:
                server.stop()
    finally:
        _drop_postgres(url)
    results["seconds"] = round(time.perf_counter() - started, 1)
    results["machine"]["load_average_after"] = _load_average()
    results["markdown"] = _markdown(results)
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "soak.json").write_text(json.dumps(results, indent=2, ensure_ascii=False), "utf-8")
        (out / "soak.md").write_text(results["markdown"] + "\n", "utf-8")
    return results


def _soak(
    bench: Bench, server: ServerGroup, plan: Plan, seconds: float, env: dict[str, str]
) -> dict[str, Any]:
    from bench.api import TEACHERS

    tokens = {user: _login(server.base, user) for user in TEACHERS}
    sets = write_sets(bench, tokens)
    load = Load(server.port)
    kept = load.add(sets["score"], plan.score_connections, plan.score_rate, reserve=1)
    probes = [(sets["score"], i) for i in kept]
    load.add(sets["column"], plan.column_connections, plan.column_rate)
    principal = Principal.of(bench, server.base)
    verdicts: Counter[str] = Counter()
    audits: list[dict[str, Any]] = []

    def verify() -> None:
        t0 = time.monotonic()
        status, verdict = _verify(server.base, principal.latest)
        verdicts[verdict if status == 200 else f"HTTP {status}"] += 1
        now = time.monotonic()
        load.record(
            Op("verify", now, now - t0, status, status == 200, "" if status == 200 else verdict)
        )

    def issue() -> None:
        t0 = time.monotonic()
        principal.award()
        state = principal.issue()
        now = time.monotonic()
        ok = state["state"] == "done" and state.get("failed") == 0
        load.record(Op("issue", now, now - t0, 202, ok, "" if ok else str(state)[:300]))
        t1 = time.monotonic()
        status = principal.download()
        now = time.monotonic()
        load.record(Op("download", now, now - t1, status, status == 200))

    def audit() -> None:
        t0 = time.monotonic()
        report = run_audit(bench.data, env)
        audits.append(report)
        now = time.monotonic()
        load.record(
            Op("audit", now, now - t0, 0, report["ok"], "" if report["ok"] else str(report)[:300])
        )

    tasks = [
        Periodic("verify", plan.verify_every, verify, load),
        Periodic("issue", plan.issue_every, issue, load),
        Periodic("audit", plan.audit_every, audit, load),
    ]
    samples: list[dict[str, Any]] = []
    began = time.monotonic()
    load.start()
    for task in tasks:
        task.start()
    try:
        last = began
        while (now := time.monotonic()) < began + seconds:
            time.sleep(min(plan.sample_seconds, began + seconds - now))
            now = time.monotonic()
            samples.append(
                {
                    "t_s": round(now - began, 1),
                    "memory": server.memory(),
                    "ops": _sample(load.snapshot(), last, now),
                    "load_average": _load_average(),
                }
            )
            last = now
        for task in tasks:
            task.stop()
        # Errors after this are the crash's, expected.
        fault_began = time.monotonic()
        # The fault phase: a crash of the whole server with the writes still coming.
        fault = recover(
            server, load, sets, probes, principal=principal, env=env,
            kill_after=min(5.0, plan.sample_seconds),
        )  # fmt: skip
    finally:
        for task in tasks:
            task.stop()
        load.stop()
        principal.close()
    ops = load.snapshot()
    errors: Counter[str] = Counter(
        f"{o.kind} {o.status or o.error.split(':')[0]}"
        for o in ops
        if not o.ok and o.ended < fault_began
    )
    return {
        "samples": samples,
        "overall": _sample(ops, began, began + seconds),
        "errors_before_fault": dict(errors),
        "verdicts": dict(verdicts),
        "audits": audits,
        "fault": fault,
        "ok": fault["ok"] and not errors and all(a["ok"] for a in audits),
    }


def _markdown(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        f"Machine: {m['cpus']} CPUs ({m['cpu']}), Python {m['python']}; load average "
        f"{m['load_average_before']} before, {m['load_average_after']} after; the load "
        "generator, the server, PostgreSQL and the audits share the same cores.",
        "",
        f"PostgreSQL, `socai serve --workers 2`, {results.get('students', 0)} students; "
        f"{results['minutes']} min, a sample every {results['plan']['sample_seconds']:.0f} s.",
        "",
        "| t s | workers MiB | tree MiB | score/s p50/p99 ms | column/s (events/s) p50/p99 ms "
        "| verify p50 ms | issue s | errors | load |",
        "|---:|---|---:|---|---|---:|---:|---:|---|",
    ]
    for s in results.get("samples", []):
        o = s["ops"]
        sc = o.get("score", {})
        co = o.get("column", {})
        ve = o.get("verify", {})
        iss = o.get("issue", {})
        errors = sum(k.get("errors", 0) for k in o.values())
        workers = " + ".join(f"{x:.0f}" for x in s["memory"]["workers_mib"])
        lines.append(
            f"| {s['t_s']:.0f} | {workers} | {s['memory']['tree_mib']:.0f} "
            f"| {sc.get('per_s', 0):.1f} {sc.get('p50_ms', 0)}/{sc.get('p99_ms', 0)} "
            f"| {co.get('per_s', 0):.2f} ({co.get('events_per_s', 0):.0f}) "
            f"{co.get('p50_ms', 0)}/{co.get('p99_ms', 0)} "
            f"| {ve.get('p50_ms', 0) if ve.get('ok') else '–'} "
            f"| {round(iss.get('p50_ms', 0) / 1e3, 1) if iss.get('ok') else '–'} "
            f"| {errors} | {s['load_average'][0]} |"
        )
    lines.append("")
    if "overall" in results:
        lines.append("| kind | ok | errors | per s | p50 ms | p99 ms |")
        lines.append("|---|---:|---:|---:|---:|---:|")
        for kind, k in results["overall"].items():
            lines.append(
                f"| {kind} | {k['ok']} | {k['errors']} | {k['per_s']} | {k['p50_ms']} "
                f"| {k['p99_ms']} |"
            )
        lines.append("")
    samples = results.get("samples", [])
    if samples:
        first, last = samples[0]["memory"], samples[-1]["memory"]
        peak = max(max(s["memory"]["workers_mib"] or [0]) for s in samples)
        lines.append(
            f"- Memory: workers {first['workers_mib']} MiB at the first sample, "
            f"{last['workers_mib']} MiB at the last (peak {peak:.0f} MiB; budget 300 MiB a "
            f"worker); the whole tree {first['tree_mib']:.0f} → {last['tree_mib']:.0f} MiB."
        )
    if "audits" in results:
        audits = results["audits"]
        lines.append(
            f"- Audits during the load: {len(audits)}, "
            f"{sum(a['ok'] for a in audits)} passed"
            + (
                f" (the last: {audits[-1].get('events', '?')} events in {audits[-1]['seconds']} s)"
                if audits
                else ""
            )
            + f"; verifications: {results.get('verdicts', {})}; errors before the fault: "
            f"{results.get('errors_before_fault', {}) or 'none'}."
        )
    fault = results.get("fault")
    if fault:
        w = fault["writes"]
        lines.append(
            f"- Fault: SIGKILL of {fault['killed_processes']} server processes under load; "
            f"restarted and ready in {fault['restart_ready_seconds']} s "
            f"({fault['kill_to_ready_seconds']} s from the kill, backends gone after "
            f"{fault['backends_gone_seconds']} s); probes after the restart "
            f"{fault['probe_statuses']}. Read back {w['records']} records "
            f"({w['events_verified']:,} events verified): {w['acknowledged_scores']:,} "
            f"acknowledged scores, {w['missing']} missing, {w['stray']} stray; "
            f"{fault['in_doubt_at_kill']} writes in doubt at the kill, "
            f"{w['unacknowledged_landed']} unacknowledged scores landed. Issuance rerun: "
            f"{fault.get('issuance_rerun')}; transcripts {fault['transcripts']['transcripts']} "
            f"({len(fault['transcripts']['problems'])} problems, "
            f"{len(fault['transcripts']['pending'])} pending). Views caught up = rebuilt: "
            f"{fault['views']['ok']} ({fault['views']['rows']:,} rows). Audit "
            f"{'ok' if fault['audit']['ok'] else 'FAILED'} ({fault['audit'].get('events')} "
            f"events, {fault['audit']['seconds']} s). "
            + ("**All checks passed.**" if fault["ok"] else "**CHECKS FAILED.**")
        )
    lines.append(f"\n{results['seconds']} s in all (set-up {results.get('setup_seconds')} s).")
    return "\n".join(lines)
