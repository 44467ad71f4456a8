"""What an SDP offer may contain, and what our own SDP shows.

:func:`check_offer` refuses an offer aiortc would take silently but cannot use;
:func:`advertise_public_ip` rewrites our host candidates for a server behind a 1:1 NAT;
:func:`source_for` names what a published m-line carries. Pure: text in, text out.
"""

from __future__ import annotations

from aiortc.sdp import SessionDescription

from sfu.errors import MediaError

__all__ = [
    "MAX_PUBLISHED_TRACKS",
    "SOURCES",
    "URI_ABS_SEND_TIME",
    "URI_AUDIO_LEVEL",
    "URI_MID",
    "advertise_public_ip",
    "check_offer",
    "has_candidates",
    "source_for",
]

#: Tracks one participant may publish at once (microphone, camera, screen, screen audio).
MAX_PUBLISHED_TRACKS = 4
SOURCES = ("microphone", "camera", "screen", "screen_audio")
URI_MID = "urn:ietf:params:rtp-hdrext:sdes:mid"
URI_ABS_SEND_TIME = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
URI_AUDIO_LEVEL = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"


def check_offer(text: str) -> None:
    """Refuse an SDP offer aiortc would take silently but cannot use: no media, too many
    media sections, no DTLS fingerprint or ICE credentials."""
    try:
        description = SessionDescription.parse(text)
    except Exception:
        raise MediaError("invalid_sdp", "the offer is not valid SDP") from None
    media = [m for m in description.media if m.kind in ("audio", "video")]
    if not media:
        raise MediaError("invalid_sdp", "the offer has no audio or video section")
    if len(description.media) > MAX_PUBLISHED_TRACKS + 1:
        raise MediaError(
            "too_many_tracks", f"at most {MAX_PUBLISHED_TRACKS} tracks may be published"
        )
    for section in media:
        if section.dtls is None or not section.dtls.fingerprints:
            raise MediaError("invalid_sdp", "the offer has no DTLS fingerprint")
        if section.ice is None or not section.ice.usernameFragment or not section.ice.password:
            raise MediaError("invalid_sdp", "the offer has no ICE credentials")
        formats = [*section.fmt, *(c.payloadType for c in section.rtp.codecs)]
        if any(not isinstance(pt, int) or not 0 <= pt <= 127 for pt in formats):
            raise MediaError("invalid_sdp", "payload types must be between 0 and 127")


def source_for(kind: str, named: str | None) -> str:
    """What a published track of ``kind`` carries: the source the client named for its
    m-line if it is one of :data:`SOURCES`, else the microphone or the camera."""
    source = named or ("microphone" if kind == "audio" else "camera")
    if source not in SOURCES:
        source = "camera" if kind == "video" else "microphone"
    return source


def advertise_public_ip(sdp: str, public_ip: str | None) -> str:
    """Our SDP with host candidates (and ``c=`` lines) showing ``public_ip``: for a server
    behind a 1:1 NAT or a cloud firewall that forwards the RTC ports unchanged."""
    if not public_ip:
        return sdp
    family = "IP6" if ":" in public_ip else "IP4"
    lines = []
    for line in sdp.split("\r\n"):
        if line.startswith("a=candidate:"):
            fields = line.split(" ")
            if len(fields) >= 8 and fields[6] == "typ" and fields[7] == "host":
                fields[4] = public_ip
                line = " ".join(fields)
        elif line.startswith("c=IN "):
            line = f"c=IN {family} {public_ip}"
        lines.append(line)
    return "\r\n".join(lines)


def has_candidates(sdp: str) -> bool:
    """Whether our SDP offers any candidate (none: no free media port)."""
    return "\r\na=candidate:" in sdp
