"""FastAPI dependencies: the services, and API-key authentication."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from ..errors import ServiceUnavailable
from ..models import ApiKeyRecord
from ..services import Services

__all__ = ["ApiKeyAuth", "ServicesDep", "get_services"]

_api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="An API key (see `meetbox api-key`)."
)


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def require_api_key(
    services: ServicesDep, key: Annotated[str | None, Security(_api_key_header)]
) -> ApiKeyRecord:
    record = await services.accounts.authenticate(key)
    if services.draining:
        raise ServiceUnavailable("the server is shutting down")
    return record


ApiKeyAuth = Annotated[ApiKeyRecord, Depends(require_api_key)]
