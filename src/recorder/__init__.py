"""Compositing meetings into MP4 files with PyAV, in a process of its own (the recorder issue)."""

__all__: list[str] = []
