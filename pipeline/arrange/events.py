"""Plain note data every arranger produces and every renderer / exporter consumes."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Hit:
    """One drum hit: ``role`` is a kit role (kick, snare, ...), velocity 0..1."""

    time: float
    role: str
    velocity: float


@dataclass(frozen=True)
class Note:
    """One pitched note. ``mute`` marks a palm-muted (damped) guitar note."""

    time: float
    duration: float
    pitch: int  # MIDI note number
    velocity: float  # 0..1
    mute: bool = False


def clamp(value: float, low: float, high: float) -> float:
    """``value`` kept within [low, high]: ``np.clip``'s result for one number, without numpy's call for each
    of the thousands of humanised timings and velocities of a song (a tenth of a second of arranging)."""
    return min(max(value, low), high)
