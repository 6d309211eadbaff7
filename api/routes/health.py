"""Liveness and readiness probes.

``GET /api/v1/health`` answers as long as the process serves HTTP (liveness: restart me if
not). ``GET /api/v1/ready`` answers 200 only when this worker can serve requests: the
ledger's database answers a cheap query, the account store answers, and the PKI is loaded
with the school CA open; otherwise 503 with the failed checks named (readiness: send me no
traffic until then). The reasons name the kind of failure only; the details go to the log.

A probe answers within :data:`PROBE_SECONDS` whatever the database does: each check runs in
a thread of its own and one that has not finished by then is reported as failed; while it
still hangs, later probes wait on the same check instead of starting another (a stuck
database cannot pile up threads).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from uuid import UUID

from fastapi import APIRouter, Request

from api.access import access
from api.errors import NotReady
from api.services import Services

router = APIRouter(prefix="/api/v1", tags=["health"])
log = logging.getLogger("socai.ready")

#: How long a readiness probe waits for its checks.
PROBE_SECONDS = 3.0

_POOL = ThreadPoolExecutor(max_workers=3, thread_name_prefix="socai-ready")
_RUNNING: dict[str, Future[None]] = {}
_LOCK = threading.Lock()


@router.get("/health", openapi_extra=access("public"))
def health() -> dict[str, str]:
    """The process answers."""
    return {"status": "ok"}


def _future(name: str, probe: Callable[[], object]) -> Future[None]:
    """The running check ``name``, or a new one."""

    def run() -> None:
        probe()

    with _LOCK:
        running = _RUNNING.get(name)
        if running is None or running.done():
            running = _RUNNING[name] = _POOL.submit(run)
        return running


async def _check(name: str, probe: Callable[[], object]) -> str:
    future = _future(name, probe)
    try:
        await asyncio.wait_for(asyncio.shield(asyncio.wrap_future(future)), PROBE_SECONDS)
    except TimeoutError:
        log.warning("readiness check %s: no answer within %s s", name, PROBE_SECONDS)
        return "failed (timeout)"
    except Exception as e:  # a probe reports any failure as "not ready", it never raises
        log.warning("readiness check %s failed: %s: %s", name, type(e).__name__, e)
        return f"failed ({type(e).__name__})"
    return "ok"


@router.get("/ready", openapi_extra=access("public"))
async def ready(request: Request) -> dict[str, object]:
    """The ledger's database and the account store answer, and the PKI is loaded."""
    services: Services = request.app.state.services
    probes: dict[str, Callable[[], object]] = {
        "ledger": lambda: services.ledger().transparency_log.size,
        "accounts": lambda: services.accounts().get(UUID(int=0)),
        "pki": lambda: services.authority("school").certificate,
    }
    results = await asyncio.gather(*(_check(n, p) for n, p in probes.items()))
    checks = dict(zip(probes, results, strict=True))
    if any(v != "ok" for v in checks.values()):
        raise NotReady(checks)
    return {"status": "ready", "checks": checks}
