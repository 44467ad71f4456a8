"""Recording meetings into MP4 files with PyAV, in a process of its own (``python -m
recorder``): the only place in meetbox that decodes media.

- :mod:`recorder.layout`, :mod:`recorder.roster`, :mod:`recorder.timeline`,
  :mod:`recorder.mixer`: sans-I/O decisions (tiles, who is who, the clock, the audio mix).
- :mod:`recorder.compositor`: the latest frames into one yuv420p picture.
- :mod:`recorder.writer`, :mod:`recorder.worker`: H.264 + AAC fragmented MP4 in a thread.
- :mod:`recorder.status`: the JSON-lines status protocol and the ``<output>.json`` sidecar.
- :mod:`recorder.app`, :mod:`recorder.cli`: the asyncio adapter and the command line.

The package imports nothing heavy itself, so the server can use :mod:`recorder.status`.
"""

__all__: list[str] = []
