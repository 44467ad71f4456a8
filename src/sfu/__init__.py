"""The SFU: aiortc peer connections, and the relay of encoded RTP between them (nothing is
decoded or encoded on the server).

What the rest of the server uses: :class:`sfu.room.MediaRoom` (one per meeting) and its
:class:`sfu.peer.MediaPeer`\\ s, :class:`sfu.listener.MediaListener` and
:class:`sfu.listener.TrackInfo`, :class:`sfu.errors.MediaError`.

Sans-I/O cores: :mod:`sfu.router` (what to do with each RTP packet of a published track),
:mod:`sfu.forwarding` (renumbering, history, keyframe throttle, loss detection),
:mod:`sfu.keyframes`, :mod:`sfu.speaker`, :mod:`sfu.sdp` (offer checks),
:mod:`sfu.guard` (what may reach DTLS/SRTP), :mod:`sfu.rtpwrite`.

Adapters: :mod:`sfu.room`, :mod:`sfu.peer`, :mod:`sfu.track` (a published track and its
forwards), :mod:`sfu.egress` (encrypt and send, with ``sfu._wire`` in C), :mod:`sfu.ports`.
Every aiortc, aioice and pylibsrtp internal they rely on is in :mod:`sfu.internals`.

Importing the package defers PyAV (:mod:`sfu.lazyav`): aiortc, imported after, leaves
libav* unloaded until something decodes or encodes, which the SFU never does.
"""

from sfu import lazyav

__all__: list[str] = []

lazyav.install()
