"""RFC 9457 problem documents for every error the HTTP app returns."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import InsufficientStorage, MeetboxError
from ..store import StoreFull

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
    from ..schemas import Problem

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
        first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
        where = ".".join(str(part) for part in first["loc"][1:]) or "request"
        return problem_response(
            422, "validation-error", "Validation failed", f"{where}: {first['msg']}", errors=errors
        )

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        slug, title = _GENERIC.get(exc.status_code, ("http-error", "HTTP error"))
        return problem_response(
            exc.status_code, slug, title, str(exc.detail), headers=dict(exc.headers or {})
        )

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
