"""Is anyone singing? Judged from the vocals stem in the voice band, in 1-second windows.

A window counts as sung when, in the voice band (300-3400 Hz), the vocals stem carries a fair part of the
mix (within ``WITHIN_DB``) and is about as loud as the accompaniment ("other" stem, within
``OVER_OTHER_DB``). The second test is what tells a voice from a leak: the model-free separator puts anything
harmonic and centred into "vocals", so a centred piano or lead guitar reaches 8-10 dB under the mix there
too, but the rest of the band (the same instruments off-centre, their reverb, the other instruments) stays
louder than the leak, while a singer is as loud as the band in their own range. Measured on the shared
real songs: instrumentals 0-13 % of windows sung with the DSP separator (up to 21 % with spleeter),
sung songs 74-80 % with either.
"""

from __future__ import annotations

import numpy as np
from scipy import signal

VOICE_BAND_HZ = (300.0, 3400.0)
WITHIN_DB = 9.0
OVER_OTHER_DB = -1.5
_FLOOR_DB = -50.0
_MIN_SHARE = 0.3  # share of the song's sounding windows that must be sung


def _mono(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x.mean(axis=0) if x.ndim == 2 else x


def _window_levels(mono: np.ndarray, hop: int) -> np.ndarray:
    """Level (dB) of each ``hop``-sample window, summed in float64 a few windows at a time (long songs)."""
    count = max(1, len(mono) // hop)
    frames = mono[: count * hop].reshape(count, -1) if len(mono) >= hop else mono[None, :]
    power = np.empty(len(frames))
    for first in range(0, len(frames), 64):
        block = frames[first : first + 64].astype(np.float64)
        power[first : first + 64] = np.mean(block * block, axis=1)
    return 10 * np.log10(power + 1e-12)


def _voice_band(mono: np.ndarray, sample_rate: int) -> np.ndarray:
    sos = signal.butter(4, VOICE_BAND_HZ, "bandpass", fs=sample_rate, output="sos").astype(np.float32)
    return signal.sosfilt(sos, mono).astype(np.float32, copy=False)


def has_vocals(
    vocals: np.ndarray, other: np.ndarray, mix: np.ndarray, sample_rate: int
) -> tuple[bool, float, list[bool]]:
    """(verdict, share of sounding 1-s windows where the vocals stem holds its own in the voice band,
    that judgement per 1-s window)."""
    mix_mono = _mono(mix)
    m = _window_levels(mix_mono, sample_rate)
    sounding = m > _FLOOR_DB
    if not sounding.any():
        return False, 0.0, [False] * len(m)
    mb = _window_levels(_voice_band(mix_mono, sample_rate), sample_rate)
    del mix_mono
    v, o = (_window_levels(_voice_band(_mono(x), sample_rate), sample_rate) for x in (vocals, other))
    sung = sounding & (v > _FLOOR_DB) & (v - mb > -WITHIN_DB) & (v - o > OVER_OTHER_DB)
    share = float(sung.sum() / sounding.sum())
    return share >= _MIN_SHARE, round(share, 3), [bool(x) for x in sung]
