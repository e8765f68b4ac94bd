"""Guitar and bass DI notes: recorded samples when a guitar pack is installed, else plucked-string synthesis
(Karplus-Strong with fractional delay, pick position and palm-mute damping).

Each distinct (pitch, muted, take) note is made once, only as long as its longest use in the part, and
cached; a part is then an overlap-add of cached notes cut to length, so a 3-minute part renders in well under
a second.
"""

from __future__ import annotations

import numpy as np
from scipy.signal import butter, lfilter, sosfilt

from pipeline.arrange.events import Note
from pipeline.assets import GuitarSamples
from pipeline.types import SAMPLE_RATE

# Where a string is plucked, as a fraction of its length from the bridge: the guitar near the bridge, the bass
# a fifth of the way along (over the neck pickup), which cancels the 5th harmonic. At the guitar's position
# that harmonic lit the major third of every bass note in the song's chroma (HPCP of one note: third 0.8-1.0
# of the root's weight, 0.03-0.2 at a fifth), a wrong third under minor chords that a listener, and the
# cover-song identifier, hears.
PICK_POSITION = 0.13
BASS_PICK_POSITION = 0.2


def midi_hz(pitch: float) -> float:
    return 440.0 * 2.0 ** ((pitch - 69.0) / 12.0)


def pluck(
    freq: float,
    seconds: float,
    rng: np.random.Generator,
    *,
    t60: float = 3.0,
    brightness: float = 0.7,
    pick_position: float = PICK_POSITION,
    glide_cents: float = 0.0,
    glide_s: float = 0.06,
    vibrato_cents: float = 0.0,
    vibrato_hz: float = 5.5,
    samples: int | None = None,
) -> np.ndarray:
    """One plucked string, float32 mono, ``seconds`` long (or its first ``samples`` if fewer).

    Karplus-Strong with a 3-tap loop filter at delays N-1, N, N+1 (a gentle low-pass whose total delay is
    exactly the period), computed one block of N-1 samples at a time. ``glide_cents`` starts the note sharp
    and relaxes it over ``glide_s``, as a hard-picked string does while its tension settles; ``vibrato_cents``
    adds a finger vibrato that fades in after the attack (lead playing).

    Each block reads only samples before it, and the blocks fall where they fall whatever the length, so
    the first ``samples`` are the same as the whole note's: a note cut short is synthesised only that far.
    """
    total = int(seconds * SAMPLE_RATE)
    if samples is not None:
        total = max(0, min(total, samples))
    p0 = SAMPLE_RATE / freq
    n0 = int(np.floor(p0 * 2 ** (-max(glide_cents, 0.0) / 1200) + 0.5))
    n_max = int(np.floor(p0 + 0.5)) + 2
    buf = np.zeros(total + 2 * n_max + 4, dtype=np.float64)
    exc = rng.uniform(-1.0, 1.0, n0)
    alpha = 0.15 + 0.8 * (1.0 - brightness)  # one-pole smoothing of the pick noise: darker pick
    exc = lfilter([1.0 - alpha], [1.0, -alpha], exc)
    exc = exc - np.roll(exc, max(1, int(pick_position * n0)))
    exc -= exc.mean()
    o = 2  # y[i] lives at buf[i + 2]
    buf[o : o + n0] = exc / (np.abs(exc).max() + 1e-9)
    g = 10.0 ** (-3.0 / (t60 * freq))
    s = n_max  # every look-back of the first block stays inside the buffer
    while s < total:
        cents = glide_cents * np.exp(-s / (glide_s * SAMPLE_RATE)) if glide_cents else 0.0
        if vibrato_cents:
            t = s / SAMPLE_RATE
            cents += vibrato_cents * min(1.0, max(0.0, (t - 0.15) / 0.3)) * np.sin(2 * np.pi * vibrato_hz * t)
        period = p0 * 2 ** (-cents / 1200)
        big_n = int(np.floor(period + 0.5))
        frac = period + 0.5 - big_n
        c0, c2 = (1.0 - frac) / 2.0, frac / 2.0
        step = big_n - 1
        lo = s + o
        buf[lo : lo + step] = g * (
            c0 * buf[lo - big_n + 1 : lo - big_n + 1 + step]
            + 0.5 * buf[lo - big_n : lo - big_n + step]
            + c2 * buf[lo - big_n - 1 : lo - big_n - 1 + step]
        )
        s += step
    return buf[o : total + o].astype(np.float32)


STRING_SPREAD_CENTS = 3.0
GLIDE_CENTS = (8.0, 20.0)


def shifted(sample: np.ndarray, semitones: float, samples: int | None = None) -> np.ndarray:
    """A recorded note played ``semitones`` higher (varispeed: the note gets shorter as it gets higher);
    only its first ``samples`` if given (each output sample is interpolated on its own: the same values)."""
    ratio = 2.0 ** (semitones / 12.0)
    positions = np.arange(0.0, sample.size - 1, ratio)[:samples]
    return np.interp(positions, np.arange(sample.size), sample).astype(np.float32)


class StringBank:
    """Cached notes for one player's take; ``detune_cents`` sets the take apart from its double.

    With ``samples`` (a guitar pack), plain and palm-muted notes are the pack's recorded DI notes, moved to
    the exact pitch (string spread and the take's detune included); lead notes with vibrato and bass notes
    stay synthesised. The model's pluck lacks a real string's attack and body, which recorded notes bring
    (heard as more metal); the notes keep their recorded onset swell (a hard start is heard as less metal).
    """

    def __init__(
        self,
        seed: int,
        detune_cents: float = 0.0,
        *,
        takes: int = 2,
        bass: bool = False,
        vibrato_cents: float = 0.0,
        samples: GuitarSamples | None = None,
    ) -> None:
        self.seed = seed
        self.samples = samples if not bass and not vibrato_cents else None
        self.detune = detune_cents
        self.takes = takes
        self.bass = bass
        self.pick_position = BASS_PICK_POSITION if bass else PICK_POSITION
        self.cache: dict[tuple[int, bool, int], np.ndarray] = {}
        # samples each note is made to (its longest use, from ``reserve``; a note not reserved is made whole),
        # and the limit each cached note was made with
        self.lengths: dict[tuple[int, bool, int], int] = {}
        self._made_to: dict[tuple[int, bool, int], int | None] = {}
        self.vibrato = vibrato_cents
        self.string_spread = STRING_SPREAD_CENTS
        self.glide = GLIDE_CENTS
        self._mute_lp = butter(2, 700.0 if not bass else 500.0, "low", fs=SAMPLE_RATE, output="sos")

    def key(self, pitch: int, mute: bool, take: int) -> tuple[int, bool, int]:
        """The cache key of a note: takes alternate between ``self.takes`` recordings of each pitch."""
        return (pitch, mute, take % self.takes)

    def reserve(self, notes: list[Note], n: int, fade_len: int) -> None:
        """Make each of a part's notes only as long as its longest use: ``render_part`` cuts note ``i`` to
        its duration plus ``fade_len``, within ``n`` samples from its onset. A note already made shorter than
        a new use is made again (its first samples are the same whatever its length)."""
        for i, note in enumerate(notes):
            start = int(round(note.time * SAMPLE_RATE))
            if start >= n:
                continue
            key = self.key(note.pitch, note.mute, i)
            need = min(int(note.duration * SAMPLE_RATE) + fade_len, n - start)
            if need <= self.lengths.get(key, 0):
                continue
            self.lengths[key] = need
            made_to = self._made_to.get(key)
            if key in self.cache and made_to is not None and made_to < need:
                del self.cache[key]

    def note(self, pitch: int, mute: bool, take: int) -> np.ndarray:
        key = self.key(pitch, mute, take)
        if key not in self.cache:
            samples = self.lengths.get(key)
            rng = np.random.default_rng([self.seed, pitch, int(mute), take % self.takes])
            # every string of a real guitar is a few cents off, and hard picking starts a note sharp
            cents = self.detune + rng.normal(0.0, self.string_spread)
            freq = midi_hz(pitch + cents / 100.0)
            glide = float(rng.uniform(*self.glide))
            recorded = self.samples.nearest(pitch, mute) if self.samples else None
            if recorded is not None:
                sampled, audio = recorded
                sound = shifted(audio, pitch - sampled + cents / 100.0, samples)
            elif mute:
                sound = pluck(
                    freq,
                    0.5,
                    rng,
                    t60=0.35,
                    brightness=0.55,
                    glide_cents=0.6 * glide,
                    pick_position=self.pick_position,
                    samples=samples,
                )
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
                    glide_cents=glide,
                    vibrato_cents=self.vibrato,
                    pick_position=self.pick_position,
                    samples=samples,
                )
            self.cache[key] = sound.astype(np.float32)
            self._made_to[key] = samples
        return self.cache[key]


def render_part(
    notes: list[Note], bank: StringBank, n: int, release_s: float = 0.012, *, out: np.ndarray | None = None
) -> np.ndarray:
    """Overlap-add the part's notes into a mono DI track of ``n`` samples; ``out`` (float32 (n,)), when
    given, is that track's buffer (e.g. a row of the stem it ends up in): it is zeroed and returned."""
    if out is None:
        out = np.zeros(n, dtype=np.float32)
    else:
        out[:] = 0.0
    fade_len = int(release_s * SAMPLE_RATE)
    ramp = np.linspace(1.0, 0.0, fade_len, dtype=np.float32)
    bank.reserve(notes, n, fade_len)  # each note made only as long as its longest use below
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
