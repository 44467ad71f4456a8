"""Recording meetings into MP4 files with PyAV, in a process of its own (``python -m
recorder``): the only place in meetbox that decodes media.

- :mod:`recorder.layout`, :mod:`recorder.roster`, :mod:`recorder.timeline`,
  :mod:`recorder.mixer`: sans-I/O decisions (tiles, who is who, the clock, the audio mix).
- :mod:`recorder.compositor`: the latest frames into one yuv420p picture.
- :mod:`recorder.writer`, :mod:`recorder.worker`: H.264 + AAC fragmented MP4 in a thread.
- :mod:`recorder.status`: writes the status lines and the ``<output>.json`` sidecar of the
  contract the server owns (:mod:`signaling.recordings.contract`).
- :mod:`recorder.app`, :mod:`recorder.cli`: the asyncio adapter and the command line.
- :mod:`recorder.errors`: the package's exceptions (root :class:`recorder.errors.RecorderError`).

The server never imports this package: it launches ``python -m recorder`` and reads its
reports through :mod:`signaling.recordings.contract`.
"""

__all__: list[str] = []
