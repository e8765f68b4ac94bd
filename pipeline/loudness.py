"""The loudness meter (ITU-R BS.1770-4, EBU R128), the one the analysis and the master both read.

K-weighting, then 400 ms blocks every 100 ms with the -70 LUFS absolute and -10 LU relative gates (integrated
loudness), and 3 s windows (short-term loudness, from which the loudness range is read). The analysis measures
the original with it (its loudness and the short-term curve the master follows); the master levels the stems,
rides and limits the bus and reports the remix's loudness with it, so "as loud as the original's loud parts"
means the same on both sides.

The K-weighting filters are designed as libebur128 designs them (the bilinear transform of the standard's
analogue prototypes), which gives BS.1770's published 48 kHz coefficients exactly; the meter agrees with
pyloudnorm's "DeMan" filters to 0.001 LU. pyloudnorm's default filters (RBJ-cookbook biquads) read about
0.045 LU quieter. The signal is filtered block by block with the filter state carried over, so no weighted
copy of a long song is made; power can be summed over frames (the analysis keeps one value per 100 ms).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

import numpy as np
from scipy.signal import sosfilt

from pipeline.types import SAMPLE_RATE

SILENCE_LUFS = -70.0  # the absolute gate: anything quieter reads as this
SHORT_TERM_S = 3.0  # EBU R128 short-term window
_BLOCK_S = 0.4
_STEP_S = 0.1
_FILTER_BLOCK = 1 << 18  # samples filtered at a time


@lru_cache(maxsize=4)
def k_weighting(rate: int = SAMPLE_RATE) -> np.ndarray:
    """BS.1770 pre-filter (high shelf) and RLB high-pass as second-order sections for ``rate``."""
    # Coefficients by the bilinear-transform design pyloudnorm and libebur128 use.
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = np.tan(np.pi * f0 / rate)
    vh = 10 ** (gain_db / 20)
    vb = vh**0.4996667741545416
    a0 = 1 + k / q + k * k
    shelf = [
        (vh + vb * k / q + k * k) / a0,
        2 * (k * k - vh) / a0,
        (vh - vb * k / q + k * k) / a0,
        1.0,
        2 * (k * k - 1) / a0,
        (1 - k / q + k * k) / a0,
    ]
    f0, q = 38.13547087602444, 0.5003270373238773
    k = np.tan(np.pi * f0 / rate)
    a0 = 1 + k / q + k * k
    highpass = [1.0, -2.0, 1.0, 1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]
    return np.array([shelf, highpass])


def step_frames(rate: int = SAMPLE_RATE) -> int:
    """Samples in one 100 ms step of the gating blocks: the frame the analysis sums power over."""
    return int(round(_STEP_S * rate))


def _weigh(
    sos: np.ndarray, part: np.ndarray, state: np.ndarray, pool: ThreadPoolExecutor | None
) -> np.ndarray:
    """``part`` (c, m) K-weighted, carrying ``state`` (sections, c, 2) over in place; with ``pool``, each
    channel filtered on its own thread (``sosfilt`` filters each row on its own, so the same samples)."""
    if pool is None:
        weighted, state[...] = sosfilt(sos, part, axis=1, zi=state)
        return weighted

    def row(c: int) -> np.ndarray:
        weighted, state[:, c : c + 1] = sosfilt(sos, part[c : c + 1], axis=1, zi=state[:, c : c + 1])
        return weighted[0]

    return np.stack(list(pool.map(row, range(part.shape[0]))))


def k_power(audio: np.ndarray, *, frame: int = 1, rate: int = SAMPLE_RATE, threads: int = 1) -> np.ndarray:
    """K-weighted power summed over channels: per sample (n,) float32, or with ``frame`` > 1 summed over
    each whole frame of that many samples (n // frame,) float64, the last partial frame left out.

    With ``threads`` > 1 the channels are filtered side by side (the filter releases the GIL): the same
    values, in less time where a core is free (the master's serial stretches)."""
    x = np.atleast_2d(audio)
    n = x.shape[1]
    sos = k_weighting(rate).astype(np.float32)
    state = np.zeros((sos.shape[0], x.shape[0], 2), dtype=np.float32)
    block = _FILTER_BLOCK if frame == 1 else max(1, _FILTER_BLOCK // frame) * frame
    power = np.empty(n, dtype=np.float32) if frame == 1 else np.empty(n // frame, dtype=np.float64)
    workers = min(threads, x.shape[0])
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="k-weighting") if workers > 1 else None
    try:
        for start in range(0, n, block):
            part = x[:, start : start + block].astype(np.float32, copy=False)
            weighted = _weigh(sos, part, state, pool)
            if frame == 1:
                power[start : start + block] = np.einsum("cn,cn->n", weighted, weighted)
                continue
            whole = part.shape[1] // frame * frame
            sums = np.einsum("cn,cn->n", weighted[:, :whole], weighted[:, :whole]).reshape(-1, frame)
            first = start // frame
            power[first : first + sums.shape[0]] = sums.sum(axis=1, dtype=np.float64)
    finally:
        if pool is not None:
            pool.shutdown()
    return power


_CUM_BLOCK = 1 << 18  # values summed at a time by ``_running_sums``


def _running_sums(power: np.ndarray, at: np.ndarray) -> np.ndarray:
    """``concatenate([[0.0], cumsum(power, dtype=float64)])[at]`` for indices ``at`` (0 .. power.size),
    without the song-long float64 copy: the running sum goes on block by block from the last block's total,
    adding the same values in the same order, so every sum is the same to the last bit."""
    flat = at.ravel()
    out = np.empty(flat.size, dtype=np.float64)
    order = np.argsort(flat, kind="stable")
    ranked = flat[order]
    total = np.zeros(1, dtype=np.float64)
    for start in range(0, power.size + 1, _CUM_BLOCK):
        stop = min(power.size, start + _CUM_BLOCK)
        # sums[i]: cum[start + i]
        sums = np.cumsum(np.concatenate([total, power[start:stop]]), dtype=np.float64)
        lo, hi = np.searchsorted(ranked, [start, stop], side="left")
        if stop == power.size:
            hi = ranked.size
        out[order[lo:hi]] = sums[ranked[lo:hi] - start]
        total = sums[-1:]
    return out.reshape(at.shape)


def gated_loudness(power: np.ndarray, frame: int = 1, rate: int = SAMPLE_RATE) -> float:
    """Integrated loudness (LUFS) from K-weighted power: per sample (n,), or per ``frame`` samples (each value
    the sum over its frame); SILENCE_LUFS for silence or less than one block."""
    frame_rate = rate / frame
    block, hop = int(round(_BLOCK_S * frame_rate)), max(1, int(round(_STEP_S * frame_rate)))
    if power.size < block:
        return SILENCE_LUFS
    starts = np.arange(0, power.size - block + 1, hop)
    z = (_running_sums(power, starts + block) - _running_sums(power, starts)) / (block * frame)
    z = z[z > 10 ** ((SILENCE_LUFS + 0.691) / 10)]
    if z.size == 0:
        return SILENCE_LUFS
    rel = 10 * np.log10(z.mean()) - 10.0
    z = z[10 * np.log10(z) > rel]
    return float(-0.691 + 10 * np.log10(z.mean()))


def integrated_loudness(audio: np.ndarray, threads: int = 1) -> float:
    """Integrated loudness (LUFS) of (channels, n) audio at SAMPLE_RATE; SILENCE_LUFS for silence or audio
    shorter than one block. ``threads``: see ``k_power``."""
    if audio.shape[-1] < int(_BLOCK_S * SAMPLE_RATE) or not np.any(audio):
        return SILENCE_LUFS
    return gated_loudness(k_power(audio, threads=threads))


def spans_loudness(audio: np.ndarray, spans: list[tuple[int, int]], threads: int = 1) -> float:
    """Integrated loudness (LUFS) of ``audio``'s sample spans (start, stop) read as one signal: K-weighted
    once over the whole, in 100 ms frames, the frames inside the spans gated together (no copy of the audio).
    SILENCE_LUFS when they hold less than one block."""
    frame = step_frames()
    power = k_power(audio, frame=frame, threads=threads)
    inside = [power[a // frame : b // frame] for a, b in spans]
    return gated_loudness(np.concatenate(inside), frame) if inside else SILENCE_LUFS


def short_term(power: np.ndarray, hop_s: float, frame: int = 1, rate: int = SAMPLE_RATE) -> np.ndarray:
    """Short-term loudness (LUFS, 3 s windows centred on each hop, shortened at the edges) every ``hop_s``,
    from K-weighted power per sample or per ``frame`` samples (``hop_s`` and 1.5 s whole frames)."""
    hop = int(hop_s * rate / frame)
    half = int(SHORT_TERM_S * rate / 2 / frame)
    centres = np.arange(0, power.size, hop)
    lo, hi = np.clip(centres - half, 0, power.size), np.clip(centres + half, 0, power.size)
    mean = (_running_sums(power, hi) - _running_sums(power, lo)) / (np.maximum(hi - lo, 1) * frame)
    return -0.691 + 10 * np.log10(np.maximum(mean, 1e-12))


# A loudness curve's loud parts: its 95th percentile over the values within this many dB of its loudest (the
# song's sounding parts; a silent intro or a fade does not lower the reference).
_SOUNDING_DB = 40.0
_LOUD_PERCENTILE = 95


def under_loud_parts(curve: np.ndarray) -> np.ndarray:
    """A short-term loudness curve (LUFS) as dB relative to the song's loud parts (0 there, negative under
    them): the song's dynamics, whatever level it was mastered at."""
    curve = np.asarray(curve, dtype=np.float64)
    sounding = curve > curve.max() - _SOUNDING_DB
    ref = float(np.percentile(curve[sounding], _LOUD_PERCENTILE)) if sounding.any() else float(curve.max())
    return curve - ref
