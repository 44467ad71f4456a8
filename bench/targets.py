"""The three servers under test, and a synthetic participant for each that speaks its
signaling: meetbox (its WebSocket protocol, docs/signaling.md), the stock aiortc relay
(bench/servers.py) and Janus's VideoRoom (its JSON API over WebSocket).

A participant publishes :class:`bench.media.ClipTrack` s and counts what it receives with
:class:`bench.media.Stream` (no decoding). Every server is its own process on loopback; every
wait here is bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shutil
import socket
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import websockets
from aiortc import (
    RTCBundlePolicy,
    RTCConfiguration,
    RTCPeerConnection,
    RTCRtpSender,
    RTCSessionDescription,
)

from signaling.wire import (
    ClientMessage,
    Error,
    Join,
    Joined,
    Leave,
    Ping,
    Pong,
    PublishAnswer,
    PublishOffer,
    Source,
    SubscribeAnswer,
    SubscribeOffer,
    UnknownServerMessage,
    parse_server_message,
)

from .media import ClipTrack, Feedback, Stream, watch_sender
from .servers import ICE_ADDRESSES

REPO = Path(__file__).resolve().parents[1]
API_KEY = "mbk_bench-key-0123456789abcdefghijkl"
JANUS_LIBS = Path("/usr/lib/x86_64-linux-gnu/janus")
TARGETS = ("meetbox", "aiortc-relay", "janus")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Registry:
    """What the generator knows about every participant of one target run."""

    by_key: dict[str, Participant] = field(default_factory=dict)  # publisher key -> participant


class Participant:
    """A synthetic participant. ``join(tracks)`` joins and publishes (if ``tracks``);
    ``subscribe(publishers)`` receives the tracks of ``publishers`` where the server does
    not subscribe on its own."""

    def __init__(self, target: Target, room: Any, name: str, codec: str) -> None:
        self.target = target
        self.room = room
        self.name = name
        self.codec = codec
        self.key = name  # how the server names this participant (a publisher key)
        self.started_at = 0.0
        #: when this participant asked to receive (meetbox: at join; the others: subscribe)
        self.subscribe_at = 0.0
        self.ice_at: float | None = None
        self.published_at: float | None = None
        self.subscribes = False
        self.streams: dict[str, Stream] = {}
        self.sent: dict[bytes, float] = {}
        self.feedback = Feedback()
        self.pcs: list[RTCPeerConnection] = []

    def new_pc(self, bundle: bool = True) -> RTCPeerConnection:
        config = RTCConfiguration(bundlePolicy=RTCBundlePolicy.MAX_BUNDLE) if bundle else None
        pc = RTCPeerConnection(config)

        @pc.on("iceconnectionstatechange")
        def _state() -> None:
            if pc.iceConnectionState == "completed" and self.ice_at is None:
                self.ice_at = time.monotonic()

        self.pcs.append(pc)
        return pc

    def add_tracks(self, pc: RTCPeerConnection, tracks: list[ClipTrack]) -> None:
        for track in tracks:
            t = pc.addTransceiver(track, direction="sendonly")
            if track.kind == "video":
                caps = RTCRtpSender.getCapabilities("video").codecs
                mime = "video/" + ("VP8" if self.codec == "vp8" else "H264")
                t.setCodecPreferences([c for c in caps if c.mimeType == mime])

    def published(self, pc: RTCPeerConnection) -> None:
        watch_sender(pc, self.sent, self.feedback)
        self.published_at = time.monotonic()
        self.target.registry.by_key[self.key] = self

    def hook(self, pc: RTCPeerConnection, mids: dict[str, str]) -> None:
        """Count packets on each new receiving m-line; ``mids``: mid -> publisher key."""
        for transceiver in pc.getTransceivers():
            mid = transceiver.mid
            if mid is None or mid not in mids or mid in self.streams:
                continue
            publisher = self.target.registry.by_key.get(mids[mid])
            since = max(
                self.started_at, self.subscribe_at, (publisher and publisher.published_at) or 0.0
            )
            stream = Stream(
                kind=transceiver.kind,
                codec=self.codec if transceiver.kind == "video" else "opus",
                publisher=mids[mid],
                since=since,
                sent=publisher.sent if publisher else None,
            )
            stream.attach(transceiver.receiver)
            self.streams[mid] = stream

    async def join(self, tracks: list[ClipTrack]) -> None:
        raise NotImplementedError

    async def subscribe(self, publishers: list[Participant]) -> None:
        raise NotImplementedError

    async def ping(self) -> float:
        """Round trip of one signaling ping (seconds)."""
        raise NotImplementedError

    async def close(self) -> None:
        for pc in self.pcs:
            with contextlib.suppress(Exception):
                await pc.close()


class Target:
    name = ""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.proc: asyncio.subprocess.Process | None = None
        self.registry = Registry()
        self._log: Any = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def _spawn(self, *argv: str, env: dict[str, str] | None = None) -> None:
        self._log = open(self.workdir / f"{self.name}.log", "wb")  # noqa: SIM115, ASYNC230
        # This checkout's src first: the server measured is the tree the bench is in, not
        # whichever checkout the venv's editable install points at (another worktree's).
        path = os.pathsep.join((str(REPO / "src"), str(REPO)))
        self.proc = await asyncio.create_subprocess_exec(
            *argv,
            cwd=str(self.workdir),
            env={**os.environ, "PYTHONPATH": path, **(env or {})},
            stdout=self._log,
            stderr=asyncio.subprocess.STDOUT,
            stdin=asyncio.subprocess.DEVNULL,
        )

    async def tasks(self) -> int | None:
        """The server's own count of its asyncio tasks, where it reports one."""
        return None

    async def _until(self, probe: Any, what: str, seconds: float = 30.0) -> None:
        deadline = time.monotonic() + seconds
        while True:
            assert self.proc is not None
            if self.proc.returncode is not None:
                raise RuntimeError(f"{self.name} exited while starting; see {self._log.name}")
            with contextlib.suppress(Exception):
                if await probe():
                    return
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name}: {what} within {seconds} s")
            await asyncio.sleep(0.1)  # polling a process that is starting

    async def start(self) -> None:
        raise NotImplementedError

    async def room(self, index: int, publishers: int) -> Any:
        raise NotImplementedError

    def participant(self, room: Any, name: str, codec: str) -> Participant:
        raise NotImplementedError

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            try:
                async with asyncio.timeout(15):
                    await self.proc.wait()
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
        if self._log is not None:
            self._log.close()


# -- meetbox ------------------------------------------------------------------------------


class MeetboxTarget(Target):
    """``meetbox serve --workers N``; named ``meetbox`` with 1 worker (media in the server's
    own process, the figures of earlier runs), ``meetbox-wN`` with N."""

    name = "meetbox"

    def __init__(self, workdir: Path, workers: int = 1) -> None:
        super().__init__(workdir)
        self.workers = workers
        if workers != 1:
            self.name = f"meetbox-w{workers}"

    async def tasks(self) -> int | None:
        """From ``/metrics`` (``meetbox_asyncio_tasks``)."""
        with contextlib.suppress(Exception):
            for line in (await self.http.get("/metrics")).text.splitlines():
                if line.startswith("meetbox_asyncio_tasks "):
                    return int(float(line.split()[1]))
        return None

    async def start(self) -> None:
        self.port = free_port()
        data = self.workdir / "meetbox-data"
        await self._spawn(
            sys.executable, "-m", "bench.servers", "meetbox", "--port", str(self.port),
            "--data-dir", str(data), "--log-level", "warning", "--workers", str(self.workers),
            env={"MEETBOX_INITIAL_API_KEY": API_KEY},
        )  # fmt: skip
        self.http = httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{self.port}", headers={"X-API-Key": API_KEY}, timeout=30
        )

        async def healthy() -> bool:
            return (await self.http.get("/healthz")).status_code == 200

        await self._until(healthy, "/healthz answers")

    async def room(self, index: int, publishers: int) -> Any:
        response = await self.http.post("/api/v1/rooms", json={"name": f"bench-{index}"})
        response.raise_for_status()
        return response.json()["links"]["speaker"]["secret"]

    def participant(self, room: Any, name: str, codec: str) -> Participant:
        return MeetboxParticipant(self, room, name, codec)

    async def stop(self) -> None:
        if hasattr(self, "http"):
            await self.http.aclose()
        await super().stop()


class MeetboxParticipant(Participant):
    target: MeetboxTarget

    def __init__(self, target: MeetboxTarget, room: Any, name: str, codec: str) -> None:
        super().__init__(target, room, name, codec)
        self.ws: Any = None
        self.reader: asyncio.Task[None] | None = None
        self.answer: asyncio.Future[str] | None = None
        self.pongs: asyncio.Queue[float] = asyncio.Queue()
        self.pub = self.new_pc()
        self.sub = self.new_pc()

    async def join(self, tracks: list[ClipTrack]) -> None:
        self.started_at = time.monotonic()
        body = {"secret": self.room, "nickname": self.name}
        response = await self.target.http.post("/api/v1/join", json=body)
        response.raise_for_status()
        ws_url = response.json()["ws_url"].replace("localhost", "127.0.0.1")
        self.ws = await websockets.connect(ws_url, max_size=1 << 20)
        await self._send(Join(token=response.json()["token"]))
        joined = parse_server_message(await self.ws.recv())
        if not isinstance(joined, Joined):
            raise ConnectionError(f"not admitted: {joined.serialize()}")
        self.key = joined.you.id
        self.reader = asyncio.create_task(self._read())
        if tracks:
            self.add_tracks(self.pub, tracks)
            await self.pub.setLocalDescription(await self.pub.createOffer())
            sources = {
                t.mid: Source.CAMERA if t.kind == "video" else Source.MICROPHONE
                for t in self.pub.getTransceivers()
            }
            self.answer = asyncio.get_running_loop().create_future()
            await self._send(PublishOffer(sdp=self.pub.localDescription.sdp, sources=sources))
            async with asyncio.timeout(30):
                sdp = await self.answer
            await self.pub.setRemoteDescription(RTCSessionDescription(sdp, "answer"))
            self.published(self.pub)

    async def subscribe(self, publishers: list[Participant]) -> None:
        self.subscribes = True  # meetbox subscribes everyone to everything by itself

    async def _send(self, message: ClientMessage) -> None:
        await self.ws.send(message.serialize())

    async def _read(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in self.ws:
                try:
                    message = parse_server_message(raw)
                except UnknownServerMessage:
                    continue  # a newer server's: nothing the bench needs
                answer = self.answer if self.answer is not None and not self.answer.done() else None
                match message:
                    case PublishAnswer(sdp=sdp) if answer is not None:
                        answer.set_result(sdp)
                    case SubscribeOffer(sdp=sdp, tracks=tracks):
                        await self.sub.setRemoteDescription(RTCSessionDescription(sdp, "offer"))
                        await self.sub.setLocalDescription(await self.sub.createAnswer())
                        # Counting starts before the answer goes: on a connection already
                        # up, the server forwards as soon as it has the answer, and a
                        # keyframe counted only after the send was missed (the stream then
                        # waited for the clip's next keyframe, up to 4 s later).
                        mids = {m: t.rsplit(":", 1)[0] for m, t in tracks.items()}
                        self.hook(self.sub, mids)
                        await self._send(SubscribeAnswer(sdp=self.sub.localDescription.sdp))
                    case Pong():
                        self.pongs.put_nowait(time.monotonic())
                    case Error() if answer is not None:
                        answer.set_exception(ConnectionError(message.serialize()))

    async def ping(self) -> float:
        t0 = time.monotonic()
        await self._send(Ping())
        async with asyncio.timeout(10):
            return await self.pongs.get() - t0

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self._send(Leave())
            await self.ws.close()
        if self.reader is not None:
            self.reader.cancel()
            await asyncio.gather(self.reader, return_exceptions=True)
        await super().close()


# -- stock aiortc relay --------------------------------------------------------------------


class RelayTarget(Target):
    name = "aiortc-relay"

    async def start(self) -> None:
        self.port = free_port()
        await self._spawn(sys.executable, "-m", "bench.servers", "aiortc-relay",
                          "--port", str(self.port))  # fmt: skip

        async def ready() -> bool:
            async with websockets.connect(f"ws://127.0.0.1:{self.port}") as ws:
                await ws.send('{"type": "ping"}')
                return bool(await ws.recv())

        await self._until(ready, "its WebSocket answers")

    async def room(self, index: int, publishers: int) -> Any:
        return f"room-{index}"

    def participant(self, room: Any, name: str, codec: str) -> Participant:
        return RelayParticipant(self, room, name, codec)


class RelayParticipant(Participant):
    target: RelayTarget

    def __init__(self, target: RelayTarget, room: Any, name: str, codec: str) -> None:
        super().__init__(target, room, name, codec)
        self.sockets: list[Any] = []

    async def _connect(self) -> Any:
        ws = await websockets.connect(f"ws://127.0.0.1:{self.target.port}", max_size=1 << 20)
        self.sockets.append(ws)
        return ws

    async def join(self, tracks: list[ClipTrack]) -> None:
        self.started_at = time.monotonic()
        ws = await self._connect()
        if tracks:
            pc = self.new_pc()
            self.add_tracks(pc, tracks)
            await pc.setLocalDescription(await pc.createOffer())
            await ws.send(json.dumps({"type": "publish", "room": self.room, "name": self.name,
                                      "sdp": pc.localDescription.sdp}))  # fmt: skip
            async with asyncio.timeout(30):
                answer = json.loads(await ws.recv())
            await pc.setRemoteDescription(RTCSessionDescription(answer["sdp"], "answer"))
            self.published(pc)

    async def subscribe(self, publishers: list[Participant]) -> None:
        self.subscribes = True
        self.subscribe_at = time.monotonic()
        ws = await self._connect()
        pc = self.new_pc()
        await ws.send(json.dumps({"type": "subscribe", "room": self.room, "name": self.name,
                                  "codec": self.codec}))  # fmt: skip
        async with asyncio.timeout(30):
            offer = json.loads(await ws.recv())
        await pc.setRemoteDescription(RTCSessionDescription(offer["sdp"], "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        await ws.send(json.dumps({"type": "answer", "sdp": pc.localDescription.sdp}))
        self.hook(pc, offer["tracks"])
        for stream in self.streams.values():
            stream.sent = None  # the relay re-encodes: payloads do not match what was sent

    async def ping(self) -> float:
        ws = self.sockets[0]
        t0 = time.monotonic()
        await ws.send('{"type": "ping"}')
        async with asyncio.timeout(10):
            await ws.recv()
        return time.monotonic() - t0

    async def close(self) -> None:
        for ws in self.sockets:
            await ws.close()
        await super().close()


# -- Janus VideoRoom -----------------------------------------------------------------------

JANUS_CONFIG = """general: {{
    configs_folder = "{dir}"
    plugins_folder = "{libs}/plugins"
    transports_folder = "{libs}/transports"
    events_folder = "{libs}/events"
    loggers_folder = "{libs}/loggers"
    debug_level = 3
    session_timeout = 0
    server_name = "bench"
}}
certificates: {{
}}
media: {{
    ipv6 = false
    rtp_port_range = "{rtp_ports}"
}}
nat: {{
    nice_debug = false
    ignore_mdns = true
    ice_enforce_list = "{ice}"
}}
plugins: {{
    disable = "{no_plugins}"
}}
transports: {{
    disable = "{no_transports}"
}}
loggers: {{
    disable = "libjanus_jsonlog.so"
}}
events: {{
    broadcast = false
}}
"""
JANUS_WEBSOCKETS = """general: {{
    json = "compact"
    ws = true
    ws_port = {port}
    ws_ip = "{ws_ip}"
    wss = false
}}
admin: {{
    admin_ws = false
}}
"""


def janus_installed() -> bool:
    return shutil.which("janus") is not None and (JANUS_LIBS / "plugins").is_dir()


class JanusTarget(Target):
    """Janus runs in a network namespace of its own, reached over a veth pair: its ICE
    (libnice) skips loopback interfaces, and the bench must not use any address that is not
    loopback or a namespace it made."""

    name = "janus"

    async def start(self) -> None:
        if not janus_installed():
            raise RuntimeError("janus is not installed (apt-get install janus)")
        self.netns = JanusNamespace()
        await self.netns.create()
        self.addresses = [self.netns.inside]
        ICE_ADDRESSES[:] = [self.netns.outside]  # our clients gather on our end of the veth
        self.port = free_port()
        conf = self.workdir / "janus"
        conf.mkdir(exist_ok=True)

        def others(folder: str, keep: str) -> str:
            names = sorted(p.name for p in (JANUS_LIBS / folder).glob("*.so"))
            return ",".join(n for n in names if n != keep)

        rtp = 30000 + (os.getpid() % 200) * 100
        (conf / "janus.jcfg").write_text(
            JANUS_CONFIG.format(
                dir=conf,
                libs=JANUS_LIBS,
                rtp_ports=f"{rtp}-{rtp + 2999}",
                ice=",".join(self.addresses),
                no_plugins=others("plugins", "libjanus_videoroom.so"),
                no_transports=others("transports", "libjanus_websockets.so"),
            )
        )
        (conf / "janus.transport.websockets.jcfg").write_text(
            JANUS_WEBSOCKETS.format(port=self.port, ws_ip=self.netns.inside)
        )
        (conf / "janus.plugin.videoroom.jcfg").write_text("general: {\n}\n")
        # ``ip netns exec`` execs janus in place: the pid (and /proc's CPU) is janus's own.
        await self._spawn(
            *self.netns.exec_prefix(),
            "janus",
            "-C",
            str(conf / "janus.jcfg"),
            "-F",
            str(conf),
            "-o",
        )
        self.admin = JanusSession(self.port, self.netns.inside)

        async def ready() -> bool:
            await self.admin.open()
            return True

        await self._until(ready, "its WebSocket answers")
        self.admin_handle = await self.admin.attach()
        self._rooms = itertools.count(1000)

    async def room(self, index: int, publishers: int) -> Any:
        room = next(self._rooms)
        await self.admin.message(self.admin_handle, {
            "request": "create", "room": room, "publishers": max(publishers, 1),
            "bitrate": 0, "fir_freq": 0, "audiocodec": "opus", "videocodec": self.codec,
            "notify_joining": False,
        })  # fmt: skip
        return room

    def participant(self, room: Any, name: str, codec: str) -> Participant:
        return JanusParticipant(self, room, name, codec)

    async def stop(self) -> None:
        if hasattr(self, "admin"):
            await self.admin.close()
        await super().stop()
        if hasattr(self, "netns"):
            await self.netns.delete()
        ICE_ADDRESSES[:] = ["127.0.0.1"]


class JanusNamespace:
    """A network namespace with one veth pair to ours: ``outside`` is our end, ``inside``
    Janus's. Needs root (CI runs as root). Deleting the namespace removes the pair."""

    def __init__(self) -> None:
        tag = os.getpid() % 10000
        octet = os.getpid() % 250 + 1
        self.name = f"meetbox-bench-{tag}"
        self.veth_out, self.veth_in = f"mbxo{tag}", f"mbxi{tag}"
        self.outside, self.inside = f"10.231.{octet}.1", f"10.231.{octet}.2"

    def exec_prefix(self) -> list[str]:
        return ["ip", "netns", "exec", self.name]

    async def create(self) -> None:
        if os.geteuid() != 0:
            raise RuntimeError("the janus target runs Janus in a network namespace: needs root")
        await self.delete()  # a leftover from an interrupted run
        inside = self.exec_prefix()
        for argv in (
            ["ip", "netns", "add", self.name],
            ["ip", "link", "add", self.veth_out, "type", "veth", "peer", "name", self.veth_in],
            ["ip", "link", "set", self.veth_in, "netns", self.name],
            ["ip", "addr", "add", f"{self.outside}/30", "dev", self.veth_out],
            ["ip", "link", "set", self.veth_out, "up"],
            [*inside, "ip", "addr", "add", f"{self.inside}/30", "dev", self.veth_in],
            [*inside, "ip", "link", "set", self.veth_in, "up"],
            [*inside, "ip", "link", "set", "lo", "up"],
        ):
            await _run(argv)

    async def delete(self) -> None:
        await _run(["ip", "netns", "del", self.name], check=False)
        await _run(["ip", "link", "del", self.veth_out], check=False)


async def _run(argv: list[str], check: bool = True) -> None:
    proc = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    _, err = await proc.communicate()
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {err.decode().strip()}")


class JanusError(Exception):
    pass


class JanusSession:
    """One Janus session over its own WebSocket; requests are matched by transaction."""

    def __init__(self, port: int, host: str) -> None:
        self.url = f"ws://{host}:{port}"
        self.ws: Any = None
        self.session_id = 0
        self.pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.reader: asyncio.Task[None] | None = None
        self._tx = itertools.count()
        self.up: dict[int, asyncio.Event] = {}  # handle -> set on its "webrtcup"

    async def open(self) -> None:
        self.ws = await websockets.connect(
            self.url, subprotocols=["janus-protocol"], max_size=1 << 22
        )
        self.reader = asyncio.create_task(self._read())
        self.session_id = (await self.call({"janus": "create"}))["data"]["id"]

    async def _read(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for raw in self.ws:
                msg = json.loads(raw)
                if msg.get("janus") == "webrtcup":
                    self.up.setdefault(msg.get("sender", 0), asyncio.Event()).set()
                future = self.pending.get(msg.get("transaction", ""))
                if future is None or future.done():
                    continue  # webrtcup, media, slowlink, hangup...
                if msg["janus"] == "ack" and not getattr(future, "ack_ends", False):
                    continue  # an asynchronous request: its event follows
                if msg["janus"] == "error":
                    future.set_exception(JanusError(str(msg["error"])))
                    continue
                data = msg.get("plugindata", {}).get("data", {})
                if "error" in data:
                    future.set_exception(JanusError(str(data)))
                    continue
                future.set_result(msg)

    async def call(self, msg: dict[str, Any], ack_ends: bool = False) -> dict[str, Any]:
        tx = f"t{next(self._tx)}"
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        future.ack_ends = ack_ends  # type: ignore[attr-defined]
        self.pending[tx] = future
        if self.session_id:
            msg["session_id"] = self.session_id
        try:
            await self.ws.send(json.dumps({**msg, "transaction": tx}))
            async with asyncio.timeout(30):
                return await future
        finally:
            del self.pending[tx]

    async def attach(self) -> int:
        reply = await self.call({"janus": "attach", "plugin": "janus.plugin.videoroom"})
        return int(reply["data"]["id"])

    async def message(
        self, handle: int, body: dict[str, Any], jsep: dict[str, str] | None = None
    ) -> dict[str, Any]:
        msg: dict[str, Any] = {"janus": "message", "handle_id": handle, "body": body}
        if jsep is not None:
            msg["jsep"] = jsep
        return await self.call(msg)

    async def trickle_done(self, handle: int) -> None:
        """Our candidates were all in the SDP: say so (Janus waits for it otherwise)."""
        msg = {"janus": "trickle", "handle_id": handle, "candidate": {"completed": True}}
        await self.call(msg, ack_ends=True)

    async def keepalive(self) -> None:
        await self.call({"janus": "keepalive"}, ack_ends=True)

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await self.call({"janus": "destroy"})
            await self.ws.close()
        if self.reader is not None:
            self.reader.cancel()
            await asyncio.gather(self.reader, return_exceptions=True)


class JanusParticipant(Participant):
    target: JanusTarget

    def __init__(self, target: JanusTarget, room: Any, name: str, codec: str) -> None:
        super().__init__(target, room, name, codec)
        self.session = JanusSession(target.port, target.netns.inside)

    async def join(self, tracks: list[ClipTrack]) -> None:
        self.started_at = time.monotonic()
        await self.session.open()
        if tracks:
            handle = await self.session.attach()
            joined = await self.session.message(handle, {
                "request": "join", "ptype": "publisher", "room": self.room, "display": self.name,
            })  # fmt: skip
            self.key = str(joined["plugindata"]["data"]["id"])
            pc = self.new_pc()
            self.add_tracks(pc, tracks)
            await pc.setLocalDescription(await pc.createOffer())
            reply = await self.session.message(
                handle,
                {"request": "configure", "audio": True, "video": True},
                {"type": "offer", "sdp": pc.localDescription.sdp},
            )
            await self.session.trickle_done(handle)
            await pc.setRemoteDescription(RTCSessionDescription(reply["jsep"]["sdp"], "answer"))
            self.published(pc)
            async with asyncio.timeout(30):  # Janus lists the feed once its media is up
                await self.session.up.setdefault(handle, asyncio.Event()).wait()

    async def subscribe(self, publishers: list[Participant]) -> None:
        self.subscribes = True
        self.subscribe_at = time.monotonic()
        feeds = [{"feed": int(p.key)} for p in publishers if p is not self]
        if not feeds:
            return
        handle = await self.session.attach()
        reply = await self.session.message(handle, {
            "request": "join", "ptype": "subscriber", "room": self.room, "streams": feeds,
        })  # fmt: skip
        pc = self.new_pc()
        await pc.setRemoteDescription(RTCSessionDescription(reply["jsep"]["sdp"], "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        mids = {
            s["mid"]: str(s["feed_id"])
            for s in reply["plugindata"]["data"].get("streams", [])
            if "feed_id" in s
        }
        self.hook(pc, mids)
        await self.session.message(
            handle, {"request": "start"}, {"type": "answer", "sdp": pc.localDescription.sdp}
        )
        await self.session.trickle_done(handle)

    async def ping(self) -> float:
        t0 = time.monotonic()
        await self.session.keepalive()
        return time.monotonic() - t0

    async def close(self) -> None:
        await self.session.close()
        await super().close()


def make_target(name: str, workdir: Path, codec: str) -> Target:
    target: Target
    if name == "meetbox" or name.startswith("meetbox-w"):
        target = MeetboxTarget(workdir, int(name.removeprefix("meetbox-w") or 1)
                               if name != "meetbox" else 1)  # fmt: skip
    elif name == "aiortc-relay":
        target = RelayTarget(workdir)
    elif name == "janus":
        target = JanusTarget(workdir)
    else:
        raise ValueError(f"unknown target {name!r}; one of {', '.join(TARGETS)}")
    target.codec = codec  # type: ignore[attr-defined]
    return target


def scratch_dir() -> Path:
    return Path(tempfile.mkdtemp(prefix="meetbox-bench-"))
