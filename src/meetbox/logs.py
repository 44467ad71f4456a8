"""Logging for the server and its media workers: human lines or JSON lines on stderr.

Imports nothing but the standard library: a media worker configures its logging with it
without loading the web stack.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any

__all__ = ["configure_logging"]


class _JsonFormatter(logging.Formatter):
    def __init__(self, process: str) -> None:
        super().__init__()
        self._process = process

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if self._process:
            entry["process"] = self._process
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def _without_query(record: logging.LogRecord) -> bool:
    """Access log lines without query strings: media URLs carry access parameters."""
    args = record.args
    if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
        record.args = (args[0], args[1], args[2].split("?", 1)[0], args[3], args[4])
    return True


def configure_logging(log_format: str, level: str, process: str = "") -> None:
    """``process`` names the process in human lines (``worker-1``); JSON lines carry it as
    a field."""
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(_JsonFormatter(process))
    else:
        who = f"{process} " if process else ""
        handler.setFormatter(
            logging.Formatter(f"%(asctime)s %(levelname)-7s {who}%(name)s: %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    logging.getLogger("uvicorn.access").addFilter(_without_query)
    root.setLevel(level.upper())
