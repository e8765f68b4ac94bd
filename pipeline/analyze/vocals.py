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


def _window_levels(x: np.ndarray, hop: int) -> np.ndarray:
    mono = np.asarray(x, dtype=np.float64)
    mono = mono.mean(axis=0) if mono.ndim == 2 else mono
    count = max(1, len(mono) // hop)
    frames = mono[: count * hop].reshape(count, -1) if len(mono) >= hop else mono[None, :]
    return 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)


def _voice_band(x: np.ndarray, sample_rate: int) -> np.ndarray:
    mono = np.asarray(x, dtype=np.float32)
    mono = mono.mean(axis=0) if mono.ndim == 2 else mono
    sos = signal.butter(4, VOICE_BAND_HZ, "bandpass", fs=sample_rate, output="sos")
    return signal.sosfilt(sos, mono)


def has_vocals(
    vocals: np.ndarray, other: np.ndarray, mix: np.ndarray, sample_rate: int
) -> tuple[bool, float]:
    """(verdict, share of sounding 1-s windows where the vocals stem holds its own in the voice band)."""
    m = _window_levels(mix, sample_rate)
    sounding = m > _FLOOR_DB
    if not sounding.any():
        return False, 0.0
    v, o, mb = (_window_levels(_voice_band(x, sample_rate), sample_rate) for x in (vocals, other, mix))
    sung = sounding & (v > _FLOOR_DB) & (v - mb > -WITHIN_DB) & (v - o > OVER_OTHER_DB)
    share = float(sung.sum() / sounding.sum())
    return share >= _MIN_SHARE, round(share, 3)
