"""The webhook outbox on SQLite: events written inside the transaction of the change that
caused them, with one pending delivery per endpoint that wants each.

Every concept module that takes ``events`` calls :func:`write_events` inside its own
:meth:`~signaling.store.sqlite.database.SqliteDatabase.transaction`.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from signaling.clock import format_ts, parse_ts
from signaling.models import OutboxEvent, WebhookRecord
from signaling.store.sqlite.database import SqliteDatabase
from signaling.tokens import new_secret

__all__ = ["DELIVERY_WINDOW", "HOOK_COLUMNS", "hook_of", "hook_row", "write_events"]

HOOK_COLUMNS = "id, url, events, enabled, secret, description, created_at, updated_at"
#: How long a delivery is retried before it is marked failed.
DELIVERY_WINDOW = timedelta(hours=24)


async def write_events(
    db: SqliteDatabase, events: Sequence[OutboxEvent], only_webhook: str | None = None
) -> list[str]:
    """Inside a transaction: the events, and one pending delivery per endpoint that
    wants each (enabled or not: a disabled endpoint gets them once enabled again). For
    ``only_webhook`` the delivery is left to the caller (no retry time is set)."""
    if not events:
        return []
    if only_webhook is None:
        rows = await db.all(f"SELECT {HOOK_COLUMNS} FROM webhooks", ())
    else:
        rows = await db.all(f"SELECT {HOOK_COLUMNS} FROM webhooks WHERE id = ?", (only_webhook,))
    hooks = [hook_of(row) for row in rows]
    created: list[str] = []
    for event in events:
        at = format_ts(event.created_at)
        wanting = [h for h in hooks if only_webhook is not None or h.wants(event.type)]
        if not wanting:
            continue  # nobody listens: nothing to keep
        await db.execute(
            "INSERT INTO webhook_events (id, type, room_id, created_at, body) "
            "VALUES (?, ?, ?, ?, ?)",
            (event.id, event.type, event.room_id, at, event.body),
        )
        for hook in wanting:
            delivery_id = "dlv_" + new_secret(12)
            await db.execute(
                "INSERT INTO webhook_deliveries (id, webhook_id, event_id, room_id, status, "
                "attempts, created_at, next_attempt_at, give_up_at) "
                "VALUES (?, ?, ?, ?, 'pending', 0, ?, ?, ?)",
                (
                    delivery_id,
                    hook.id,
                    event.id,
                    event.room_id,
                    at,
                    None if only_webhook else at,
                    format_ts(event.created_at + DELIVERY_WINDOW),
                ),
            )
            created.append(delivery_id)
    return created


def hook_row(hook: WebhookRecord) -> tuple[Any, ...]:
    return (
        hook.id,
        hook.url,
        json.dumps(hook.events),
        int(hook.enabled),
        hook.secret,
        hook.description,
        format_ts(hook.created_at),
        format_ts(hook.updated_at),
    )


def hook_of(row: sqlite3.Row) -> WebhookRecord:
    return WebhookRecord(
        id=row[0],
        url=row[1],
        events=list(json.loads(row[2])),
        enabled=bool(row[3]),
        secret=row[4],
        description=row[5],
        created_at=parse_ts(row[6]),
        updated_at=parse_ts(row[7]),
    )
