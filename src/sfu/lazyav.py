"""aiortc without PyAV until a codec runs: a forwarding process never loads libav*.

aiortc imports PyAV (``av``: libavcodec, libvpx, libopus, libx264/5, gnutls...) at import
time, from ``aiortc.mediastreams``, ``aiortc.rtp``, ``aiortc.codecs`` and the RTP sender
and receiver, but only *uses* it to decode or encode (codec contexts, frames, packets), which
the SFU never does. Loaded, PyAV is about 16 MiB of a process's 64 MiB RSS (measured by
``bench/worker_memory.py``); a media worker per core pays it once each.

:func:`install` (called by ``sfu/__init__.py``, so before any ``sfu`` module imports aiortc)
puts a one-shot import hook on ``sys.meta_path``: while ``aiortc`` itself executes, the few
names it takes from PyAV (:data:`DEFERRED`) are stand-ins, and the stand-in modules leave
``sys.modules`` when the import ends (a later ``import av`` anywhere is the real PyAV). A
stand-in class forwards every use to the real class, importing PyAV on the first one:
calling it (``Packet(data)``), its attributes (``CodecContext.create``), and
``isinstance`` / ``issubclass`` (False while PyAV is not loaded: nothing can be an instance
of a class that does not exist yet). An attribute of the stand-in ``av`` module other than
those names (``av.FFmpegError``, ``av.video``) is the real one, PyAV imported then.

What this assumes of aiortc (pinned exactly; ``tests/sfu/test_internals.py`` checks it on
the installed version): the PyAV names its modules bind at import time are the ones in
:data:`DEFERRED`, and they are used at import time only in annotations. A name not listed
is not an error: PyAV is then imported for real, and the test fails (the saving is lost,
nothing else). Nothing happens if ``av`` or ``aiortc`` is already imported.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import threading
import types
from collections.abc import Sequence
from typing import Any

__all__ = ["DEFERRED", "install", "loaded"]

#: The PyAV names aiortc binds at import time: module -> class names.
DEFERRED: dict[str, tuple[str, ...]] = {
    "av": ("AudioFrame", "AudioResampler", "CodecContext", "Packet", "VideoFrame"),
    "av.frame": ("Frame",),
    "av.packet": ("Packet",),
    "av.video": (),
    "av.video.codeccontext": ("VideoCodecContext",),
}

_lock = threading.RLock()


def loaded() -> bool:
    """Whether the real PyAV is imported in this process."""
    module = sys.modules.get("av")
    return module is not None and not isinstance(module, _StandIn)


class _Deferred(type):
    """The metaclass of a stand-in class: every use goes to the real class."""

    _module: str
    _name: str
    _resolved: Any

    def _real(cls) -> Any:
        real = cls.__dict__.get("_resolved")
        if real is None:
            real = getattr(_import_real(cls._module), cls._name)
            type.__setattr__(cls, "_resolved", real)
        return real

    def __repr__(cls) -> str:
        return f"<deferred {cls._module}.{cls._name}>"

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:
        return cls._real()(*args, **kwargs)

    def __getattr__(cls, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)  # typing and inspect probe these: no import for them
        return getattr(cls._real(), name)

    def __instancecheck__(cls, obj: Any) -> bool:
        return loaded() and isinstance(obj, cls._real())

    def __subclasscheck__(cls, sub: type) -> bool:
        return loaded() and issubclass(sub, cls._real())


def _stand_in_class(module: str, name: str) -> type:
    return _Deferred(name, (), {"_module": module, "_name": name, "__module__": module})


class _StandIn(types.ModuleType):
    """A stand-in PyAV module: the deferred names, anything else from the real module."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        for attr in DEFERRED[name]:
            setattr(self, attr, _stand_in_class(name, attr))

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__") and name.endswith("__"):
            raise AttributeError(name)
        return getattr(_import_real(self.__name__), name)


def _import_real(name: str) -> types.ModuleType:
    """The real module ``name``, the stand-ins taken out of the way first."""
    with _lock:
        for key in DEFERRED:
            if isinstance(sys.modules.get(key), _StandIn):
                del sys.modules[key]
        return importlib.import_module(name)


class _Loader(importlib.abc.Loader):
    """aiortc's own loader, run with the stand-ins in ``sys.modules``."""

    def __init__(self, loader: importlib.abc.Loader) -> None:
        self._loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> types.ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: types.ModuleType) -> None:
        if "av" in sys.modules:  # imported meanwhile: nothing to save
            self._loader.exec_module(module)
            return
        for name in DEFERRED:
            sys.modules[name] = _StandIn(name)
        try:
            self._loader.exec_module(module)
        finally:
            with _lock:
                for name in DEFERRED:
                    if isinstance(sys.modules.get(name), _StandIn):
                        del sys.modules[name]


class _Finder(importlib.abc.MetaPathFinder):
    """Finds ``aiortc`` once, through the other finders, and wraps its loader."""

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: types.ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != "aiortc":
            return None
        _uninstall()
        spec: importlib.machinery.ModuleSpec | None = None
        for finder in sys.meta_path:
            find = getattr(finder, "find_spec", None)
            spec = find(fullname, path, target) if find is not None else None
            if spec is not None:
                break
        if spec is None or spec.loader is None or "av" in sys.modules:
            return spec
        spec.loader = _Loader(spec.loader)
        return spec


def _uninstall() -> None:
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _Finder)]


def install() -> bool:
    """Defer PyAV when aiortc is imported next; False (and nothing done) if ``av`` or
    ``aiortc`` is already imported."""
    if "av" in sys.modules or "aiortc" in sys.modules:
        return False
    if not any(isinstance(f, _Finder) for f in sys.meta_path):
        sys.meta_path.insert(0, _Finder())
    return True
