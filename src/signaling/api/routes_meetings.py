"""``/rooms/{id}/meeting`` (the live meeting) and ``/rooms/{id}/meetings`` (history)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict

from signaling.api.deps import ApiKeyAuth, ServicesDep
from signaling.api.problems import problem_doc
from signaling.api.schemas import PastMeeting
from signaling.api.views import past_meeting_out
from signaling.errors import NoMeeting
from signaling.pagination import CURSOR_PATTERN, MAX_LIMIT, encode_cursor
from signaling.wire import ByeReason, MediaKind, ParticipantInfo, RecordingState

__all__ = ["router"]

router = APIRouter(
    prefix="/rooms/{room_id}",
    tags=["meetings"],
    responses={
        401: problem_doc("No or wrong API key."),
        404: problem_doc("No such room, meeting or participant."),
    },
)

RoomId = Annotated[str, Path(min_length=1, max_length=128)]
ParticipantId = Annotated[str, Path(min_length=1, max_length=64)]


class LiveMeetingOut(BaseModel):
    id: str
    room_id: str
    started_at: datetime
    participants: list[ParticipantInfo]
    #: The recording under way (starting, active or ending), if any.
    recording: RecordingState | None = None


class MuteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    kind: MediaKind = MediaKind.AUDIO


class MeetingHistory(BaseModel):
    items: list[PastMeeting]
    next_cursor: str | None


#: A room without a meeting in progress is a 409 (as starting a recording then is): 404 says
#: that the room itself does not exist.
_NO_MEETING: dict[int | str, dict[str, Any]] = {
    409: problem_doc("The room has no meeting in progress (`no-meeting`).")
}


@router.get(
    "/meeting",
    response_model=LiveMeetingOut,
    summary="The live meeting and who is in",
    responses=_NO_MEETING,
)
async def get_meeting(room_id: RoomId, services: ServicesDep, _: ApiKeyAuth) -> LiveMeetingOut:
    await services.rooms.get(room_id)
    live = services.meetings.live(room_id)
    if live is None:
        raise NoMeeting(f"room {room_id!r} has no meeting in progress")
    return LiveMeetingOut(
        id=live.core.id,
        room_id=room_id,
        started_at=live.core.started_at,
        participants=live.core.snapshot(),
        recording=live.recording,
    )


@router.delete(
    "/meeting", status_code=204, summary="End the meeting for everyone", responses=_NO_MEETING
)
async def end_meeting(room_id: RoomId, services: ServicesDep, _: ApiKeyAuth) -> Response:
    await services.rooms.get(room_id)
    if not await services.meetings.end(room_id, ByeReason.ENDED_BY_API):
        raise NoMeeting(f"room {room_id!r} has no meeting in progress")
    return Response(status_code=204)


@router.delete(
    "/meeting/participants/{participant_id}",
    status_code=204,
    summary="Kick a participant",
    responses=_NO_MEETING,
    description="The participant is closed with bye reason `kicked` and cannot rejoin this "
    "meeting with the same token. `rotate_links=true` also gives their role's link a new "
    "secret, so the old link cannot bring them back either.",
)
async def kick(
    room_id: RoomId,
    participant_id: ParticipantId,
    services: ServicesDep,
    _: ApiKeyAuth,
    rotate_links: Annotated[bool, Query()] = False,
) -> Response:
    await services.meetings.kick(room_id, participant_id, rotate_links)
    return Response(status_code=204)


@router.post(
    "/meeting/participants/{participant_id}/mute",
    status_code=204,
    summary="Mute a participant's audio, video or screen",
    responses=_NO_MEETING,
)
async def mute(
    room_id: RoomId,
    participant_id: ParticipantId,
    services: ServicesDep,
    _: ApiKeyAuth,
    body: MuteRequest | None = None,
) -> Response:
    await services.meetings.mute(room_id, participant_id, (body or MuteRequest()).kind)
    return Response(status_code=204)


@router.get("/meetings", response_model=MeetingHistory, summary="Past and live meetings")
async def history(
    room_id: RoomId,
    services: ServicesDep,
    _: ApiKeyAuth,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 20,
    cursor: Annotated[str | None, Query(max_length=512, pattern=CURSOR_PATTERN)] = None,
) -> MeetingHistory:
    page = await services.meetings.history(room_id, limit, cursor)
    return MeetingHistory(
        items=[past_meeting_out(m) for m in page.items],
        next_cursor=encode_cursor(page.next_after) if page.next_after else None,
    )
