"""Media: aiortc peer connections and the RTP forwarding core (the signaling/SFU issue)."""

__all__: list[str] = []
