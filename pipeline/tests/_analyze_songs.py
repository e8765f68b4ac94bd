"""Synthetic songs with known facts and their analyses, made once per test session (analysis takes ~1 s)."""

from __future__ import annotations

import functools

import numpy as np

from pipeline.analyze import analyze
from pipeline.testing import SynthSong, make_song
from pipeline.types import Analysis, SeparatorInfo, Stems

# name -> make_song arguments. About 30 s each; drums throughout, as the issue asks.
SONGS: dict[str, dict] = {
    "e_minor_92": dict(tempo=92, key="E", scale="minor", bars=12, sections=2, seed=1),
    "c_major_128": dict(tempo=128, key="C", scale="major", bars=16, sections=2, with_vocals=True, seed=2),
    "fsharp_minor_174": dict(
        tempo=174, key="F#", scale="minor", bars=24, sections=3, with_vocals=True, seed=3
    ),
    "bflat_major_110": dict(
        tempo=110, key="Bb", scale="major", progression=["I", "vi", "ii", "V"], bars=14, seed=4
    ),
    "waltz_150": dict(tempo=150, key="D", scale="minor", bars=24, beats_per_bar=3, sections=3, seed=5),
    "waltz_100": dict(tempo=100, key="G", scale="major", bars=16, beats_per_bar=3, with_vocals=True, seed=6),
    "a_minor_215": dict(tempo=215, key="A", scale="minor", bars=32, sections=2, seed=7),
}
# 110 must stay as tracked and 215 (which essentia tracks at half speed) must be doubled back
TEMPO_SONGS = ("e_minor_92", "bflat_major_110", "c_major_128", "fsharp_minor_174", "a_minor_215")


@functools.cache
def song(name: str) -> SynthSong:
    return make_song(**SONGS[name])


@functools.cache
def analysis(name: str, with_stems: bool = False) -> Analysis:
    s = song(name)
    return analyze(s.audio, stems=stems_of(s) if with_stems else None)


def stems_of(s: SynthSong) -> Stems:
    return Stems(**s.stems, separator=SeparatorInfo("synthetic", "the song's own parts"))


def nearest_errors(found: list[float], truth: list[float]) -> np.ndarray:
    """For each true time inside the found grid's span, the distance (s) to the nearest found time."""
    found_arr = np.asarray(found)
    inside = [t for t in truth if found_arr[0] - 0.1 <= t <= found_arr[-1] + 0.1]
    return np.array([np.min(np.abs(found_arr - t)) for t in inside])
