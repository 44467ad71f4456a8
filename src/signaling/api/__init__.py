"""The HTTP edge: FastAPI routes, problem documents, limits.

Importing this package does not import the app (and so every service under it):
:mod:`signaling.api.schemas` and :mod:`signaling.api.views`, which the webhook events use, are
importable on their own. ``create_app`` and ``API_PREFIX`` load :mod:`signaling.api.app` on
first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from signaling.api.app import API_PREFIX, create_app

__all__ = ["API_PREFIX", "create_app"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from signaling.api import app

        return getattr(app, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
