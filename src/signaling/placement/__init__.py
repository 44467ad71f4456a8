"""The placement seam: which media process owns a room, and the one way signaling reaches
media and live meetings.

- :mod:`signaling.placement.seam`: the interface (:class:`Placement`, :class:`MediaChannel`,
  :class:`MediaEvents`) and the live-meeting commands, small typed values that can cross a
  process (later a node) boundary.
- :mod:`signaling.placement.local`: today's implementation, everything in this process.
"""
