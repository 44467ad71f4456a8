"""What the SFU tells the rest of the server: the tracks it relays (:class:`TrackInfo`) and
the :class:`MediaListener` a :class:`~sfu.room.MediaRoom` reports to."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["MediaListener", "TrackInfo"]


@dataclass(frozen=True, slots=True)
class TrackInfo:
    """A published track as others see it. ``id`` is also the msid track id in the
    subscriber's SDP, so a client can tell whose track arrived."""

    id: str
    participant_id: str
    kind: str
    source: str


class MediaListener(Protocol):
    def subscribe_offer(self, participant_id: str, sdp: str, tracks: dict[str, str]) -> None:
        """An offer for the participant's subscriber connection; ``tracks`` maps each mid
        that carries a track to the track's id (a mid is reused once its track is gone)."""

    def track_published(self, track: TrackInfo) -> None: ...

    def track_unpublished(self, track: TrackInfo) -> None: ...

    def active_speaker(self, participant_id: str | None) -> None: ...

    def media_failed(self, participant_id: str) -> None:
        """A peer connection of ``participant_id`` failed (ICE consent lost: the client's
        UDP went silent for ~30 s, or connectivity checks never succeeded). Called once."""
