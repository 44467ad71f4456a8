"""The HTTP edge: FastAPI routes, problem documents, limits."""

from signaling.api.app import API_PREFIX, create_app

__all__ = ["API_PREFIX", "create_app"]
