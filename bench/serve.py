"""Run ``socai serve`` as a real process on a loopback port (benchmarks and tests)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def process_serving(
    argv: list[str], probe_url: str, env: dict[str, str], what: str
) -> Iterator[None]:
    """Run ``argv`` (a server) until ``probe_url`` answers over HTTP; stop it on exit."""
    # The server's output goes to a file: a pipe nobody reads fills up under per-request logs.
    output = tempfile.TemporaryFile()
    proc = subprocess.Popen(  # noqa: S603 - our own programs, fixed argv
        argv, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT
    )
    try:
        deadline = time.monotonic() + 120  # a loaded CI machine starts slowly
        while True:
            try:
                httpx.get(probe_url, timeout=1)
                break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                output.seek(0)
                out = output.read()[-20_000:].decode("utf-8", "replace")
                raise RuntimeError(f"{what} did not start: {out}")
            time.sleep(0.1)
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        output.close()


@contextmanager
def serving(data: Path, port: int, env: dict[str, str] | None = None) -> Iterator[str]:
    """Start ``socai serve`` for ``data`` on ``port``; yield its base URL; stop it."""
    base = f"http://127.0.0.1:{port}"
    full_env = {**os.environ, **(env or {})}
    full_env.pop("SOCAI_DATABASE_URL", None)
    argv = [sys.executable, "-m", "api.cli", "--data", str(data), "serve", "--port", str(port)]
    with process_serving(argv, f"{base}/api/v1/health", full_env, "socai serve"):
        yield base
