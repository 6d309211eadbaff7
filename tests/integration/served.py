"""Sites of the operations tests: demo data served by a ``socai serve`` this module controls.

Unlike :func:`tests.integration.web.build_site`, the server's output goes to a file the test
can read (the access log), its process is at hand (PID, memory, signals), ``socai.json`` can
be changed before it starts (limits), and extra ``socai serve`` arguments (``--workers``,
``--log-format``) are passed through.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from uuid import UUID

import httpx

from bench.serve import ROOT, free_port
from tests.integration import web

#: Rate limits high enough that a test's many log-ins never meet them (per-test addresses
#: still meet the real defaults where a test wants them: see ``client_from``).
GENEROUS_LIMITS = {"login": [100_000, 100_000.0], "verify": [100_000, 100_000.0]}


@dataclass
class Server:
    """A running ``socai serve``: its process, base URL and log file."""

    proc: subprocess.Popen[bytes]
    base: str
    log: Path

    def lines(self) -> list[str]:
        return self.log.read_text("utf-8", "replace").splitlines()

    def json_lines(self) -> list[dict[str, Any]]:
        out = []
        for line in self.lines():
            try:
                found = json.loads(line)
            except ValueError:
                continue
            if isinstance(found, dict):
                out.append(found)
        return out

    def wait_for_log(self, needle: str, timeout: float = 10.0) -> list[str]:
        """The log's lines once ``needle`` shows in it (lines are written asynchronously)."""
        deadline = time.monotonic() + timeout
        while True:
            lines = self.lines()
            if any(needle in line for line in lines) or time.monotonic() > deadline:
                return lines
            time.sleep(0.05)

    def children(self) -> list[int]:
        """PIDs of the server's worker processes (uvicorn's spawned workers)."""
        found = []
        for pid in _children(self.proc.pid):
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"spawn_main" in cmdline and b"resource_tracker" not in cmdline:
                found.append(pid)
        return found


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return out


def make_data(
    directory: Path,
    port: int,
    *,
    database_url: str | None = None,
    students: int = 8,
    conf: dict[str, Any] | None = None,
) -> tuple[Path, list[UUID]]:
    """``socai init`` and ``demo`` for a site at ``port``, the open year on top, ``conf`` merged
    into ``socai.json``; return the data directory and the open class's record ids."""
    data = directory / "data"
    env = web.site_env(database_url)
    web._socai(data, env, "init", "--public-url", f"http://127.0.0.1:{port}")
    web._socai(data, env, "demo", "--students", str(students), "--jobs", "1")
    old = os.environ.get("SOCAI_KEY_PASSPHRASE")
    os.environ["SOCAI_KEY_PASSPHRASE"] = web.PASSPHRASE
    try:
        ids = web.open_year_in_progress(data, database_url)
    finally:
        if old is None:
            os.environ.pop("SOCAI_KEY_PASSPHRASE", None)
        else:
            os.environ["SOCAI_KEY_PASSPHRASE"] = old
    if conf:
        update_conf(data, conf)
    return data, ids


def update_conf(data: Path, changes: dict[str, Any]) -> None:
    path = data / "socai.json"
    loaded = json.loads(path.read_text("utf-8"))
    loaded.update(changes)
    path.write_text(json.dumps(loaded, indent=2, ensure_ascii=False), "utf-8")


@contextmanager
def serve(
    data: Path,
    port: int,
    log: Path,
    *,
    database_url: str | None = None,
    args: tuple[str, ...] = (),
    wait_ready: bool = False,
    timeout: float = 60.0,
) -> Iterator[Server]:
    """Run ``socai serve`` (output to ``log``) until it answers; SIGTERM it on the way out."""
    base = f"http://127.0.0.1:{port}"
    argv = [sys.executable, "-m", "api.cli", "--data", str(data), "serve", "--port", str(port)]
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [*argv, *args],
            cwd=ROOT,
            env=web.site_env(database_url),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(proc, base, log)
    try:
        probe = f"{base}/api/v1/{'ready' if wait_ready else 'health'}"
        deadline = time.monotonic() + timeout
        while True:
            try:
                if httpx.get(probe, timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"socai serve did not start:\n{log.read_text()[-4000:]}")
            time.sleep(0.1)
        yield server
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[bytes], timeout: float = 20.0) -> int:
    """SIGTERM, then SIGKILL after ``timeout``; the exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return int(proc.returncode)


@contextmanager
def own_site(
    directory: Path,
    *,
    database_url: str | None = None,
    conf: dict[str, Any] | None = None,
    args: tuple[str, ...] = (),
    generous: bool = True,
) -> Iterator[tuple[web.Site, Server]]:
    """A demo site of one's own: ``(site, server)``; with ``generous`` the log-in and
    verification rate limits are lifted (else the defaults hold)."""
    port = free_port()
    merged = {**({"rate_limits": GENEROUS_LIMITS} if generous else {}), **(conf or {})}
    data, ids = make_data(directory, port, database_url=database_url, conf=merged)
    with serve(data, port, directory / "serve.log", database_url=database_url, args=args) as s:
        yield web.Site(data, s.base, database_url, open_students=ids), s


def client_from(address: str, base: str, **kwargs: Any) -> httpx.Client:
    """An HTTP client whose connections leave from ``address`` (another loopback address,
    so per-address rate limits count it apart from every other test)."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=base, transport=transport, timeout=60, **kwargs)


def rss_peak(pid: int) -> int:
    """The process's peak resident set (VmHWM), bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM")


def reset_rss_peak(pid: int) -> None:
    """Set VmHWM back to the current RSS (``/proc/PID/clear_refs``, value 5)."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")
