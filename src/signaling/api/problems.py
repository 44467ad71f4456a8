"""RFC 9457 problem documents for every error the HTTP app returns."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from signaling.errors import InsufficientStorage, MeetboxError
from signaling.store import StoreFull

__all__ = [
    "PROBLEM_TYPE_BASE",
    "install_problem_handlers",
    "problem_doc",
    "problem_response",
]

logger = logging.getLogger(__name__)

PROBLEM_TYPE_BASE = "urn:meetbox:problem:"
MEDIA_TYPE = "application/problem+json"


def problem_doc(description: str) -> dict[str, Any]:
    """An OpenAPI response entry for a problem document (both media types are listed, as
    clients that ask for ``application/json`` get the same body)."""
    from signaling.api.schemas import Problem

    return {
        "model": Problem,
        "description": description,
        "content": {"application/problem+json": {}},
    }


_GENERIC = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Unauthorized"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    406: ("not-acceptable", "Not acceptable"),
    413: ("payload-too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("validation-error", "Validation failed"),
}


def problem_response(
    status: int,
    slug: str,
    title: str,
    detail: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
    }
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def _clean_errors(errors: Any) -> list[dict[str, Any]]:
    """Pydantic errors without the offending input (it may be huge, or a secret)."""
    return [
        {"loc": list(err.get("loc", ())), "msg": str(err.get("msg", "")), "type": err.get("type")}
        for err in errors
    ]


#: Methods the API uses, probed when a path outside the OpenAPI document answers 405.
_METHODS = ("DELETE", "GET", "PATCH", "POST", "PUT")


def _documented_methods(app: Any, path: str) -> list[str] | None:
    """The methods the OpenAPI document gives ``path``, concrete paths before templated ones
    (as OpenAPI matches them: ``/recordings/download`` is not ``/recordings/{id}``)."""
    best: tuple[int, list[str]] | None = None
    for template, operations in app.openapi().get("paths", {}).items():
        regex = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(regex, path):
            params = template.count("{")
            if best is None or params < best[0]:
                best = (params, sorted(m.upper() for m in operations))
    return None if best is None else best[1]


def _allowed_methods(request: Request) -> str:
    """Every method the request's path answers to. (Starlette's own 405 named only the first
    route that matched the path, so ``Allow`` on ``/rooms`` hid ``GET`` and ``DELETE``.)"""
    documented = _documented_methods(request.app, request.url.path)
    if documented is not None:
        return ", ".join(documented)
    routes = request.app.router.routes
    allowed = []
    for method in _METHODS:
        scope = {**request.scope, "method": method}
        if any(route.matches(scope)[0] is Match.FULL for route in routes):
            allowed.append(method)
    return ", ".join(allowed)


def _is_unparseable_body(errors: list[dict[str, Any]]) -> bool:
    return any(err.get("type") == "json_invalid" for err in errors)


def install_problem_handlers(app: FastAPI) -> None:
    async def on_meetbox_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, MeetboxError)
        headers = dict(exc.headers)
        if exc.status == 401:
            headers["WWW-Authenticate"] = 'ApiKey header="X-API-Key"'
        return problem_response(
            exc.status, exc.slug, exc.title, exc.detail, headers=headers or None, **exc.extra
        )

    async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = _clean_errors(exc.errors())
        if _is_unparseable_body(errors):
            return problem_response(
                400, "invalid-json", "Invalid JSON", "the body is not valid JSON", errors=errors
            )
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(part) for part in first["loc"][1:]) or "request"
        return problem_response(
            422, "validation-error", "Validation failed", f"{where}: {first['msg']}", errors=errors
        )

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        slug, title = _GENERIC.get(exc.status_code, ("http-error", "HTTP error"))
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = _allowed_methods(request)
        return problem_response(exc.status_code, slug, title, str(exc.detail), headers=headers)

    async def on_store_full(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StoreFull)
        # Not a bug: no traceback. The operator learns what to do from the message.
        logger.warning("%s %s not saved: %s", request.method, request.url.path, exc.message)
        return await on_meetbox_error(
            request,
            InsufficientStorage(
                "the server's disk is full, so nothing can be saved; its operator has to free "
                "space in meetbox's data dir (old recordings are usually the bulk). Reading "
                "still works."
            ),
        )

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(
            500, "internal-error", "Internal error", "the server failed; see its log"
        )

    app.add_exception_handler(MeetboxError, on_meetbox_error)
    app.add_exception_handler(StoreFull, on_store_full)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(Exception, on_unexpected)
