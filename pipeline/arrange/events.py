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
