"""``/join``, ``/api-keys`` and the health endpoints."""

from __future__ import annotations

import contextlib
from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Response

from signaling.api.deps import ApiKeyAuth, ServicesDep, authenticate
from signaling.api.metrics import CONTENT_TYPE, collect, render
from signaling.api.problems import problem_doc
from signaling.api.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyList,
    IceServer,
    JoinPreview,
    JoinPreviewRequest,
    JoinRequest,
    JoinResponse,
)
from signaling.api.views import (
    api_key_created_out,
    api_key_out,
    join_room_out,
    next_cursor,
    theme_out,
    ws_url,
)
from signaling.errors import NotFound, ServiceUnavailable, ShuttingDown
from signaling.models import Role
from signaling.pagination import CURSOR_PATTERN, MAX_LIMIT
from signaling.rooms.links import link_url

__all__ = ["health_router", "join_router", "keys_router"]


join_router = APIRouter(tags=["join"])
keys_router = APIRouter(
    prefix="/api-keys",
    tags=["api-keys"],
    responses={401: problem_doc("No or wrong API key."), 404: problem_doc("No such key.")},
)
health_router = APIRouter(tags=["health"])


@join_router.post(
    "/join/preview",
    response_model=JoinPreview,
    summary="What a link opens, before joining",
    description="No API key: the link secret is the credential. The link's role and room "
    "(name, theme, config), refused like `POST /join` (except that a recordings link is "
    "fine). Issues no token.",
    responses={
        403: problem_doc("The room is closed."),
        404: problem_doc("Unknown link."),
        410: problem_doc("The link was rotated, or the room expired."),
    },
)
async def preview(body: JoinPreviewRequest, services: ServicesDep) -> JoinPreview:
    role, room = await services.rooms.preview(body.secret)
    theme = None
    if room.theme_id is not None:
        with contextlib.suppress(NotFound):  # deleted since: the default look
            theme = theme_out(await services.themes.get(room.theme_id))
    invite = None
    if role is Role.MODERATOR:  # moderators may invite: they get the speaker link
        invite = link_url(services.rooms.public_url, room.links[Role.SPEAKER])
    return JoinPreview(role=role, room=join_room_out(room), theme=theme, invite_url=invite)


@join_router.post(
    "/join",
    response_model=JoinResponse,
    summary="Trade a link secret for a participant token",
    description="No API key: the link secret is the credential. Refused when the link is "
    "unknown (404 invalid-link), was rotated (410 link-rotated), is a recordings link "
    "(403 wrong-link-role), or the room is closed (403 room-closed) or expired "
    "(410 room-expired).",
    responses={
        403: problem_doc("Recordings link, or the room is closed."),
        404: problem_doc("Unknown link."),
        410: problem_doc("The link was rotated, or the room expired."),
    },
)
async def join(body: JoinRequest, services: ServicesDep) -> JoinResponse:
    if services.draining:
        raise ShuttingDown()
    grant = await services.rooms.join(body.secret, body.nickname)
    return JoinResponse(
        token=grant.token,
        token_expires_at=grant.claims.expires_at,
        participant_id=grant.claims.participant_id,
        nickname=grant.claims.nickname,
        role=grant.claims.role,
        room=join_room_out(grant.room),
        ws_url=ws_url(services.rooms.public_url),
        ice_servers=[
            IceServer(urls=entry.urls, username=entry.username, credential=entry.credential)
            for entry in services.ice.for_participant(
                grant.claims.participant_id, services.clock.now()
            )
        ],
    )


@keys_router.get("", response_model=ApiKeyList, summary="List API keys (never the keys)")
async def list_keys(
    services: ServicesDep,
    _: ApiKeyAuth,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
    cursor: Annotated[str | None, Query(max_length=512, pattern=CURSOR_PATTERN)] = None,
) -> ApiKeyList:
    page = await services.accounts.list_api_keys(limit, cursor)
    return ApiKeyList(
        items=[api_key_out(record) for record in page.items],
        next_cursor=next_cursor(page),
    )


@keys_router.post("", status_code=201, response_model=ApiKeyCreated, summary="Create an API key")
async def create_key(body: ApiKeyCreate, services: ServicesDep, _: ApiKeyAuth) -> ApiKeyCreated:
    record, key = await services.accounts.create_api_key(body.name)
    return api_key_created_out(record, key)


@keys_router.delete("/{key_id}", status_code=204, summary="Revoke an API key")
async def revoke_key(
    key_id: Annotated[str, Path(min_length=1, max_length=64)],
    services: ServicesDep,
    _: ApiKeyAuth,
) -> Response:
    await services.accounts.revoke_api_key(key_id)
    return Response(status_code=204)


@health_router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@health_router.get(
    "/readyz",
    summary="Readiness: the database answers and the server is not shutting down",
)
async def readyz(services: ServicesDep) -> dict[str, str]:
    if services.draining:
        raise ShuttingDown()
    try:
        await services.store.ping()
    except Exception as exc:
        raise ServiceUnavailable("the database does not answer") from exc
    return {"status": "ready"}


@health_router.get(
    "/metrics",
    summary="The server's state for Prometheus (text format 0.0.4)",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE: {}}}, 401: problem_doc("No or an invalid API key.")},
)
async def metrics(
    services: ServicesDep,
    x_api_key: Annotated[str | None, Header(max_length=256)] = None,
    authorization: Annotated[str | None, Header(max_length=300)] = None,
) -> Response:
    """An API key as ``X-API-Key``, or as ``Authorization: Bearer <key>`` (what Prometheus's
    ``authorization`` scrape setting sends). Answers while the server drains, too."""
    key = x_api_key or None
    if key is None and authorization is not None and authorization[:7].lower() == "bearer ":
        key = authorization[7:].strip()
    await authenticate(services, key)
    media = await services.placement.stats()
    return Response(render(collect(services, media)), media_type=CONTENT_TYPE)
