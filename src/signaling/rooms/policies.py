"""What deleting a room does with its meeting and its recordings, and what came of it."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["DeleteOutcome", "DeletePolicyMeeting", "DeletePolicyRecordings"]


# No docstrings on these two: the OpenAPI document shows a class docstring as the schema's
# description.
#: A meeting in progress: end it (``force``), wait for it to end, or refuse.
class DeletePolicyMeeting(StrEnum):
    FORCE = "force"
    WHEN_MEETING_ENDS = "when_meeting_ends"
    FAIL = "fail"


#: The room's recordings: delete them too, keep them, or refuse while there are any.
class DeletePolicyRecordings(StrEnum):
    FORCE = "force"
    KEEP = "keep"
    FAIL = "fail"


class DeleteOutcome(StrEnum):
    DELETED = "deleted"
    SCHEDULED = "scheduled"
