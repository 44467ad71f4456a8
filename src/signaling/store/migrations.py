"""Versioned schema migrations, applied in order at start.

Append new migrations; never edit one that has shipped. A database whose version is newer
than the last entry here was written by a newer meetbox and is refused. The SQLite store
keeps the version in ``PRAGMA user_version`` (:mod:`signaling.store.sqlite.schema`).

The version numbers are every backend's: version ``n`` is the same schema whatever holds it.
The SQL is SQLite's, and most of it is plain SQL another database runs as it is; what a
PostgreSQL store has to say its own way is ``INTEGER PRIMARY KEY AUTOINCREMENT`` (3: an
identity column) and ``BLOB`` (5: ``bytea``). Timestamps are ISO 8601 text
(:func:`signaling.clock.format_ts`), which sorts as time does, in every backend.
"""

from __future__ import annotations

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "pending", "statements"]

#: (version, SQL). Each runs in its own transaction together with the version bump.
MIGRATIONS: list[tuple[int, str]] = [
    (
        1,
        """
        CREATE TABLE settings (
            name TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        CREATE TABLE rooms (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            kind TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            auto_delete_at TEXT,
            delete_after_use INTEGER NOT NULL DEFAULT 0,
            max_participants INTEGER,
            session_length_minutes INTEGER,
            theme_id TEXT,
            metadata TEXT,
            config TEXT NOT NULL,
            closed INTEGER NOT NULL DEFAULT 0,
            in_use INTEGER NOT NULL DEFAULT 0,
            emptied_at TEXT,
            delete_requested_at TEXT,
            expires_at TEXT,
            version INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX rooms_by_created ON rooms (created_at DESC, id DESC);
        CREATE INDEX rooms_by_expiry ON rooms (expires_at) WHERE expires_at IS NOT NULL;
        CREATE TABLE room_links (
            room_id TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
            role TEXT NOT NULL,
            secret TEXT NOT NULL,
            secret_hash TEXT NOT NULL UNIQUE,
            PRIMARY KEY (room_id, role)
        );
        -- Secrets replaced by a rotation: kept so a stale link gets "link replaced", not
        -- "unknown link". Deleted with the room.
        CREATE TABLE retired_links (
            secret_hash TEXT PRIMARY KEY,
            room_id TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
            role TEXT NOT NULL,
            retired_at TEXT NOT NULL
        );
        CREATE INDEX retired_links_by_room ON retired_links (room_id);
        CREATE TABLE api_keys (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            prefix TEXT NOT NULL,
            key_hash TEXT NOT NULL UNIQUE,
            created_at TEXT NOT NULL,
            last_used_at TEXT,
            revoked_at TEXT
        );
        """,
    ),
    (
        2,
        """
        CREATE TABLE meetings (
            id TEXT PRIMARY KEY,
            room_id TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
            started_at TEXT NOT NULL,
            ended_at TEXT,
            end_reason TEXT
        );
        CREATE INDEX meetings_by_room ON meetings (room_id, started_at DESC, id DESC);
        -- One row per stay: someone who drops out and comes back after the resume window
        -- has two rows.
        CREATE TABLE meeting_participants (
            meeting_id TEXT NOT NULL REFERENCES meetings (id) ON DELETE CASCADE,
            participant_id TEXT NOT NULL,
            nickname TEXT NOT NULL,
            role TEXT NOT NULL,
            joined_at TEXT NOT NULL,
            left_at TEXT,
            leave_reason TEXT
        );
        CREATE INDEX meeting_participants_by_meeting
            ON meeting_participants (meeting_id, participant_id);
        """,
    ),
    (
        3,
        """
        CREATE TABLE webhooks (
            id TEXT PRIMARY KEY,
            url TEXT NOT NULL,
            events TEXT NOT NULL,
            enabled INTEGER NOT NULL,
            secret TEXT NOT NULL,
            description TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        -- The outbox: written in the transaction of the change that caused the event. No
        -- foreign key to rooms: a room.deleted event outlives its room.
        CREATE TABLE webhook_events (
            id TEXT PRIMARY KEY,
            type TEXT NOT NULL,
            room_id TEXT,
            created_at TEXT NOT NULL,
            body TEXT NOT NULL
        );
        -- One row per event and endpoint. seq orders the deliveries of one room to one
        -- endpoint.
        CREATE TABLE webhook_deliveries (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NOT NULL UNIQUE,
            webhook_id TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
            event_id TEXT NOT NULL REFERENCES webhook_events (id),
            room_id TEXT,
            status TEXT NOT NULL,
            attempts INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            next_attempt_at TEXT,
            give_up_at TEXT NOT NULL,
            last_attempt_at TEXT,
            last_status_code INTEGER,
            last_error TEXT,
            delivered_at TEXT
        );
        CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
        CREATE INDEX webhook_deliveries_order
            ON webhook_deliveries (webhook_id, room_id, status, seq);
        CREATE INDEX webhook_deliveries_by_webhook
            ON webhook_deliveries (webhook_id, created_at DESC, id DESC);
        """,
    ),
    (
        4,
        """
        -- Participant tokens of kicked people, refused until they would have expired anyway.
        CREATE TABLE revoked_tokens (
            token_id TEXT PRIMARY KEY,
            until TEXT NOT NULL
        );
        """,
    ),
    (
        5,
        """
        CREATE TABLE themes (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            base TEXT NOT NULL,
            colours TEXT NOT NULL,
            brand_text TEXT,
            logo BLOB,
            logo_type TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        """,
    ),
    (
        6,
        """
        CREATE TABLE recordings (
            id TEXT PRIMARY KEY,
            room_id TEXT NOT NULL,
            room_name TEXT NOT NULL,
            meeting_id TEXT NOT NULL,
            status TEXT NOT NULL,
            layout TEXT NOT NULL,
            width INTEGER NOT NULL,
            height INTEGER NOT NULL,
            created_at TEXT NOT NULL,
            filename TEXT NOT NULL,
            started_at TEXT,
            ended_at TEXT,
            duration_s REAL,
            size_bytes INTEGER,
            end_reason TEXT,
            error TEXT,
            share_hash TEXT UNIQUE
        );
        CREATE INDEX recordings_by_room ON recordings (room_id, created_at DESC, id DESC);
        CREATE INDEX recordings_by_status ON recordings (status);
        """,
    ),
]

SCHEMA_VERSION = MIGRATIONS[-1][0]


def pending(version: int) -> list[tuple[int, str]]:
    """The migrations a database at schema ``version`` still needs, in order."""
    return [(number, sql) for number, sql in MIGRATIONS if number > version]


def statements(script: str) -> list[str]:
    """Split a migration into statements (migrations hold no ``;`` inside literals)."""
    out = []
    for chunk in script.split(";"):
        lines = [ln for ln in chunk.splitlines() if not ln.strip().startswith("--")]
        text = "\n".join(lines).strip()
        if text:
            out.append(text)
    return out
