"""Errors of the composition root: why a ``meetbox`` command could not start. The tree::

    MeetboxCommandError
    ├── ConfigError     (:mod:`meetbox.config`) a setting is missing or wrong; the message
    │                   names it
    └── DataDirInUse    (:mod:`meetbox.server`) the data dir is taken by another server, or
                        cannot be written

Errors of the parts it wires have their own roots: ``signaling.errors.SignalingError``,
``sfu.errors.SfuError`` and ``recorder.errors.RecorderError``.
"""

from __future__ import annotations

__all__ = ["MeetboxCommandError"]


class MeetboxCommandError(Exception):
    """Root of the errors a ``meetbox`` command stops on: it prints the message and exits
    non-zero (2 for a setting, 1 for the data dir)."""
