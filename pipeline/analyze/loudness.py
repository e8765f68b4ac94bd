"""Integrated loudness (EBU R128 / ITU-R BS.1770-4), streamed so memory stays flat on long songs.

K-weighting (the same two biquads pyloudnorm designs), 400 ms blocks every 100 ms, the -70 LUFS absolute
and -10 LU relative gates. Measured on a 3-minute song: pyloudnorm needs ~290 MB extra (float64 copies of
the whole song) and essentia's LoudnessEBUR128 is slower (0.008x vs 0.003x real time); this streams
10-second chunks through the filters with their state carried over, and agrees with pyloudnorm to 0.01 LU
(see the tests).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import signal

SILENCE_LUFS = -70.0  # the standard's absolute gate: anything quieter is reported as this
_BLOCK_S = 0.4
_STEP_S = 0.1
_CHUNK_S = 10.0


def _biquad(kind: str, gain_db: float, q: float, fc: float, rate: int) -> np.ndarray:
    """RBJ-cookbook biquad as one second-order section (as pyloudnorm's K-weighting stages)."""
    a_gain = 10 ** (gain_db / 40.0)
    w0 = 2 * math.pi * fc / rate
    alpha = math.sin(w0) / (2 * q)
    cos_w0 = math.cos(w0)
    if kind == "high_shelf":
        sq = 2 * math.sqrt(a_gain) * alpha
        b = [
            a_gain * ((a_gain + 1) + (a_gain - 1) * cos_w0 + sq),
            -2 * a_gain * ((a_gain - 1) + (a_gain + 1) * cos_w0),
            a_gain * ((a_gain + 1) + (a_gain - 1) * cos_w0 - sq),
        ]
        a = [(a_gain + 1) - (a_gain - 1) * cos_w0 + sq, 2 * ((a_gain - 1) - (a_gain + 1) * cos_w0)]
        a.append((a_gain + 1) - (a_gain - 1) * cos_w0 - sq)
    else:  # high_pass
        b = [(1 + cos_w0) / 2, -(1 + cos_w0), (1 + cos_w0) / 2]
        a = [1 + alpha, -2 * cos_w0, 1 - alpha]
    return np.array([*(np.array(b) / a[0]), 1.0, a[1] / a[0], a[2] / a[0]])


def k_weighting(rate: int) -> np.ndarray:
    """The BS.1770 K-weighting filter as second-order sections."""
    return np.stack(
        [
            _biquad("high_shelf", 4.0, 1 / math.sqrt(2), 1500.0, rate),
            _biquad("high_pass", 0.0, 0.5, 38.0, rate),
        ]
    )


def _sub_block_energy(audio: np.ndarray, sample_rate: int) -> tuple[np.ndarray, int]:
    """(sum over channels of squared K-weighted samples per 100 ms, samples per 100 ms)."""
    audio = np.atleast_2d(audio)
    channels, n = audio.shape
    sos = k_weighting(sample_rate)
    step = int(round(_STEP_S * sample_rate))
    state = np.zeros((sos.shape[0], channels, 2))  # filter memory carried from chunk to chunk
    sub_sums: list[np.ndarray] = []  # per 100 ms: sum over channels of squared weighted samples
    carry = np.zeros(0)
    chunk = int(_CHUNK_S * sample_rate) // step * step
    for start in range(0, n, chunk):
        piece = np.asarray(audio[:, start : start + chunk], dtype=np.float64)
        weighted, state = signal.sosfilt(sos, piece, axis=1, zi=state)
        energy = np.concatenate([carry, np.square(weighted).sum(axis=0)])
        whole = len(energy) // step * step
        sub_sums.append(energy[:whole].reshape(-1, step).sum(axis=1))
        carry = energy[whole:]
    return (np.concatenate(sub_sums) if sub_sums else np.zeros(0)), step


def integrated_loudness(audio: np.ndarray, sample_rate: int) -> float:
    """LUFS of a (channels, n) signal; finite even for silence or very short input."""
    return _integrated(*_sub_block_energy(audio, sample_rate))


def loudness_and_curve(audio: np.ndarray, sample_rate: int, hop_s: float = 0.5) -> tuple[float, list[float]]:
    """(integrated LUFS, short-term curve every ``hop_s``) from one K-weighting pass over the song."""
    subs, step = _sub_block_energy(audio, sample_rate)
    return _integrated(subs, step), _curve(subs, step, hop_s, 3.0)


def _integrated(subs: np.ndarray, step: int) -> float:
    per_block = int(round(_BLOCK_S / _STEP_S))
    if len(subs) < per_block:
        return SILENCE_LUFS
    blocks = np.convolve(subs, np.ones(per_block), mode="valid") / (per_block * step)
    with np.errstate(divide="ignore"):
        levels = -0.691 + 10 * np.log10(blocks)
    gated = blocks[levels > SILENCE_LUFS]
    if not len(gated):
        return SILENCE_LUFS
    relative = -0.691 + 10 * math.log10(gated.mean()) - 10.0
    gated = blocks[(levels > SILENCE_LUFS) & (levels > relative)]
    value = -0.691 + 10 * math.log10(gated.mean())
    return round(value, 2) if math.isfinite(value) and value > SILENCE_LUFS else SILENCE_LUFS


def short_term_curve(
    audio: np.ndarray, sample_rate: int, hop_s: float = 0.5, window_s: float = 3.0
) -> list[float]:
    """Short-term loudness (LUFS, EBU R128's 3 s window) every ``hop_s``, centred on each hop's time.

    The loudness range (LRA) is read off these values; the remix's master follows them so the song's quiet
    and loud parts stay where they were. Windows are shortened at the song's edges.
    """
    return _curve(*_sub_block_energy(audio, sample_rate), hop_s, window_s)


def _curve(subs: np.ndarray, step: int, hop_s: float, window_s: float) -> list[float]:
    if not len(subs):
        return []
    per_hop = max(1, int(round(hop_s / _STEP_S)))
    half = max(1, int(round(window_s / _STEP_S / 2)))
    cum = np.concatenate([[0.0], np.cumsum(subs)])
    centres = np.arange(0, len(subs), per_hop)
    lo = np.clip(centres - half, 0, len(subs))
    hi = np.clip(centres + half, 0, len(subs))
    power = (cum[hi] - cum[lo]) / np.maximum(hi - lo, 1) / step
    with np.errstate(divide="ignore"):
        levels = -0.691 + 10 * np.log10(power)
    return [round(float(max(v, SILENCE_LUFS)), 2) for v in levels]
