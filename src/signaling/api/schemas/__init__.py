"""Pydantic models for the REST edge, one module per concept: request bodies are validated
here, strictly; responses are built from records by :mod:`signaling.api.views`.

Every request model forbids unknown keys (:class:`~signaling.api.schemas.common.Input`), so a
typo in a config key is a 422, not silently ignored. Checks that need the clock
(``auto_delete_at`` bounds) live in the room service. Every name of the modules below is
importable from here too (as asyncio's package does it: each module's ``__all__`` is the one
list of its names).
"""

from signaling.api.schemas import common, join, keys, meetings, recordings, rooms, themes, webhooks
from signaling.api.schemas.common import *  # noqa: F403
from signaling.api.schemas.join import *  # noqa: F403
from signaling.api.schemas.keys import *  # noqa: F403
from signaling.api.schemas.meetings import *  # noqa: F403
from signaling.api.schemas.recordings import *  # noqa: F403
from signaling.api.schemas.rooms import *  # noqa: F403
from signaling.api.schemas.themes import *  # noqa: F403
from signaling.api.schemas.webhooks import *  # noqa: F403

__all__ = [
    *common.__all__,
    *join.__all__,
    *keys.__all__,
    *meetings.__all__,
    *recordings.__all__,
    *rooms.__all__,
    *themes.__all__,
    *webhooks.__all__,
]
