"""Faults under load, against real processes: what was acknowledged survives, nothing doubles.

Each fault hits a real ``socai serve`` (two workers on PostgreSQL, one on SQLite) while
clients write over HTTP (:mod:`bench.soak`'s load generator: several connections, one
signed score a request and columns of 35), then the same checks run:

- every write the client got a 2xx for is in the ledger, read back record by record (each
  event's hash, chain and signature verified); a write in flight may have landed only once,
  and only if it was not refused (:func:`bench.soak.check_writes`);
- one ``TranscriptIssued`` per student and record version, each PDF the bytes recorded,
  nothing left pending (:func:`bench.soak.check_transcripts`);
- the views caught up after the fault hold the rows a rebuild writes
  (:func:`bench.soak.check_views`);
- ``socai audit`` passes.

The faults: (a) SIGKILL of the server's process group under write load, then a restart;
(b) SIGKILL during a bulk issuance job, then the job run again; (c) SIGKILL of ``socai views``
in the middle of a catch-up and of a rebuild, then run again; (d) a PostgreSQL restart under
load, on a cluster of this test's own (port 5550–5559), the server left running; (e) a full
disk under a SQLite data directory (a small tmpfs; needs root), then space freed.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from api.jobs import INTERRUPTED
from bench.api import QUICK, TEACHERS, Bench, _build, _environment, _fresh_postgres, _login
from bench.serve import ROOT, free_port
from bench.soak import (
    Load,
    Principal,
    ServerGroup,
    WriteSet,
    check_transcripts,
    check_views,
    check_writes,
    recover,
    run_audit,
    wait_for_backends,
    write_sets,
)
from tests.conftest import REQUIRE_PG, drop_postgres, postgres_url
from tests.integration import served, web

pytestmark = pytest.mark.slow

#: The longest any request may take while a fault is on (the generator's timeout is this).
BOUND = 30.0
PG_BIN = Path("/usr/lib/postgresql/15/bin")
#: Seconds PostgreSQL stays down in its first restart (``SOCAI_FAULTS_PG_DOWN`` to try others),
#: and how many quick restarts follow.
DOWN = float(os.environ.get("SOCAI_FAULTS_PG_DOWN", "3"))
RESTARTS = int(os.environ.get("SOCAI_FAULTS_PG_RESTARTS", "6"))


@dataclass
class Served:
    """A bench site on PostgreSQL, its server, and the writes not sent yet."""

    bench: Bench
    server: ServerGroup
    env: dict[str, str]
    sets: dict[str, WriteSet]

    @property
    def url(self) -> str:
        assert self.bench.database_url
        return self.bench.database_url


def _sizes(singles: int, columns: int) -> Any:
    return dataclasses.replace(QUICK, single_classes=singles, column_classes=columns)


@pytest.fixture(scope="module")
def pg_served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """bench.api's site (an open year of 35-student classes) on a fresh PostgreSQL database,
    served by ``socai serve --workers 2`` in a process group of its own."""
    url = postgres_url()
    directory = tmp_path_factory.mktemp("faults-pg")
    try:
        with _environment(url) as env:
            port = free_port()
            bench = _build(directory, url, _sizes(4, 4), f"http://127.0.0.1:{port}")
            server = ServerGroup(bench.data, port, env, directory / "serve.log")
            server.start()
            try:
                tokens = {user: _login(server.base, user) for user in TEACHERS}
                yield Served(bench, server, env, write_sets(bench, tokens))
            finally:
                server.stop()
    finally:
        drop_postgres(url)


def _statuses(load: Load) -> Counter[tuple[str, int]]:
    return Counter((o.kind, o.status) for o in load.snapshot())


# -- (a) the server killed under write load -----------------------------------------------------


@pytest.mark.postgres
def test_sigkill_of_the_server_under_write_load(pg_served: Served) -> None:
    s = pg_served
    load = Load(s.server.port, timeout=BOUND)
    kept = load.add(s.sets["score"], 4, reserve=2)
    load.add(s.sets["column"], 2)
    principal = Principal.of(s.bench, s.server.base)
    load.start()
    try:
        result = recover(
            s.server,
            load,
            s.sets,
            [(s.sets["score"], i) for i in kept],
            principal=principal,
            env=s.env,
            kill_after=3.0,
        )
    finally:
        load.stop()
        principal.close()
    writes = result["writes"]
    print(
        f"SIGKILL of {result['killed_processes']} processes after "
        f"{result['acknowledged_before_kill']} acknowledged writes "
        f"({writes['acknowledged_scores']} scores), {result['in_doubt_at_kill']} in doubt, "
        f"{writes['unacknowledged_landed']} of them landed; ready again "
        f"{result['kill_to_ready_seconds']} s after the kill; {_statuses(load)}"
    )
    assert result["killed_processes"] >= 3  # the supervisor and its two workers
    assert result["acknowledged_before_kill"] >= 20, "the load wrote too little to test"
    assert result["probe_statuses"] == [200, 200]
    # Nothing the clients were told is written is missing; nothing is written twice.
    assert writes["missing"] == 0 and writes["stray"] == 0, writes
    assert writes["refused_writes"] == 0, writes
    # Only writes whose answer was lost may have landed unacknowledged (and each only once).
    assert writes["unacknowledged_landed"] == writes["in_doubt_landed"], writes
    assert result["views"]["ok"], result["views"]["differing_tables"]
    assert result["issuance_rerun"]["state"] == "done", result["issuance_rerun"]
    assert result["transcripts"]["ok"] and not result["transcripts"]["pending"]
    assert result["audit"]["ok"], result["audit"]
    assert result["ok"]


# -- (b) the server killed in the middle of a bulk issuance job ------------------------------------


@contextmanager
def _site_environment(database_url: str) -> Iterator[dict[str, str]]:
    """The process environment of a tests.integration.web site (its passphrase, its URL)."""
    env = web.site_env(database_url)
    keys = ("SOCAI_KEY_PASSPHRASE", "SOCAI_DEMO_PASSWORD", "SOCAI_DATABASE_URL")
    saved = {k: os.environ.get(k) for k in keys}
    os.environ.update({k: env[k] for k in keys})
    try:
        yield env
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@pytest.mark.postgres
def test_sigkill_during_a_bulk_issuance_job(tmp_path: Path) -> None:
    url = postgres_url()
    try:
        port = free_port()
        data, _ = served.make_data(
            tmp_path,
            port,
            database_url=url,
            students=16,
            conf={"rate_limits": served.GENEROUS_LIMITS},
        )
        with _site_environment(url) as env:
            server = ServerGroup(data, port, env, tmp_path / "serve.log")
            server.start()
            principal = Principal.open(
                data, url, server.base, web.Site(data, server.base, url).login("ht001")["token"]
            )
            try:
                _issuance_killed(server, principal, env)
            finally:
                server.stop()
                principal.close()
    finally:
        drop_postgres(url)


def _issuance_killed(server: ServerGroup, principal: Principal, env: dict[str, str]) -> None:
    students = principal.students
    assert len(students) >= 10
    before = principal.transcripts()
    principal.award()  # every transcript is due again
    job = principal.start()
    deadline = time.monotonic() + 120
    state = principal.job(job)
    while time.monotonic() < deadline and state["done"] < 2 and state["state"] != "done":
        time.sleep(0.02)
        state = principal.job(job)
    killed = server.kill()
    # The job was running, part done, when its processes died.
    assert state["state"] == "running" and 2 <= state["done"] < state["total"], state
    assert state["total"] == len(students)
    t_kill = time.monotonic()
    backends = wait_for_backends(principal.database_url or "")
    ready = server.start()
    back = time.monotonic() - t_kill

    # The restarted server reports the dead job as interrupted and lets a new one start.
    dead = principal.job(job)
    assert dead["state"] == "failed" and dead["error"] == INTERRUPTED, dead
    rerun = principal.wait(principal.start())
    assert rerun["state"] == "done" and rerun["failed"] == 0, rerun
    after = principal.transcripts()
    print(
        f"SIGKILL of {len(killed)} processes with the job at {state['done']}/{state['total']}; "
        f"the killed job reported {dead['issued_count']} issued; ready again "
        f"{back:.1f} s after the kill (backends gone {backends:.1f} s, "
        f"start {ready:.1f} s); the rerun "
        f"issued {rerun['issued_count']}, {rerun['up_to_date']} were up to date"
    )
    # Each student issued exactly once more, whichever job did it.
    assert {s: after[s] - before[s] for s in students} == dict.fromkeys(students, 1)
    assert dead["issued_count"] + rerun["issued_count"] >= len(students) - 1
    assert rerun["issued_count"] + rerun["up_to_date"] == len(students)
    transcripts = check_transcripts(principal.data, principal.database_url)
    assert transcripts["ok"], transcripts["problems"]
    assert transcripts["pending"] == [] and transcripts["up_to_date"] == len(students)
    views = check_views(principal.data, principal.database_url)
    assert views["ok"], views["differing_tables"]
    audited = run_audit(principal.data, env)
    assert audited["ok"], audited


# -- (c) a view catch-up killed half way ---------------------------------------------------------


def _positions(url: str) -> dict[str, int | None]:
    """Each view's tracking position, read straight from its schema (None: no page yet, or
    its tables are being recreated)."""
    from ledger.postgres import connect

    out: dict[str, int | None] = {}
    with connect(url) as conn:
        for view in ("transcripts", "gradebook", "staff", "dashboard"):
            try:
                row = conn.execute(
                    f'SELECT max(notification_id) FROM "view_{view}".tracking'
                ).fetchone()
                out[view] = None if row is None or row[0] is None else int(row[0])
            except Exception:
                out[view] = None
    return out


def _head(data: Path, url: str) -> int:
    from ledger.application import Settings
    from projections.runner import ViewRunner

    with ViewRunner(Settings(data, url)) as runner:
        return runner.head()


#: The view whose catch-up is interrupted: the largest (every score), several pages long.
BIG_VIEW = "gradebook"
#: Columns (35 scores each) of backlog: over twice a catch-up's page of 2,000 events.
BACKLOG_COLUMNS = 150


def _kill_views_midway(s: Served, action: str) -> dict[str, Any]:
    """Run ``socai views ACTION``; SIGKILL it once :data:`BIG_VIEW` has committed a page and
    before it reaches the ledger's head (a rebuild first resets it: any position below the
    head is then part way)."""
    start = _positions(s.url)
    head = _head(s.bench.data, s.url)
    argv = [sys.executable, "-m", "api.cli", "--data", str(s.bench.data), "views", action]
    proc = subprocess.Popen(
        argv, cwd=ROOT, env=s.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    seen = start
    try:
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            seen = _positions(s.url)
            at = seen[BIG_VIEW]
            if at is not None and at != start[BIG_VIEW] and at < head:
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.005)
    finally:
        if proc.poll() is None:
            proc.kill()
        _, err = proc.communicate()
    after = _positions(s.url)
    at = after[BIG_VIEW]
    return {
        "action": action,
        "exit": proc.returncode,
        "head": head,
        "start": start,
        "after": after,
        "midway": proc.returncode == -signal.SIGKILL and at is not None and at < head,
        "stderr": err.decode("utf-8", "replace")[-2000:],
    }


@pytest.mark.postgres
def test_sigkill_of_a_view_catch_up(pg_served: Served) -> None:
    s = pg_served
    # A backlog: columns written since the views last caught up (several pages of events).
    acked = len(s.sets["column"].acked)
    load = Load(s.server.port, timeout=BOUND)
    load.add(s.sets["column"], 2)
    load.start()
    deadline = time.monotonic() + 20
    while len(s.sets["column"].acked) < acked + BACKLOG_COLUMNS and time.monotonic() < deadline:
        time.sleep(0.1)
    load.stop()
    assert len(s.sets["column"].acked) >= acked + BACKLOG_COLUMNS
    rounds = []
    # A catch-up killed part way; a rebuild killed part way (retried: it starts over); the
    # catch-up that continues the rebuild killed too if it is slow enough to catch.
    for action, tries in (("update", 1), ("rebuild", 3), ("update", 1)):
        for _ in range(tries):
            r = _kill_views_midway(s, action)
            rounds.append(r)
            if r["midway"]:
                break
    for r in rounds:
        print(
            f"views {r['action']}: exit {r['exit']}, head {r['head']}, positions "
            f"{r['start']} → {r['after']}"
        )
        assert r["exit"] in (0, -signal.SIGKILL), r["stderr"]
        assert all(p is None or p <= r["head"] for p in r["after"].values()), r
    assert rounds[0]["midway"], "the catch-up ended before it could be killed part way"
    assert any(r["midway"] and r["action"] == "rebuild" for r in rounds)
    # Run again to the end; then the views must hold exactly what a rebuild writes.
    argv = [sys.executable, "-m", "api.cli", "--data", str(s.bench.data), "views"]
    done = subprocess.run(
        [*argv, "update", "--json"],
        cwd=ROOT,
        env=s.env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    positions = {v["view"]: v["position"] for v in json.loads(done.stdout)["views"]}
    assert set(positions.values()) == {_head(s.bench.data, s.url)}, positions
    views = check_views(s.bench.data, s.url)
    assert views["ok"], views["differing_tables"]
    assert views["caught_up_events"] == 0  # the rerun had caught them up
    writes = check_writes(s.bench.data, s.url, s.sets.values())
    assert writes["missing"] == 0 and writes["stray"] == 0, writes
    assert run_audit(s.bench.data, s.env)["ok"]


# -- (d) PostgreSQL restarted under load -----------------------------------------------------------


@dataclass
class Cluster:
    """A throw-away PostgreSQL cluster run by the ``postgres`` user on a port of its own."""

    directory: Path
    port: int

    @property
    def options(self) -> str:
        """The server's options: its port and socket directory, loopback only."""
        return f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1"

    def start(self) -> None:
        self.ctl("-o", self.options, "start")

    @property
    def pgdata(self) -> Path:
        return self.directory / "pgdata"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def ctl(self, *args: str) -> None:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D", str(self.pgdata),
             "-l", str(self.directory / "postgresql.log"), "-w", "-t", "60", *args],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120,
        )  # fmt: skip


def _unavailable(reason: str) -> None:
    if REQUIRE_PG:
        pytest.fail(reason + " (SOCAI_REQUIRE_POSTGRES=1)")
    pytest.skip(reason)


@pytest.fixture
def cluster() -> Iterator[Cluster]:
    """A cluster of this test's own: initdb, start; stop and remove on the way out.

    Never the shared one on 5432: restarting that would break every other test using it.
    """
    if os.geteuid() != 0 or shutil.which("runuser") is None or not (PG_BIN / "initdb").exists():
        _unavailable("a throw-away PostgreSQL cluster needs root, runuser and PostgreSQL 15")
    port = next((p for p in range(5550, 5560) if _port_free(p)), None)
    if port is None:
        _unavailable("ports 5550-5559 are all taken")
    assert port is not None
    directory = Path(tempfile.mkdtemp(prefix="socai-faults-pg-"))
    shutil.chown(directory, "postgres", "postgres")
    c = Cluster(directory, port)
    try:
        subprocess.run(
            ["runuser", "-u", "postgres", "--", str(PG_BIN / "initdb"), "-D", str(c.pgdata),
             "-A", "trust", "-U", "postgres", "--no-sync"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        c.start()
        yield c
    finally:
        try:
            c.ctl("-m", "immediate", "stop")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(directory, ignore_errors=True)


def _port_free(port: int) -> bool:
    import socket

    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.postgres
def test_postgresql_restart_under_load(cluster: Cluster, tmp_path: Path) -> None:
    """PostgreSQL goes away under load (a stop, :data:`DOWN` s, a start; then quick restarts,
    which cut connections at every point of a commit), the server is left running."""
    url = _fresh_postgres(cluster.url, "socai_faults")
    with _environment(url) as env:
        port = free_port()
        bench = _build(tmp_path, url, _sizes(2, 4), f"http://127.0.0.1:{port}")
        server = ServerGroup(bench.data, port, env, tmp_path / "serve.log")
        server.start()
        assert server.proc is not None
        pid = server.proc.pid
        tokens = {user: _login(server.base, user) for user in TEACHERS}
        sets = write_sets(bench, tokens)
        load = Load(port, timeout=BOUND)
        load.add(sets["score"], 2)
        load.add(sets["column"], 4)
        outages: list[tuple[float, float]] = []
        try:
            load.start()
            time.sleep(2.0)
            # Down longer than the store's own retries (eventsourcing tries a statement for
            # about 2 s), so clients meet the outage ...
            t0 = time.monotonic()
            cluster.ctl("-m", "fast", "stop")
            time.sleep(DOWN)
            cluster.start()
            outages.append((t0, time.monotonic()))
            # ... then restarts in quick succession.
            for _ in range(RESTARTS):
                time.sleep(1.0)
                t0 = time.monotonic()
                cluster.ctl("-m", "fast", "restart")
                outages.append((t0, time.monotonic()))
            time.sleep(3.0)
            load.stop()
            ready = httpx.get(f"{server.base}/api/v1/ready", timeout=BOUND)
            # The same server, never restarted.
            assert server.proc.poll() is None and server.proc.pid == pid
        finally:
            load.stop()
            server.stop()
        ops = load.snapshot()
        failed = [o for o in ops if not o.ok]
        last = outages[-1][1]
        back = [o.ended - last for o in ops if o.ok and o.ended - o.seconds > last]
        print(
            f"PostgreSQL down {len(outages)} times "
            f"({', '.join(f'{b - a:.1f}' for a, b in outages)} s); {len(ops)} writes, "
            f"{len(failed)} refused ({Counter(o.status for o in failed)}), the slowest "
            f"{max(o.seconds for o in ops):.2f} s; the first write after the last outage "
            f"succeeded {min(back) if back else float('nan'):.2f} s after it"
        )
        print(f"what the clients read: {sorted({o.error[:160] for o in failed})}")
        writes = check_writes(bench.data, url, sets.values())
        print(f"read back: {writes}")
        met = [o for o in ops for a, b in outages if o.ended - o.seconds < b and o.ended > a]
        assert len(met) >= 3, "no write met an outage: the test tested nothing"
        # Nothing the clients were told is written is missing; nothing is written twice.
        assert writes["missing"] == 0 and writes["stray"] == 0, writes
        assert writes["acknowledged_scores"] > 0
        # Clear refusals, within a bound: 503 with a JSON body, never a 500 (nor a traceback),
        # never a refusal that blames the client (409, 422) for what the outage did.
        for o in failed:
            assert o.status == 503, (o.status, o.error)
            body = json.loads(o.error)
            assert body["error"] and body["detail"] and "Traceback" not in o.error
        assert all(o.seconds < BOUND for o in ops)
        # A 503 may hide a commit whose answer was lost (the store could not ask again while
        # PostgreSQL was down); any other refusal is definite, and what it refused is absent.
        assert set(writes["refused_landed_by_status"]) <= {503}, writes
        # The server recovered by itself: ready, and every write after the last outage succeeds.
        assert ready.status_code == 200, ready.text
        after = [o for o in ops if o.ended - o.seconds > last + 0.5]
        assert after and all(o.ok for o in after), Counter((o.ok, o.status) for o in after)
        assert check_views(bench.data, url)["ok"]
        audited = run_audit(bench.data, env)
        assert audited["ok"], audited


# -- (e) the disk full under a SQLite data directory -----------------------------------------------


@pytest.fixture
def tmpfs() -> Iterator[Path]:
    """A 48 MiB tmpfs, mounted for this test (root only)."""
    if os.geteuid() != 0:
        pytest.skip("a small tmpfs to fill needs root (mount -t tmpfs)")
    mount = Path(tempfile.mkdtemp(prefix="socai-faults-full-"))
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=48m,mode=0700", "tmpfs", str(mount)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        mount.rmdir()
        pytest.skip(f"mount -t tmpfs is not permitted here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
        mount.rmdir()


def _fill(directory: Path) -> int:
    """Take every free byte of the file system of ``directory``; return how many."""
    stat = os.statvfs(directory)
    filler = directory / "filler"
    taken = 0
    with filler.open("wb", buffering=0) as f:
        try:
            os.posix_fallocate(f.fileno(), 0, stat.f_bavail * stat.f_frsize)
        except OSError:
            pass
        taken = f.seek(0, os.SEEK_END)
        try:
            while True:
                f.write(b"\0" * 4096)
                f.flush()
                taken += 4096
        except OSError:
            pass
    return taken


def _log_checkpoint(data: Path, env: dict[str, str]) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-m", "api.cli", "--data", str(data), "log", "checkpoint", "--json"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return dict(json.loads(proc.stdout))


def test_disk_full_under_a_sqlite_data_directory(tmpfs: Path, tmp_path: Path) -> None:
    with _environment(None) as env:
        port = free_port()
        bench = _build(tmpfs, None, _sizes(2, 1), f"http://127.0.0.1:{port}")
        before = _log_checkpoint(bench.data, env)
        # The server's own output goes elsewhere: a full disk must not stop its logging.
        server = ServerGroup(bench.data, port, env, tmp_path / "serve.log", workers=1)
        server.start()
        tokens = {user: _login(server.base, user) for user in TEACHERS}
        sets = write_sets(bench, tokens)
        load = Load(port, timeout=BOUND)
        load.add(sets["score"], 2, rate=40.0)
        load.add(sets["column"], 1, rate=4.0)
        try:
            load.start()
            time.sleep(1.5)
            t_full = time.monotonic()
            taken = _fill(tmpfs)
            # Writes go on until they are refused (the WAL may have room left for a while).
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not any(
                not o.ok for o in load.snapshot() if o.ended > t_full
            ):
                time.sleep(0.1)
            time.sleep(2.0)
            (tmpfs / "filler").unlink()
            t_freed = time.monotonic()
            time.sleep(3.0)
            load.stop()
            alive = server.proc is not None and server.proc.poll() is None
        finally:
            load.stop()
            server.stop()
        ops = load.snapshot()
        refused = [o for o in ops if not o.ok]
        back = [o.ended - t_freed for o in ops if o.ok and o.ended > t_freed]
        print(
            f"filled {taken / 2**20:.1f} MiB; {len(ops)} writes, {len(refused)} refused "
            f"({Counter(o.status for o in refused)}); writes succeeded again "
            f"{min(back) if back else float('nan'):.2f} s after space was freed"
        )
        assert alive, "the server died of the full disk"
        assert refused, "no write was refused: the disk never filled"
        for o in refused:
            # Insufficient Storage, with a message in Vietnamese; never a 500.
            assert o.status == 507, (o.status, o.error)
            body = json.loads(o.error)
            assert body["error"] == "StorageFull" and "hết chỗ lưu trữ" in body["detail"]
        after = [o for o in ops if o.ended - o.seconds > t_freed + 0.5]
        assert after and all(o.ok for o in after), Counter((o.ok, o.status) for o in after)
        writes = check_writes(bench.data, None, sets.values())
        print(f"read back: {writes}")
        assert writes["missing"] == 0 and writes["stray"] == 0, writes
        # Nothing partial: a refused write left nothing behind.
        assert writes["refused_landed"] == 0 and writes["unacknowledged_landed"] == 0, writes
        audited = run_audit(bench.data, env)
        assert audited["ok"], audited
        # The transparency log went on consistently: the local witness cosigns a checkpoint
        # of the grown log (it checks a consistency proof from the size it cosigned before).
        later = _log_checkpoint(bench.data, env)
        assert later["size"] > before["size"] and set(later["witnesses"].values()) == {"cosigned"}
        assert check_views(bench.data, None)["ok"]
