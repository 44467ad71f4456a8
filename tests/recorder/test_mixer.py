"""Mixing: sums, limits without clipping, silence when nothing, bounded buffers."""

from __future__ import annotations

from fractions import Fraction

import av
import numpy as np
import numpy.typing as npt

from recorder.mixer import CEILING, RATE, Mixer


def tone(freq: float, seconds: float, amplitude: float) -> npt.NDArray[np.float32]:
    t = np.arange(int(RATE * seconds)) / RATE
    mono = (amplitude * np.sin(2 * np.pi * freq * t)).astype(np.float32)
    return np.stack([mono, mono], axis=1)


def s16_frame(samples: npt.NDArray[np.float32], layout: str = "stereo") -> av.AudioFrame:
    """Packed s16 frame, like aiortc's Opus decoder gives."""
    ints = (samples * 32767).astype(np.int16)
    if layout == "mono":
        ints = ints[:, :1]
    packed = np.ascontiguousarray(ints).reshape(1, -1)
    frame = av.AudioFrame.from_ndarray(packed, format="s16", layout=layout)
    frame.sample_rate = RATE
    frame.time_base = Fraction(1, RATE)
    frame.pts = 0
    return frame


def energy_at(samples: npt.NDArray[np.float32], freq: float) -> float:
    spectrum = np.abs(np.fft.rfft(samples[:, 0]))
    freqs = np.fft.rfftfreq(len(samples), 1 / RATE)
    return float(spectrum[np.argmin(np.abs(freqs - freq))])


def test_silence_when_nobody_has_anything() -> None:
    mixer = Mixer()
    out = mixer.pull(960)
    assert out.shape == (960, 2) and not out.any()
    assert mixer.pull(0).shape == (0, 2)


def test_two_loud_tones_sum_without_clipping() -> None:
    mixer = Mixer()
    for i in range(25):  # 0.5 s of 20 ms frames, each at 0.8 of full scale
        chunk = slice(i * 960, (i + 1) * 960)
        mixer.push("a", s16_frame(tone(440, 0.5, 0.8)[chunk]))
        mixer.push("b", s16_frame(tone(660, 0.5, 0.8)[chunk]))
    out = np.concatenate([mixer.pull(1024) for _ in range(23)])
    assert float(np.abs(out).max()) <= CEILING
    # Limited, not clipped: the output is the sum times a gain that moves smoothly (a
    # clipped peak would show as a sharp dip in it).
    summed = (tone(440, 0.5, 0.8) + tone(660, 0.5, 0.8))[: len(out), 0]
    summed = np.round(summed * 32767 / 2) / 32767 * 2  # s16 rounding, roughly
    loud = np.abs(summed) > 0.3
    gain = out[loud, 0] / summed[loud]
    assert gain.min() > 0.5 and gain.max() <= 1.0
    assert float(np.abs(np.diff(gain)).max()) < 0.01
    for freq in (440, 660):
        assert energy_at(out, freq) > 50 * energy_at(out, freq + 110)


def test_quiet_tones_pass_untouched() -> None:
    mixer = Mixer()
    a, b = tone(440, 0.2, 0.2), tone(880, 0.2, 0.2)
    mixer.push_samples("a", a)
    mixer.push_samples("b", b)
    out = mixer.pull(len(a))
    assert np.allclose(out, a + b, atol=1e-6)


def test_a_buffer_keeps_only_the_newest_half_second() -> None:
    mixer = Mixer()
    for _ in range(100):  # 2 s pushed, nothing pulled
        mixer.push("a", s16_frame(tone(440, 0.02, 0.1)))
    assert mixer.buffered("a") == RATE // 2
    assert mixer.dropped == 2 * RATE - RATE // 2


def test_a_track_waits_for_its_prebuffer_and_again_after_running_dry() -> None:
    mixer = Mixer(prebuffer_s=0.04)
    mixer.push_samples("a", tone(440, 0.02, 0.1))
    assert not mixer.pull(480).any()  # 20 ms buffered, 40 ms needed
    mixer.push_samples("a", tone(440, 0.02, 0.1))
    assert mixer.pull(2400).any()  # plays what there is, then runs dry
    mixer.push_samples("a", tone(440, 0.02, 0.1))
    assert not mixer.pull(480).any()


def test_other_formats_are_resampled_and_removed_tracks_go_quiet() -> None:
    mixer = Mixer(prebuffer_s=0)
    mono = s16_frame(tone(440, 0.02, 0.5), layout="mono")
    mixer.push("m", mono)
    assert mixer.buffered("m") == 960
    out = mixer.pull(960)
    assert np.allclose(out[:, 0], out[:, 1]) and out.any()
    mixer.push("m", mono)
    mixer.remove("m")
    assert not mixer.pull(960).any()
