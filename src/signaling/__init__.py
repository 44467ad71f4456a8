"""Everything people and API clients talk to: the HTTP app, rooms, links, roles, the store.

Must not touch RTP (that is :mod:`sfu`).
"""

from .clock import Clock, FakeClock, SystemClock
from .errors import MeetboxError
from .services import Services, build_services
from .tokens import ParticipantClaims, verify_participant_token

__all__ = [
    "Clock",
    "FakeClock",
    "MeetboxError",
    "ParticipantClaims",
    "Services",
    "SystemClock",
    "build_services",
    "verify_participant_token",
]
