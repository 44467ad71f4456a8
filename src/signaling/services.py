"""Builds the signaling services on an open store: what the HTTP app and the CLI share."""

from __future__ import annotations

from dataclasses import dataclass, field

from .accounts import Accounts, FirstStart
from .clock import Clock, SystemClock
from .rooms import RoomService
from .store import Store
from .sweeper import Sweeper

__all__ = ["Services", "build_services"]


@dataclass
class Services:
    store: Store
    clock: Clock
    accounts: Accounts
    rooms: RoomService
    sweeper: Sweeper
    #: What the first start created, to be shown once; ``None`` on later starts.
    first_start: FirstStart | None = None
    #: Set on shutdown: new work is refused with 503.
    draining: bool = field(default=False)


async def build_services(
    store: Store,
    *,
    public_url: str,
    clock: Clock | None = None,
    initial_api_key: str | None = None,
    initial_admin_password: str | None = None,
) -> Services:
    clock = clock or SystemClock()
    accounts = Accounts(store, clock)
    first_start = await accounts.bootstrap(initial_api_key, initial_admin_password)
    sweeper = Sweeper(clock)
    rooms = RoomService(
        store,
        clock,
        public_url=public_url,
        token_key=await accounts.token_signing_key(),
        on_expiry_changed=sweeper.poke,
    )
    await rooms.recover_after_restart()
    return Services(store, clock, accounts, rooms, sweeper, first_start)
