"""A song's character as a covering band hears it first: does it float (no beat to lock to), how it swells.

A quiet, slow piece with no steady pulse (ambient strings, rubato piano and harp, a choir) is covered by a
metal band as doom and post-metal bands cover such music: the guitars play the song's chords at full weight,
but the drums do not lay a click and a wall of double kick over it; they build with the song's own loudness,
from a light ride in its quiet passages through the backbeat to the double kick at its swells. The beat
tracker says when there is no pulse: its confidence is low (or it only guessed a grid) and the song is quiet
or has few onsets.
"""

from __future__ import annotations

import numpy as np

from pipeline.arrange.grid import Bar
from pipeline.types import LOUDNESS_HOP_S, Analysis

# Below this tempo confidence (0..1) the tracked beat is not one a band would lock to. Measured on the shared
# excerpts (spleeter stems): the ambient strings 0.09 (a guessed grid), the rubato piano and harp 0.30, but
# also the orchestral piece 0.35 and the rap over a groove 0.15 (a guessed grid); every other song 0.50-0.73.
FLOATING_CONFIDENCE = 0.4
# ... so the song must also be quiet (integrated LUFS) or sparse (onsets per second): the floating pieces
# -19.0 and -17.1 LUFS with 4.8 and 4.5 onsets/s; the orchestral piece -13.1 and the rap -11.8 LUFS with
# 6.9 and 6.7 onsets/s.
FLOATING_BELOW_LUFS = -15.0
FLOATING_ONSET_RATE = 5.5
# How far under the song's loud parts (dB) a bar's drums play lighter: the calm ride below SWELL_CALM_DB, the
# backbeat from there up, the whole kit (its double kick) only where the song is within SWELL_FULL_DB of its
# loudest. Measured on the two floating excerpts (heavy, seed 0): the backbeat at most (-1.5 dB), velocities
# following the swell dB for dB and no double-time choruses found the ambient strings (mix rank 10 -> 1) but
# both were heard as rock (MSD metal 0.79 -> 0.09, 0.30 -> 0.07): a floating song still needs the double kick
# where it swells, and a drummer who plays dynamics, not one who fades with the song.
SWELL_CALM_DB = -9.0
SWELL_FULL_DB = -4.0
SWELL_VELOCITY = 0.5  # dB of velocity per dB of swell
SWELL_FLOOR_DB = -12.0


def is_floating(analysis: Analysis) -> bool:
    """True for a song with no pulse a band would lock to: a guessed or unsure beat in a quiet or sparse
    song."""
    unsure = analysis.tempo_is_guess or analysis.tempo_confidence < FLOATING_CONFIDENCE
    onsets = analysis.extra.get("onset_rate")
    sparse = onsets is not None and float(onsets) < FLOATING_ONSET_RATE
    return unsure and (analysis.loudness_lufs < FLOATING_BELOW_LUFS or sparse)


def bar_swells(analysis: Analysis, bars: list[Bar]) -> list[float]:
    """Each bar's loudness in the original, dB under the song's loud parts (0 .. SWELL_FLOOR_DB).

    Read from the analysis' short-term loudness curve (the 95th percentile of its sounding part is 0 dB); an
    analysis stored without one gives every bar 0 dB.
    """
    if not analysis.loudness_curve:
        return [0.0] * len(bars)
    curve = np.asarray(analysis.loudness_curve, dtype=np.float64)
    sounding = curve > curve.max() - 40.0
    ref = float(np.percentile(curve[sounding], 95)) if sounding.any() else float(curve.max())
    hops = np.arange(curve.size) * LOUDNESS_HOP_S
    swells = []
    for bar in bars:
        inside = (hops >= bar.start) & (hops < bar.end)
        level = float(curve[inside].mean()) if inside.any() else float(np.interp(bar.start, hops, curve))
        swells.append(float(np.clip(level - ref, SWELL_FLOOR_DB, 0.0)))
    return swells
