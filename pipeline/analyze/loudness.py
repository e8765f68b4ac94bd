"""The original's loudness as the analysis stores it: integrated (LUFS) and its short-term curve, read with
the meter the master reads the remix with (``pipeline.loudness``), in 100 ms frames so memory stays flat on
long songs. Values are rounded to 0.01 LU and floored at the absolute gate (-70 LUFS)."""

from __future__ import annotations

import math

import numpy as np

from pipeline.loudness import SILENCE_LUFS, gated_loudness, k_power, short_term, step_frames


def loudness_and_curve(audio: np.ndarray, sample_rate: int, hop_s: float = 0.5) -> tuple[float, list[float]]:
    """(integrated LUFS, short-term curve every ``hop_s``) from one K-weighting pass over the song."""
    frame = step_frames(sample_rate)
    power = k_power(audio, frame=frame, rate=sample_rate)
    lufs = gated_loudness(power, frame, sample_rate)
    lufs = round(lufs, 2) if math.isfinite(lufs) and lufs > SILENCE_LUFS else SILENCE_LUFS
    return lufs, _stored(short_term(power, hop_s, frame, sample_rate))


def short_term_curve(audio: np.ndarray, sample_rate: int, hop_s: float = 0.5) -> list[float]:
    """Short-term loudness (LUFS, EBU R128's 3 s window) every ``hop_s``, centred on each hop's time: the
    song's dynamics, which the remix's master follows. Windows are shortened at the song's edges."""
    frame = step_frames(sample_rate)
    return _stored(short_term(k_power(audio, frame=frame, rate=sample_rate), hop_s, frame, sample_rate))


def _stored(levels: np.ndarray) -> list[float]:
    return [round(float(max(v, SILENCE_LUFS)), 2) for v in levels]
