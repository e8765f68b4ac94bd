"""Tempo and beats on synthetic songs with a known grid, and a guessed grid where there is no beat."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import signal

from pipeline.analyze import analyze
from pipeline.testing import make_song
from pipeline.tests._analyze_songs import TEMPO_SONGS, analysis, nearest_errors, song
from pipeline.types import SAMPLE_RATE


@pytest.mark.parametrize("name", TEMPO_SONGS)
def test_tempo_is_within_one_percent(name: str) -> None:
    result, truth = analysis(name), song(name)
    assert result.tempo == pytest.approx(truth.tempo, rel=0.01)
    assert not result.tempo_is_guess
    assert result.extra["tempo_octave"] in ("as tracked", "doubled")


@pytest.mark.parametrize("name", TEMPO_SONGS)
def test_beats_are_within_20_ms_of_the_true_beats(name: str) -> None:
    result, truth = analysis(name), song(name)
    errors = nearest_errors(result.beats, truth.beats)
    assert len(errors) >= 0.9 * len(truth.beats)
    assert np.median(errors) < 0.020
    assert np.mean(errors < 0.05) > 0.9


@pytest.mark.parametrize("name", TEMPO_SONGS)
def test_beat_grid_covers_the_whole_song_at_the_tempo(name: str) -> None:
    result = analysis(name)
    period = 60.0 / result.tempo
    beats = np.asarray(result.beats)
    assert beats[0] < period and beats[-1] > result.duration - 2 * period
    assert np.all(np.diff(beats) > 0.5 * period) and np.all(np.diff(beats) < 1.5 * period)
    assert len(result.extra["beat_strength"]) == len(beats)


def _assert_usable_guessed_grid(audio: np.ndarray) -> None:
    result = analyze(audio)
    duration = audio.shape[1] / SAMPLE_RATE
    beats = np.asarray(result.beats)
    assert result.tempo_is_guess
    assert 60 <= result.tempo <= 200
    assert beats[0] < 60 / result.tempo + 1e-6 and beats[-1] > duration - 2 * 60 / result.tempo
    assert np.allclose(np.diff(beats), 60 / result.tempo, atol=1e-3)  # regular
    assert len(result.downbeats) >= len(beats) // result.beats_per_bar - 1


def test_silence_gets_a_guessed_regular_grid() -> None:
    _assert_usable_guessed_grid(np.zeros((2, 10 * SAMPLE_RATE), dtype=np.float32))


def test_noise_gets_a_guessed_regular_grid() -> None:
    noise = np.random.default_rng(0).standard_normal((2, 12 * SAMPLE_RATE)).astype(np.float32) * 0.1
    _assert_usable_guessed_grid(noise)


def test_rubato_gets_a_guessed_regular_grid() -> None:
    """A drumless song whose beats are stretched and squeezed at random (40 % either way)."""
    rng = np.random.default_rng(7)
    base = make_song(tempo=100, bars=10, with_drums=False, seed=7)
    beat = int(0.6 * SAMPLE_RATE)
    pieces = []
    for start in range(0, base.audio.shape[1] - beat, beat):
        chunk = base.audio[:, start : start + beat]
        pieces.append(signal.resample(chunk, int(beat * rng.uniform(0.6, 1.4)), axis=1))
    _assert_usable_guessed_grid(np.concatenate(pieces, axis=1).astype(np.float32))
