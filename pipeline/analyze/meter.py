"""Bar phase and time signature (4/4 or 3/4) from the beats.

essentia has no downbeat tracker. Listeners hear a bar start where the harmony changes and where the kick
and bass land, so for each meter (3, 4) and each phase the beats at that phase are scored by how much more
chord-change novelty (beat-synchronous chroma distance) and low-band onset energy (kick and bass: the
drums + bass stems when given) they carry than the other beats. 4/4 wins unless 3/4 is clearly better.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from pipeline.analyze.features import Features

_METERS = (4, 3)
_THREE_MARGIN = 0.15  # 3/4 must beat 4/4 by this much (scores are in standard deviations)
_LOW_WEIGHT = 0.7


@dataclass
class Meter:
    beats_per_bar: int
    phase: int  # index of the first downbeat in the beat list
    confidence: float  # 0..1, how far the winning phase stands out
    downbeats: np.ndarray


def beat_chroma(features: Features, beats: np.ndarray) -> np.ndarray:
    """Mean chroma (C = column 0) between consecutive beats, each row L2-normalised."""
    chroma = features.chroma
    frames = np.clip((beats * features.tonal_rate).astype(int), 0, len(chroma) - 1)
    ends = np.clip(np.append(frames[1:], len(chroma)), frames + 1, None)
    rows = np.stack([chroma[a:b].mean(axis=0) for a, b in zip(frames, ends, strict=True)])
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.where(norms > 0, norms, 1.0)


def chord_change_novelty(features: Features, beats: np.ndarray) -> np.ndarray:
    """How much the harmony changes at each beat (cosine distance to the previous beat's chroma)."""
    rows = beat_chroma(features, beats)
    novelty = np.zeros(len(beats))
    novelty[1:] = 1.0 - np.sum(rows[1:] * rows[:-1], axis=1)
    return novelty


def low_onsets(features: Features, beats: np.ndarray) -> np.ndarray:
    """Strongest low-band onset within ~12 ms of each beat."""
    env = features.low_onset
    if not len(env):
        return np.zeros(len(beats))
    idx = features.onset_index(beats)
    window = np.stack([env[np.clip(idx + d, 0, len(env) - 1)] for d in (-2, -1, 0, 1, 2)])
    return window.max(axis=0).astype(np.float64)


def _contrast(values: np.ndarray, meter: int, phase: int) -> float:
    """Mean at the phase's beats minus the mean elsewhere, in standard deviations of ``values``."""
    usable = len(values) - len(values) % meter
    if usable < 2 * meter:
        return 0.0
    grid = values[:usable].reshape(-1, meter)
    spread = float(values.std())
    if spread <= 0:
        return 0.0
    here = grid[:, phase].mean()
    elsewhere = np.delete(grid, phase, axis=1).mean()
    return float((here - elsewhere) / spread)


def estimate_meter(features: Features, beats: np.ndarray) -> Meter:
    novelty = chord_change_novelty(features, beats)
    low = low_onsets(features, beats)
    scores: dict[tuple[int, int], float] = {}
    for meter in _METERS:
        for phase in range(meter):
            shifted_n, shifted_l = novelty[phase:], low[phase:]
            scores[(meter, phase)] = _contrast(shifted_n, meter, 0) + _LOW_WEIGHT * _contrast(
                shifted_l, meter, 0
            )
    best = {m: max((s, p) for (mm, p), s in scores.items() if mm == m) for m in _METERS}
    meter = 3 if best[3][0] > best[4][0] + _THREE_MARGIN else 4
    score, phase = best[meter]
    others = sorted((s for (m, p), s in scores.items() if m == meter and p != phase), reverse=True)
    runner_up = others[0] if others else 0.0
    confidence = float(np.clip((score - runner_up) / 2.0, 0.0, 1.0))
    if len(beats) < 2 * meter:
        phase, confidence = 0, 0.0
    return Meter(meter, phase, confidence, beats[phase::meter])
