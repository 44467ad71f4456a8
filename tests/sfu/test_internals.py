"""sfu.internals was written for exact versions of aiortc, aioice and pylibsrtp: this fails
loudly, naming the package and the version, on any other, and when an internal it uses is
gone (a renamed private attribute would otherwise fail silently: a ``setattr`` that creates
a new attribute, a patch of a method nobody calls)."""

from __future__ import annotations

from importlib.metadata import version

import pytest
from aiortc import RTCPeerConnection
from pylibsrtp import Policy, Session

from sfu import internals
from sfu.synthetic import ColorTrack


@pytest.mark.parametrize("package", sorted(internals.WRITTEN_FOR))
def test_the_installed_version_is_the_one_the_shim_was_written_for(package: str) -> None:
    wanted, installed = internals.WRITTEN_FOR[package], version(package)
    assert installed == wanted, (
        f"{package} {installed} is installed, but sfu/internals.py was written for "
        f"{package} {wanted}: check every internal its docstring lists against {package} "
        f"{installed}, then update WRITTEN_FOR and the pin in pyproject.toml"
    )


def test_the_pins_in_pyproject_match() -> None:
    from pathlib import Path

    pyproject = (Path(__file__).parents[2] / "pyproject.toml").read_text()
    for package, wanted in internals.WRITTEN_FOR.items():
        assert f'"{package}=={wanted}"' in pyproject, f"pyproject.toml does not pin {package}"


@pytest.mark.parametrize(
    ("owner", "name"),
    internals.PATCHED,
    ids=[f"{getattr(o, '__name__', type(o).__name__)}.{n}" for o, n in internals.PATCHED],
)
def test_every_method_and_global_the_shim_uses_exists(owner: object, name: str) -> None:
    assert hasattr(owner, name), f"{owner!r} has no {name}: {_versions()}"


async def test_every_instance_attribute_the_shim_uses_exists() -> None:
    pc = RTCPeerConnection()
    try:
        track = ColorTrack((1, 2, 3))
        pc.addTrack(track)
        await pc.setLocalDescription(await pc.createOffer())
        (transceiver,) = pc.getTransceivers()
        dtls = transceiver.sender.transport
        ice = dtls.transport
        session = Session(
            Policy(
                key=bytes(30),
                ssrc_type=Policy.SSRC_ANY_OUTBOUND,
                srtp_profile=Policy.SRTP_PROFILE_AES128_CM_SHA1_80,
            )
        )
        live = {
            "RTCDtlsTransport": dtls,
            "RTCIceTransport": ice,
            "RTCRtpTransceiver": transceiver,
            "RTCRtpSender": transceiver.sender,
            "RTCRtpReceiver": transceiver.receiver,
            "RTCPeerConnection": pc,
            "Connection": ice._connection,
            "Session": session,
            "MediaStreamTrack": track,
        }
        assert set(live) == set(internals.INSTANCE_ATTRIBUTES)
        for owner, names in internals.INSTANCE_ATTRIBUTES.items():
            assert owner in {c.__name__ for c in type(live[owner]).__mro__}
            for name in names:
                assert hasattr(live[owner], name), f"{owner} has no {name}: {_versions()}"
        # What the shim's accessors return, on the same objects.
        assert internals.codecs(transceiver) == transceiver._codecs
        assert internals.sender_ssrc(transceiver.sender) == transceiver.sender._ssrc
        assert internals.ice_transports(pc) == {ice}
        assert internals.nominated(dtls) is None  # nothing connected
        assert internals.srtp_session(dtls) is None
    finally:
        await pc.close()


def test_a_taken_receiver_keeps_no_bitrate_estimator() -> None:
    # aiortc's RTP handler is the estimator's only user; a video receiver's costs 0.47 MiB.
    from aiortc import RTCRtpReceiver
    from aiortc.rtcdtlstransport import RTCCertificate, RTCDtlsTransport
    from aiortc.rtcicetransport import RTCIceGatherer, RTCIceTransport

    async def handle(packet: object, arrival_time_ms: int = 0) -> None:
        return None

    async def make() -> RTCRtpReceiver:
        ice = RTCIceTransport(RTCIceGatherer())
        return RTCRtpReceiver(
            "video", RTCDtlsTransport(ice, [RTCCertificate.generateCertificate()])
        )

    import asyncio

    receiver = asyncio.run(make())
    estimator = "_RTCRtpReceiver__remote_bitrate_estimator"
    assert getattr(receiver, estimator) is not None, _versions()
    internals.take_receiver_rtp(receiver, handle)
    assert getattr(receiver, estimator) is None
    assert receiver._handle_rtp_packet is handle


def _versions() -> str:
    return ", ".join(f"{p} {version(p)} installed" for p in sorted(internals.WRITTEN_FOR))


# -- sfu.lazyav: what it assumes of aiortc's imports of PyAV ---------------------------------
# Each runs in a fresh interpreter: this one imported PyAV long ago.


def _fresh(code: str) -> str:
    import subprocess
    import sys
    from pathlib import Path

    src = str(Path(__file__).parents[2] / "src")
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={"PYTHONPATH": src, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_a_forwarding_process_never_loads_pyav() -> None:
    # If aiortc binds a PyAV name sfu.lazyav.DEFERRED does not list, PyAV loads for real here.
    out = _fresh(
        "import sys\n"
        "import sfu.room, sfu.peer, sfu.egress, sfu.track, sfu.internals\n"
        "from sfu import lazyav\n"
        "maps = open('/proc/self/maps').read()\n"
        "print(sorted(m for m in sys.modules if m == 'av' or m.startswith('av.')))\n"
        "print(lazyav.loaded(), 'libavcodec' in maps)\n"
    )
    assert out.split("\n")[:2] == ["[]", "False False"], out


def test_aiortc_still_encodes_and_decodes_with_pyav_deferred() -> None:
    # The stand-ins forward to PyAV (calls, class attributes, isinstance): a real round trip
    # through aiortc's own codecs, and ``av`` imported afterwards is the real module.
    out = _fresh(
        "import asyncio, fractions\n"
        "import sfu.room\n"
        "from sfu import lazyav\n"
        "from aiortc import mediastreams, rtcrtpreceiver, rtcrtpsender\n"
        "from aiortc.codecs import PCMU_CODEC, get_decoder, get_encoder, vpx\n"
        "from aiortc.jitterbuffer import JitterFrame\n"
        "from aiortc.rtcrtpparameters import RTCRtpCodecParameters\n"
        "assert not lazyav.loaded()\n"
        "assert not isinstance(object(), mediastreams.AudioFrame)\n"
        "async def main():\n"
        "    audio = await mediastreams.AudioStreamTrack().recv()\n"
        "    video = await mediastreams.VideoStreamTrack().recv()\n"
        "    return audio, video\n"
        "audio, video = asyncio.run(main())\n"
        "assert lazyav.loaded()\n"
        "import av\n"
        "assert type(audio) is av.AudioFrame and type(video) is av.VideoFrame\n"
        "assert isinstance(audio, mediastreams.AudioFrame)\n"
        "assert isinstance(audio, rtcrtpsender.Frame)\n"
        "assert not isinstance(audio, mediastreams.VideoFrame)\n"
        "assert issubclass(av.AudioFrame, mediastreams.Frame)\n"
        "assert issubclass(rtcrtpreceiver.av.FFmpegError, Exception)\n"
        "vp8 = RTCRtpCodecParameters(mimeType='video/VP8', clockRate=90000)\n"
        "for codec, frame, depayload in ((vp8, video, vpx.vp8_depayload),\n"
        "                                 (PCMU_CODEC, audio, bytes)):\n"
        "    encoder, decoder = get_encoder(codec), get_decoder(codec)\n"
        "    payloads, ts = encoder.encode(frame, force_keyframe=True)\n"
        "    data = b''.join(depayload(p) for p in payloads)\n"
        "    frames = decoder.decode(JitterFrame(data=data, timestamp=ts))\n"
        "    assert frames and isinstance(frames[0], type(frame)), frames\n"
        "print('ok')\n"
    )
    assert out.strip() == "ok"
