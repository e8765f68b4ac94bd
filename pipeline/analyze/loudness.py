"""Integrated loudness (EBU R128 / ITU-R BS.1770).

pyloudnorm rather than essentia's LoudnessEBUR128: the same value on real music (E03: -19.81 vs -19.83 LUFS)
in about a third of the time (0.003x vs 0.008x real time on a 30 s excerpt).
"""

from __future__ import annotations

import math

import numpy as np
import pyloudnorm

SILENCE_LUFS = -70.0  # the standard's absolute gate: anything quieter is reported as this


def integrated_loudness(audio: np.ndarray, sample_rate: int) -> float:
    """LUFS of a (channels, n) signal; finite even for silence or very short input."""
    data = np.asarray(audio, dtype=np.float64).T
    if data.shape[0] < int(0.4 * sample_rate):  # shorter than one gating block
        data = np.pad(data, ((0, int(0.4 * sample_rate) - data.shape[0]), (0, 0)))
    value = float(pyloudnorm.Meter(sample_rate).integrated_loudness(data))
    return round(value, 2) if math.isfinite(value) and value > SILENCE_LUFS else SILENCE_LUFS
