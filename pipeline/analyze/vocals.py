"""Is anyone singing? Judged from the vocals stem's level against the whole mix, in 1-second windows."""

from __future__ import annotations

import numpy as np

# A window counts as sung when the vocals stem is within this many dB of the mix (and not near silence).
WITHIN_DB = 12.0
_FLOOR_DB = -50.0
_MIN_SHARE = 0.15  # share of the song's sounding windows that must be sung


def _window_levels(x: np.ndarray, hop: int) -> np.ndarray:
    mono = np.asarray(x, dtype=np.float64)
    mono = mono.mean(axis=0) if mono.ndim == 2 else mono
    count = max(1, len(mono) // hop)
    frames = mono[: count * hop].reshape(count, -1) if len(mono) >= hop else mono[None, :]
    return 10 * np.log10(np.mean(frames**2, axis=1) + 1e-12)


def has_vocals(vocals: np.ndarray, mix: np.ndarray, sample_rate: int) -> tuple[bool, float]:
    """(verdict, share of sounding 1-s windows where the vocals stem is within WITHIN_DB of the mix)."""
    v, m = _window_levels(vocals, sample_rate), _window_levels(mix, sample_rate)
    sounding = m > _FLOOR_DB
    if not sounding.any():
        return False, 0.0
    sung = sounding & (v > _FLOOR_DB) & (v - m > -WITHIN_DB)
    share = float(sung.sum() / sounding.sum())
    return share >= _MIN_SHARE, round(share, 3)
