"""Webhook endpoints, the outbox and deliveries on SQLite
(:class:`~signaling.store.webhooks.WebhookStore`)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime

from signaling.clock import format_ts, parse_ts
from signaling.models import DeliveryRecord, DeliveryStatus, DueDelivery, OutboxEvent, WebhookRecord
from signaling.store.page import Page
from signaling.store.sqlite.database import SqliteConcept, dt, ts
from signaling.store.sqlite.outbox import HOOK_COLUMNS, hook_of, hook_row, write_events

__all__ = ["SqliteWebhooks"]

_DELIVERY_COLUMNS = (
    "d.id, d.webhook_id, d.event_id, e.type, d.status, d.attempts, d.created_at, "
    "d.next_attempt_at, d.give_up_at, d.last_attempt_at, d.last_status_code, d.last_error, "
    "d.delivered_at"
)


class SqliteWebhooks(SqliteConcept):
    async def insert_webhook(self, hook: WebhookRecord) -> None:
        await self._db.write(
            f"INSERT INTO webhooks ({HOOK_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            hook_row(hook),
        )

    async def get_webhook(self, webhook_id: str) -> WebhookRecord | None:
        return await self._db.one_of(
            hook_of,
            f"SELECT {HOOK_COLUMNS} FROM webhooks WHERE id = ?",
            (webhook_id,),
        )

    async def list_webhooks(self, limit: int, after: tuple[str, str] | None) -> Page[WebhookRecord]:
        return await self._db.page(hook_of, "webhooks", HOOK_COLUMNS, [], [], limit, after)

    async def update_webhook(self, hook: WebhookRecord) -> bool:
        row = hook_row(hook)
        return (
            await self._db.write(
                "UPDATE webhooks SET url = ?, events = ?, enabled = ?, secret = ?, "
                "description = ?, created_at = ?, updated_at = ? WHERE id = ?",
                (*row[1:], hook.id),
            )
            == 1
        )

    async def delete_webhook(self, webhook_id: str) -> bool:
        return await self._db.write("DELETE FROM webhooks WHERE id = ?", (webhook_id,)) == 1

    async def enqueue(
        self, events: Sequence[OutboxEvent], only_webhook: str | None = None
    ) -> list[str]:
        """Write ``events`` to the outbox on their own; returns the deliveries' ids."""
        async with self._db.transaction():
            return await write_events(self._db, events, only_webhook)

    async def list_deliveries(
        self, webhook_id: str, limit: int, after: tuple[str, str] | None
    ) -> Page[DeliveryRecord]:
        return await self._db.page(
            _delivery_of,
            "webhook_deliveries d JOIN webhook_events e ON e.id = d.event_id",
            _DELIVERY_COLUMNS,
            ["d.webhook_id = ?"],
            [webhook_id],
            limit,
            after,
            order="d.created_at",
            id_column="d.id",
        )

    async def get_delivery(self, webhook_id: str, delivery_id: str) -> DeliveryRecord | None:
        return await self._db.one_of(
            _delivery_of,
            f"SELECT {_DELIVERY_COLUMNS} FROM webhook_deliveries d "
            "JOIN webhook_events e ON e.id = d.event_id WHERE d.webhook_id = ? AND d.id = ?",
            (webhook_id, delivery_id),
        )

    async def due_deliveries(
        self, now: datetime, limit: int, exclude: Iterable[str] = ()
    ) -> list[DueDelivery]:
        """Pending deliveries due by ``now`` to enabled endpoints, oldest first, holding back
        any that has an earlier pending delivery of the same room to the same endpoint."""
        skip = list(exclude)
        marks = ", ".join("?" for _ in skip)
        rows = await self._db.all(
            f"SELECT {_DELIVERY_COLUMNS}, w.url, w.secret, e.body FROM webhook_deliveries d "
            "JOIN webhook_events e ON e.id = d.event_id "
            "JOIN webhooks w ON w.id = d.webhook_id "
            "WHERE d.status = 'pending' AND d.next_attempt_at <= ? AND w.enabled = 1 "
            + (f"AND d.id NOT IN ({marks}) " if skip else "")
            + "AND NOT EXISTS (SELECT 1 FROM webhook_deliveries p WHERE "
            "p.webhook_id = d.webhook_id AND p.room_id = d.room_id AND p.status = 'pending' "
            "AND p.seq < d.seq) ORDER BY d.seq LIMIT ?",
            (format_ts(now), *skip, limit),
        )
        n = len(_DELIVERY_COLUMNS.split(","))
        return [DueDelivery(_delivery_of(row), row[n], row[n + 1], row[n + 2]) for row in rows]

    async def next_delivery_at(self) -> datetime | None:
        value = await self._db.scalar(
            "SELECT min(d.next_attempt_at) FROM webhook_deliveries d "
            "JOIN webhooks w ON w.id = d.webhook_id WHERE d.status = 'pending' AND w.enabled = 1"
        )
        return dt(value)

    async def prune_deliveries(self, before: datetime) -> int:
        """Forget finished deliveries (delivered or failed) created before ``before``, and
        events nobody still has to receive. Returns how many deliveries went."""
        async with self._db.transaction():
            cursor = await self._db.execute(
                "DELETE FROM webhook_deliveries WHERE status != 'pending' AND created_at < ?",
                (format_ts(before),),
            )
            await self._db.execute(
                "DELETE FROM webhook_events WHERE created_at < ? AND id NOT IN "
                "(SELECT event_id FROM webhook_deliveries)",
                (format_ts(before),),
            )
            return cursor.rowcount

    async def save_delivery(self, delivery: DeliveryRecord) -> None:
        """Record an attempt's outcome (or a redelivery request)."""
        await self._db.write(
            "UPDATE webhook_deliveries SET status = ?, attempts = ?, next_attempt_at = ?, "
            "give_up_at = ?, last_attempt_at = ?, last_status_code = ?, last_error = ?, "
            "delivered_at = ? WHERE id = ?",
            (
                delivery.status.value,
                delivery.attempts,
                ts(delivery.next_attempt_at),
                format_ts(delivery.give_up_at),
                ts(delivery.last_attempt_at),
                delivery.last_status_code,
                delivery.last_error,
                ts(delivery.delivered_at),
                delivery.id,
            ),
        )


def _delivery_of(row: sqlite3.Row) -> DeliveryRecord:
    return DeliveryRecord(
        id=row[0],
        webhook_id=row[1],
        event_id=row[2],
        event_type=row[3],
        status=DeliveryStatus(row[4]),
        attempts=row[5],
        created_at=parse_ts(row[6]),
        next_attempt_at=dt(row[7]),
        give_up_at=parse_ts(row[8]),
        last_attempt_at=dt(row[9]),
        last_status_code=row[10],
        last_error=row[11],
        delivered_at=dt(row[12]),
    )
