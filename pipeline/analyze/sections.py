"""Song sections: boundaries from novelty in a bar-level self-similarity matrix, labels, energy.

Each bar gets a feature vector of chroma (harmony), MFCC (timbre) and loudness. A checkerboard kernel slid
along the diagonal of the bars' self-similarity matrix peaks where the song changes character (Foote 2000);
peaks become boundaries on bar lines. Segments that resemble each other share a label (A, B, A, ...).
Energy is a mix of loudness and onset density per section, relative to the song.
"""

from __future__ import annotations

import string

import numpy as np

from pipeline.analyze.features import Features
from pipeline.types import Section

_KERNEL_BARS = 4  # half-width of the checkerboard kernel
_MIN_SECTION_BARS = 4
_SAME_LABEL = 0.75  # cross-similarity / self-similarity ratio above which two segments share a label
# Neighbours this alike are one section whatever the novelty said (measured: synthetic boundaries 0.32-0.44,
# boundaries in a real pop-rock song 0.46-0.77).
_SAME_NEIGHBOUR = 0.85
_LOUDNESS_RANGE_DB = 12.0
_PEAK_OVER_MEDIAN = 2.0  # a boundary's novelty must stand this far above the song's typical novelty
_PEAK_OVER_MEDIAN_SHORT = 2.4
_CLIP = 8.0
# Smallest bar-to-bar change that counts: unit-norm chroma, essentia MFCC (dB-like), loudness in dB.
_HARMONY_FLOOR = 0.03
_TIMBRE_FLOOR = 1.0
_LOUDNESS_FLOOR_DB = 0.5
_CHROMA_BARS = 4  # chroma is averaged over this many bars (one cycle of a typical progression)


def bar_features(features: Features, bars: np.ndarray) -> np.ndarray:
    """One row per bar (start times ``bars``): harmony, timbre and loudness groups of equal weight.

    Features are bar means (drum hits inside a bar do not count), each dimension scaled by its typical
    bar-to-bar change (see ``_standardise``). Chroma is averaged over a 4-bar window first: the chords of
    a progression change every bar, the progression itself changes between sections.
    """
    chroma, mfcc, rms = features.chroma, features.mfcc, features.rms
    frames = np.clip((bars * features.tonal_rate).astype(int), 0, len(chroma) - 1)
    ends = np.clip(np.append(frames[1:], len(chroma)), frames + 1, None)
    spans = list(zip(frames, ends, strict=True))
    bar_chroma = np.stack([chroma[a:b].mean(axis=0) for a, b in spans])
    bar_chroma /= np.linalg.norm(bar_chroma, axis=1, keepdims=True) + 1e-9
    window = np.ones(_CHROMA_BARS) / _CHROMA_BARS
    padded = np.pad(
        bar_chroma, ((_CHROMA_BARS // 2, _CHROMA_BARS - 1 - _CHROMA_BARS // 2), (0, 0)), mode="edge"
    )
    harmony = np.stack([np.convolve(padded[:, k], window, mode="valid") for k in range(12)], axis=1)
    timbre = np.stack([mfcc[a:b].mean(axis=0) for a, b in spans])
    loudness = np.array([[20 * np.log10(np.sqrt(np.mean(rms[a:b] ** 2)) + 1e-6)] for a, b in spans])
    groups = [
        _standardise(g, floor) / np.sqrt(g.shape[1])
        for g, floor in ((harmony, _HARMONY_FLOOR), (timbre, _TIMBRE_FLOOR), (loudness, _LOUDNESS_FLOOR_DB))
    ]
    return np.concatenate(groups, axis=1)


def _standardise(values: np.ndarray, floor: float) -> np.ndarray:
    """Scale each dimension by its typical bar-to-bar change (median absolute first difference).

    A feature that is steady within sections and jumps between them gets large values; one that
    wanders from bar to bar (a melody, drum fills) gets small ones. ``floor`` is the smallest change that
    can count (in the feature's units), so a feature that barely moves is not blown up. Clipped so one odd
    bar (a fade, a stop) cannot dominate.
    """
    centre = np.median(values, axis=0)
    if len(values) < 3:
        return np.zeros_like(values)
    step = np.median(np.abs(np.diff(values, axis=0)), axis=0)
    return np.clip((values - centre) / np.maximum(step, floor), -_CLIP, _CLIP)


def self_similarity(rows: np.ndarray) -> np.ndarray:
    """Similarity in 0..1 from Euclidean distance, scaled by the median distance."""
    dist = np.sqrt(((rows[:, None, :] - rows[None, :, :]) ** 2).sum(axis=2))
    scale = float(np.median(dist[np.triu_indices(len(rows), 1)])) if len(rows) > 1 else 1.0
    return np.exp(-dist / (scale if scale > 0 else 1.0))


def novelty_curve(ssm: np.ndarray, half: int) -> np.ndarray:
    """Foote novelty: a Gaussian-tapered checkerboard kernel correlated along the diagonal.

    Only bars with a full kernel around them get a value (0 elsewhere): padding would invent contrast at
    the song's edges.
    """
    n = len(ssm)
    idx = np.arange(-half, half)
    taper = np.exp(-(((idx + 0.5) / (half * 0.7)) ** 2))
    sign = np.where(idx < 0, -1.0, 1.0)
    kernel = np.outer(sign * taper, sign * taper)
    kernel /= np.abs(kernel).sum()
    out = np.zeros(n)
    for i in range(half, n - half + 1):
        out[i] = float((ssm[i - half : i + half, i - half : i + half] * kernel).sum())
    return np.maximum(out, 0.0)


def pick_boundaries(novelty: np.ndarray, min_gap: int) -> list[int]:
    """Bar indices of section starts: clear local novelty maxima, at least ``min_gap`` bars apart."""
    valid = novelty[novelty > 0]
    if len(valid) < 2:
        return [0]
    over_median = (
        _PEAK_OVER_MEDIAN if min_gap > 2 else _PEAK_OVER_MEDIAN_SHORT
    )  # short songs: few bars, noisy
    threshold = max(float(valid.mean() + 0.5 * valid.std()), over_median * float(np.median(valid)))
    candidates = [
        i
        for i in range(1, len(novelty))
        if novelty[i] >= threshold and novelty[i] == novelty[max(0, i - min_gap) : i + min_gap + 1].max()
    ]
    chosen: list[int] = []
    for i in sorted(candidates, key=lambda j: -novelty[j]):
        if all(abs(i - j) >= min_gap for j in chosen):
            chosen.append(i)
    return [0, *sorted(chosen)]


def _likeness(ssm: np.ndarray, a: slice, b: slice) -> float:
    """Mean cross-similarity of two bar ranges over the smaller of their self-similarities."""
    return float(ssm[a, b].mean()) / max(1e-9, min(float(ssm[a, a].mean()), float(ssm[b, b].mean())))


def _drop_weak_boundaries(ssm: np.ndarray, starts: list[int]) -> list[int]:
    """Remove boundaries between neighbours that are alike, weakest first, until none is left."""
    starts = list(starts)
    while len(starts) > 1:
        bounds = [*starts, len(ssm)]
        blocks = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
        alike = [_likeness(ssm, blocks[i], blocks[i + 1]) for i in range(len(blocks) - 1)]
        worst = int(np.argmax(alike))
        if alike[worst] < _SAME_NEIGHBOUR:
            break
        del starts[worst + 1]
    return starts


def label_segments(ssm: np.ndarray, starts: list[int]) -> list[str]:
    """A, B, ... with a repeated letter for a segment that resembles an earlier one."""
    bounds = [*starts, len(ssm)]
    blocks = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    labels: list[str] = []
    letters = iter(string.ascii_uppercase)
    for i, bi in enumerate(blocks):
        best, best_ratio = None, 0.0
        for j in range(i):
            ratio = _likeness(ssm, bi, blocks[j])
            if ratio > best_ratio:
                best, best_ratio = j, ratio
        if best is not None and best_ratio >= _SAME_LABEL:
            labels.append(labels[best])
        else:
            labels.append(next(letters, "Z"))
    return labels


def _merge_repeats(starts: list[int], labels: list[str]) -> tuple[list[int], list[str]]:
    """Neighbouring segments with the same label are one section (the boundary was a false alarm)."""
    kept = [0]
    for i in range(1, len(starts)):
        if labels[i] != labels[kept[-1]]:
            kept.append(i)
    relabel: dict[str, str] = {}
    letters = iter(string.ascii_uppercase)
    new_labels = [relabel.setdefault(labels[i], next(letters, "Z")) for i in kept]
    return [starts[i] for i in kept], new_labels


def section_energy(features: Features, spans: list[tuple[float, float]]) -> list[float]:
    """0..1 per section: loudness relative to the loudest section (12 dB range) and onset density."""
    loud, dense = [], []
    env = features.onset
    for start, end in spans:
        a, b = (
            int(start * features.tonal_rate),
            max(int(start * features.tonal_rate) + 1, int(end * features.tonal_rate)),
        )
        rms = features.rms[a:b]
        loud.append(20 * np.log10(np.sqrt(np.mean(rms**2)) + 1e-6) if len(rms) else -120.0)
        oa, ob = features.onset_index(np.array([start, end]))
        dense.append(float(env[oa : max(ob, oa + 1)].mean()) if len(env) else 0.0)
    loud_arr, dense_arr = np.array(loud), np.array(dense)
    loud_rel = np.clip(1.0 + (loud_arr - loud_arr.max()) / _LOUDNESS_RANGE_DB, 0.0, 1.0)
    dense_rel = dense_arr / dense_arr.max() if dense_arr.max() > 0 else np.zeros_like(dense_arr)
    return [round(float(0.7 * lo + 0.3 * de), 3) for lo, de in zip(loud_rel, dense_rel, strict=True)]


def estimate_sections(features: Features, downbeats: np.ndarray) -> list[Section]:
    """Sections on bar lines covering the whole song."""
    duration = features.duration
    bars = np.asarray(downbeats, dtype=np.float64)
    bars = bars[bars < duration]
    if len(bars) > 1:
        bar_length = float(np.median(np.diff(bars)))
        if bars[0] > 0.5 * bar_length:
            bars = np.concatenate([[0.0], bars])  # a long pickup before the first downbeat counts as a bar
        if duration - bars[-1] < 0.75 * bar_length:
            bars = bars[:-1]  # a partial last bar (ring-out) joins the one before
    if len(bars) < 2 * _MIN_SECTION_BARS:
        spans = [(0.0, duration)]
        labels = ["A"]
    else:
        rows = bar_features(features, bars)
        ssm = self_similarity(rows)
        half = max(2, min(_KERNEL_BARS, len(bars) // 4))
        starts = pick_boundaries(novelty_curve(ssm, half), min(_MIN_SECTION_BARS, half))
        starts = _drop_weak_boundaries(ssm, starts)
        labels = label_segments(ssm, starts)
        starts, labels = _merge_repeats(starts, labels)
        times = [0.0, *[float(bars[i]) for i in starts[1:]], duration]
        spans = list(zip(times[:-1], times[1:], strict=True))
    energies = section_energy(features, spans)
    return [
        Section(start=round(a, 4), end=round(b, 4), label=lab, energy=e)
        for (a, b), lab, e in zip(spans, labels, energies, strict=True)
    ]
