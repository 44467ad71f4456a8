"""The ASGI application: REST under ``/api/v1``, OpenAPI, Swagger UI."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from signaling.api.limits import BodyLimit
from signaling.api.problems import install_problem_handlers, problem_doc
from signaling.api.routes_admin import router as admin_router
from signaling.api.routes_meetings import router as meetings_router
from signaling.api.routes_misc import health_router, join_router, keys_router
from signaling.api.routes_recordings import room_router as room_recordings_router
from signaling.api.routes_recordings import router as recordings_router
from signaling.api.routes_rooms import router as rooms_router
from signaling.api.routes_themes import router as themes_router
from signaling.api.routes_webhooks import router as webhooks_router
from signaling.api.ws import quiet_invalid_utf8
from signaling.api.ws import router as ws_router
from signaling.services import Services

__all__ = ["API_PREFIX", "create_app"]

API_PREFIX = "/api/v1"

logger = logging.getLogger(__name__)


def create_app(services: Services, web_dir: str | Path | None = None) -> BodyLimit:
    """The app over already-built services. Its lifespan runs the room sweeper and closes
    the store on shutdown."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        tasks = [
            asyncio.create_task(services.sweeper.run(services.rooms), name="room-sweeper"),
            asyncio.create_task(services.meetings.run(), name="meeting-timers"),
        ]
        # Started after the others are created, so meeting.ended events from the shutdown
        # below are in the outbox for the next start even if not sent now.
        deliverer = asyncio.create_task(services.webhooks.run(), name="webhook-deliverer")
        try:
            yield
        finally:
            services.draining = True
            await services.meetings.shutdown()
            # Their meetings are over: recorders finish their files (or are killed).
            await services.recordings.shutdown()
            tasks.append(deliverer)
            for task in tasks:
                task.cancel()
            for task in tasks:
                try:
                    await task
                except asyncio.CancelledError:
                    pass
                except Exception:  # it failed earlier: said now, and the stop goes on
                    logger.exception("%s had failed", task.get_name())
            await services.store.close()

    app = FastAPI(
        title="meetbox",
        version="0.1.0",
        summary="Self-hosted video meetings: rooms, role links, meetings, recordings.",
        openapi_url=f"{API_PREFIX}/openapi.json",
        docs_url="/docs",
        redoc_url=None,
        lifespan=lifespan,
        # Every route can answer these; documenting them once keeps the spec truthful.
        responses={
            400: problem_doc(
                "The body is not valid JSON (`invalid-json`), or `cursor` is not one this "
                "server handed out (`invalid-cursor`)."
            ),
            408: problem_doc("The body did not arrive within 30 s."),
            413: problem_doc("The body is over 1 MiB."),
            422: problem_doc("A field failed validation."),
            503: problem_doc("The server is shutting down."),
        },
    )
    app.state.services = services
    quiet_invalid_utf8()
    install_problem_handlers(app)
    app.include_router(rooms_router, prefix=API_PREFIX)
    app.include_router(meetings_router, prefix=API_PREFIX)
    app.include_router(join_router, prefix=API_PREFIX)
    app.include_router(keys_router, prefix=API_PREFIX)
    app.include_router(webhooks_router, prefix=API_PREFIX)
    app.include_router(themes_router, prefix=API_PREFIX)
    app.include_router(recordings_router, prefix=API_PREFIX)
    app.include_router(room_recordings_router, prefix=API_PREFIX)
    app.include_router(admin_router, prefix=API_PREFIX)
    app.include_router(health_router, prefix=API_PREFIX)
    app.include_router(health_router, include_in_schema=False)
    app.include_router(ws_router)

    web = Path(web_dir) if web_dir else None
    if web is not None and web.is_dir():
        app.mount("/web", StaticFiles(directory=web), name="web")
        room_page = web / "room.html"
        admin_page = web / "admin.html"

        @app.get("/admin", include_in_schema=False)
        async def admin() -> FileResponse:
            return FileResponse(admin_page, media_type="text/html")

        # What room links open (the secret rides in the fragment, never sent here).
        @app.get("/room/{room_id}", include_in_schema=False)
        @app.get("/recordings/{room_id}", include_in_schema=False)
        # A recording's share link (``#share=...``).
        @app.get("/recording/{recording_id}", include_in_schema=False)
        async def room(room_id: str = "", recording_id: str = "") -> FileResponse:
            return FileResponse(room_page, media_type="text/html")

    @app.get("/", include_in_schema=False)
    async def root() -> RedirectResponse:
        return RedirectResponse("/docs")

    return BodyLimit(app)
