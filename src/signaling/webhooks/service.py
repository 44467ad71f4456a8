"""Webhook endpoints and the delivery worker.

Events are written to the outbox by the store, in the transaction of the change that caused
them (:mod:`signaling.webhooks.events`). The worker here reads due deliveries, POSTs them signed
(:mod:`signaling.webhooks.signing`), at most ``concurrency`` at once (half of them per
endpoint), each bounded by ``timeout``, and records the outcome. A failure is retried with
exponential backoff and jitter until the delivery's ``give_up_at`` (24 h after the event),
then marked ``failed``.
Deliveries of one room's events to one endpoint go out in order. Nothing here runs on a
request's or the media's path: they only write the outbox and :meth:`WebhookService.wake`.

The retry rule is a pure function of the attempt count and the time (:func:`after_attempt`).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx

from signaling.api.schemas import WebhookCreate, WebhookUpdate
from signaling.clock import Clock
from signaling.errors import Forbidden, NotFound
from signaling.models import DeliveryRecord, DeliveryStatus, DueDelivery, WebhookRecord
from signaling.pagination import decode_cursor
from signaling.store import Page, StoreFull, WebhookStore
from signaling.tokens import new_secret
from signaling.webhooks.events import TEST_EVENT, event
from signaling.webhooks.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign

__all__ = ["WebhookService", "after_attempt", "retry_delay"]

logger = logging.getLogger(__name__)
# httpx logs every request's URL at INFO, and endpoint URLs may hold a token; httpcore
# traces at DEBUG. Whatever level the operator picks, neither reaches the log below WARNING.
for _name in ("httpx", "httpcore"):
    logging.getLogger(_name).setLevel(logging.WARNING)

USER_AGENT = "meetbox-webhooks/1"
#: The longest wait between two attempts.
RETRY_CAP = timedelta(hours=1)
#: Finished deliveries stay in the log this long.
LOG_RETENTION = timedelta(days=7)
#: How often the log is pruned.
PRUNE_EVERY = timedelta(hours=1)
#: See ``WebhookService.full_disk_pause``.
FULL_DISK_PAUSE = 30.0


def retry_delay(attempts: int, base: timedelta, jitter: float) -> timedelta:
    """The wait after the ``attempts``-th failed attempt: ``base`` doubling each time, at
    most :data:`RETRY_CAP`, scaled by ``jitter`` in [0.5, 1] so receivers coming back are
    not hit by every sender at once."""
    delay: timedelta = min(base * (2 ** min(attempts - 1, 30)), RETRY_CAP)
    return delay * (0.5 + 0.5 * min(max(jitter, 0.0), 1.0))


def after_attempt(
    delivery: DeliveryRecord,
    now: datetime,
    *,
    status_code: int | None,
    error: str | None,
    base: timedelta,
    jitter: float,
    retry: bool = True,
) -> DeliveryRecord:
    """The delivery once an attempt ended with ``status_code`` (None: no response) and
    ``error``: delivered on 2xx, else retried later, or failed past ``give_up_at`` (or at
    once when not ``retry``)."""
    attempts = delivery.attempts + 1
    done = dataclasses.replace(
        delivery,
        attempts=attempts,
        last_attempt_at=now,
        last_status_code=status_code,
        last_error=error,
    )
    if status_code is not None and 200 <= status_code < 300:
        done.status, done.delivered_at, done.next_attempt_at = DeliveryStatus.DELIVERED, now, None
        done.last_error = None
    elif not retry or now >= delivery.give_up_at:
        done.status, done.next_attempt_at = DeliveryStatus.FAILED, None
    else:
        done.status = DeliveryStatus.PENDING
        done.next_attempt_at = now + retry_delay(attempts, base, jitter)
    return done


class WebhookService:
    def __init__(
        self,
        store: WebhookStore,
        clock: Clock,
        *,
        concurrency: int = 8,
        timeout: float = 10.0,
        retry_base: timedelta = timedelta(seconds=1),
        jitter: Callable[[], float] = random.random,
        transport: httpx.AsyncBaseTransport | None = None,
        allowed_hosts: tuple[str, ...] = (),
    ) -> None:
        #: Hosts endpoints may point at (``--webhook-hosts``); empty: any.
        self.allowed_hosts = tuple(h.lower() for h in allowed_hosts)
        self._store = store
        self._clock = clock
        self._concurrency = concurrency
        self.timeout = timeout
        self.retry_base = retry_base
        #: Seconds a delivery whose outcome the full disk refused waits before it goes again.
        self.full_disk_pause = FULL_DISK_PAUSE
        self._jitter = jitter
        self._transport = transport
        self._wake = asyncio.Event()
        #: delivery id -> (its attempt, its endpoint), for the deliveries in flight
        self._inflight: dict[str, tuple[asyncio.Task[None], str]] = {}
        self._client: httpx.AsyncClient | None = None
        #: Attempts finished by the worker since start, and a condition to await them on.
        self.attempts_finished = 0
        self._finished = asyncio.Condition()

    # -- endpoints -------------------------------------------------------------------------

    def _check_host(self, url: str) -> None:
        host = (urlsplit(url).hostname or "").lower()
        if self.allowed_hosts and host not in self.allowed_hosts:
            raise Forbidden(
                f"webhook URLs may only point at {', '.join(self.allowed_hosts)} on this "
                "server (--webhook-hosts)"
            )

    async def create(self, spec: WebhookCreate) -> WebhookRecord:
        self._check_host(spec.url)
        now = self._clock.now()
        hook = WebhookRecord(
            id="wh_" + new_secret(9),
            url=spec.url,
            events=[e.value for e in dict.fromkeys(spec.events)],
            enabled=spec.enabled,
            secret="whsec_" + new_secret(24),
            description=spec.description,
            created_at=now,
            updated_at=now,
        )
        await self._store.insert_webhook(hook)
        logger.info("webhook %s created", hook.id)
        return hook

    async def get(self, webhook_id: str) -> WebhookRecord:
        hook = await self._store.get_webhook(webhook_id)
        if hook is None:
            raise NotFound(f"no webhook with id {webhook_id!r}")
        return hook

    async def list(self, limit: int, cursor: str | None) -> Page[WebhookRecord]:
        return await self._store.list_webhooks(limit, decode_cursor(cursor))

    async def update(self, webhook_id: str, patch: WebhookUpdate) -> WebhookRecord:
        hook = await self.get(webhook_id)
        if patch.url is not None:
            self._check_host(patch.url)
        changes: dict[str, Any] = {
            k: v for k, v in patch.model_dump(exclude_unset=True).items() if v is not None
        }
        if "events" in changes:
            changes["events"] = [str(e) for e in dict.fromkeys(changes["events"])]
        if "description" in patch.model_fields_set and patch.description is None:
            changes["description"] = None
        updated = dataclasses.replace(hook, **changes, updated_at=self._clock.now())
        if not await self._store.update_webhook(updated):
            raise NotFound(f"no webhook with id {webhook_id!r}")
        if updated.enabled and not hook.enabled:
            self.wake()  # what waited for it goes out now
        return updated

    async def delete(self, webhook_id: str) -> None:
        if not await self._store.delete_webhook(webhook_id):
            raise NotFound(f"no webhook with id {webhook_id!r}")
        logger.info("webhook %s deleted", webhook_id)

    async def rotate_secret(self, webhook_id: str) -> WebhookRecord:
        hook = await self.get(webhook_id)
        rotated = dataclasses.replace(
            hook, secret="whsec_" + new_secret(24), updated_at=self._clock.now()
        )
        if not await self._store.update_webhook(rotated):
            raise NotFound(f"no webhook with id {webhook_id!r}")
        logger.info("webhook %s: secret rotated", webhook_id)
        return rotated

    # -- deliveries ------------------------------------------------------------------------

    async def deliveries(
        self, webhook_id: str, limit: int, cursor: str | None
    ) -> Page[DeliveryRecord]:
        await self.get(webhook_id)
        return await self._store.list_deliveries(webhook_id, limit, decode_cursor(cursor))

    async def redeliver(self, webhook_id: str, delivery_id: str) -> DeliveryRecord:
        """Send a delivery again now (delivered or failed ones too), retrying for another
        day if need be. The event keeps its id."""
        delivery = await self._store.get_delivery(webhook_id, delivery_id)
        if delivery is None:
            raise NotFound(f"webhook {webhook_id!r} has no delivery {delivery_id!r}")
        now = self._clock.now()
        again = dataclasses.replace(
            delivery,
            status=DeliveryStatus.PENDING,
            next_attempt_at=now,
            give_up_at=max(delivery.give_up_at, now + timedelta(hours=24)),
        )
        await self._store.save_delivery(again)
        self.wake()
        return again

    async def test(self, webhook_id: str) -> DeliveryRecord:
        """Send a ``webhook.test`` event to this endpoint now, whatever its filter or
        enabled flag, and return the outcome (it is not retried)."""
        hook = await self.get(webhook_id)
        now = self._clock.now()
        test = event(TEST_EVENT, None, {"webhook_id": hook.id}, now)
        [delivery_id] = await self._store.enqueue([test], only_webhook=hook.id)
        delivery = await self._store.get_delivery(hook.id, delivery_id)
        assert delivery is not None
        return await self._attempt(DueDelivery(delivery, hook.url, hook.secret, test.body), False)

    # -- the worker ------------------------------------------------------------------------

    def wake(self) -> None:
        """New deliveries may be due: look now."""
        self._wake.set()

    async def run(self) -> None:
        """Deliver until cancelled. Deliveries under way when cancelled stay pending and go
        out again later (at least once)."""
        pruned_at: datetime | None = None
        try:
            while True:
                self._wake.clear()
                if pruned_at is None or self._clock.now() - pruned_at >= PRUNE_EVERY:
                    pruned_at = self._clock.now()
                    try:
                        gone = await self._store.prune_deliveries(pruned_at - LOG_RETENTION)
                    except StoreFull as exc:  # pruning is housekeeping: deliveries go on
                        logger.warning("webhook log not pruned: %s", exc.message)
                        gone = 0
                    if gone:
                        logger.info("webhook log: %d finished deliveries pruned", gone)
                started = await self._start_due()
                now = self._clock.now()
                next_at = await self._store.next_delivery_at()
                if next_at is None:
                    wait = PRUNE_EVERY.total_seconds()
                elif next_at > now:
                    wait = (next_at - now).total_seconds()
                else:
                    # Due but held back (order within a room, or all slots busy): a finishing
                    # delivery wakes us; look again in a second regardless.
                    wait = 0.0 if started and len(self._inflight) < self._concurrency else 1.0
                if wait != 0.0:
                    try:
                        async with asyncio.timeout(wait):
                            await self._wake.wait()
                    except TimeoutError:
                        pass
        finally:
            tasks = [task for task, _ in self._inflight.values()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if self._client is not None:
                await self._client.aclose()
                self._client = None

    async def _start_due(self) -> bool:
        free = self._concurrency - len(self._inflight)
        if free <= 0:
            return False
        # Half the slots at most per endpoint: one that hangs for the whole timeout on
        # every attempt cannot hold up everyone else's deliveries.
        per_endpoint = max(1, self._concurrency // 2)
        busy: dict[str, int] = {}
        for _, webhook_id in self._inflight.values():
            busy[webhook_id] = busy.get(webhook_id, 0) + 1
        due = await self._store.due_deliveries(self._clock.now(), free * 4, exclude=self._inflight)
        started = 0
        for item in due:
            webhook_id = item.delivery.webhook_id
            if started == free or busy.get(webhook_id, 0) >= per_endpoint:
                continue
            busy[webhook_id] = busy.get(webhook_id, 0) + 1
            started += 1
            task = asyncio.create_task(self._attempt_and_wake(item))
            self._inflight[item.delivery.id] = (task, webhook_id)
        return started > 0

    async def _attempt_and_wake(self, item: DueDelivery) -> None:
        try:
            await self._attempt(item, True)
        except StoreFull as exc:
            # Still pending in the store, so due again at once: held back here (its slot
            # keeps it out of the due list) instead of flooding the receiver for as long as
            # the disk is full. It goes again after that: at least once, as ever.
            logger.warning(
                "webhook delivery %s: its outcome could not be saved (%s); sent again in %g s",
                item.delivery.id,
                exc.message,
                self.full_disk_pause,
            )
            await asyncio.sleep(self.full_disk_pause)
        except Exception:
            logger.exception("webhook delivery %s: attempt failed", item.delivery.id)
        finally:
            self._inflight.pop(item.delivery.id, None)
            self.wake()
            self.attempts_finished += 1
            async with self._finished:
                self._finished.notify_all()

    async def wait_attempts(self, count: int) -> None:
        """Until the worker has finished ``count`` attempts since start (for tests and
        tools; bound it with a timeout)."""
        async with self._finished:
            await self._finished.wait_for(lambda: self.attempts_finished >= count)

    async def _attempt(self, item: DueDelivery, retry: bool) -> DeliveryRecord:
        delivery = item.delivery
        now = self._clock.now()
        stamp = int(now.timestamp())
        body = item.body.encode()
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            TIMESTAMP_HEADER: str(stamp),
            SIGNATURE_HEADER: sign(item.secret, stamp, body),
            "X-Meetbox-Event-Id": delivery.event_id,
            "X-Meetbox-Event-Type": delivery.event_type,
            "X-Meetbox-Delivery": delivery.id,
        }
        status: int | None = None
        error: str | None = None
        try:
            async with self._http().stream("POST", item.url, content=body, headers=headers) as r:
                status = r.status_code  # the body is never read: a receiver cannot flood us
            if not 200 <= status < 300:
                error = f"HTTP {status}"
        except httpx.TimeoutException:
            error = f"no answer within {self.timeout:g} s"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:200]
        done = after_attempt(
            delivery,
            self._clock.now(),
            status_code=status,
            error=error,
            base=self.retry_base,
            jitter=self._jitter(),
            retry=retry,
        )
        await self._store.save_delivery(done)
        # The URL may hold a token: log the endpoint's id only.
        logger.info(
            "webhook %s: %s %s -> %s (attempt %d)",
            delivery.webhook_id,
            delivery.event_type,
            delivery.event_id,
            done.status.value if error is None else f"{done.status.value}, {error}",
            done.attempts,
        )
        return done

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(self.timeout),
                follow_redirects=False,
                transport=self._transport,
                limits=httpx.Limits(max_connections=self._concurrency * 2),
                trust_env=False,
            )
        return self._client
