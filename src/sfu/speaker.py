"""Active speaker from the audio-level RTP header extension (RFC 6464): no audio decoding.

Each audio packet carries a level in -dBov (0 loudest, 127 silence). Per participant a
loudness score decays towards the latest level; the active speaker is the loudest one above
a floor, and a change is only reported once the new speaker has led for ``hold`` seconds, so
a cough does not steal the spotlight.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ActiveSpeaker"]

#: -dBov at or below which (quieter than) someone counts as silent.
SILENCE_DBOV = 60


@dataclass(slots=True)
class _Voice:
    score: float = 0.0
    last: float = 0.0


class ActiveSpeaker:
    def __init__(self, hold: float = 0.5, smoothing: float = 0.2, idle: float = 1.0) -> None:
        self._hold = hold
        self._alpha = smoothing
        self._idle = idle
        self._voices: dict[str, _Voice] = {}
        self.current: str | None = None
        self._candidate: str | None = None
        self._candidate_since = 0.0

    def observe(self, participant_id: str, level_dbov: int, now: float) -> None:
        """One audio packet's level from ``participant_id``."""
        loudness = max(0.0, float(SILENCE_DBOV - min(level_dbov, 127)))
        voice = self._voices.get(participant_id)
        if voice is None:
            voice = self._voices[participant_id] = _Voice()
        voice.score += self._alpha * (loudness - voice.score)
        voice.last = now

    def forget(self, participant_id: str) -> None:
        self._voices.pop(participant_id, None)
        if self.current == participant_id:
            self.current = None
        if self._candidate == participant_id:
            self._candidate = None

    def update(self, now: float) -> str | bool | None:
        """Re-evaluate; returns the new active speaker (``None`` for nobody) when it changed,
        ``False`` when it did not."""
        loudest, best = None, 1.0
        for pid, voice in self._voices.items():
            if now - voice.last <= self._idle and voice.score > best:
                loudest, best = pid, voice.score
        if loudest == self.current:
            self._candidate = None
            return False
        if loudest != self._candidate:
            self._candidate, self._candidate_since = loudest, now
        if now - self._candidate_since >= self._hold or (self.current is None and loudest):
            self.current = loudest
            self._candidate = None
            return loudest
        return False
