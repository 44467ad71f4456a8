"""The SQLite store: :class:`SqliteStore` and the parts it is made of.

::

    database.py   the shared connection: lock, transactions, reads, writes, keyset pages
    errors.py     SQLite errors as StoreError problems; a full disk as StoreFull
    schema.py     opening: WAL, integrity check, schema version, migrations
    outbox.py     webhook events written inside another concept's transaction
    rooms.py, meetings.py, recordings.py, webhooks.py, accounts.py, themes.py
                  one concept's protocol each
    store.py      SqliteStore: all of them on one connection
"""

from signaling.store.sqlite.accounts import SqliteAccounts
from signaling.store.sqlite.database import SqliteConcept, SqliteDatabase
from signaling.store.sqlite.meetings import SqliteMeetings
from signaling.store.sqlite.recordings import SqliteRecordings
from signaling.store.sqlite.rooms import SqliteRooms
from signaling.store.sqlite.schema import open_database
from signaling.store.sqlite.store import SqliteStore
from signaling.store.sqlite.themes import SqliteThemes
from signaling.store.sqlite.webhooks import SqliteWebhooks

__all__ = [
    "SqliteAccounts",
    "SqliteConcept",
    "SqliteDatabase",
    "SqliteMeetings",
    "SqliteRecordings",
    "SqliteRooms",
    "SqliteStore",
    "SqliteThemes",
    "SqliteWebhooks",
    "open_database",
]
