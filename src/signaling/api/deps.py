"""FastAPI dependencies: the services, and API-key authentication."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from signaling.errors import Forbidden, ShuttingDown, Unauthorized
from signaling.models import ApiKeyRecord
from signaling.services import Services

__all__ = [
    "ADMIN_COOKIE",
    "CSRF_HEADER",
    "ApiKeyAuth",
    "ServicesDep",
    "authenticate",
    "get_services",
]

_api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="An API key (see `meetbox api-key`)."
)


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


async def authenticate(services: Services, key: str | None) -> ApiKeyRecord:
    """The record of the API key a request sent; one without a key is told how to send it."""
    if not key:
        raise Unauthorized("send an API key in the X-API-Key header")
    return await services.accounts.authenticate(key)


#: The admin console's session cookie (HttpOnly, SameSite=Strict).
ADMIN_COOKIE = "meetbox_admin"
#: Requests that change something with the admin cookie must carry this header: a page on
#: another site cannot send it without a CORS preflight, which meetbox never grants.
CSRF_HEADER = "X-Meetbox-Console"
_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


async def require_api_key(
    request: Request,
    services: ServicesDep,
    key: Annotated[str | None, Security(_api_key_header)],
) -> ApiKeyRecord:
    """An API key; or, from the admin console, its session cookie."""
    session = request.cookies.get(ADMIN_COOKIE)
    if not key and session is not None:
        now = services.clock.now()
        if await services.accounts.admin_session_expiry(session, now) is None:
            raise Unauthorized("the admin console session has expired; log in again")
        if request.method not in _SAFE_METHODS and request.headers.get(CSRF_HEADER) != "1":
            raise Forbidden(f"requests from the admin console carry {CSRF_HEADER}: 1")
        record = ApiKeyRecord("admin", "admin console", "console", "", now)
    else:
        record = await authenticate(services, key)
    if services.draining:
        raise ShuttingDown()
    return record


ApiKeyAuth = Annotated[ApiKeyRecord, Depends(require_api_key)]
