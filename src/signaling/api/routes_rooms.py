"""``/rooms``: CRUD, bulk delete and link rotation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query, Response
from fastapi.responses import JSONResponse

from signaling.api.deps import ApiKeyAuth, ServicesDep
from signaling.api.problems import PROBLEM_TYPE_BASE, problem_doc
from signaling.api.schemas import (
    BULK_IDS_PATTERN,
    BulkDeleteFailure,
    BulkDeleteResult,
    Room,
    RoomCreate,
    RoomList,
    RoomUpdate,
    RotateLinks,
)
from signaling.api.views import next_cursor, room_out
from signaling.errors import Invalid, MeetboxError
from signaling.models import RoomKind, RoomStatus
from signaling.pagination import CURSOR_PATTERN, MAX_LIMIT
from signaling.rooms.policies import DeleteOutcome, DeletePolicyMeeting, DeletePolicyRecordings
from signaling.store import RoomFilter

__all__ = ["router"]

MAX_BULK_IDS = 100

router = APIRouter(
    prefix="/rooms",
    tags=["rooms"],
    responses={401: problem_doc("No or wrong API key."), 404: problem_doc("No such room.")},
)

RoomId = Annotated[str, Path(min_length=1, max_length=128, description="The room's id.")]
WithMeeting = Annotated[
    DeletePolicyMeeting,
    Query(description="What to do if a meeting is in progress."),
]
WithRecordings = Annotated[
    DeletePolicyRecordings,
    Query(description="What to do with the room's recordings."),
]


_THEME_409: dict[int | str, dict[str, Any]] = {
    409: problem_doc("`theme_id` names no theme (`unknown-theme`).")
}


@router.post(
    "", status_code=201, response_model=Room, summary="Create a room", responses=_THEME_409
)
async def create_room(
    body: RoomCreate, services: ServicesDep, _: ApiKeyAuth, response: Response
) -> Room:
    await services.themes.check_exists(body.theme_id)
    room = await services.rooms.create(body)
    response.headers["Location"] = f"/api/v1/rooms/{room.id}"
    return room_out(room, services.rooms.public_url)


@router.get("", response_model=RoomList, summary="List rooms, newest first")
async def list_rooms(
    services: ServicesDep,
    _: ApiKeyAuth,
    name: Annotated[str | None, Query(max_length=100, description="Name contains")] = None,
    status: RoomStatus | None = None,
    kind: RoomKind | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
    cursor: Annotated[str | None, Query(max_length=512, pattern=CURSOR_PATTERN)] = None,
) -> RoomList:
    page = await services.rooms.list_rooms(RoomFilter(name, status, kind), limit, cursor)
    return RoomList(
        items=[room_out(room, services.rooms.public_url) for room in page.items],
        next_cursor=next_cursor(page),
    )


@router.delete(
    "",
    response_model=BulkDeleteResult,
    summary="Delete several rooms",
    description="Each room is handled on its own; the result says which were deleted, "
    "which will be deleted when their meeting ends, and which failed and why.",
)
async def delete_rooms(
    services: ServicesDep,
    _: ApiKeyAuth,
    ids: Annotated[
        str, Query(min_length=1, max_length=20000, pattern=BULK_IDS_PATTERN, description="a,b,c")
    ],
    with_meeting: WithMeeting = DeletePolicyMeeting.FAIL,
    with_recordings: WithRecordings = DeletePolicyRecordings.FAIL,
) -> BulkDeleteResult:
    wanted = list(dict.fromkeys(part.strip() for part in ids.split(",") if part.strip()))
    if not wanted or len(wanted) > MAX_BULK_IDS:
        raise Invalid(
            f"ids must name 1 to {MAX_BULK_IDS} rooms",
            errors=[{"loc": ["query", "ids"], "msg": "wrong number of ids"}],
        )
    result = BulkDeleteResult(deleted=[], scheduled=[], failed=[])
    for room_id in wanted:
        try:
            outcome = await services.rooms.delete(room_id, with_meeting, with_recordings)
        except MeetboxError as exc:
            result.failed.append(
                BulkDeleteFailure(
                    id=room_id,
                    status=exc.status,
                    type=PROBLEM_TYPE_BASE + exc.slug,
                    detail=exc.detail,
                )
            )
            continue
        (result.deleted if outcome is DeleteOutcome.DELETED else result.scheduled).append(room_id)
    return result


@router.get("/{room_id}", response_model=Room, summary="Get a room")
async def get_room(room_id: RoomId, services: ServicesDep, _: ApiKeyAuth) -> Room:
    return room_out(await services.rooms.get(room_id), services.rooms.public_url)


@router.patch(
    "/{room_id}",
    response_model=Room,
    summary="Change a room",
    responses={
        409: problem_doc(
            "`theme_id` names no theme (`unknown-theme`), or `auto_delete_at` was given for "
            "an instant room (`instant-room`)."
        )
    },
)
async def update_room(
    room_id: RoomId, body: RoomUpdate, services: ServicesDep, _: ApiKeyAuth
) -> Room:
    await services.themes.check_exists(body.theme_id)
    return room_out(await services.rooms.update(room_id, body), services.rooms.public_url)


@router.delete(
    "/{room_id}",
    status_code=204,
    summary="Delete a room",
    responses={
        202: {"description": "The room will be deleted when its meeting ends."},
        204: {"description": "Deleted."},
        409: problem_doc("A meeting is in progress (with_meeting=fail)."),
    },
)
async def delete_room(
    room_id: RoomId,
    services: ServicesDep,
    _: ApiKeyAuth,
    with_meeting: WithMeeting = DeletePolicyMeeting.FAIL,
    with_recordings: WithRecordings = DeletePolicyRecordings.FAIL,
) -> Response:
    outcome = await services.rooms.delete(room_id, with_meeting, with_recordings)
    if outcome is DeleteOutcome.SCHEDULED:
        return JSONResponse(
            {"id": room_id, "status": "scheduled", "detail": "deleted when its meeting ends"},
            status_code=202,
        )
    return Response(status_code=204)


@router.post("/{room_id}/links/rotate", response_model=Room, summary="Give links new secrets")
async def rotate_links(
    room_id: RoomId,
    services: ServicesDep,
    _: ApiKeyAuth,
    body: Annotated[RotateLinks | None, Body()] = None,
) -> Room:
    roles = (body or RotateLinks()).roles
    return room_out(await services.rooms.rotate_links(room_id, roles), services.rooms.public_url)
