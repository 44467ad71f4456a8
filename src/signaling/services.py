"""Builds the signaling services on an open store: what the HTTP app and the CLI share."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from signaling.accounts.service import Accounts, FirstStart
from signaling.accounts.themes import ThemeService
from signaling.clock import Clock, SystemClock
from signaling.ice import IceConfig
from signaling.meetings.core import DEFAULT_EMPTY_TIMEOUT
from signaling.meetings.service import MeetingService
from signaling.placement.local import LocalPlacement
from signaling.placement.seam import LiveCommand, Placement, StartRecording, StopRecording
from signaling.recordings.service import RecorderLauncher, RecordingService, RecordingSettings
from signaling.rooms.service import RoomService
from signaling.rooms.sweeper import Sweeper
from signaling.store import Store
from signaling.webhooks.service import WebhookService

__all__ = ["Services", "build_services"]


@dataclass
class Services:
    store: Store
    clock: Clock
    accounts: Accounts
    rooms: RoomService
    sweeper: Sweeper
    meetings: MeetingService
    webhooks: WebhookService
    themes: ThemeService
    recordings: RecordingService
    #: Where meetings and their media live; live-meeting commands go through it.
    placement: Placement
    #: Signs and verifies participant tokens.
    token_key: bytes
    #: STUN/TURN servers handed to clients by ``POST /join``.
    ice: IceConfig = field(default_factory=IceConfig)
    #: What the first start created, to be shown once; ``None`` on later starts.
    first_start: FirstStart | None = None
    #: Seconds a new WebSocket has to send ``join``.
    admission_timeout: float = 10.0

    @property
    def draining(self) -> bool:
        """Set on shutdown: new work is refused (503, ``server_shutting_down``). One flag,
        the meeting service's, so a join that got past the HTTP or WebSocket edge before
        the signal is refused where the meeting would start."""
        return self.meetings.shutting_down

    @draining.setter
    def draining(self, value: bool) -> None:
        self.meetings.shutting_down = value


async def build_services(
    store: Store,
    *,
    public_url: str,
    clock: Clock | None = None,
    initial_api_key: str | None = None,
    initial_admin_password: str | None = None,
    empty_timeout: timedelta = DEFAULT_EMPTY_TIMEOUT,
    ice: IceConfig | None = None,
    public_ip: str | None = None,
    webhook_hosts: tuple[str, ...] = (),
    recordings: RecordingSettings | None = None,
    recorder_launcher: RecorderLauncher | None = None,
    placement: Placement | None = None,
) -> Services:
    """``recordings`` defaults to a ``recordings/`` folder next to the store's file."""
    clock = clock or SystemClock()
    accounts = Accounts(store, clock)
    first_start = await accounts.bootstrap(initial_api_key, initial_admin_password)
    sweeper = Sweeper(clock)
    token_key = await accounts.token_signing_key()
    rooms = RoomService(
        store, clock, public_url=public_url, token_key=token_key, on_expiry_changed=sweeper.poke
    )
    placement = placement or LocalPlacement()
    meetings = MeetingService(
        store,
        rooms,
        clock,
        empty_timeout=empty_timeout,
        public_ip=public_ip,
        placement=placement,
    )
    rooms.on_deleted = meetings.room_deleted
    webhooks = WebhookService(store, clock, allowed_hosts=webhook_hosts)
    if recordings is None:
        recordings = RecordingSettings(
            directory=Path(getattr(store, "path", ".")).parent / "recordings"
        )
    recording_service = RecordingService(
        store,
        rooms,
        meetings,
        clock,
        recordings,
        token_key=token_key,
        public_url=public_url,
        launcher=recorder_launcher,
    )
    placement.serve(_commands(meetings, recording_service))
    meetings.on_started = recording_service.meeting_started
    meetings.on_ended = recording_service.meeting_ended
    rooms.recordings = recording_service
    rooms.outbox_written = meetings.outbox_written = webhooks.wake
    recording_service.outbox_written = webhooks.wake
    await recording_service.recover()
    # Meetings live in this process only: any left open by a previous one are over.
    await meetings.close_leftovers()
    await rooms.recover_after_restart()
    return Services(
        store=store,
        clock=clock,
        accounts=accounts,
        rooms=rooms,
        sweeper=sweeper,
        meetings=meetings,
        webhooks=webhooks,
        themes=ThemeService(store, clock),
        recordings=recording_service,
        placement=placement,
        token_key=token_key,
        ice=ice or IceConfig(),
        first_start=first_start,
    )


def _commands(meetings: MeetingService, recordings: RecordingService) -> Any:
    """The placement's handler: commands for the meetings hosted in this process."""

    async def carry_out(command: LiveCommand[Any]) -> Any:
        if isinstance(command, StartRecording | StopRecording):
            viewer = {} if command.viewer is None else {"viewer": command.viewer}
            if isinstance(command, StartRecording):
                return await recordings.start(command.room_id, command.spec, **viewer)
            if command.recording_id is not None:
                return await recordings.stop(command.recording_id, **viewer)
            return await recordings.stop_room(command.room_id, **viewer)
        return await meetings.carry_out(command)

    return carry_out
