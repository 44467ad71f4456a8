"""``meetbox serve``: open the store, build the services, run uvicorn on uvloop."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator
from contextlib import ExitStack
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import IO, Any

import uvicorn

from meetbox.config import Settings
from meetbox.errors import MeetboxCommandError
from meetbox.logs import configure_logging
from meetbox.timeouts import KEEP_ALIVE_TIMEOUT, HeadTimeoutProtocol
from sfu import ports
from sfu.egress import fast_path
from signaling.accounts.service import FirstStart
from signaling.api import create_app
from signaling.api.ws import WS_PING_INTERVAL, WS_PING_TIMEOUT, flush_sessions, refuse_waiting
from signaling.errors import MeetboxError
from signaling.ice import IceConfig
from signaling.placement.local import LocalPlacement
from signaling.placement.workers import WorkerPlacement, WorkerStartFailed
from signaling.recordings.service import RecordingSettings
from signaling.services import Services, build_services
from signaling.store import SqliteStore, StoreError, StoreFull
from signaling.wire import MAX_MESSAGE_BYTES

__all__ = ["DataDirInUse", "lock_data_dir", "serve"]

logger = logging.getLogger("meetbox")

#: The bundled browser files (repository checkout; packaging them comes with the web client).
WEB_DIR = Path(__file__).resolve().parents[2] / "web"


class DataDirInUse(MeetboxCommandError):
    """The data dir is taken by another server, or cannot be written."""


def lock_data_dir(data_dir: Path, stack: ExitStack) -> None:
    """One server per data dir. The lock is an ``flock``: it goes away with the process, so a
    crash never leaves a stale lock behind."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        handle: IO[str] = stack.enter_context(open(data_dir / "server.lock", "a+"))  # noqa: SIM115
    except PermissionError:
        raise DataDirInUse(
            f"{data_dir} cannot be written. Give the user running meetbox write access to "
            "it, or choose another --data-dir."
        ) from None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = handle.read().strip() or "unknown"
        raise DataDirInUse(
            f"another meetbox server (pid {holder}) is already using {data_dir}; stop it, or "
            "give this one another --data-dir"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()


def _announce(settings: Settings, first: FirstStart | None) -> None:
    """Shown on stdout, not logged: the first-start secrets must not end up in log files."""
    lines = [f"meetbox: serving {settings.public_url} (data in {settings.data_dir})"]
    if first is not None and (first.admin_password or first.api_key):
        lines.append("First start: save these now, they are not shown again.")
        if first.admin_password:
            lines.append(f"  admin password: {first.admin_password}")
        if first.api_key:
            lines.append(f"  API key:        {first.api_key}")
        lines.append("More keys: meetbox api-key create --name NAME")
    lines.append(f"API docs: {settings.public_url}/docs")
    print("\n".join(lines), flush=True)


class _DrainingServer(uvicorn.Server):
    """uvicorn closes WebSockets (1012) before the app's lifespan shutdown runs; ending the
    meetings first means every participant is told ``server_shutting_down`` and history
    records it. New joins are refused from the moment the signal arrives (503 on REST,
    ``server_shutting_down`` on the WebSocket); a second SIGTERM or SIGINT exits at once."""

    def __init__(self, config: uvicorn.Config, services: Services, app_state: Any) -> None:
        super().__init__(config)
        self._services = services
        self._app_state = app_state
        self._signalled = False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._signalled:
            _exit_now(sig)
        self._signalled = True
        # Runs on the event loop's thread, between two steps of it: whatever the loop runs
        # next already sees the flag.
        self._services.draining = True
        logger.info(
            "%s: shutting down; joins are refused from now on (send it again to exit at once)",
            signal.Signals(sig).name,
        )
        super().handle_exit(sig, frame)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._services.draining = True
        refuse_waiting(self._app_state)
        logger.info("shutting down: ending meetings")
        # Each step whatever became of the one before: a stop must not hang on a failure.
        async with _step("ending meetings"):
            await self._services.meetings.shutdown()
        # Recorders got their bye with everyone else: let them finish their files.
        async with _step("stopping recordings"):
            await self._services.recordings.shutdown()
        # The media is closed: the workers go now (uvicorn re-raises the signal on its way
        # out, so nothing after serve() is sure to run).
        placement = self._services.placement
        if isinstance(placement, WorkerPlacement):
            async with _step("stopping media workers"):
                await placement.close()
        await flush_sessions(self._app_state)
        await super().shutdown(sockets=sockets)


@contextlib.asynccontextmanager
async def _step(what: str) -> AsyncIterator[None]:
    try:
        yield
    except StoreFull as exc:
        logger.warning("shutting down: %s: %s", what, exc.message)
    except Exception:
        logger.exception("shutting down: %s failed; going on", what)


def _exit_now(sig: int) -> None:
    """The second signal: no more waiting. What a graceful stop would still have done is
    what a restart does after a crash: meetings are closed in history at the next start,
    recorders finish their files on their own (their control pipe closes) and the next
    start finds how they ended."""
    logger.warning(
        "%s again: exiting at once, without waiting for meetings and recorders to finish",
        signal.Signals(sig).name,
    )
    for handler in logging.getLogger().handlers:
        with contextlib.suppress(Exception):
            handler.flush()
    os._exit(1)


def _placement(settings: Settings) -> LocalPlacement | WorkerPlacement:
    """The media in this process (``--workers 1``), or in worker processes."""
    span = ports.parse_port_range(settings.rtc_ports) if settings.rtc_ports else None
    if settings.workers <= 1:
        ports.install(span)
        ports.install_host_addresses(settings.rtc_ips or None)
        return LocalPlacement()
    argv = [sys.executable, "-m", "meetbox.worker", "--log-format", settings.log_format]
    argv += ["--log-level", settings.log_level]
    if settings.rtc_ips:
        argv += ["--rtc-ips", ",".join(settings.rtc_ips)]
    shares: list[str | None] = (
        [str(share) for share in span.split(settings.workers)]
        if span is not None
        else [None] * settings.workers
    )
    return WorkerPlacement(argv, shares)


async def _serve(settings: Settings) -> None:
    placement = _placement(settings)
    if isinstance(placement, WorkerPlacement):
        await placement.start()
    try:
        await _serve_with(settings, placement)
    finally:
        if isinstance(placement, WorkerPlacement):
            await placement.close()


async def _serve_with(settings: Settings, placement: LocalPlacement | WorkerPlacement) -> None:
    store = await SqliteStore.open(settings.db_path)
    try:
        services = await build_services(
            store,
            public_url=settings.public_url,
            initial_api_key=settings.initial_api_key,
            initial_admin_password=settings.initial_admin_password,
            ice=IceConfig(urls=list(settings.ice_servers), turn_secret=settings.turn_secret),
            public_ip=settings.public_ip,
            webhook_hosts=settings.webhook_hosts,
            recordings=RecordingSettings(
                directory=settings.data_dir / "recordings",
                max_concurrent=settings.max_recordings,
                max_duration=timedelta(minutes=settings.recording_max_minutes),
                min_free_bytes=settings.recording_min_free_mb * 1024 * 1024,
            ),
            placement=placement,
        )
    except BaseException:
        await store.close()
        raise
    # Recorders join over loopback when the server listens there (or everywhere).
    host = settings.host
    if host in ("0.0.0.0", "", "localhost"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    authority = f"[{host}]" if ":" in host else host
    services.recordings.ws_url = f"ws://{authority}:{settings.port}/ws"
    app = create_app(services, web_dir=WEB_DIR)
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        lifespan="on",
        log_config=None,
        server_header=False,
        timeout_graceful_shutdown=10,
        # Idle and half-sent connections are closed (uvicorn alone has no head timeout).
        http=HeadTimeoutProtocol,
        timeout_keep_alive=KEEP_ALIVE_TIMEOUT,
        # X-Forwarded-For counts only from the proxies named (per-address caps and limits
        # use the client address); with none named it is ignored.
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=list(settings.trusted_proxies),
        # Frames over the cap are closed with 1009 by the WebSocket layer itself.
        ws_max_size=MAX_MESSAGE_BYTES,
        ws_ping_interval=WS_PING_INTERVAL,
        ws_ping_timeout=WS_PING_TIMEOUT,
    )
    server = _DrainingServer(config, services, app.state)
    _announce(settings, services.first_start)
    await server.serve()


def serve(settings: Settings) -> int:
    configure_logging(settings.log_format, settings.log_level)
    if not fast_path():
        logger.warning(
            "the relay's C send path (sfu._wire) was not built (no C compiler at install?): "
            "forwarding uses the Python path, about 1.3x the CPU per packet"
        )
    with ExitStack() as stack:
        try:
            lock_data_dir(settings.data_dir, stack)
        except (DataDirInUse, OSError) as exc:
            print(f"meetbox: cannot start: {exc}", file=sys.stderr)
            return 1
        try:
            import uvloop

            uvloop.run(_serve(settings))
        except StoreError as exc:
            print(f"meetbox: cannot start: {exc.message}", file=sys.stderr)
            return 1
        except WorkerStartFailed as exc:
            print(f"meetbox: cannot start: {exc}", file=sys.stderr)
            return 1
        except MeetboxError as exc:
            print(f"meetbox: cannot start: {exc.detail}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            pass
    return 0
