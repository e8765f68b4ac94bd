"""The synthetic song generator other tests rely on: its truth must match what it renders."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pipeline.testing import make_song, write_song
from pipeline.testing.synth import parse_numeral


def _bar_chroma(audio: np.ndarray, sr: int, start: float, end: float) -> np.ndarray:
    """Pitch-class energy of a stretch of audio between 60 and 1000 Hz (plain FFT, no analysis code)."""
    mono = audio.mean(axis=0)[int(start * sr) : int(end * sr)]
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(len(mono))))
    freqs = np.fft.rfftfreq(len(mono), 1 / sr)
    band = (freqs > 60) & (freqs < 1000)
    pcs = np.round(12 * np.log2(freqs[band] / 440.0) + 69).astype(int) % 12
    return np.bincount(pcs, weights=spectrum[band] ** 2, minlength=12)


def test_roman_numerals_resolve_relative_to_key() -> None:
    assert parse_numeral("i", "A", "minor") == (9, "min")
    assert parse_numeral("VI", "A", "minor") == (5, "maj")
    assert parse_numeral("bVII", "E", "major") == (2, "maj")
    assert parse_numeral("IV", "Bb", "major") == (3, "maj")


def test_song_has_the_grid_it_reports() -> None:
    song = make_song(tempo=128, bars=6, beats_per_bar=3, sections=2)
    assert song.audio.dtype == np.float32 and song.audio.shape[0] == 2
    assert len(song.beats) == 18 and len(song.downbeats) == 6 and len(song.chords) == 6
    assert np.allclose(np.diff(song.beats), 60 / 128)
    assert song.downbeats == song.beats[::3]
    assert song.section_starts == [0.0, song.downbeats[3]]
    assert song.duration > song.beats[-1] + 60 / 128
    assert 0.5 < np.abs(song.audio).max() <= 0.9


def test_song_is_deterministic_from_its_seed() -> None:
    a, b, c = make_song(seed=3, with_vocals=True), make_song(seed=3, with_vocals=True), make_song(seed=4)
    assert np.array_equal(a.audio, b.audio)
    assert not np.array_equal(a.audio[:, : c.audio.shape[1]], c.audio[:, : a.audio.shape[1]])


def test_chord_roots_dominate_the_rendered_chroma() -> None:
    song = make_song(tempo=100, key="E", scale="minor", progression=["i", "VI", "III", "VII"], bars=4)
    roots = [c[2] for c in song.chords]
    assert roots == [4, 0, 7, 2]
    for start, end, root, quality in song.chords:
        chroma = _bar_chroma(song.audio, song.sample_rate, start, end)
        third = (root + (3 if quality == "min" else 4)) % 12
        top3 = set(np.argsort(chroma)[-3:])
        assert {root, third, (root + 7) % 12} == top3


def test_second_section_is_louder_than_the_first() -> None:
    song = make_song(bars=8, sections=2)
    split = int(song.section_starts[1] * song.sample_rate)
    first = np.sqrt(np.mean(song.audio[:, :split] ** 2))
    second = np.sqrt(np.mean(song.audio[:, split:] ** 2))
    assert second > 1.5 * first


def test_vocals_are_centred_and_leave_the_band_unchanged() -> None:
    dry, sung = make_song(seed=1), make_song(seed=1, with_vocals=True)
    vocal = sung.stems["vocals"]
    assert np.array_equal(vocal[0], vocal[1])
    assert np.sqrt(np.mean(vocal**2)) > 0.2 * np.sqrt(np.mean(sung.audio**2))
    band = sung.audio - vocal
    gain = np.dot(band[0], dry.audio[0]) / np.dot(band[0], band[0])  # undo the peak normalisation
    assert np.allclose(band * gain, dry.audio, atol=1e-4)


def test_stems_sum_to_the_mix() -> None:
    song = make_song(bars=4, sections=2, with_vocals=True)
    assert set(song.stems) == {"vocals", "drums", "bass", "other"}
    total = sum(song.stems.values())
    assert np.allclose(total, song.audio, atol=1e-5)
    assert all(np.abs(stem).max() > 0.01 for stem in song.stems.values())
    assert not make_song(bars=2, with_drums=False).stems["drums"].any()


@pytest.mark.parametrize("suffix", ["wav", "flac", "mp3"])
def test_written_song_reads_back(tmp_path: Path, suffix: str) -> None:
    song = make_song(bars=2)
    path = write_song(tmp_path / f"song.{suffix}", song)
    data, sr = sf.read(path, dtype="float32", always_2d=True)
    assert sr == song.sample_rate and data.shape[1] == 2
    assert abs(data.shape[0] - song.audio.shape[1]) < 0.1 * song.sample_rate
