"""Integer-factor oversampling and decimation of float32 audio, sample for sample what
``scipy.signal.resample_poly(x, up, down, axis=-1, window=taps)`` gives, about three times as fast.

scipy's polyphase filter (``upfirdn``) sums each output's products one at a time in a scalar loop. A
compiled kernel (numba) makes the same sums a tile of outputs at a time: it adds each tap's products to
every output of the tile, tap after tap, so every output still adds the same float32 products in the same
order, starting from +0.0, and is the same float32 value. Each product and each sum is rounded to float32
as in the scalar loop: without fast-math (numba's default) LLVM may neither reorder the sums nor fuse a
multiply and an add into one rounding; what it vectorises is the loop across the tile, each lane its own
output. The zeros outside the signal add +-0.0 products, which leave a sum that starts at +0.0 unchanged,
as the scalar loop's skipped terms do. The amp's clipper and the master's clipper and true-peak meters
oversample every sample of the song, so this was one of the play's largest costs.

The kernel releases the GIL (its callers run channels and blocks on threads of their own); it is compiled
at import and cached as ``pipeline.compiled`` says.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np
from scipy.signal import firwin, resample_poly
from scipy.signal._upfirdn import _output_len  # private: the output length upfirdn gives

from pipeline.compiled import compile_kernel

TILE = 1 << 10  # outputs of a phase summed at a time: their sums and their input stay in the L1 cache

_SIGNATURE = (
    "void(float32[::1], int64[::1], float32[::1], int64[::1], int64, int64, int64, float32[::1], int64)"
)


def _sum_taps(
    x: np.ndarray,
    at: np.ndarray,
    coef: np.ndarray,
    bounds: np.ndarray,
    step: int,
    base: int,
    first: int,
    out: np.ndarray,
    tile: int,
) -> None:
    """Outputs ``first .. first + out.size`` of a polyphase filter over ``x`` (zeros outside it) into ``out``.

    Output ``phases * i + t`` sums ``x[step * i + base + at[j]] * coef[j]`` over phase ``t``'s taps ``j``
    (``bounds[t]`` up to ``bounds[t + 1]``), from +0.0, in ``j`` order, float32 at each step. A tile of ``i``
    at a time: its input is copied, as ``step`` runs of every ``step``-th sample side by side, so each tap
    reads a contiguous run, and each tap's products are added across the tile's outputs."""
    phases = bounds.size - 1
    n, count = x.size, out.size
    reach = 1 + max(at.max(), 0) // step  # input runs past the tile's last output that a tap reads
    window = np.zeros((step, tile + reach), np.float32)
    tile_sums = np.empty(tile, np.float32)
    i0, i1 = first // phases, -(-(first + count) // phases)
    for start in range(i0, i1, tile):
        size = min(tile, i1 - start)
        for r in range(step):  # window[r, k] = x[step * (start + k) + base + r], zero outside x
            lead = step * start + base + r
            lo = min(size + reach, max(0, -(lead // step)))  # k from here read inside x ...
            hi = max(lo, min(size + reach, -(-(n - lead) // step)))  # ... up to here
            row = window[r]
            row[:lo] = 0.0
            row[hi : size + reach] = 0.0
            if hi > lo:
                inside = x[lead + step * lo :]  # views, indexed from 0: the loops vectorise
                for k in range(hi - lo):
                    row[lo + k] = inside[step * k]
        for t in range(phases):
            # one phase's sums go straight into out, the others' through tile_sums, interleaved after
            acc = out[start - first : start - first + size] if phases == 1 else tile_sums
            for k in range(size):
                acc[k] = np.float32(0.0)
            j = bounds[t]
            while j + 4 <= bounds[t + 1]:  # four taps a pass, added one after another: the same sums
                a, wa = window[at[j] % step, at[j] // step :], coef[j]
                b, wb = window[at[j + 1] % step, at[j + 1] // step :], coef[j + 1]
                c, wc = window[at[j + 2] % step, at[j + 2] // step :], coef[j + 2]
                d, wd = window[at[j + 3] % step, at[j + 3] // step :], coef[j + 3]
                for k in range(size):
                    acc[k] = (((acc[k] + a[k] * wa) + b[k] * wb) + c[k] * wc) + d[k] * wd
                j += 4
            while j < bounds[t + 1]:
                a, wa = window[at[j] % step, at[j] // step :], coef[j]
                for k in range(size):
                    acc[k] += a[k] * wa
                j += 1
            if phases > 1:  # output phases * (start + k) + t - first, for the k that fall inside out
                lo = max(0, -(-(first - t) // phases) - start)
                hi = min(size, -(-(first + count - t) // phases) - start)
                if hi > lo:
                    into = out[phases * (start + lo) + t - first :]
                    for k in range(hi - lo):
                        into[phases * k] = acc[lo + k]


_kernel = compile_kernel(_SIGNATURE, _sum_taps)


def half_band(size: int, beta: float) -> np.ndarray:
    """A 2x interpolation/decimation filter of ``size`` (odd) taps cut at the lower rate's Nyquist, with every
    other tap exactly zero: the resampler skips zero taps, so it costs about half a general filter of the same
    length (upsampling passes the original samples through its centre tap)."""
    h = firwin(size, 0.5, window=("kaiser", beta))
    centre = size // 2
    h[(np.arange(size) - centre) % 2 == 0] = 0.0
    h[centre] = 0.5
    return (h / h.sum()).astype(np.float32)


def _nonzero(coefs: np.ndarray) -> list[tuple[int, np.float32]]:
    """(index, coefficient) of the taps that are not zero: a zero tap adds a +-0.0 product, which leaves a
    sum that starts at +0.0 as it was, so it is skipped."""
    return [(j, np.float32(c)) for j, c in enumerate(coefs) if c != 0]


def _phases(h: np.ndarray, up: int) -> list[list[tuple[int, np.float32]]]:
    """Per output phase of ``upfirdn(h, x, up, down)`` (``up`` or ``down`` 1), the (input offset,
    coefficient) of its non-zero taps, in the order upfirdn sums them.

    Upsampling: output ``up * i + t`` sums ``x[i + 1 - per_phase + j] * (phase t's tap j)`` over ``j``,
    oldest sample first. Decimating: output ``m`` sums ``x[down * m + 1 - len(h) + j] * h[len(h) - 1 - j]``.
    """
    h = np.concatenate([h, np.zeros(-h.size % up, np.float32)])
    return [_nonzero(taps) for taps in h.reshape(-1, up).T[:, ::-1]]


class _Plan(NamedTuple):
    """The kernel's tables for one filter and factor: what ``resample_poly`` hands ``upfirdn`` (the filter
    zero-padded in front and scaled by ``up``), as per-phase lists of the taps that are not zero."""

    size: int  # taps of the padded filter
    skip: int  # outputs upfirdn gives before the first one resample_poly keeps
    at: np.ndarray  # (taps,) int64: each tap's input offset
    coef: np.ndarray  # (taps,) float32: its coefficient
    bounds: np.ndarray  # (phases + 1,) int64: phase t's taps are bounds[t] up to bounds[t + 1]
    base: int  # input offset of output block 0


@functools.lru_cache(maxsize=16)
def _plan(taps: bytes, up: int, down: int) -> _Plan:
    """The plan for float32 ``taps`` (as bytes, so that it is cached), ``up`` or ``down`` being 1."""
    window = np.frombuffer(taps, dtype=np.float32)
    half = (window.size - 1) // 2
    pre = down - half % down
    h = np.concatenate([np.zeros(pre, np.float32), window * np.float32(up)])
    phases = _phases(h, up)
    return _Plan(
        size=h.size,
        skip=(half + pre) // down,
        at=np.array([j for phase in phases for j, _ in phase], dtype=np.int64),
        coef=np.array([c for phase in phases for _, c in phase], dtype=np.float32),
        bounds=np.cumsum([0] + [len(phase) for phase in phases], dtype=np.int64),
        base=1 - -(-h.size // up) if down == 1 else 1 - h.size,  # (1 - per_phase, upsampling)
    )


def resample(x: np.ndarray, up: int, down: int, taps: np.ndarray) -> np.ndarray:
    """``resample_poly(x, up, down, axis=-1, window=taps)``, the same samples: float32 ``x`` (n,) or (c, n)
    with odd-length float32 ``taps``, oversampled or decimated, here; anything else by scipy itself."""
    n = x.shape[-1]
    count = -(-n * up // down)
    mine = x.dtype == np.float32 and taps.dtype == np.float32 and taps.size % 2 == 1 and min(up, down) == 1
    if mine:
        plan = _plan(np.ascontiguousarray(taps).tobytes(), up, down)
        mine = x.ndim in (1, 2) and count > 0 and plan.at.size > 0
        mine = mine and _output_len(plan.size, n, up, down) >= plan.skip + count
    if not mine:  # (a signal shorter than the filter: resample_poly pads its filter, which this does not)
        return resample_poly(x, up, down, axis=-1, window=taps)
    rows = np.atleast_2d(x)
    out = np.empty((rows.shape[0], count), dtype=np.float32)
    for row, into in zip(rows, out, strict=True):
        row = np.ascontiguousarray(row)
        if not row.flags.writeable:  # numba types read-only arrays apart: the one signature takes a copy
            row = row.copy()
        _kernel(row, plan.at, plan.coef, plan.bounds, down, plan.base, plan.skip, into, TILE)
    return out if x.ndim == 2 else out[0]
