"""Errors of the recorder. The tree::

    RecorderError
    └── RecordingFailed   (:mod:`recorder.app`) the recording cannot go on: reported as the
                          ``failed`` event, its message is for people

A bad command line is the contract's ``CommandLineError`` (usage, exit status 2).
"""

from __future__ import annotations

__all__ = ["RecorderError", "RecordingFailed"]


class RecorderError(Exception):
    """Root of the errors the recorder raises."""


class RecordingFailed(RecorderError):
    """The recording cannot go on; the message is for people."""
