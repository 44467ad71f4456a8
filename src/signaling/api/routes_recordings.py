"""``/recordings`` and ``/rooms/{id}/recordings``: start, stop, list, play, download, share.

Who may ask: an API key (or the admin console) for everything; the holder of one of the
room's links (its secret in ``X-Meetbox-Link``) as the room's ``recording.access`` allows;
the holder of a share link (``X-Meetbox-Share``) for that one recording. Players, which cannot
send headers, get ``media_url``/``download_url`` with a short-lived ``access`` parameter.
"""

from __future__ import annotations

from pathlib import Path as FilePath
from typing import Annotated

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.responses import FileResponse, StreamingResponse

from signaling.api.deps import ServicesDep, require_api_key
from signaling.api.problems import problem_doc
from signaling.api.recordings_view import represent
from signaling.api.schemas import (
    BULK_IDS_PATTERN,
    BulkDeleteFailure,
    Recording,
    RecordingBulkDeleted,
    RecordingList,
    RecordingShare,
    RecordingStart,
)
from signaling.errors import Invalid, MeetboxError
from signaling.models import RecordingStatus
from signaling.pagination import CURSOR_PATTERN, MAX_LIMIT
from signaling.recordings.access import ADMIN, Viewer
from signaling.recordings.files import download_name, zip_stream

__all__ = ["room_router", "router"]

router = APIRouter(
    prefix="/recordings",
    tags=["recordings"],
    responses={
        401: problem_doc("No or wrong API key."),
        403: problem_doc("This link does not give access to it."),
        404: problem_doc("No such recording."),
    },
)
room_router = APIRouter(prefix="/rooms", tags=["recordings"])

RecordingId = Annotated[str, Path(min_length=1, max_length=64)]
MAX_BULK_IDS = 100

LINK_HEADER = "X-Meetbox-Link"
SHARE_HEADER = "X-Meetbox-Share"


async def get_viewer(
    request: Request,
    services: ServicesDep,
    link: Annotated[
        str | None,
        Header(
            alias=LINK_HEADER,
            max_length=256,
            description="A room link's secret, instead of an API key.",
        ),
    ] = None,
    share: Annotated[
        str | None,
        Header(
            alias=SHARE_HEADER,
            max_length=256,
            description="A share link's secret: that one recording.",
        ),
    ] = None,
) -> Viewer:
    if link:
        return await services.recordings.viewer_for_link(link)
    recording_id = request.path_params.get("recording_id")
    if share and recording_id:
        return await services.recordings.viewer_for_share(recording_id, share)
    access = request.query_params.get("access")
    if (
        access
        and recording_id
        and await services.recordings.check_media_access(recording_id, access)
    ):
        return Viewer(shared_recording=recording_id)
    await require_api_key(request, services, request.headers.get("X-API-Key"))
    return ADMIN


ViewerDep = Annotated[Viewer, Depends(get_viewer)]


def _split_ids(ids: str) -> list[str]:
    wanted = list(dict.fromkeys(part.strip() for part in ids.split(",") if part.strip()))
    if not 1 <= len(wanted) <= MAX_BULK_IDS:
        raise Invalid(
            f"ids must name 1 to {MAX_BULK_IDS} recordings",
            errors=[{"loc": ["query", "ids"], "msg": "wrong number of ids"}],
        )
    return wanted


@room_router.post(
    "/{room_id}/recordings",
    status_code=201,
    response_model=Recording,
    summary="Start recording the room's meeting",
    description="Starts a recorder for the meeting in progress. 409 when there is none, when "
    "it is already being recorded, when recording is off for the room, or when the server "
    "runs as many recordings as it may (`--max-recordings`); 507 when the disk is nearly "
    "full. The recording is `starting` until the first frame is written, then `active`.",
    responses={
        404: problem_doc("No such room."),
        409: problem_doc("Cannot record now (see description)."),
        507: problem_doc("Not enough disk space."),
    },
)
async def start_recording(
    room_id: Annotated[str, Path(min_length=1, max_length=64)],
    services: ServicesDep,
    viewer: ViewerDep,
    body: RecordingStart | None = None,
) -> Recording:
    rec = await services.recordings.start(room_id, body, viewer)
    return represent(rec, viewer, services.recordings.links)


@router.get("", response_model=RecordingList, summary="List recordings, newest first")
async def list_recordings(
    services: ServicesDep,
    viewer: ViewerDep,
    room_id: Annotated[str | None, Query(max_length=64)] = None,
    status: Annotated[list[RecordingStatus] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
    cursor: Annotated[str | None, Query(max_length=512, pattern=CURSOR_PATTERN)] = None,
) -> RecordingList:
    items, next_cursor = await services.recordings.list(
        viewer, room_id, status or [], limit, cursor
    )
    links = services.recordings.links
    return RecordingList(
        items=[represent(r, viewer, links) for r in items], next_cursor=next_cursor
    )


@router.get(
    "/download",
    summary="Download several recordings as one zip",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/zip": {}}}},
)
async def download_zip(
    services: ServicesDep,
    viewer: ViewerDep,
    ids: Annotated[
        str, Query(min_length=1, max_length=13000, pattern=BULK_IDS_PATTERN, description="a,b,c")
    ],
) -> StreamingResponse:
    files: list[tuple[str, FilePath]] = []
    for recording_id in _split_ids(ids):
        rec, path = await services.recordings.media(recording_id, viewer)
        files.append((download_name(rec), path))
    return StreamingResponse(
        zip_stream(files),
        media_type="application/zip",
        headers={"Content-Disposition": 'attachment; filename="recordings.zip"'},
    )


@router.delete(
    "",
    response_model=RecordingBulkDeleted,
    summary="Delete several recordings",
    description="Each is deleted or listed in `failed` with why (under way, not found, ...).",
)
async def bulk_delete(
    services: ServicesDep,
    viewer: ViewerDep,
    ids: Annotated[
        str, Query(min_length=1, max_length=13000, pattern=BULK_IDS_PATTERN, description="a,b,c")
    ],
) -> RecordingBulkDeleted:
    deleted: list[str] = []
    failed: list[BulkDeleteFailure] = []
    for recording_id in _split_ids(ids):
        try:
            await services.recordings.delete(recording_id, viewer)
            deleted.append(recording_id)
        except MeetboxError as exc:
            failed.append(
                BulkDeleteFailure(
                    id=recording_id, status=exc.status, type=exc.slug, detail=exc.detail
                )
            )
    return RecordingBulkDeleted(deleted=deleted, failed=failed)


@router.get("/{recording_id}", response_model=Recording, summary="One recording")
async def get_recording(
    recording_id: RecordingId, services: ServicesDep, viewer: ViewerDep
) -> Recording:
    rec = await services.recordings.get(recording_id, viewer)
    return represent(rec, viewer, services.recordings.links)


@router.post(
    "/{recording_id}/stop",
    status_code=202,
    response_model=Recording,
    summary="Stop a recording",
    description="The recorder finishes its file; the status goes `ending`, then `complete`.",
    responses={409: problem_doc("It is not under way.")},
)
async def stop_recording(
    recording_id: RecordingId, services: ServicesDep, viewer: ViewerDep
) -> Recording:
    rec = await services.recordings.stop(recording_id, viewer)
    return represent(rec, viewer, services.recordings.links)


@router.delete(
    "/{recording_id}",
    status_code=204,
    summary="Delete a recording and its file",
    responses={409: problem_doc("It is under way: stop it first.")},
)
async def delete_recording(
    recording_id: RecordingId, services: ServicesDep, viewer: ViewerDep
) -> Response:
    await services.recordings.delete(recording_id, viewer)
    return Response(status_code=204)


@router.get(
    "/{recording_id}/media",
    summary="The MP4, for players (HTTP Range: 206 partial content)",
    response_class=FileResponse,
    responses={
        200: {"content": {"video/mp4": {}}},
        206: {"description": "The requested range."},
        409: problem_doc("Still under way."),
    },
)
async def media(recording_id: RecordingId, services: ServicesDep, viewer: ViewerDep) -> Response:
    _, path = await services.recordings.media(recording_id, viewer)
    return FileResponse(path, media_type="video/mp4", headers={"Cache-Control": "private"})


@router.get(
    "/{recording_id}/download",
    summary="The MP4 as an attachment",
    response_class=FileResponse,
    responses={200: {"content": {"video/mp4": {}}}, 409: problem_doc("Still under way.")},
)
async def download(recording_id: RecordingId, services: ServicesDep, viewer: ViewerDep) -> Response:
    rec, path = await services.recordings.media(recording_id, viewer)
    return FileResponse(
        path,
        media_type="video/mp4",
        filename=download_name(rec),
        headers={"Cache-Control": "private"},
    )


@router.post(
    "/{recording_id}/share",
    response_model=RecordingShare,
    summary="A share link (a new one each time: earlier ones stop working)",
    responses={409: problem_doc("Still under way.")},
)
async def share(
    recording_id: RecordingId, services: ServicesDep, viewer: ViewerDep
) -> RecordingShare:
    return RecordingShare(url=await services.recordings.share(recording_id, viewer))


@router.delete("/{recording_id}/share", status_code=204, summary="Revoke the share link")
async def unshare(recording_id: RecordingId, services: ServicesDep, viewer: ViewerDep) -> Response:
    await services.recordings.unshare(recording_id, viewer)
    return Response(status_code=204)
