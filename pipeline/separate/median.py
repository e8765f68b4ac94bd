"""Running medians of a magnitude spectrogram along one axis, the samples ``scipy.ndimage.median_filter``
gives with ``size=(1, k)`` or ``(k, 1)`` and ``mode="nearest"``, several times as fast.

The harmonic/percussive split (``separate.dsp``) takes two medians of every bin of the song's spectrogram;
``ndimage`` selects each output's median afresh from its whole window, which made them most of the DSP
separator's time. Here a compiled kernel (``pipeline.compiled``) slides a sorted copy of the window along
each line: each step takes out the value that leaves and inserts the one that enters (a few moves in a
window of 9 or 17), and the median is the middle of the sorted window. A median selects one of the window's
values, so the output is the value ``ndimage`` selects, bit for bit, for any finite input (a window holding
both +0.0 and -0.0 may give either: they are equal). Windows reaching past either end repeat the edge value,
as ``mode="nearest"`` does; input with NaNs goes to ``ndimage`` itself.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from pipeline.compiled import compile_kernel

_SIGNATURE = "void(float32[:, ::1], int64, float32[:, ::1])"


def _running_median_rows(x: np.ndarray, size: int, out: np.ndarray) -> None:
    """``out[r, i]``: the median of ``x[r, i - size // 2 .. i + size // 2]``, edges repeated; odd ``size``."""
    half = size // 2
    n = x.shape[1]
    window = np.empty(size, np.float32)
    for r in range(x.shape[0]):
        row = x[r]
        for k in range(size):  # the window at i = 0: x[0] repeated over the positions before the start
            window[k] = row[min(max(k - half, 0), n - 1)]
        window.sort()
        out[r, 0] = window[half]
        for i in range(1, n):
            leaving = row[min(max(i - 1 - half, 0), n - 1)]
            entering = row[min(i + half, n - 1)]
            if entering != leaving:
                at = 0  # the leaving value's place (any copy of it: equal values are alike)
                while window[at] != leaving:
                    at += 1
                if entering > leaving:  # close the gap towards the end, then put the new value in order
                    while at + 1 < size and window[at + 1] < entering:
                        window[at] = window[at + 1]
                        at += 1
                else:
                    while at > 0 and window[at - 1] > entering:
                        window[at] = window[at - 1]
                        at -= 1
                window[at] = entering
            out[r, i] = window[half]


_kernel = compile_kernel(_SIGNATURE, _running_median_rows)


def median_along(x: np.ndarray, size: int, axis: int) -> np.ndarray:
    """``ndimage.median_filter(x, size=...)`` of a 2-D array with a window of odd ``size`` along ``axis``
    only and ``mode="nearest"``: float32 from float32 input, the same samples."""
    if x.ndim != 2 or size % 2 == 0 or size < 1 or x.dtype != np.float32 or not np.isfinite(x).all():
        shape = (size, 1) if axis == 0 else (1, size)
        return ndimage.median_filter(x, size=shape, mode="nearest")
    rows = np.ascontiguousarray(x if axis in (1, -1) else x.T)
    out = np.empty_like(rows)
    _kernel(rows, size, out)
    return out if axis in (1, -1) else np.ascontiguousarray(out.T)
