"""``socai serve`` as operations run it: several workers on PostgreSQL, readiness, SIGTERM.

The PostgreSQL tests serve the data of the shared ``pg_site`` with servers of their own
(more worker processes on the same database, which is what several workers are), reading
and logging in only. Readiness is checked against a PostgreSQL that goes away: the server
talks to it through a TCP proxy the test cuts and restores.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest

from bench.serve import ROOT, free_port
from tests.integration.served import Server, serve, stop
from tests.integration.web import PASSWORD, Site, site_env


def test_sqlite_refuses_more_than_one_worker(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "socai.json").write_text("{}", "utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "api.cli", "--data", str(data), "serve", "--workers", "2"],
        cwd=ROOT,
        env=site_env(None),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 64, proc.stdout + proc.stderr
    assert "SQLite" in proc.stderr and "--workers 1" in proc.stderr


def _workers(base: str, requests: int = 200) -> dict[str, int]:
    """``X-Worker`` of ``requests`` concurrent requests, each on a new connection."""

    def one(_: int) -> str:
        r = httpx.get(f"{base}/api/v1/health", headers={"Connection": "close"}, timeout=30)
        assert r.status_code == 200
        return r.headers["x-worker"]

    counts: dict[str, int] = {}
    with ThreadPoolExecutor(16) as pool:
        for worker in pool.map(one, range(requests)):
            counts[worker] = counts.get(worker, 0) + 1
    return counts


@contextmanager
def _serving(
    site: Site, tmp: Path, *args: str, database_url: str | None = None
) -> Iterator[Server]:
    port = free_port()
    with serve(
        site.data,
        port,
        tmp / f"serve-{port}.log",
        database_url=database_url or site.database_url,
        args=args,
        wait_ready=True,
    ) as server:
        yield server


@pytest.mark.postgres
def test_two_workers_answer_and_share_sessions(pg_site: Site, tmp_path: Path) -> None:
    with _serving(pg_site, tmp_path, "--workers", "2", "--log-format", "text") as server:
        deadline = time.monotonic() + 60
        while len(server.children()) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        pids = server.children()
        assert len(set(pids)) == 2, pids
        seen: dict[str, int] = {}
        while len(seen) < 2 and time.monotonic() < deadline:
            for worker, n in _workers(server.base).items():
                seen[worker] = seen.get(worker, 0) + n
        assert len(seen) == 2, f"one worker answered everything: {seen}"

        # A session opened in one worker is good in the other (sessions are in PostgreSQL).
        login = httpx.post(
            f"{server.base}/api/v1/auth/login",
            json={"username": "gv001", "password": PASSWORD},
            headers={"Connection": "close"},
            timeout=30,
        )
        assert login.status_code == 200
        first = login.headers["x-worker"]
        bearer = {"Authorization": f"Bearer {login.json()['token']}", "Connection": "close"}
        other = None
        while other is None and time.monotonic() < deadline:
            me = httpx.get(f"{server.base}/api/v1/auth/me", headers=bearer, timeout=30)
            assert me.status_code == 200 and me.json()["username"] == "gv001"
            if me.headers["x-worker"] != first:
                other = me.headers["x-worker"]
        assert other is not None, "no request reached the second worker"

        # --log-format text: one readable line per request, route templates, no JSON.
        lines = server.wait_for_log("/api/v1/auth/me")
        access = [line for line in lines if " socai.http " in line]
        assert access and not any(line.startswith("{") for line in access)
        assert any("route=/api/v1/auth/me" in line and "status=200" in line for line in access)
        assert not any(login.json()["token"] in line for line in lines)


@pytest.mark.postgres
def test_sigterm_stops_every_worker_cleanly(pg_site: Site, tmp_path: Path) -> None:
    with _serving(pg_site, tmp_path, "--workers", "2") as server:
        deadline = time.monotonic() + 60
        while len(server.children()) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        workers = server.children()
        assert len(workers) == 2
        started = time.monotonic()
        server.proc.send_signal(signal.SIGTERM)
        code = server.proc.wait(timeout=30)
        assert code == 0, server.log.read_text()[-2000:]
        assert time.monotonic() - started < 25
        for pid in workers:
            assert (
                not Path(f"/proc/{pid}").exists()
                or "zombie" in Path(f"/proc/{pid}/status").read_text().lower()
            ), f"worker {pid} still runs"
        log = server.log.read_text()
        assert log.count("Application shutdown complete") == 2, log[-2000:]
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{server.base}/api/v1/health", timeout=2)


class Proxy:
    """A TCP proxy to PostgreSQL that a test can cut (every connection dropped) and restore."""

    def __init__(self, target: tuple[str, int], port: int | None = None) -> None:
        self.target = target
        self.port = port or free_port()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            with self._lock:
                self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        if self._listener is not None:
            # shutdown() wakes the thread blocked in accept(); close() alone would leave the
            # socket listening until that accept() returns.
            try:
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._listener.close()
            self._listener = None
        with self._lock:
            sockets, self._sockets = self._sockets, []
        for s in sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


def _via(url: str, port: int) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{port}"
    return urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host))


def _ready(base: str) -> httpx.Response:
    return httpx.get(f"{base}/api/v1/ready", timeout=30)


@pytest.mark.postgres
def test_readiness_follows_postgresql(pg_site: Site, tmp_path: Path) -> None:
    assert pg_site.database_url
    pg = urlsplit(pg_site.database_url)
    proxy = Proxy((pg.hostname or "127.0.0.1", pg.port or 5432))
    proxy.start()
    try:
        with _serving(
            pg_site, tmp_path, "--workers", "1", database_url=_via(pg_site.database_url, proxy.port)
        ) as server:
            ok = _ready(server.base)
            assert ok.status_code == 200 and ok.json()["checks"] == {
                "ledger": "ok",
                "accounts": "ok",
                "pki": "ok",
            }
            proxy.cut()
            down = _ready(server.base)
            assert down.status_code == 503, down.text
            checks = down.json()["checks"]
            assert checks["ledger"] != "ok" and checks["accounts"] != "ok" and checks["pki"] == "ok"
            assert down.headers.get("retry-after")
            assert "5432" not in down.text and "postgres" not in down.text.lower()
            # Liveness does not depend on the database.
            assert httpx.get(f"{server.base}/api/v1/health", timeout=10).status_code == 200
            proxy.start()
            deadline = time.monotonic() + 30
            while (back := _ready(server.base)).status_code != 200:
                assert time.monotonic() < deadline, back.text
                time.sleep(0.5)
    finally:
        proxy.cut()


@pytest.mark.postgres
def test_a_server_pointed_at_no_database_is_not_ready(pg_site: Site, tmp_path: Path) -> None:
    assert pg_site.database_url
    nowhere = _via(pg_site.database_url, free_port())
    port = free_port()
    with serve(
        pg_site.data, port, tmp_path / "nowhere.log", database_url=nowhere, args=("--workers", "1")
    ) as server:
        r = _ready(server.base)
        assert r.status_code == 503
        body = r.json()
        assert body["status"] == "not ready" and body["checks"]["ledger"] != "ok"
        assert httpx.get(f"{server.base}/api/v1/health", timeout=10).status_code == 200
        lines = server.wait_for_log("readiness check")
        assert any("readiness check ledger" in line for line in lines)
        assert all(json.loads(line) for line in lines if line.startswith("{"))
    assert stop(server.proc) == 0
