"""A song's character: a quiet, slow, beatless pad song is heard as floating, and the drums build with it."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.analyze import analyze
from pipeline.arrange import arrange
from pipeline.arrange.character import SWELL_FULL_DB, bar_swells, is_floating
from pipeline.styles import PRESETS
from pipeline.tests.play_helpers import analysis_from_song, minor_progression_song
from pipeline.types import SAMPLE_RATE, RemixOptions

# A minor, rubato: A minor, F, C, G, D minor, E... each held for its own length, as a pad player breathes.
PAD_CHORDS = ((57, 60, 64), (53, 57, 60), (48, 52, 55), (55, 59, 62), (50, 53, 57), (52, 56, 59))
PAD_LENGTHS_S = (3.7, 4.9, 3.2, 5.6, 4.1, 3.4, 5.1, 4.4)


def pad_song() -> np.ndarray:
    """40 s of slow pads, chords changing at irregular times with 1.5 s swells, growing from very quiet
    (-30 dB) to loud: no drums, no attacks, no pulse."""
    n = int(40.0 * SAMPLE_RATE)
    out = np.zeros(n)
    t0 = 0.0
    k = 0
    while t0 < 40.0:
        length = PAD_LENGTHS_S[k % len(PAD_LENGTHS_S)]
        a, b = int(t0 * SAMPLE_RATE), min(n, int((t0 + length + 1.5) * SAMPLE_RATE))
        t = np.arange(b - a) / SAMPLE_RATE
        env = np.minimum(1.0, t / 1.5) * np.minimum(1.0, np.maximum(0.0, (b - a) / SAMPLE_RATE - t) / 1.5)
        for pitch in PAD_CHORDS[k % len(PAD_CHORDS)]:
            f = 440.0 * 2 ** ((pitch - 69) / 12)
            for h, w in ((1, 1.0), (2, 0.4), (3, 0.2), (0.5, 0.5)):
                out[a:b] += w * env * np.sin(2 * np.pi * f * h * t + pitch)
        t0 += length
        k += 1
    crescendo = 10 ** (np.linspace(-30.0, 0.0, n) / 20)
    mono = out * crescendo / np.abs(out * crescendo).max() * 0.3
    return np.stack([mono, mono]).astype(np.float32)


@pytest.fixture(scope="module")
def pad_analysis():
    return analyze(pad_song())


def test_a_beatless_pad_song_floats_and_a_song_with_a_beat_does_not(pad_analysis):
    assert is_floating(pad_analysis)
    assert not is_floating(analysis_from_song(minor_progression_song()))


@pytest.mark.parametrize("style", sorted(PRESETS))
def test_a_floating_songs_drums_start_low_grow_with_its_loudness_and_roll_a_double_kick_only_at_its_swell(
    pad_analysis, style
):
    arr = arrange(pad_analysis, RemixOptions(style=style, seed=0))
    assert arr.floating
    played = [(b, t) for b, t in zip(arr.bars, arr.treatments, strict=True) if t != "ending"]
    quarter = max(1, len(played) // 4)
    first, last = played[:quarter], played[-quarter:]

    def loudness(bars):  # summed squared velocity of the kit per second
        lo, hi = bars[0][0].start, bars[-1][0].end
        return sum(h.velocity**2 for h in arr.drums if lo <= h.time < hi) / (hi - lo)

    assert loudness(first) < 0.5 * loudness(last)  # starts low (3 dB and more under the end), grows
    swells = bar_swells(pad_analysis, [b for b, _ in played])
    rolling = []
    for (bar, _), swell in zip(played, swells, strict=True):
        kicks = sum(bar.start - 0.01 <= h.time < bar.end - 0.01 for h in arr.drums if h.role == "kick")
        rolling.append(kicks > 6)  # a 16th double kick puts 12 and more kicks in a bar, a fill at most 4
        if swell < SWELL_FULL_DB:
            assert not rolling[-1]
    assert not any(rolling[: len(rolling) // 2])  # not constant: the quiet first half has none
    assert max(h.velocity for h in arr.drums if h.time < first[-1][0].end) < 0.7


def test_a_song_with_a_beat_keeps_its_double_kick_choruses():
    arr = arrange(analysis_from_song(minor_progression_song()), RemixOptions(style="heavy", seed=0))
    assert not arr.floating
    full = [b for b, t in zip(arr.bars, arr.treatments, strict=True) if t == "full" and not b.section_end]
    kicks = [h.time for h in arr.drums if h.role == "kick"]
    rolls = [sum(b.start - 0.01 <= t < b.end - 0.01 for t in kicks) for b in full]
    assert full and min(rolls) >= 12
