"""``/themes``: how the join and meeting views look, per room (``theme_id``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response

from signaling.accounts.themes import LOGO_MAX_BYTES
from signaling.api.deps import ApiKeyAuth, ServicesDep
from signaling.api.problems import problem_doc
from signaling.api.schemas import Theme, ThemeCreate, ThemeList, ThemeUpdate
from signaling.api.views import next_cursor, theme_out
from signaling.errors import PayloadTooLarge
from signaling.pagination import CURSOR_PATTERN, MAX_LIMIT

__all__ = ["router"]

router = APIRouter(
    prefix="/themes",
    tags=["themes"],
    responses={
        401: problem_doc("No or wrong API key."),
        404: problem_doc("No such theme."),
    },
)

ThemeId = Annotated[str, Path(min_length=1, max_length=64)]
LOGO_MEDIA_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp")


@router.post("", status_code=201, response_model=Theme, summary="Create a theme")
async def create_theme(body: ThemeCreate, services: ServicesDep, _: ApiKeyAuth) -> Theme:
    return theme_out(await services.themes.create(body))


@router.get("", response_model=ThemeList, summary="List themes")
async def list_themes(
    services: ServicesDep,
    _: ApiKeyAuth,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
    cursor: Annotated[str | None, Query(max_length=512, pattern=CURSOR_PATTERN)] = None,
) -> ThemeList:
    page = await services.themes.list(limit, cursor)
    return ThemeList(
        items=[theme_out(t) for t in page.items],
        next_cursor=next_cursor(page),
    )


@router.get("/{theme_id}", response_model=Theme, summary="One theme")
async def get_theme(theme_id: ThemeId, services: ServicesDep, _: ApiKeyAuth) -> Theme:
    return theme_out(await services.themes.get(theme_id))


@router.patch("/{theme_id}", response_model=Theme, summary="Change a theme")
async def update_theme(
    theme_id: ThemeId, body: ThemeUpdate, services: ServicesDep, _: ApiKeyAuth
) -> Theme:
    return theme_out(await services.themes.update(theme_id, body))


@router.delete(
    "/{theme_id}", status_code=204, summary="Delete a theme (its rooms get the default look)"
)
async def delete_theme(theme_id: ThemeId, services: ServicesDep, _: ApiKeyAuth) -> Response:
    await services.themes.delete(theme_id)
    return Response(status_code=204)


@router.put(
    "/{theme_id}/logo",
    response_model=Theme,
    summary="Upload the logo (the raw image as the body: PNG, JPEG, GIF or WebP, <= 256 KiB)",
    responses={
        413: problem_doc("Over 256 KiB."),
        415: problem_doc("The body is not a PNG, JPEG, GIF or WebP image (told by its bytes)."),
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                kind: {"schema": {"type": "string", "format": "binary"}}
                for kind in LOGO_MEDIA_TYPES
            },
        }
    },
)
async def put_logo(
    theme_id: ThemeId, request: Request, services: ServicesDep, _: ApiKeyAuth
) -> Theme:
    data = await request.body()
    if len(data) > LOGO_MAX_BYTES:
        raise PayloadTooLarge(f"the logo is {len(data)} bytes; at most {LOGO_MAX_BYTES}")
    return theme_out(await services.themes.set_logo(theme_id, data))


@router.get(
    "/{theme_id}/logo",
    summary="The logo (public: the join view shows it)",
    response_class=Response,
    responses={
        200: {"content": {kind: {} for kind in LOGO_MEDIA_TYPES}},
        404: problem_doc("No such theme."),
        409: problem_doc("The theme has no logo (`no-logo`)."),
    },
)
async def get_logo(theme_id: ThemeId, services: ServicesDep) -> Response:
    data, kind = await services.themes.logo(theme_id)
    return Response(
        data,
        media_type=kind,
        headers={"Cache-Control": "public, max-age=300", "X-Content-Type-Options": "nosniff"},
    )
