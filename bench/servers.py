"""The server processes the load tester measures, each started as its own process so that
/proc accounts for the server alone. Both keep ICE on loopback (aioice leaves 127.0.0.1 out of
its host candidates; here it is the only one).

    python -m bench.servers meetbox --port P --data-dir D   # ``meetbox serve``, unchanged
    python -m bench.servers aiortc-relay --port P           # stock aiortc MediaRelay

The aiortc relay is what a Python developer writes first: one peer connection per publisher,
and per subscriber one peer connection whose tracks are ``MediaRelay().subscribe(track)``
(aiortc decodes each published track once and encodes it again for every subscriber).
Signaling is one WebSocket per peer connection, JSON messages:

    -> {"type": "publish", "room", "name", "sdp"}      <- {"type": "answer", "sdp"}
    -> {"type": "subscribe", "room", "name", "codec"}
                               <- {"type": "offer", "sdp", "tracks": {mid: publisher name}}
    -> {"type": "answer", "sdp"}
    -> {"type": "ping"}                                <- {"type": "pong"}
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
from typing import Any

#: The ICE host addresses this process gathers on (see :func:`loopback_ice`).
ICE_ADDRESSES = ["127.0.0.1"]


def loopback_ice() -> None:
    """Gather ICE host candidates on :data:`ICE_ADDRESSES` only (127.0.0.1 unless changed):
    aioice leaves loopback out of its candidates otherwise."""
    import aioice.ice

    aioice.ice.get_host_addresses = lambda use_ipv4, use_ipv6: list(ICE_ADDRESSES)


async def relay_server(port: int) -> None:
    import websockets
    from aiortc import RTCPeerConnection, RTCRtpSender, RTCSessionDescription
    from aiortc.contrib.media import MediaRelay

    relay = MediaRelay()
    rooms: dict[str, list[tuple[str, Any]]] = {}

    async def handle(ws: Any) -> None:
        pc = RTCPeerConnection()
        published: list[tuple[str, Any]] = []
        try:
            async for raw in ws:
                msg = json.loads(raw)
                kind = msg["type"]
                if kind == "ping":
                    await ws.send(json.dumps({"type": "pong"}))
                elif kind == "publish":
                    name = msg["name"]
                    pc.on("track", lambda track, name=name: published.append((name, track)))
                    await pc.setRemoteDescription(RTCSessionDescription(msg["sdp"], "offer"))
                    await pc.setLocalDescription(await pc.createAnswer())
                    rooms.setdefault(msg["room"], []).extend(published)
                    await ws.send(json.dumps({"type": "answer", "sdp": pc.localDescription.sdp}))
                elif kind == "subscribe":
                    tracks = {}
                    for name, track in rooms.get(msg["room"], []):
                        if name == msg["name"]:
                            continue
                        t = pc.addTransceiver(relay.subscribe(track), direction="sendonly")
                        if track.kind == "video":
                            caps = RTCRtpSender.getCapabilities("video").codecs
                            mime = "video/" + ("VP8" if msg.get("codec") == "vp8" else "H264")
                            t.setCodecPreferences([c for c in caps if c.mimeType == mime])
                        tracks[t] = name
                    await pc.setLocalDescription(await pc.createOffer())
                    mids = {t.mid: name for t, name in tracks.items()}
                    reply = {"type": "offer", "sdp": pc.localDescription.sdp, "tracks": mids}
                    await ws.send(json.dumps(reply))
                elif kind == "answer":
                    await pc.setRemoteDescription(RTCSessionDescription(msg["sdp"], "answer"))
        except websockets.ConnectionClosed:
            pass
        finally:
            for room in rooms.values():
                for entry in published:
                    if entry in room:
                        room.remove(entry)
            await pc.close()

    async with websockets.serve(handle, "127.0.0.1", port, max_size=1 << 20):
        print("ready", flush=True)
        await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    loopback_ice()
    if argv[:1] == ["meetbox"]:
        from meetbox.cli import main as meetbox_main

        return meetbox_main(["serve", *argv[1:]])
    if argv[:1] == ["aiortc-relay"]:
        parser = argparse.ArgumentParser(prog="bench.servers aiortc-relay")
        parser.add_argument("--port", type=int, required=True)
        args = parser.parse_args(argv[1:])
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(relay_server(args.port))
        return 0
    print("usage: python -m bench.servers meetbox|aiortc-relay ...", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
