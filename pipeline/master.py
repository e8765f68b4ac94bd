"""Mix balance and mastering: stem levels, kick ducking, bus compression, loudness and true-peak limiting.

Targets: integrated loudness -9 +/- 1 LUFS (read by ``pipeline.loudness``, the meter the analysis reads the
original with), true peak <= -1 dBTP (4x oversampled measurement), no sample at or beyond full scale.
The limiter is vectorised numpy/scipy so a 3-minute song masters in about a second.
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import numpy as np
import threadpoolctl
from pedalboard import Compressor, HighShelfFilter, LowShelfFilter, Pedalboard
from scipy.ndimage import minimum_filter1d, uniform_filter1d
from scipy.signal import fftconvolve, firwin

from pipeline.loudness import (
    SILENCE_LUFS,
    gated_loudness,
    integrated_loudness,
    k_power,
    short_term,
    spans_loudness,
)
from pipeline.polyphase import half_band, resample
from pipeline.types import SAMPLE_RATE

TARGET_LUFS = -9.0
CEILING_DBTP = -1.0
# Interpolators: a short 2x one for the limiter's detector (fast, slightly optimistic on full-band transients,
# hence the limiter's extra margin) and a long one for the final true-peak measurement.
_TP_FAST = firwin(31, 0.95 / 2, window=("kaiser", 6.0)).astype(np.float32)  # 2x
_TP_EXACT = firwin(97, 0.97 / 4, window=("kaiser", 8.0)).astype(np.float32)  # 4x
_LIMITER_MARGIN_DB = 0.5


MASTER_THREADS = 2  # the master's block work (oversampled peaks, the clipper) on both cores


LIMITER_FRAME = 32  # samples per value of the limiter's gain (0.7 ms; it moves over 8 ms holds)


def _frame_max(mags: np.ndarray, width: int) -> np.ndarray:
    """Max of (c, m) magnitudes over channels and each ``width`` columns; a last partial frame is padded with
    zeros, which a maximum of magnitudes ignores."""
    tail = -mags.shape[1] % width
    if tail:
        mags = np.pad(mags, ((0, 0), (0, tail)))
    return mags.reshape(mags.shape[0], -1, width).max(axis=2).max(axis=0)


def _frame_true_peaks(audio: np.ndarray, chunk: int = 1 << 19, threads: int = MASTER_THREADS) -> np.ndarray:
    """Per LIMITER_FRAME frame, the largest magnitude over channels of the samples and of their 2x
    oversampled reconstruction: (ceil(n / LIMITER_FRAME),) float32, the limiter detector's input.

    The limiter reads one peak per frame, so each chunk's oversampled copy is reduced straight to frames
    (no per-sample envelope). Works through the audio in overlapping chunks, ``threads`` at a time; each
    chunk's samples are computed from the same context whichever thread takes it, and a frame's maximum is
    the same whichever order its values are compared in, so the frames are the same as from the whole song.
    """
    if chunk % LIMITER_FRAME:
        raise ValueError("chunks must hold whole frames")
    x = audio.astype(np.float32, copy=False)
    factor, taps = 2, _TP_FAST
    pad = taps.size
    n = x.shape[1]
    peaks = np.empty(-(-n // LIMITER_FRAME), dtype=np.float32)

    def one(start: int) -> None:
        stop = min(n, start + chunk)
        lo, hi = max(0, start - pad), min(n, stop + pad)
        up = resample(x[:, lo:hi], factor, 1, taps)
        np.abs(up, out=up)
        part = up[:, factor * (start - lo) : factor * (stop - lo)]
        first = start // LIMITER_FRAME
        np.maximum(
            _frame_max(np.abs(x[:, start:stop]), LIMITER_FRAME),
            _frame_max(part, factor * LIMITER_FRAME),
            out=peaks[first : first + -(-(stop - start) // LIMITER_FRAME)],
        )

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="master") as pool:
        list(pool.map(one, range(0, n, chunk)))
    return peaks


_TP_FRAME = 2048  # samples per frame of the true-peak search


def _phase_gain(taps: np.ndarray, factor: int) -> float:
    """The most a ``factor``x interpolator with ``taps`` can amplify: its largest phase's sum of |taps|
    (with a margin for float32 rounding); no oversampled value exceeds it times the nearby samples' peak."""
    scaled = np.abs(taps.astype(np.float64) * factor)
    return float(max(scaled[p::factor].sum() for p in range(factor))) * 1.001


_TP_EXACT_GAIN = _phase_gain(_TP_EXACT, 4)


_TP_RUN = 64  # neighbouring candidate frames oversampled in one call
_TP_ROWS = 16  # samples per row of the interpolation matrix (the approximate envelope's matmul)
_TP_TILE = 1 << 16  # samples per tile of the approximate envelope (a multiple of _TP_FRAME and _TP_ROWS)


def _frame_runs(frames: np.ndarray, longest: int) -> list[tuple[int, int]]:
    """(first, stop) runs of consecutive frame indices in ``frames``, each at most ``longest`` frames."""
    runs: list[tuple[int, int]] = []
    for f in np.sort(frames).tolist():
        if runs and runs[-1][1] == f and f - runs[-1][0] < longest:
            runs[-1] = (runs[-1][0], f + 1)
        else:
            runs.append((f, f + 1))
    return runs


@functools.cache
def _interpolation_matrix(rows: int = _TP_ROWS) -> tuple[np.ndarray, int]:
    """The 4x exact interpolator as a (rows + 2 * reach, 4 * rows) matrix and its reach in samples: a window
    of ``rows`` samples with ``reach`` more either side, times the matrix, gives the ``rows`` samples' four
    oversampled values each (sample ``r``'s phase ``p`` in column ``4 * r + p``). Its coefficients are read
    from ``resample``'s answer to a unit impulse, so they are the float32 values the exact path multiplies by.
    """
    size = 4 * _TP_EXACT.size
    impulse = np.zeros((1, size), dtype=np.float32)
    impulse[0, size // 2] = 1.0
    response = resample(impulse, 4, 1, _TP_EXACT)[0]  # output 4 * i + p: coefficient of x[i] at 4 * i + p
    offsets = np.flatnonzero(response) - 4 * (size // 2)  # 4 * (i - k) + p for the impulse at k
    reach = -(-int(np.abs(offsets).max()) // 4)
    matrix = np.zeros((rows + 2 * reach, 4 * rows), dtype=np.float32)
    for r in range(rows):
        for k in range(rows + 2 * reach):  # window k is sample r + (k - reach) of the row's start
            at = 4 * (r + reach - k) + np.arange(4) + 4 * (size // 2)
            inside = (at >= 0) & (at < response.size)
            matrix[k, 4 * r + np.arange(4)[inside]] = response[at[inside]]
    return matrix, reach


@functools.cache
def _blas() -> threadpoolctl.ThreadpoolController:
    return threadpoolctl.ThreadpoolController()


def _approximate_frame_peaks(x: np.ndarray, sample_peak: float, threads: int) -> tuple[np.ndarray, float]:
    """Per _TP_FRAME frame, the largest magnitude over channels of the 4x oversampled values, made by one
    float32 matrix product per tile, and how far any of them can be from the exact path's value.

    The product sums the same terms as the exact path but in BLAS's order (and with fused multiply-adds), so
    a value differs from the exact sum by rounding alone: a float32 sum of ``terms`` products is within
    ``terms * 2**-24`` times the sum of the products' magnitudes of the real sum, whatever the order, and
    those magnitudes add up to at most the interpolator's gain times ``sample_peak``, the song's largest
    magnitude. The two paths
    differ by at most twice that; the bound returned is twice that again.
    """
    matrix, reach = _interpolation_matrix()
    rows = _TP_ROWS
    c, n = x.shape
    frames = -(-n // _TP_FRAME)
    peaks = np.empty(frames, dtype=np.float32)

    def one(start: int) -> None:
        stop = min(n, start + _TP_TILE)
        count = -(-(stop - start) // rows)
        window = np.zeros((c, count * rows + 2 * reach), dtype=np.float32)
        lo, hi = max(0, start - reach), min(n, start + count * rows + reach)
        window[:, lo - (start - reach) : hi - (start - reach)] = x[:, lo:hi]
        windows = np.lib.stride_tricks.sliding_window_view(window, matrix.shape[0], axis=1)[:, ::rows]
        up = np.matmul(np.ascontiguousarray(windows), matrix)
        up.reshape(c, -1)[:, 4 * (stop - start) :] = 0.0  # past the song's end: no oversampled value there
        np.abs(up, out=up)
        row_max = up.max(axis=2).max(axis=0)
        row_max = np.pad(row_max, (0, -row_max.size % (_TP_FRAME // rows)))
        first = start // _TP_FRAME
        part = row_max.reshape(-1, _TP_FRAME // rows).max(axis=1)
        peaks[first : first + part.size] = part[: frames - first]

    # one BLAS thread per call: the tiles are spread over ``threads`` here, and OpenBLAS's own threads would
    # spin on the cores after each call
    with (
        _blas().limit(limits=1, user_api="blas"),
        ThreadPoolExecutor(max_workers=threads, thread_name_prefix="master") as pool,
    ):
        list(pool.map(one, range(0, n, _TP_TILE)))
    terms = matrix.shape[0]
    error = 2 * (2 * terms * 2.0**-24 * _TP_EXACT_GAIN * sample_peak + float(np.finfo(np.float32).tiny))
    return peaks, error


def _exact_peak(x: np.ndarray, threads: int = MASTER_THREADS) -> float:
    """Largest magnitude of the samples of (c, n) and their 4x oversampled reconstruction.

    The same value as the whole envelope's maximum, from a fraction of the work: an approximate envelope,
    each value within a known rounding bound of the exact one (``_approximate_frame_peaks``), names the
    frames that can hold the highest exact value, those within twice the bound of the approximate maximum;
    only they are oversampled by the exact path, in runs of neighbouring frames on ``threads`` threads.
    """
    n = x.shape[1]
    best = max(float(x.max()), -float(x.min()))  # the samples' own peak (no song-long copy)
    if best == 0.0:
        return best
    approx, error = _approximate_frame_peaks(x, best, threads)
    frames = np.flatnonzero(approx >= approx.max() - 2 * error)

    def run_peak(run: tuple[int, int]) -> float:
        start, stop = run[0] * _TP_FRAME, min(n, run[1] * _TP_FRAME)
        lo, hi = max(0, start - _TP_EXACT.size), min(n, stop + _TP_EXACT.size)
        up = resample(x[:, lo:hi], 4, 1, _TP_EXACT)[:, 4 * (start - lo) : 4 * (stop - lo)]
        return float(max(up.max(), -up.min()))

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="master") as pool:
        return max(best, *pool.map(run_peak, _frame_runs(frames, _TP_RUN)))


def true_peak_db(audio: np.ndarray) -> float:
    """True peak (dBTP) measured with 4x oversampling."""
    if audio.size == 0:
        return -120.0
    peak = _exact_peak(audio.astype(np.float32, copy=False))
    return 20 * np.log10(peak) if peak > 0 else -120.0


def set_loudness(
    audio: np.ndarray,
    target: float,
    *,
    in_place: bool = False,
    measured: list[tuple[int, int]] | None = None,
) -> np.ndarray:
    """Scale a stem to a target integrated loudness (silent stems are returned unchanged).

    With ``in_place`` a float32 stem is scaled in its own buffer instead of copied (long songs).
    ``measured``: the sample spans (start, stop) whose loudness is brought to the target (all of the stem by
    default), e.g. where it plays at full strength.
    """
    out = audio if in_place and audio.dtype == np.float32 else audio.astype(np.float32)
    current = integrated_loudness(out) if measured is None else spans_loudness(out, measured)
    if current > -69.0:
        out *= np.float32(10 ** ((target - current) / 20))
    return out


def kick_ducking(kick_bus: np.ndarray, depth_db: float = 3.0, release_s: float = 0.07) -> np.ndarray:
    """A gain curve (n,) dipping by ``depth_db`` under every kick, for the guitars and bass.

    ``kick_bus`` is the raw kick, stereo (2, n) or its envelope (n,).
    """
    env = np.abs(kick_bus).max(axis=0) if kick_bus.ndim == 2 else np.abs(kick_bus)
    hop = 64
    n = env.size
    frames = env[: n // hop * hop].reshape(-1, hop).max(axis=1)
    frames = frames / (frames.max() + 1e-9)
    k = np.exp(-np.arange(int(release_s * SAMPLE_RATE / hop) + 1) / (release_s * SAMPLE_RATE / hop / 3))
    smooth = np.clip(fftconvolve(frames, k)[: frames.size], 0.0, 1.0)
    # each hop's gain once, then spread over its samples (the last hop's to the end): no song-long float64
    gain = (10 ** (-depth_db * smooth / 20)).astype(np.float32)
    if not gain.size:
        return np.ones(n, dtype=np.float32)
    out = np.empty(n, dtype=np.float32)
    out[: gain.size * hop].reshape(-1, hop)[:] = gain[:, None]
    out[gain.size * hop :] = gain[-1]
    return out


def limiter_gain(
    peak_env: np.ndarray, ceiling: float, hold_s: float = 0.008, rate: float = SAMPLE_RATE
) -> np.ndarray:
    """Gain curve keeping ``peak_env * gain`` under ``ceiling`` (``rate``: values per second of both).

    Look-ahead and hold come from a minimum filter of half-width ``hold``; two moving averages whose
    half-widths add up to no more than the hold smooth it, so the gain never exceeds what any peak needs.
    """
    need = np.minimum(1.0, ceiling / np.maximum(peak_env, 1e-9)).astype(np.float32)
    hold = max(2, int(hold_s * rate))
    held = minimum_filter1d(need, size=2 * hold + 1, mode="nearest")
    gain = uniform_filter1d(uniform_filter1d(held, size=hold, mode="nearest"), size=hold, mode="nearest")
    return np.minimum(gain, held).astype(np.float32)


def process_in_place(board: Pedalboard, audio: np.ndarray, block: int = 1 << 16) -> np.ndarray:
    """Run ``board`` over float32 ``audio`` (channels, n) block by block, writing back into ``audio``.

    pedalboard keeps its plugins' state between calls with ``reset=False``, so the result equals one call on
    the whole array, without a second full-length buffer.
    """
    board.reset()
    for start in range(0, audio.shape[1], block):
        part = audio[:, start : start + block]
        part[...] = board(part, SAMPLE_RATE, reset=False)
    return audio


def process_rows(
    make: Callable[[], Pedalboard], audio: np.ndarray, threads: int = 2, block: int = 1 << 16
) -> np.ndarray:
    """``process_in_place(make(), audio)`` for a chain whose plugins each process every channel on its own
    (filters; JUCE's compressor keeps one envelope per channel): each channel goes through its own chain on
    its own thread, so a stereo chain takes both cores, with the same samples (tested per chain)."""
    if threads < 2 or audio.shape[0] < 2:
        return process_in_place(make(), audio, block)
    with ThreadPoolExecutor(max_workers=min(threads, audio.shape[0]), thread_name_prefix="rows") as pool:
        list(pool.map(lambda c: process_in_place(make(), audio[c : c + 1], block), range(audio.shape[0])))
    return audio


DYNAMICS_HOP_S = 0.5
LEVEL_RIDE_RANGE_DB = (-9.0, 6.0)  # how far the leveller may pull a part down / push it up


def hop_gain(gain_db: np.ndarray, start: int, stop: int, hop_s: float = DYNAMICS_HOP_S) -> np.ndarray:
    """Linear gain for samples ``start:stop`` from per-hop dB values (linear between hop centres)."""
    hop = hop_s * SAMPLE_RATE
    at = np.arange(start, stop, dtype=np.float64) / hop
    return (10 ** (np.interp(at, np.arange(gain_db.size), gain_db) / 20)).astype(np.float32)


def _hops_to_samples(gain_db: np.ndarray, n: int, block: int = 1 << 18) -> np.ndarray:
    """The linear gain (n,) float32 of per-hop dB values, made a block at a time (no song-long float64)."""
    out = np.empty(n, dtype=np.float32)
    for start in range(0, n, block):
        stop = min(n, start + block)
        out[start:stop] = hop_gain(gain_db, start, stop)
    return out


def _scale_by_hops(x: np.ndarray, gain_db: np.ndarray, power: bool = False, block: int = 1 << 18) -> None:
    """Multiply ``x`` ((n,) or (c, n)) in place by the hop gain (squared for a power signal), in blocks."""
    n = x.shape[-1]
    for start in range(0, n, block):
        g = hop_gain(gain_db, start, min(n, start + block))
        if power:
            g *= g
        x[..., start : start + g.size] *= g


CLIP_CREST_DB = 9.0  # the clipper shaves what peaks higher than this above the loud parts' RMS
# A song with long quiet parts needs loud parts hotter than -9 LUFS to average -9; when the limiter alone
# cannot get there, the clipper shaves harder (these crests, in turn) before the limiter tries again.
HARDER_CLIP_CREST_DB = (7.5, 6.0)
CLIP_KNEE = 0.6  # fraction of the clip level where the soft knee starts
# the clipper's 2x filter: half-band (25 of 47 taps non-zero), flat to 17.6 kHz, what folds back below it at
# least 80 dB down
_CLIP_OS = half_band(47, 7.0)
_CLIP_BLOCK = 1 << 18


def _shave(x: np.ndarray, level: float) -> np.ndarray:
    """Soft-knee clip of (c, m) at ``level``: linear below the knee, then a tanh curve toward ``level``."""
    knee = CLIP_KNEE * level
    mag = np.abs(x)
    over = mag > knee
    if not over.any():
        return x
    soft = knee + (level - knee) * np.tanh((mag[over] - knee) / (level - knee))
    x[over] = np.sign(x[over]) * soft
    return x


def _hop_rms(y: np.ndarray, hop: int, hops_per_block: int = 64) -> np.ndarray:
    """RMS over channels of each whole ``hop`` of (c, n), a block of hops at a time (no song-long copy)."""
    count = y.shape[1] // hop
    rms = np.empty(count)
    for first in range(0, count, hops_per_block):
        last = min(count, first + hops_per_block)
        part = y[:, first * hop : last * hop]
        square = np.einsum("cn,cn->n", part, part) / y.shape[0]
        rms[first:last] = np.sqrt(square.reshape(-1, hop).mean(axis=1))
    return rms


def _clipped(y: np.ndarray, lo: int, hi: int, start: int, stop: int, level: float) -> np.ndarray:
    """The clipper's output for samples ``start:stop`` of (c, n) ``y``, computed from ``y[:, lo:hi]``."""
    up = resample(y[:, lo:hi], 2, 1, _CLIP_OS).astype(np.float32, copy=False)
    down = resample(_shave(up, level), 1, 2, _CLIP_OS).astype(np.float32, copy=False)
    return down[:, start - lo : stop - lo]


def soft_clip(y: np.ndarray, crest_db: float = CLIP_CREST_DB, threads: int = MASTER_THREADS) -> np.ndarray:
    """A mastering clipper (2x oversampled) that shaves the highest drum transients before the limiter.

    A limiter turns the whole mix down around every peak; clipping the few samples of a transient costs far
    less loudness, so a dense band reaches -9 LUFS under the true-peak ceiling without being limited into a
    wall. The clip level sits CLIP_CREST_DB above the RMS of the mix's loud parts. Works in place, in blocks.

    Each block reads ``pad`` samples of the block before it as already clipped, so the blocks form a chain;
    only a block's first ``pad`` samples depend on that context (the filters reach less than ``pad``). So
    ``threads`` clip each block from its own samples ahead of time, and the chain, in order, recomputes only
    the seam at each block's start from the clipped context: the same samples as one block after another.
    """
    n = y.shape[1]
    hop = int(DYNAMICS_HOP_S * SAMPLE_RATE)
    if n < hop:
        return y
    rms = _hop_rms(y, hop)
    level = float(np.percentile(rms, 90)) * 10 ** (crest_db / 20)
    if level <= 0:
        return y
    pad = _CLIP_OS.size

    def ahead(start: int) -> np.ndarray:
        """Samples ``start + pad : stop`` from the block's own unclipped samples (no context before it)."""
        stop, hi = min(n, start + _CLIP_BLOCK), min(n, start + _CLIP_BLOCK + pad)
        return _clipped(y, start, hi, min(stop, start + pad), stop, level)

    starts = iter(range(0, n, _CLIP_BLOCK))
    pending: deque[tuple[int, Future[np.ndarray]]] = deque()
    # a block's ahead-of-time work reads only its own and the next block's first samples, which the chain
    # writes only after taking that work's result
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="clipper") as pool:
        for start in starts:
            pending.append((start, pool.submit(ahead, start)))
            if len(pending) > threads:
                break
        while pending:
            start, future = pending.popleft()
            for later in starts:
                pending.append((later, pool.submit(ahead, later)))
                break
            stop = min(n, start + _CLIP_BLOCK)
            lo, hi = max(0, start - pad), min(n, stop + pad)
            if np.abs(y[:, lo:hi]).max() <= CLIP_KNEE * level:
                future.cancel()
                continue
            rest = future.result()  # read the block's own samples: taken before its seam is written
            seam = min(stop, start + pad)
            y[:, start:seam] = _clipped(y, lo, min(hi, seam + pad), start, seam, level)
            y[:, seam:stop] = rest
    return y


def _frame_sums(x: np.ndarray, block: int = 1 << 18) -> np.ndarray:
    """Float64 sums of (n,) over LIMITER_FRAME-sample frames, the last frame padded with its edge value, a
    block of frames at a time: each frame is summed alone, so no padded song-long copy is needed."""
    n = x.size
    sums = np.empty(-(-n // LIMITER_FRAME), dtype=np.float64)
    whole = n // LIMITER_FRAME * LIMITER_FRAME
    for start in range(0, whole, block):
        stop = min(whole, start + block)
        part = x[start:stop].reshape(-1, LIMITER_FRAME)
        sums[start // LIMITER_FRAME : stop // LIMITER_FRAME] = part.sum(axis=1, dtype=np.float64)
    if whole < n:
        last = np.pad(x[whole:], (0, LIMITER_FRAME - (n - whole)), mode="edge").reshape(1, LIMITER_FRAME)
        sums[-1] = last.sum(axis=1, dtype=np.float64)[0]
    return sums


def frame_gain_to_samples(gain: np.ndarray, n: int, out: np.ndarray | None = None) -> np.ndarray:
    """Per-sample gain (n,) from per-frame values, linear between frame centres.

    Each frame's value is at most what every sample of the frames around it needs (the limiter holds the
    minimum over neighbouring frames), so any blend of two neighbours stays under each sample's need.
    """
    out = np.empty(n, dtype=np.float32) if out is None else out
    centres = (np.arange(gain.size) + 0.5) * LIMITER_FRAME
    block = 1 << 18
    for start in range(0, n, block):
        stop = min(n, start + block)
        out[start:stop] = np.interp(np.arange(start, stop), centres, gain)
    return out


def _loudness_search(
    env_f: np.ndarray, power_f: np.ndarray, target_lufs: float, ceiling: float
) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """The per-frame gain (make-up gain times the limiter) that brings the bus to ``target_lufs``, and the
    (gain, loudness) steps tried, from per-frame true peaks ``env_f`` and K-weighted energies ``power_f``.
    The limiter's gain is smooth, so weighting commutes with it and the search runs on frame peaks and frame
    energies: each step costs a few passes over n / LIMITER_FRAME values."""
    rate = SAMPLE_RATE / LIMITER_FRAME
    gain_db = target_lufs - gated_loudness(power_f, LIMITER_FRAME)
    tried: list[tuple[float, float]] = []
    curve = np.ones_like(env_f)
    for _ in range(8):
        g = np.float32(10 ** (gain_db / 20))
        curve = g * limiter_gain(env_f * g, ceiling, rate=rate)
        level = gated_loudness(power_f * curve * curve, LIMITER_FRAME)
        tried.append((gain_db, level))
        err = target_lufs - level
        if abs(err) < 0.1 or (len(tried) > 1 and abs(tried[-1][1] - tried[-2][1]) < 0.02):
            break  # there, or the limiter holds the level where it is
        if len(tried) > 1 and tried[-1][0] != tried[-2][0]:
            slope = (tried[-1][1] - tried[-2][1]) / (tried[-1][0] - tried[-2][0])
            gain_db += err / float(np.clip(slope, 0.1, 1.0))
        else:
            gain_db += err
    return curve, tried


def _shaped_frame_power(y: np.ndarray, ride_gain: np.ndarray | None, block: int = 1 << 18) -> np.ndarray:
    """K-weighted energy of the bus per LIMITER_FRAME frame, each sample's power shaped by the square of
    ``ride_gain`` (linear, per sample) if given: what the search measures."""
    power = k_power(y)
    if ride_gain is not None:
        for start in range(0, power.size, block):
            g = ride_gain[start : start + block]
            power[start : start + g.size] *= g * g
    return _frame_sums(power)


def bus_chain() -> Pedalboard:
    """The master's bus compression and tilt (each channel on its own: ``process_rows``)."""
    return Pedalboard(
        [
            Compressor(threshold_db=-16.0, ratio=2.5, attack_ms=20.0, release_ms=150.0),
            LowShelfFilter(90.0, 1.5, 0.7),
            HighShelfFilter(7000.0, 1.5, 0.7),
        ]
    )


_GAIN_BLOCK = 1 << 18


def _apply_gain(
    y: np.ndarray, curve: np.ndarray, ride_gain: np.ndarray | None, threads: int = MASTER_THREADS
) -> np.ndarray:
    """``y`` (c, n) times the per-sample gain of the per-frame ``curve`` (``frame_gain_to_samples``) and
    ``ride_gain``, in place, a block at a time on ``threads`` threads: each sample's product is the one the
    whole curves give, and no song-long gain is made."""
    n = y.shape[1]
    centres = (np.arange(curve.size) + 0.5) * LIMITER_FRAME

    def one(start: int) -> None:
        stop = min(n, start + _GAIN_BLOCK)
        gain = np.interp(np.arange(start, stop), centres, curve).astype(np.float32)
        if ride_gain is not None:
            gain *= ride_gain[start:stop]
        y[:, start:stop] *= gain

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="master") as pool:
        list(pool.map(one, range(0, n, _GAIN_BLOCK)))
    return y


def master(
    mix: np.ndarray,
    *,
    target_lufs: float = TARGET_LUFS,
    ceiling_dbtp: float = CEILING_DBTP,
    in_place: bool = False,
    dynamics_db: np.ndarray | None = None,
) -> tuple[np.ndarray, dict[str, float]]:
    """Bus compression, a gentle tilt toward a rock master, then loudness and a true-peak limiter.

    Returns the mastered (2, n) float32 audio and its measured loudness and true peak. The loudness search
    reuses the bus's K-weighted energy and its oversampled peak per LIMITER_FRAME frame (the limiter's gain is
    smooth, so weighting commutes with it), so each step of the search costs a multiply and a cumulative sum
    over n / LIMITER_FRAME values.
    With ``in_place`` a float32 ``mix`` is overwritten with the master instead of copied (long songs).

    ``dynamics_db`` (per ``DYNAMICS_HOP_S``, <= 0 dB, 0 at the loudest parts) is the shape the master's
    loudness should follow, e.g. the original song's. A limiter that meets loud and quiet parts as they are
    works harder on the loud ones and flattens the song into one wall; so the bus is first levelled (its
    own short-term loudness ridden flat), limited to the target evenly, and then shaped by ``dynamics_db``,
    which only ever lowers the gain, so the true-peak ceiling holds. The integrated target counts the shape.
    """
    y = mix if in_place and mix.dtype == np.float32 else mix.astype(np.float32)
    y = process_rows(bus_chain, np.ascontiguousarray(y), MASTER_THREADS)
    if not np.any(y):
        return y, {"lufs": SILENCE_LUFS, "true_peak_dbtp": -120.0}
    ride_gain = None
    if dynamics_db is not None and dynamics_db.size:
        own = short_term(k_power(y), DYNAMICS_HOP_S)
        sounding = own > own.max() - 30.0
        levelling = np.clip(float(np.percentile(own[sounding], 90)) - own, *LEVEL_RIDE_RANGE_DB)
        ride = np.zeros(own.size)
        ride[: min(own.size, dynamics_db.size)] = np.minimum(dynamics_db[: own.size], 0.0)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="master") as side:
            # the shape's gain per sample, made once (beside the levelling): every loudness search and the
            # final gain read it
            shape = side.submit(_hops_to_samples, ride, y.shape[1])
            _scale_by_hops(y, levelling)
            ride_gain = shape.result()
    ceiling = 10 ** ((ceiling_dbtp - _LIMITER_MARGIN_DB) / 20)
    for crest in (CLIP_CREST_DB, *HARDER_CLIP_CREST_DB):
        y = soft_clip(y, crest)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="master") as side:
            weighted = side.submit(_shaped_frame_power, y, ride_gain)  # both only read the clipped bus
            peaks = _frame_true_peaks(y)
            energy = weighted.result()
        curve, tried = _loudness_search(peaks, energy, target_lufs, ceiling)
        if tried[-1][1] >= target_lufs - 0.3:
            break
    del peaks, energy
    out = _apply_gain(y, curve, ride_gain)
    del ride_gain
    peak_db = true_peak_db(out)
    if peak_db > ceiling_dbtp - 0.1:  # safety: never over the ceiling, whatever the detector missed
        out *= np.float32(10 ** ((ceiling_dbtp - 0.1 - peak_db) / 20))
        peak_db = ceiling_dbtp - 0.1
    np.clip(out, -0.999, 0.999, out=out)
    lufs = integrated_loudness(out)
    return out, {"lufs": round(lufs, 2), "true_peak_dbtp": round(peak_db, 2)}
