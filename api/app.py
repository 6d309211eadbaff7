"""The FastAPI application behind ``socai serve``."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import errors
from api.routes import auth, health, log, pki, transcripts, tsa, verify
from api.scheduler import DEFAULT_EVERY_EVENTS, DEFAULT_EVERY_SECONDS, CheckpointScheduler
from api.services import Services
from ledger.application import Settings


def create_app(settings: Settings, services: Services | None = None) -> FastAPI:
    """Build the app for a data directory (services are loaded at start-up)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.services = services or Services.load(settings)
        scheduler = None
        conf_path = settings.data_dir / "socai.json"
        if conf_path.is_file():
            conf = json.loads(conf_path.read_text("utf-8"))
            if "log" in conf:
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
    app.include_router(health.router)
    app.include_router(auth.router)
    app.include_router(pki.router)
    app.include_router(tsa.router)
    app.include_router(log.router)
    app.include_router(verify.router)
    app.include_router(transcripts.router)
    return app
