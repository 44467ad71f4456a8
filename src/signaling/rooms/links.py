"""A room's links: one secret per role, and the shareable URL that carries it."""

from __future__ import annotations

from signaling.models import LinkRecord, Role
from signaling.tokens import new_secret, sha256_hex

__all__ = ["link_url", "new_link"]


def new_link(room_id: str, role: Role) -> LinkRecord:
    """A fresh link: a new secret, stored by its hash for lookup."""
    secret = new_secret(24)
    return LinkRecord(room_id, role, secret, sha256_hex(secret))


def link_url(public_url: str, link: LinkRecord) -> str:
    """The shareable URL. The secret rides in the fragment, which browsers never send to
    servers, so it stays out of access logs."""
    page = "recordings" if link.role is Role.RECORDINGS else "room"
    return f"{public_url}/{page}/{link.room_id}#secret={link.secret}"
