"""High-gain amp chain: gate, boost, oversampled distortion, amp EQ, cabinet IR, post EQ."""

from __future__ import annotations

import numpy as np
from pedalboard import (
    HighpassFilter,
    HighShelfFilter,
    LowpassFilter,
    LowShelfFilter,
    NoiseGate,
    PeakFilter,
    Pedalboard,
)
from scipy.signal import firwin, oaconvolve, resample_poly

from pipeline.types import SAMPLE_RATE

OVERSAMPLE = 2
# Half-band-ish anti-imaging / anti-aliasing filter for the 2x oversampled clipper (short: it runs on every
# guitar and bass sample; the DI is low-passed at 6.5 kHz before the clipper, the cabinet at 9 kHz after it).
_OS_FILTER = firwin(47, 0.9 / OVERSAMPLE, window=("kaiser", 7.0)).astype(np.float32)


def clipper(x: np.ndarray, drive_db: float) -> np.ndarray:
    """Two asymmetric tanh stages at 2x oversampling (aliasing products fall above the audible band)."""
    up = resample_poly(x, OVERSAMPLE, 1, window=_OS_FILTER).astype(np.float32)
    gain = np.float32(10 ** (drive_db / 20))
    bias = np.float32(0.2)
    y = np.tanh(up * gain + bias) - np.tanh(bias)
    y = np.tanh(np.float32(2.5) * y)
    return resample_poly(y, 1, OVERSAMPLE, window=_OS_FILTER).astype(np.float32)[: x.size]


def amp(di: np.ndarray, ir: np.ndarray, drive_db: float, *, bass: bool = False) -> np.ndarray:
    """A mono DI through the whole chain; returns mono float32 of the same length."""
    pre = Pedalboard(
        [
            NoiseGate(threshold_db=-70.0, ratio=4.0, attack_ms=1.0, release_ms=60.0),
            HighpassFilter(110.0 if not bass else 250.0),
            PeakFilter(750.0, 6.0, 0.7),  # tube-screamer style mid boost before the amp: tight, articulate
            LowpassFilter(6500.0),
        ]
    )
    x = pre(di[None, :], SAMPLE_RATE)[0]
    y = clipper(x, drive_db)
    post = Pedalboard(
        [
            LowShelfFilter(120.0, 3.0, 0.7),
            PeakFilter(450.0, -5.0, 0.8),  # scooped mids
            PeakFilter(2600.0, 3.0, 0.8),  # presence
        ]
    )
    y = post(y[None, :], SAMPLE_RATE)[0]
    y = oaconvolve(y, ir, mode="full")[: y.size].astype(np.float32)
    cab_post = Pedalboard([HighpassFilter(75.0), LowpassFilter(9000.0), HighShelfFilter(6000.0, -2.0, 0.7)])
    return cab_post(y[None, :], SAMPLE_RATE)[0].astype(np.float32)
