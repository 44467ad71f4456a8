"""What the webhooks service needs from persistence: endpoints, the outbox and deliveries.

The outbox is how events reach endpoints exactly when their change happened: the methods of
the other protocols that take ``events`` write them here in their own transaction, as
:meth:`WebhookStore.enqueue` does on its own. Writing an event creates one pending delivery
per endpoint that wants its type (enabled or not: a disabled endpoint gets them once enabled
again); an event nobody wants is not kept. A delivery is retried until its ``give_up_at``, 24
hours after its event. Writes that fail for a full disk raise
:class:`~signaling.store.errors.StoreFull` and keep nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Protocol

from signaling.models import DeliveryRecord, DueDelivery, OutboxEvent, WebhookRecord
from signaling.store.page import Page

__all__ = ["WebhookStore"]


class WebhookStore(Protocol):
    async def insert_webhook(self, hook: WebhookRecord) -> None:
        """Add an endpoint (a taken id is the backend's integrity error)."""

    async def get_webhook(self, webhook_id: str) -> WebhookRecord | None: ...

    async def list_webhooks(self, limit: int, after: tuple[str, str] | None) -> Page[WebhookRecord]:
        """Endpoints newest first (``created_at``, then ``id``)."""

    async def update_webhook(self, hook: WebhookRecord) -> bool:
        """Write every field of ``hook``; ``False`` if it does not exist."""

    async def delete_webhook(self, webhook_id: str) -> bool:
        """Delete the endpoint and its deliveries; ``False`` if it did not exist."""

    async def enqueue(
        self, events: Sequence[OutboxEvent], only_webhook: str | None = None
    ) -> list[str]:
        """Write events to the outbox: a delivery for each endpoint that wants each. With
        ``only_webhook``: for that endpoint alone, whatever its filter, and not picked up by
        the worker (the caller attempts it). Returns the deliveries' ids."""

    async def list_deliveries(
        self, webhook_id: str, limit: int, after: tuple[str, str] | None
    ) -> Page[DeliveryRecord]:
        """One endpoint's deliveries, newest first (``created_at``, then ``id``)."""

    async def get_delivery(self, webhook_id: str, delivery_id: str) -> DeliveryRecord | None:
        """The delivery, if it is one of this endpoint's."""

    async def due_deliveries(
        self, now: datetime, limit: int, exclude: Iterable[str] = ()
    ) -> list[DueDelivery]:
        """Pending deliveries to enabled endpoints due by ``now``, oldest first, except the
        ids in ``exclude`` (in flight); one room's deliveries to one endpoint only in order
        (a later one waits while an earlier one is pending)."""

    async def next_delivery_at(self) -> datetime | None:
        """When the next pending delivery to an enabled endpoint is due."""

    async def save_delivery(self, delivery: DeliveryRecord) -> None:
        """Record an attempt's outcome (or a redelivery request): its status, attempts and
        times."""

    async def prune_deliveries(self, before: datetime) -> int:
        """Forget finished deliveries (delivered or failed) created before ``before``, and
        the events nobody still has to receive, in one transaction. Returns how many
        deliveries went."""
