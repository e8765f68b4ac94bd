"""Shared helpers for the playing tests: a synthetic song's truth as an Analysis, and stand-in stems."""

from __future__ import annotations

import numpy as np

from pipeline.testing.synth import NOTE_NAMES, SynthSong, make_song
from pipeline.types import Analysis, Chord, Section


def minor_progression_song() -> SynthSong:
    """The arranging tests' song: E minor, i-VI-III-VII at 100 BPM, 12 bars in two sections."""
    return make_song(
        tempo=100.0, key="E", scale="minor", progression=("i", "VI", "III", "VII"), bars=12, sections=2
    )


def analysis_from_song(song: SynthSong, energies: tuple[float, ...] = (0.45, 0.9)) -> Analysis:
    """The analysis a perfect listener would produce for ``song`` (its known grid, chords and sections)."""
    bounds = [*song.section_starts, song.duration]
    sections = [
        Section(start=a, end=b, label="AB"[i % 2], energy=energies[i % len(energies)])
        for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:], strict=True))
    ]
    chords = [Chord(a, b, f"{NOTE_NAMES[r]}:{q}", r, q) for a, b, r, q in song.chords]
    return Analysis(
        duration=song.duration,
        tempo=song.tempo,
        tempo_confidence=1.0,
        tempo_is_guess=False,
        beats=list(song.beats),
        downbeats=list(song.downbeats),
        beats_per_bar=song.beats_per_bar,
        key=song.key,
        scale=song.scale,
        key_strength=1.0,
        chords=chords,
        sections=sections,
        loudness_lufs=-14.0,
        has_vocals=True,
    )


def stems_from_song(song: SynthSong) -> tuple[np.ndarray, np.ndarray]:
    """Stand-in (vocals, other) stems for play(): a quieter copy of the mix and the mix at half level.

    Separation is not under test here.
    """
    return (song.audio * 0.3).astype(np.float32), (song.audio * 0.5).astype(np.float32)
