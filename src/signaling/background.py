"""Work a caller starts and does not wait for (a media close, a media failure's leave, a
recorder's follow-up): tracked, its failure logged, and waited for at shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

__all__ = ["Background"]


class Background:
    """A set of tasks that nobody awaits one by one."""

    def __init__(self, what: str, logger: logging.Logger) -> None:
        #: Said when one fails ("closing media failed").
        self._what = what
        self._logger = logger
        self._tasks: set[asyncio.Task[None]] = set()

    def spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self._logger.error("%s", self._what, exc_info=task.exception())

    def __len__(self) -> int:
        return len(self._tasks)

    async def wait(self) -> None:
        """Until every task (those started meanwhile too) is done; bound it with a timeout."""
        while self._tasks:
            await asyncio.wait(set(self._tasks))
