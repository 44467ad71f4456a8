"""A recording as the REST API shows it (the :class:`Recording` schema), for one viewer.

The ``recording.*`` webhook events carry the same body, an administrator's view: the
recording service builds their payload with :func:`admin_view` (in ``RecordingService._save``,
its one call into the edge), so the two cannot drift apart.
"""

from __future__ import annotations

from typing import Protocol

from signaling.api.schemas import Recording, RecordingLayout
from signaling.models import RecordingRecord, Role
from signaling.recordings.access import ADMIN, Viewer

__all__ = ["MediaLinks", "admin_view", "represent"]


class MediaLinks(Protocol):
    """Where recordings are served, and the access parameters players get
    (:class:`signaling.recordings.gate.Gate` is one: ``RecordingService.links``)."""

    @property
    def public_url(self) -> str: ...

    def media_access(
        self,
        recording_id: str,
        *,
        share_hash: str | None = None,
        link: tuple[Role, str] | None = None,
    ) -> str: ...


def _media_query(rec: RecordingRecord, viewer: Viewer, links: MediaLinks) -> str | None:
    """What the viewer's media URLs end with; ``None``: they get none."""
    if viewer.admin:
        return ""
    # A share link's access ends with the share (revoked or replaced).
    if viewer.shared_recording is not None and rec.share_hash is not None:
        return f"?access={links.media_access(rec.id, share_hash=rec.share_hash)}"
    if viewer.role is not None and viewer.link_hash is not None:
        link = (viewer.role, viewer.link_hash)
        return f"?access={links.media_access(rec.id, link=link)}"
    return None


def represent(rec: RecordingRecord, viewer: Viewer, links: MediaLinks) -> Recording:
    """``rec`` for ``viewer``: media and download URLs once it has ended, with an access
    parameter for anyone but an administrator."""
    media = download = None
    if not rec.status.live:
        query = _media_query(rec, viewer, links)
        if query is not None:
            base = f"{links.public_url}/api/v1/recordings/{rec.id}"
            media, download = f"{base}/media{query}", f"{base}/download{query}"
    return Recording(
        id=rec.id,
        room_id=rec.room_id,
        room_name=rec.room_name,
        meeting_id=rec.meeting_id,
        status=rec.status.value,
        layout=RecordingLayout(rec.layout),
        width=rec.width,
        height=rec.height,
        created_at=rec.created_at,
        started_at=rec.started_at,
        ended_at=rec.ended_at,
        duration_s=rec.duration_s,
        size_bytes=rec.size_bytes,
        end_reason=rec.end_reason,
        error=rec.error,
        shared=rec.share_hash is not None,
        media_url=media,
        download_url=download,
    )


def admin_view(rec: RecordingRecord, links: MediaLinks) -> Recording:
    """What a ``recording.*`` webhook event carries."""
    return represent(rec, ADMIN, links)
