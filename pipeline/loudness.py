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
copy of a long song is made; power can be summed over frames (the analysis keeps one value per 100 ms). The
filtering is a compiled kernel (``pipeline.compiled``) that gives ``scipy.signal.sosfilt``'s samples: every
stem of a remix and the master's bus are measured, several times over, so it was a second of each play.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from pipeline.compiled import compile_kernel, compile_step
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


@compile_step
def _k_weigh_sample(x, c, z):  # noqa: ANN001, ANN202 (numba types it)
    """One sample ``x`` through the two sections (coefficients ``c``: b0, b1, b2, a1, a2 of each) from their
    state ``z`` (z0, z1 of each): the weighted sample and the new state. Each section is ``sosfilt``'s
    transposed direct form II with its float32 operations in its order:
    ``y = b0 x + z0; z0 = b1 x - a1 y + z1; z1 = b2 x - a2 y``."""
    y = c[0] * x + z[0]
    w = c[5] * y + z[2]
    return w, (
        c[1] * x - c[3] * y + z[1],
        c[2] * x - c[4] * y,
        c[6] * y - c[8] * w + z[3],
        c[7] * y - c[9] * w,
    )


def _k_power_kernel(x: np.ndarray, sos: np.ndarray, state: np.ndarray, power: np.ndarray) -> None:
    """``power[i]``: the sum over channels (in order, from +0.0) of the square of ``x[c, i]`` weighted by
    ``_k_weigh_sample`` through the two sections of ``sos`` (2, 6), carrying ``state`` (2, c, 2) over in
    place: ``sosfilt``'s weighted samples, and their power as ``einsum("cn,cn->n")`` of them gives it. The two
    channels of a stereo signal are filtered side by side in one loop: two independent chains of dependent
    operations keep the core busy that one chain leaves waiting."""
    c_n, m = x.shape
    c = (
        sos[0, 0],
        sos[0, 1],
        sos[0, 2],
        sos[0, 4],
        sos[0, 5],
        sos[1, 0],
        sos[1, 1],
        sos[1, 2],
        sos[1, 4],
        sos[1, 5],
    )
    first = 0
    if c_n >= 2:
        left, right = x[0], x[1]
        zl = (state[0, 0, 0], state[0, 0, 1], state[1, 0, 0], state[1, 0, 1])
        zr = (state[0, 1, 0], state[0, 1, 1], state[1, 1, 0], state[1, 1, 1])
        for i in range(m):
            wl, zl = _k_weigh_sample(left[i], c, zl)
            wr, zr = _k_weigh_sample(right[i], c, zr)
            power[i] = (np.float32(0.0) + wl * wl) + wr * wr
        state[0, 0, 0], state[0, 0, 1], state[1, 0, 0], state[1, 0, 1] = zl
        state[0, 1, 0], state[0, 1, 1], state[1, 1, 0], state[1, 1, 1] = zr
        first = 2
    for ch in range(first, c_n):
        row = x[ch]
        z = (state[0, ch, 0], state[0, ch, 1], state[1, ch, 0], state[1, ch, 1])
        for i in range(m):
            w, z = _k_weigh_sample(row[i], c, z)
            if ch == 0:
                power[i] = np.float32(0.0) + w * w
            else:
                power[i] += w * w
        state[0, ch, 0], state[0, ch, 1], state[1, ch, 0], state[1, ch, 1] = z


_k_power_block = compile_kernel(
    "void(float32[:, ::1], float32[:, ::1], float32[:, :, ::1], float32[::1])", _k_power_kernel
)


def k_power(audio: np.ndarray, *, frame: int = 1, rate: int = SAMPLE_RATE) -> np.ndarray:
    """K-weighted power summed over channels: per sample (n,) float32, or with ``frame`` > 1 summed over
    each whole frame of that many samples (n // frame,) float64, the last partial frame left out."""
    x = np.atleast_2d(audio)
    n = x.shape[1]
    sos = k_weighting(rate).astype(np.float32)
    state = np.zeros((sos.shape[0], x.shape[0], 2), dtype=np.float32)
    block = _FILTER_BLOCK if frame == 1 else max(1, _FILTER_BLOCK // frame) * frame
    power = np.empty(n, dtype=np.float32) if frame == 1 else np.empty(n // frame, dtype=np.float64)
    weighted = np.empty(min(n, block), dtype=np.float32)  # a block's power, summed into frames
    for start in range(0, n, block):
        part = np.ascontiguousarray(x[:, start : start + block], dtype=np.float32)
        if frame == 1:
            _k_power_block(part, sos, state, power[start : start + part.shape[1]])
            continue
        into = weighted[: part.shape[1]]
        _k_power_block(part, sos, state, into)
        whole = part.shape[1] // frame * frame
        first = start // frame
        power[first : first + whole // frame] = into[:whole].reshape(-1, frame).sum(axis=1, dtype=np.float64)
    return power


def _sums_before_kernel(power: np.ndarray, ranked: np.ndarray, sums: np.ndarray) -> None:
    """``sums[j]``: the sum of ``power[:ranked[j]]`` for ascending indices ``ranked``, added one value after
    another in float64 from 0.0, as ``np.cumsum(power, dtype=np.float64)`` adds them."""
    total = 0.0
    j = 0
    for i in range(power.size + 1):
        while j < ranked.size and ranked[j] == i:
            sums[j] = total
            j += 1
        if i < power.size:
            total += np.float64(power[i])


_sums_before = compile_kernel(
    ["void(float32[::1], int64[::1], float64[::1])", "void(float64[::1], int64[::1], float64[::1])"],
    _sums_before_kernel,
)


def _running_sums(power: np.ndarray, at: np.ndarray) -> np.ndarray:
    """``concatenate([[0.0], cumsum(power, dtype=float64)])[at]`` for indices ``at`` (0 .. power.size),
    without the song-long float64 copy: one running sum over ``power`` (a compiled loop), read at each index
    on the way, adding the same values in the same order, so every sum is the same to the last bit."""
    flat = at.ravel()
    order = np.argsort(flat, kind="stable")
    ranked = np.ascontiguousarray(flat[order], dtype=np.int64)
    sums = np.empty(flat.size, dtype=np.float64)
    _sums_before(np.ascontiguousarray(power), ranked, sums)
    out = np.empty(flat.size, dtype=np.float64)
    out[order] = sums
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


def integrated_loudness(audio: np.ndarray) -> float:
    """Integrated loudness (LUFS) of (channels, n) audio at SAMPLE_RATE; SILENCE_LUFS for silence or audio
    shorter than one block."""
    if audio.shape[-1] < int(_BLOCK_S * SAMPLE_RATE) or not np.any(audio):
        return SILENCE_LUFS
    return gated_loudness(k_power(audio))


def spans_loudness(audio: np.ndarray, spans: list[tuple[int, int]]) -> float:
    """Integrated loudness (LUFS) of ``audio``'s sample spans (start, stop) read as one signal: K-weighted
    once over the whole, in 100 ms frames, the frames inside the spans gated together (no copy of the audio).
    SILENCE_LUFS when they hold less than one block."""
    frame = step_frames()
    power = k_power(audio, frame=frame)
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
