"""Song sections: boundaries where the song changes, on bar lines; labels that repeat; energy per section.

Each bar gets a feature vector of chroma (harmony), MFCC (timbre) and loudness, each dimension scaled by its
typical bar-to-bar change. Boundaries come from an optimal segmentation of those bars into runs of steady
character: the least within-section squared deviation plus a fixed price per boundary (penalised change-point
detection, the cost that kernel/BIC segmenters such as essentia's SBic or ruptures' PELT minimise; exact
here by dynamic programming, bars are few). Unlike a Foote novelty kernel it needs no padding at the song's
edges, so a change 3 bars into a 30 s clip is found as well as one in the middle of a long song.
Segments whose mean features are close share a label (average-linkage clustering, as librosa's
``agglomerative`` does for frames); neighbours with one label are one section, and a section longer than
``_LONG_BARS`` is cut into phrases of at most 16 bars (same label) so the arranger still marks them.
Energy is loudness and onset density per section, spread over the song's own range (loudest = 1.0).
"""

from __future__ import annotations

import string

import numpy as np

from pipeline.analyze.features import Features
from pipeline.types import Section

_MIN_SECTION_BARS = 4
# Price of one boundary in units of within-section squared deviation (features scaled by their typical
# bar-to-bar change): _PENALTY * ln(bars). Measured on the synthetic test songs and the shared real songs:
# 6-11 give the same boundaries on every 30 s clip; a flat 5 cuts synthetic songs into 4-bar pieces, a flat
# 40 misses the drop in the orchestral clip.
_PENALTY = 8.0
# Segments whose mean feature vectors are closer than this share a label. Measured: synthetic repeats
# 1.7-1.8, different parts of synthetic songs 9-10, different parts of real songs 3.0-8.6.
_SAME_LABEL_DISTANCE = 2.5
_LONG_BARS = 24  # sections longer than this are cut into phrases
_PHRASE_BARS = 16
_LOUDNESS_RANGE_DB = 6.0  # loudness differences smaller than this do not span the whole 0..1 energy range
_DENSITY_RANGE = 0.35  # the same for onset density, as a fraction of the densest section's
_LOUDNESS_WEIGHT = 0.75
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


def segment(rows: np.ndarray, min_bars: int, penalty: float) -> list[int]:
    """Start indices of the segmentation of ``rows`` minimising within-segment squared deviation plus
    ``penalty`` per boundary, every segment at least ``min_bars`` long (exact, O(n^2) dynamic programming)."""
    n = len(rows)
    if n < 2 * min_bars:
        return [0]
    first = np.vstack([np.zeros(rows.shape[1]), np.cumsum(rows, axis=0)])
    second = np.concatenate([[0.0], np.cumsum((rows**2).sum(axis=1))])
    best = np.full(n + 1, np.inf)
    best[0] = 0.0
    back = np.zeros(n + 1, dtype=int)
    for j in range(min_bars, n + 1):
        i = np.arange(0, j - min_bars + 1)
        i = i[(i == 0) | (i >= min_bars)]
        cost = (second[j] - second[i]) - ((first[j] - first[i]) ** 2).sum(axis=1) / (j - i)
        total = best[i] + cost + penalty * (i > 0)
        k = int(np.argmin(total))
        best[j], back[j] = total[k], i[k]
    starts, j = [], n
    while j > 0:
        j = int(back[j])
        starts.append(j)
    return sorted(starts)


def label_segments(rows: np.ndarray, starts: list[int]) -> list[str]:
    """A, B, ... in order of first appearance; segments whose mean features are alike share a letter.

    Average-linkage agglomerative clustering of the segment means, stopped at ``_SAME_LABEL_DISTANCE``.
    """
    bounds = [*starts, len(rows)]
    means = np.stack([rows[a:b].mean(axis=0) for a, b in zip(bounds[:-1], bounds[1:], strict=True)])
    dist = np.sqrt(((means[:, None, :] - means[None, :, :]) ** 2).sum(axis=2))
    clusters: list[list[int]] = [[i] for i in range(len(means))]
    while len(clusters) > 1:
        pairs = [
            (float(dist[np.ix_(a, b)].mean()), x, y)
            for x, a in enumerate(clusters)
            for y, b in enumerate(clusters)
            if x < y
        ]
        gap, x, y = min(pairs)
        if gap >= _SAME_LABEL_DISTANCE:
            break
        clusters[x] = sorted(clusters[x] + clusters[y])
        del clusters[y]
    cluster_of = {i: c for c, members in enumerate(clusters) for i in members}
    letters: dict[int, str] = {}
    for i in range(len(means)):
        letters.setdefault(cluster_of[i], string.ascii_uppercase[min(len(letters), 25)])
    return [letters[cluster_of[i]] for i in range(len(means))]


def _merge_repeats(starts: list[int], labels: list[str]) -> tuple[list[int], list[str]]:
    """Neighbouring segments with the same label are one section."""
    kept = [0]
    for i in range(1, len(starts)):
        if labels[i] != labels[kept[-1]]:
            kept.append(i)
    return [starts[i] for i in kept], [labels[i] for i in kept]


def _split_long(starts: list[int], labels: list[str], n: int) -> tuple[list[int], list[str]]:
    """Cut sections longer than ``_LONG_BARS`` into equal phrases (multiples of 4 bars, at most 16)."""
    out_starts: list[int] = []
    out_labels: list[str] = []
    for a, b, label in zip(starts, [*starts[1:], n], labels, strict=True):
        pieces = -(-(b - a) // _PHRASE_BARS) if b - a > _LONG_BARS else 1
        step = max(4, 4 * round((b - a) / pieces / 4))
        cuts = [a + k * step for k in range(pieces) if a + k * step <= b - _MIN_SECTION_BARS]
        out_starts.extend(cuts)
        out_labels.extend([label] * len(cuts))
    return out_starts, out_labels


def section_energy(features: Features, spans: list[tuple[float, float]]) -> list[float]:
    """0..1 per section: loudness and onset density placed in the song's own range, loudest section 1.0.

    Each is relative to the quietest/sparsest section, over the song's range but at least
    ``_LOUDNESS_RANGE_DB`` (``_DENSITY_RANGE``), so a part 1 dB quieter is not called silent.
    """
    loud, dense = [], []
    env = features.onset
    for start, end in spans:
        a = int(start * features.tonal_rate)
        b = max(a + 1, int(end * features.tonal_rate))
        rms = features.rms[a:b]
        loud.append(10 * np.log10(np.mean(rms.astype(np.float64) ** 2) + 1e-12) if len(rms) else -120.0)
        oa, ob = features.onset_index(np.array([start, end]))
        dense.append(float(env[oa : max(ob, oa + 1)].mean()) if len(env) else 0.0)
    loud_arr, dense_arr = np.maximum(np.array(loud), max(loud) - 60.0), np.array(dense)
    loud_rel = (loud_arr - loud_arr.min()) / max(float(np.ptp(loud_arr)), _LOUDNESS_RANGE_DB)
    dense_span = max(float(np.ptp(dense_arr)), _DENSITY_RANGE * float(dense_arr.max()), 1e-9)
    dense_rel = (dense_arr - dense_arr.min()) / dense_span
    mix = _LOUDNESS_WEIGHT * loud_rel + (1.0 - _LOUDNESS_WEIGHT) * dense_rel
    mix = mix + (1.0 - mix.max())  # the most energetic section reads 1.0, the spread is kept
    return [round(float(np.clip(e, 0.0, 1.0)), 3) for e in mix]


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
        starts = segment(rows, _MIN_SECTION_BARS, _PENALTY * np.log(len(rows)))
        labels = label_segments(rows, starts)
        starts, labels = _merge_repeats(starts, labels)
        starts, labels = _split_long(starts, labels, len(rows))
        times = [0.0, *[float(bars[i]) for i in starts[1:]], duration]
        spans = list(zip(times[:-1], times[1:], strict=True))
    energies = section_energy(features, spans)
    return [
        Section(start=round(a, 4), end=round(b, 4), label=lab, energy=e)
        for (a, b), lab, e in zip(spans, labels, energies, strict=True)
    ]
