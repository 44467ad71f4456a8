"""``/webhooks``: endpoints, their signing secrets, test sends and the delivery log."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response

from signaling.api.deps import ApiKeyAuth, ServicesDep
from signaling.api.problems import problem_doc
from signaling.api.schemas import (
    Delivery,
    DeliveryList,
    Webhook,
    WebhookCreate,
    WebhookCreated,
    WebhookList,
    WebhookSecret,
    WebhookUpdate,
)
from signaling.api.views import (
    delivery_out,
    next_cursor,
    webhook_created_out,
    webhook_out,
    webhook_secret_out,
)
from signaling.pagination import CURSOR_PATTERN, MAX_LIMIT

__all__ = ["router"]

router = APIRouter(
    prefix="/webhooks",
    tags=["webhooks"],
    responses={
        401: problem_doc("No or wrong API key."),
        404: problem_doc("No such webhook or delivery."),
    },
)

WebhookId = Annotated[str, Path(min_length=1, max_length=64)]
DeliveryId = Annotated[str, Path(min_length=1, max_length=64)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Cursor = Annotated[str | None, Query(max_length=512, pattern=CURSOR_PATTERN)]


_HOSTS_403: dict[int | str, dict[str, Any]] = {
    403: problem_doc("The URL's host is not one `--webhook-hosts` allows.")
}


@router.post(
    "",
    status_code=201,
    response_model=WebhookCreated,
    summary="Register an endpoint",
    responses=_HOSTS_403,
)
async def create_webhook(
    body: WebhookCreate, services: ServicesDep, _: ApiKeyAuth
) -> WebhookCreated:
    return webhook_created_out(await services.webhooks.create(body))


@router.get("", response_model=WebhookList, summary="List endpoints (never their secrets)")
async def list_webhooks(
    services: ServicesDep, _: ApiKeyAuth, limit: Limit = 20, cursor: Cursor = None
) -> WebhookList:
    page = await services.webhooks.list(limit, cursor)
    return WebhookList(
        items=[webhook_out(h) for h in page.items],
        next_cursor=next_cursor(page),
    )


@router.get("/{webhook_id}", response_model=Webhook, summary="One endpoint")
async def get_webhook(webhook_id: WebhookId, services: ServicesDep, _: ApiKeyAuth) -> Webhook:
    return webhook_out(await services.webhooks.get(webhook_id))


@router.patch(
    "/{webhook_id}",
    response_model=Webhook,
    summary="Change url, events, enabled",
    responses=_HOSTS_403,
)
async def update_webhook(
    webhook_id: WebhookId, body: WebhookUpdate, services: ServicesDep, _: ApiKeyAuth
) -> Webhook:
    return webhook_out(await services.webhooks.update(webhook_id, body))


@router.delete("/{webhook_id}", status_code=204, summary="Remove an endpoint and its log")
async def delete_webhook(webhook_id: WebhookId, services: ServicesDep, _: ApiKeyAuth) -> Response:
    await services.webhooks.delete(webhook_id)
    return Response(status_code=204)


@router.post(
    "/{webhook_id}/rotate-secret",
    response_model=WebhookSecret,
    summary="New signing secret (the old one stops at once)",
)
async def rotate_secret(
    webhook_id: WebhookId, services: ServicesDep, _: ApiKeyAuth
) -> WebhookSecret:
    return webhook_secret_out(await services.webhooks.rotate_secret(webhook_id))


@router.post(
    "/{webhook_id}/test",
    response_model=Delivery,
    summary="Send a webhook.test event now and report what the endpoint answered",
)
async def test_webhook(webhook_id: WebhookId, services: ServicesDep, _: ApiKeyAuth) -> Delivery:
    return delivery_out(await services.webhooks.test(webhook_id))


@router.get(
    "/{webhook_id}/deliveries",
    response_model=DeliveryList,
    summary="The delivery log, newest first",
)
async def list_deliveries(
    webhook_id: WebhookId,
    services: ServicesDep,
    _: ApiKeyAuth,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> DeliveryList:
    page = await services.webhooks.deliveries(webhook_id, limit, cursor)
    return DeliveryList(
        items=[delivery_out(d) for d in page.items],
        next_cursor=next_cursor(page),
    )


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/redeliver",
    status_code=202,
    response_model=Delivery,
    summary="Send one delivery again (same event id)",
)
async def redeliver(
    webhook_id: WebhookId, delivery_id: DeliveryId, services: ServicesDep, _: ApiKeyAuth
) -> Delivery:
    return delivery_out(await services.webhooks.redeliver(webhook_id, delivery_id))
