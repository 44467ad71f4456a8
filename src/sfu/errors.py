"""The SFU's exceptions.

- :class:`MediaError`: the root; an offer, answer or candidate the SFU cannot take, with the
  ``code`` that goes into the client's ``error`` reply.

:class:`sfu.ports.PortsExhausted` is an ``OSError`` and stays one: it is raised inside
aioice's socket binding, which handles ``OSError``; a full range reaches the client as the
``no_media_ports`` :class:`MediaError`.
"""

from __future__ import annotations

__all__ = ["MediaError"]


class MediaError(Exception):
    """An offer or answer the SFU cannot take; ``code`` goes into the ``error`` reply."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
