"""Everything people and API clients talk to: the HTTP app, rooms, links, roles, the store.

Must not touch RTP (that is :mod:`sfu`). One sub-package per concept; see docs/architecture.md
for the map. Importing this package imports nothing else, so a process that needs only
:mod:`signaling.wire` or :mod:`signaling.client` (the recorder, a media worker) does not load
the HTTP app.
"""
