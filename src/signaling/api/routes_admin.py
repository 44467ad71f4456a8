"""``/admin``: the admin console's login (password -> session cookie) and its pages' API.

The console then uses the ordinary REST API with the cookie instead of an API key (see
``deps.require_api_key``): HttpOnly, SameSite=Strict, and a custom header on every change.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from datetime import datetime

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from signaling.api.deps import ADMIN_COOKIE, ServicesDep
from signaling.api.problems import problem_doc
from signaling.api.schemas import Input
from signaling.errors import TooManyRequests, Unauthorized
from signaling.ratelimit import TokenBucket

__all__ = ["router"]

router = APIRouter(prefix="/admin", tags=["admin"])

#: Login attempts: 5 per 5 minutes per client address; at most this many addresses kept.
LOGIN_BURST, LOGIN_PER_SECOND, MAX_TRACKED = 5, 5 / 300, 10_000


class Login(Input):
    password: str = Field(min_length=1, max_length=200)


class Session(BaseModel):
    expires_at: datetime


def _allow_attempt(request: Request, address: str) -> bool:
    state = request.app.state
    if not hasattr(state, "login_attempts"):
        state.login_attempts = OrderedDict()
    attempts: OrderedDict[str, TokenBucket] = state.login_attempts
    now = time.monotonic()
    bucket = attempts.pop(address, None) or TokenBucket(LOGIN_PER_SECOND, LOGIN_BURST, now)
    attempts[address] = bucket
    while len(attempts) > MAX_TRACKED:
        attempts.popitem(last=False)
    return bucket.allow(now)


@router.post(
    "/login",
    response_model=Session,
    summary="Log in to the admin console (sets the session cookie)",
    responses={
        401: problem_doc("Wrong password."),
        429: problem_doc("Too many attempts from this address; wait a few minutes."),
    },
)
async def login(
    body: Login, request: Request, response: Response, services: ServicesDep
) -> Session:
    address = request.client.host if request.client else "unknown"
    if not _allow_attempt(request, address):
        raise TooManyRequests("too many login attempts; wait a few minutes and try again")
    if not await services.accounts.check_admin_password(body.password):
        raise Unauthorized("wrong password")
    value, expires = await services.accounts.admin_session(services.clock.now())
    response.set_cookie(
        ADMIN_COOKIE,
        value,
        max_age=int((expires - services.clock.now()).total_seconds()),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return Session(expires_at=expires)


@router.post("/logout", status_code=204, summary="Log out of the admin console")
async def logout() -> Response:
    response = Response(status_code=204)
    response.delete_cookie(ADMIN_COOKIE, path="/", httponly=True, samesite="strict")
    return response


@router.get(
    "/session",
    response_model=Session,
    summary="Whether the admin console is logged in",
    responses={401: problem_doc("Not logged in, or the session expired.")},
)
async def session(request: Request, services: ServicesDep) -> Session:
    expires = await services.accounts.admin_session_expiry(
        request.cookies.get(ADMIN_COOKIE), services.clock.now()
    )
    if expires is None:
        raise Unauthorized("not logged in")
    return Session(expires_at=expires)
