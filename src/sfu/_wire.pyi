"""The relay's per-subscriber send, in C (src/sfu/_wire.c)."""

TOO_BIG: int
PROTECT_FAILED: int
SOCKET_FAILED: int
MAX_PACKET: int

def send_rtp(
    fd: int,
    sockaddr: bytes,
    srtp: int,
    protect: int,
    second_byte: int,
    seq: int,
    ts: int,
    ssrc: int,
    elements: bytes,
    payload: bytes,
    /,
) -> int: ...
def last_errno() -> int: ...
