"""The FastAPI application behind ``socai serve``."""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from api import errors, middleware
from api.pages import auth as auth_pages
from api.pages import gradebook as gradebook_pages
from api.pages import inspect as inspect_pages
from api.pages import principal as principal_pages
from api.pages import public as public_pages
from api.pages import records as records_pages
from api.routes import auth, health, log, pki, transcripts, tsa, verify
from api.routes import inspect as inspect_routes
from api.routes import issuance as issuance_routes
from api.routes import presigned as presigned_routes
from api.routes import records as records_routes
from api.routes import staff as staff_routes
from api.scheduler import DEFAULT_EVERY_EVENTS, DEFAULT_EVERY_SECONDS, CheckpointScheduler
from api.services import Services
from ledger.application import Settings

_LOCKS: list[int] = []


def _scheduler_lock(settings: Settings) -> bool:
    """Take the data directory's checkpoint-scheduler lock (never released by this process)."""
    if _LOCKS:
        return True
    path = Path(settings.data_dir) / "log" / "scheduler.lock"
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return False
    _LOCKS.append(fd)
    return True


def create_app(settings: Settings, services: Services | None = None) -> FastAPI:
    """Build the app for a data directory (services are loaded at start-up)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.services = services or Services.load(settings)
        scheduler = None
        conf_path = settings.data_dir / "socai.json"
        if conf_path.is_file():
            conf = json.loads(conf_path.read_text("utf-8"))
            # One worker process per data directory signs checkpoints: the first to take
            # the scheduler's lock (held until the process ends).
            if "log" in conf and _scheduler_lock(settings):
                scheduler = CheckpointScheduler(
                    app.state.services,
                    int(conf.get("checkpoint_every_events", DEFAULT_EVERY_EVENTS)),
                    float(conf.get("checkpoint_every_seconds", DEFAULT_EVERY_SECONDS)),
                )
                scheduler.start()
        try:
            yield
        finally:
            if scheduler is not None:
                scheduler.stop()
            app.state.services.close()

    app = FastAPI(title="Sổ Cái", version="0.1.0", lifespan=lifespan)
    errors.install(app)
    middleware.install(app)
    app.include_router(health.router)
    app.include_router(auth.router)
    app.include_router(pki.router)
    app.include_router(tsa.router)
    app.include_router(log.router)
    app.include_router(verify.router)
    app.include_router(transcripts.router)
    app.include_router(records_routes.router)
    app.include_router(staff_routes.router)
    app.include_router(presigned_routes.router)
    app.include_router(issuance_routes.router)
    app.include_router(inspect_routes.router)
    app.include_router(auth_pages.router)
    app.include_router(gradebook_pages.router)
    app.include_router(principal_pages.router)
    app.include_router(records_pages.router)
    app.include_router(public_pages.router)
    app.include_router(inspect_pages.router)
    app.mount("/static", StaticFiles(packages=[("api", "static")]), name="static")
    return app


def app_from_env() -> FastAPI:
    """The app of ``SOCAI_DATA`` / ``SOCAI_DATABASE_URL``: uvicorn's factory in each worker."""
    return create_app(Settings.from_env())
