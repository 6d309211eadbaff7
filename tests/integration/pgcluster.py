"""Throw-away PostgreSQL clusters for the replication and recovery tests.

The shared server on port 5432 must not be reconfigured, so these tests make their own
clusters with the PostgreSQL binaries (``SOCAI_PG_BIN``, default
``/usr/lib/postgresql/15/bin``), on loopback ports :data:`PORTS`, in a temporary directory
that :class:`Clusters` removes again (also when a test fails):

- :meth:`Clusters.primary`: ``initdb`` and start, with WAL archiving to
  :attr:`Clusters.archive` (``archive_command`` = ``cp``), ``wal_level=replica`` and
  ``synchronous_commit``/``fsync`` on (the ledger refuses less);
- :meth:`Clusters.standby`: a hot standby streaming from a primary, made by
  ``pg_basebackup -R`` (which writes ``primary_conninfo`` and ``standby.signal``);
- :meth:`Clusters.base_backup` and :meth:`Clusters.restore`: a base backup, and a new
  cluster recovered from it and the archive, to the end of the archived WAL or to a
  ``recovery_target_time`` / ``recovery_target_lsn`` (then promoted);
- :meth:`Cluster.wait_for_replay`: until a standby has replayed a primary's WAL position.

PostgreSQL refuses to run as root: when the tests run as root, every binary runs as the
``postgres`` user (``runuser``), which then owns the directory; otherwise as the current
user. Clients connect over TCP to 127.0.0.1 with trust authentication.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

PG_BIN = Path(os.environ.get("SOCAI_PG_BIN") or "/usr/lib/postgresql/15/bin")
#: Loopback ports the clusters may take (the shared server keeps 5432).
PORTS = range(5540, 5550)
#: The user PostgreSQL runs as when the tests run as root.
OS_USER = "postgres"
_TOOLS = ("initdb", "pg_ctl", "pg_basebackup", "postgres")


class ClusterError(RuntimeError):
    """A PostgreSQL tool failed; the message carries its output and the server log's tail."""


def missing() -> str | None:
    """Why clusters cannot be made on this machine, or None when they can."""
    for tool in _TOOLS:
        if not (PG_BIN / tool).is_file():
            return f"PostgreSQL binaries not found: no {PG_BIN / tool} (set SOCAI_PG_BIN)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam(OS_USER)
        except KeyError:
            return f"running as root and there is no {OS_USER!r} user to run PostgreSQL as"
        if shutil.which("runuser") is None:
            return "running as root and runuser is missing"
    return None


def _owner() -> tuple[int, int] | None:
    """(uid, gid) to give the clusters' files to, or None to keep the current user's."""
    if os.geteuid() != 0:
        return None
    entry = pwd.getpwnam(OS_USER)
    return entry.pw_uid, entry.pw_gid


def _argv(argv: Sequence[str]) -> list[str]:
    return ["runuser", "-u", OS_USER, "--", *argv] if os.geteuid() == 0 else list(argv)


def run(argv: Sequence[str], *, timeout: float = 120.0, log: Path | None = None) -> str:
    """Run a PostgreSQL tool as the clusters' owner; raise :class:`ClusterError` on failure."""
    try:
        done = subprocess.run(
            _argv(argv), capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as e:
        raise ClusterError(f"{argv[0]} timed out after {timeout}s{_tail(log)}") from e
    if done.returncode != 0:
        raise ClusterError(
            f"{' '.join(argv)} exited {done.returncode}: {done.stderr.strip()[-2000:]}{_tail(log)}"
        )
    return done.stdout


def _tail(log: Path | None, lines: int = 30) -> str:
    if log is None or not log.is_file():
        return ""
    text = log.read_text("utf-8", "replace").splitlines()[-lines:]
    return "\n--- server log ---\n" + "\n".join(text)


def _port_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _quote(value: str) -> str:
    """A postgresql.conf string literal."""
    return "'" + value.replace("'", "''") + "'"


@dataclass
class Cluster:
    """One PostgreSQL cluster (data directory and server) made by :class:`Clusters`."""

    name: str
    directory: Path
    port: int
    log: Path

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def start(self, timeout: float = 90.0) -> None:
        """Start the server and wait until it accepts connections (a standby's as well)."""
        pg_ctl = [str(PG_BIN / "pg_ctl"), "-D", str(self.directory), "-l", str(self.log)]
        run(
            [*pg_ctl, "-w", "-t", str(int(timeout)), "start"],
            timeout=timeout + 10,
            log=self.log,
        )

    @property
    def running(self) -> bool:
        return (self.directory / "postmaster.pid").is_file()

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast``: roll back open sessions); nothing when it is not running."""
        if not self.running:
            return
        try:
            run(
                [str(PG_BIN / "pg_ctl"), "-D", str(self.directory), "-m", mode, "-w", "stop"],
                timeout=60,
                log=self.log,
            )
        except ClusterError:
            if mode == "immediate":
                raise
            self.stop("immediate")

    def connect(self, dbname: str = "postgres") -> psycopg.Connection[Any]:
        return psycopg.connect(self.url(dbname), autocommit=True, connect_timeout=5)

    def query(self, sql: str, params: Sequence[Any] = (), dbname: str = "postgres") -> list[Any]:
        """Rows of one statement, on a connection of its own."""
        with self.connect(dbname) as conn:
            cur = conn.execute(sql, params)  # type: ignore[arg-type]
            return cur.fetchall() if cur.description else []

    def value(self, sql: str, params: Sequence[Any] = (), dbname: str = "postgres") -> Any:
        rows = self.query(sql, params, dbname)
        return rows[0][0] if rows else None

    @property
    def in_recovery(self) -> bool:
        return bool(self.value("SELECT pg_is_in_recovery()"))

    def wal_position(self) -> str:
        """The WAL position of everything committed so far (a primary's insert position)."""
        return str(self.value("SELECT pg_current_wal_insert_lsn()"))

    def wait_for_replay(self, lsn: str, timeout: float = 60.0) -> float:
        """Wait until this standby has replayed the WAL up to ``lsn``; return the seconds."""
        started = time.monotonic()
        with self.connect() as conn:
            while True:
                row = conn.execute(
                    "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", (lsn,)
                ).fetchone()
                if row is not None and row[0]:
                    return time.monotonic() - started
                if time.monotonic() - started > timeout:
                    raise ClusterError(
                        f"{self.name} did not replay up to {lsn} in {timeout}s{_tail(self.log)}"
                    )
                time.sleep(0.005)

    def wait_promoted(self, timeout: float = 90.0) -> None:
        """Wait until a recovering cluster has finished recovery and accepts writes."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                if not self.in_recovery:
                    return
            except psycopg.OperationalError:
                pass  # still starting up
            if time.monotonic() > deadline:
                raise ClusterError(
                    f"{self.name} still in recovery after {timeout}s{_tail(self.log)}"
                )
            time.sleep(0.05)


@dataclass
class Clusters:
    """A temporary directory of clusters, their WAL archive and base backups.

    Use it as a context manager: leaving it stops every server it started and removes the
    directory, whatever happened inside.
    """

    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="socai-replica-pg-")))
    clusters: list[Cluster] = field(default_factory=list)

    def __post_init__(self) -> None:
        reason = missing()
        if reason is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            raise ClusterError(reason)
        self.archive.mkdir(exist_ok=True)
        self._give(self.root)
        self._give(self.archive)

    @property
    def archive(self) -> Path:
        """Where the primaries archive their WAL segments (``archive_command``)."""
        return self.root / "archive"

    def __enter__(self) -> Clusters:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop every server (fast, else immediate) and remove the directory."""
        errors = []
        for cluster in reversed(self.clusters):
            try:
                cluster.stop()
            except ClusterError as e:
                errors.append(str(e))
        self.clusters.clear()
        shutil.rmtree(self.root, ignore_errors=True)
        if errors:
            raise ClusterError("; ".join(errors))

    # -- making clusters ---------------------------------------------------------------

    def _give(self, path: Path) -> None:
        owner = _owner()
        if owner is not None:
            os.chown(path, *owner)
        path.chmod(0o700 if path != self.root else 0o755)

    def _port(self) -> int:
        taken = {c.port for c in self.clusters}
        for port in PORTS:
            if port not in taken and _port_free(port):
                return port
        raise ClusterError(f"no free port in {PORTS.start}-{PORTS.stop - 1}")

    def _configure(self, directory: Path, settings: dict[str, str]) -> None:
        """Append settings to postgresql.auto.conf (read last, so they win)."""
        lines = "".join(f"{k} = {v}\n" for k, v in settings.items())
        with (directory / "postgresql.auto.conf").open("a", encoding="utf-8") as f:
            f.write(lines)

    def _cluster(self, name: str) -> Cluster:
        directory = self.root / name
        if directory.exists():
            raise ClusterError(f"cluster {name} already exists")
        return Cluster(name, directory, self._port(), self.root / f"{name}.log")

    def _connection_settings(self, port: int) -> dict[str, str]:
        return {
            "port": str(port),
            "listen_addresses": "'127.0.0.1'",
            # Sockets in the cluster's own directory: nothing shared with the system server.
            "unix_socket_directories": _quote(str(self.root)),
        }

    def primary(self, name: str = "primary") -> Cluster:
        """A new cluster that archives its WAL and can feed standbys; started."""
        cluster = self._cluster(name)
        initdb = [str(PG_BIN / "initdb"), "-D", str(cluster.directory), "-U", "postgres"]
        run(
            # --no-sync: a throw-away cluster; the server itself runs with fsync on.
            [*initdb, "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"],
            timeout=120,
        )
        archive = str(self.archive)
        self._configure(
            cluster.directory,
            {
                **self._connection_settings(cluster.port),
                "wal_level": "replica",
                "max_wal_senders": "4",
                "hot_standby": "on",
                "archive_mode": "on",
                "archive_command": _quote(f"test ! -f {archive}/%f && cp %p {archive}/%f"),
                # What the ledger checks at start (it refuses anything weaker).
                "synchronous_commit": "on",
                "fsync": "on",
                "max_connections": "100",
                "shared_buffers": "'32MB'",
                "wal_keep_size": "'128MB'",
            },
        )
        self.clusters.append(cluster)
        cluster.start()
        return cluster

    def standby(self, primary: Cluster, name: str = "standby") -> Cluster:
        """A hot standby of ``primary``: ``pg_basebackup -R``, then started (read-only)."""
        cluster = self._cluster(name)
        self._basebackup(primary, cluster.directory, "-R")
        self._configure(cluster.directory, self._connection_settings(cluster.port))
        self.clusters.append(cluster)
        cluster.start()
        return cluster

    def _basebackup(self, primary: Cluster, directory: Path, *extra: str) -> None:
        source = ["-h", "127.0.0.1", "-p", str(primary.port), "-U", "postgres"]
        # A fast checkpoint: do not wait for the next scheduled one.
        options = ["-X", "stream", "--checkpoint=fast", "--no-sync", *extra]
        run(
            [str(PG_BIN / "pg_basebackup"), *source, "-D", str(directory), *options],
            timeout=300,
        )

    def base_backup(self, primary: Cluster, name: str = "base") -> Path:
        """A base backup of ``primary`` (plain format, with the WAL it needs); not started."""
        directory = self.root / name
        self._basebackup(primary, directory)
        return directory

    def archive_now(self, primary: Cluster, timeout: float = 60.0) -> str:
        """Close the current WAL segment and wait until it is archived; return its name.

        Everything committed before the call is then in the archive, which is what a
        restore to the end (or to a target past the last segment switch) replays.
        """
        segment = str(primary.value("SELECT pg_walfile_name(pg_switch_wal())"))
        deadline = time.monotonic() + timeout
        while not (self.archive / segment).is_file():
            if time.monotonic() > deadline:
                raise ClusterError(f"segment {segment} not archived after {timeout}s")
            time.sleep(0.05)
        return segment

    def restore(
        self,
        backup: Path,
        name: str,
        *,
        target_time: str | None = None,
        target_lsn: str | None = None,
    ) -> Cluster:
        """A new cluster from ``backup`` and the WAL archive, recovered and promoted.

        Without a target, recovery replays every archived segment and then promotes;
        with ``target_time`` (a timestamptz text) or ``target_lsn`` it stops there
        (``recovery_target_inclusive`` on) and promotes.
        """
        if target_time is not None and target_lsn is not None:
            raise ValueError("one recovery target at most")
        cluster = self._cluster(name)
        run(["cp", "-a", str(backup), str(cluster.directory)], timeout=300)
        settings = {
            **self._connection_settings(cluster.port),
            "restore_command": _quote(f"cp {self.archive}/%f %p"),
            # A restored copy must not archive into the primary's archive.
            "archive_mode": "off",
            "recovery_target_action": "'promote'",
        }
        if target_time is not None:
            settings["recovery_target_time"] = _quote(target_time)
        if target_lsn is not None:
            settings["recovery_target_lsn"] = _quote(target_lsn)
        self._configure(cluster.directory, settings)
        signal = cluster.directory / "recovery.signal"
        signal.touch()
        owner = _owner()
        if owner is not None:
            os.chown(signal, *owner)
        self.clusters.append(cluster)
        cluster.start()
        cluster.wait_promoted()
        return cluster

    def create_database(self, cluster: Cluster, name: str) -> str:
        """Create a database on ``cluster`` and return its URL."""
        with cluster.connect() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # type: ignore[arg-type]
        return cluster.url(name)
