"""Fire-and-forget tasks of the media path (RTCP sends, renegotiations, relayed sends): their
failures are logged, never left unretrieved."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

__all__ = ["log_failure"]

logger = logging.getLogger("sfu")


def log_failure(task: asyncio.Future[Any]) -> None:
    """A done callback: log what the task raised, if anything."""
    if not task.cancelled() and task.exception() is not None:
        logger.debug("background task failed: %r", task.exception())
