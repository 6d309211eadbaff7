"""The FastAPI application behind ``socai serve``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import errors
from api.routes import health, pki, tsa
from api.services import Services
from ledger.application import Settings


def create_app(settings: Settings, services: Services | None = None) -> FastAPI:
    """Build the app for a data directory (services are loaded at start-up)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.services = services or Services.load(settings)
        try:
            yield
        finally:
            app.state.services.close()

    app = FastAPI(title="Sổ Cái", version="0.1.0", lifespan=lifespan)
    errors.install(app)
    app.include_router(health.router)
    app.include_router(pki.router)
    app.include_router(tsa.router)
    return app
