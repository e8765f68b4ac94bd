"""Plucked-string DI synthesis (Karplus-Strong with fractional delay, pick position and palm-mute damping).

Each distinct (pitch, muted, take) note is synthesised once and cached; a part is then an overlap-add of
cached notes cut to length, so a 3-minute part renders in well under a second.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, lfilter, sosfilt

from pipeline.arrange.events import Note
from pipeline.types import SAMPLE_RATE


def midi_hz(pitch: float) -> float:
    return 440.0 * 2.0 ** ((pitch - 69.0) / 12.0)


def pluck(
    freq: float,
    seconds: float,
    rng: np.random.Generator,
    *,
    t60: float = 3.0,
    brightness: float = 0.7,
    pick_position: float = 0.13,
) -> np.ndarray:
    """One plucked string, float32 mono. Vectorised one period at a time: y[n] = g(a y[n-N] + b y[n-N-1])."""
    period = SAMPLE_RATE / freq
    big_n = int(np.floor(period + 0.5))
    frac = period + 0.5 - big_n
    # 3-tap loop filter at delays N-1, N, N+1: always a gentle low-pass, total delay exactly ``period``
    c0, c1, c2 = (1.0 - frac) / 2.0, 0.5, frac / 2.0
    g = 10.0 ** (-3.0 / (t60 * freq))
    total = int(seconds * SAMPLE_RATE)
    step = big_n - 1
    buf = np.zeros(total + big_n + step + 2, dtype=np.float64)
    exc = rng.uniform(-1.0, 1.0, big_n)
    alpha = 0.15 + 0.8 * (1.0 - brightness)  # one-pole smoothing of the pick noise: darker pick
    exc = lfilter([1.0 - alpha], [1.0, -alpha], exc)
    shift = max(1, int(pick_position * big_n))
    exc = exc - np.roll(exc, shift)
    exc -= exc.mean()
    buf[2 : big_n + 2] = exc / (np.abs(exc).max() + 1e-9)
    o = 2  # y[i] lives at buf[i + 2]
    for s in range(big_n, total, step):
        lo = s + o
        buf[lo : lo + step] = g * (
            c0 * buf[lo - big_n + 1 : lo - big_n + 1 + step]
            + c1 * buf[lo - big_n : lo - big_n + step]
            + c2 * buf[lo - big_n - 1 : lo - big_n - 1 + step]
        )
    return buf[o : total + o].astype(np.float32)


class StringBank:
    """Cached notes for one player's take; ``detune_cents`` sets the take apart from its double."""

    def __init__(self, seed: int, detune_cents: float = 0.0, *, takes: int = 2, bass: bool = False) -> None:
        self.seed = seed
        self.detune = detune_cents
        self.takes = takes
        self.bass = bass
        self.cache: dict[tuple[int, bool, int], np.ndarray] = {}
        self._mute_lp = butter(2, 700.0 if not bass else 500.0, "low", fs=SAMPLE_RATE, output="sos")

    def note(self, pitch: int, mute: bool, take: int) -> np.ndarray:
        key = (pitch, mute, take % self.takes)
        if key not in self.cache:
            rng = np.random.default_rng([self.seed, pitch, int(mute), take % self.takes])
            freq = midi_hz(pitch + self.detune / 100.0)
            if mute:
                sound = pluck(freq, 0.5, rng, t60=0.35, brightness=0.55)
                sound = 0.6 * sound + 1.6 * sosfilt(self._mute_lp, sound).astype(np.float32)
                sound *= np.exp(-np.arange(sound.size) / (0.09 * SAMPLE_RATE)).astype(np.float32)
            else:
                seconds = 4.0 if not self.bass else 3.0
                sound = pluck(
                    freq,
                    seconds,
                    rng,
                    t60=4.0 if not self.bass else 2.5,
                    brightness=0.8 if not self.bass else 0.5,
                )
            self.cache[key] = sound.astype(np.float32)
        return self.cache[key]


def render_part(notes: list[Note], bank: StringBank, n: int, release_s: float = 0.012) -> np.ndarray:
    """Overlap-add the part's notes into a mono DI track of ``n`` samples."""
    out = np.zeros(n, dtype=np.float32)
    fade_len = int(release_s * SAMPLE_RATE)
    ramp = np.linspace(1.0, 0.0, fade_len, dtype=np.float32)
    for i, note in enumerate(notes):
        start = int(round(note.time * SAMPLE_RATE))
        if start >= n:
            continue
        sound = bank.note(note.pitch, note.mute, i)
        length = min(sound.size, int(note.duration * SAMPLE_RATE) + fade_len, n - start)
        if length <= 0:
            continue
        seg = sound[:length] * np.float32(note.velocity)
        f = min(fade_len, length)
        seg[length - f :] *= ramp[fade_len - f :]
        out[start : start + length] += seg
    return out
