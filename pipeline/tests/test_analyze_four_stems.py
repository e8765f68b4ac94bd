"""The analysis reads htdemucs' real drums and bass: beats off the drums (the mix when they are silent),
the bass note off the bass stem; a DSP split of the accompaniment is never taken for real drums.

Separated with the real htdemucs weights (``make test`` fetches them; the tests fail, never skip, without
them): two generated songs of ~10 s, about a minute of CPU in all.
"""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.analyze import analyze
from pipeline.paths import DEFAULT_MODELS_DIR
from pipeline.separate import demucs_model, separate
from pipeline.separate.catalogue import separates_drums_and_bass
from pipeline.testing.synth import make_song


@pytest.fixture(scope="module", autouse=True)
def htdemucs_weights() -> None:
    if demucs_model.find_checkpoint(DEFAULT_MODELS_DIR) is None:
        pytest.fail(f"no htdemucs weights in {DEFAULT_MODELS_DIR}: run `make models` (`make test` does)")


def test_only_a_network_made_drums_and_bass_stems() -> None:
    assert separates_drums_and_bass("demucs:htdemucs")
    assert not separates_drums_and_bass("spleeter:2stems")
    assert not separates_drums_and_bass("dsp:hpss")


@pytest.mark.slow
def test_beats_come_from_htdemucs_drums_and_the_bass_note_from_its_bass() -> None:
    song = make_song(tempo=96.0, key="E", scale="minor", bars=4, seed=7)
    stems = separate(song.audio, method="demucs", models_dir=DEFAULT_MODELS_DIR)
    result = analyze(song.audio, stems=stems)
    assert result.extra["beat_source"] == "drums"
    assert abs(result.tempo - song.tempo) < 1.0
    truth = np.asarray(song.beats)
    found = np.asarray(result.beats)
    misses = [np.abs(found - t).min() for t in truth[(truth > 0.5) & (truth < song.duration - 0.5)]]
    assert np.median(misses) < 0.03  # seconds
    # The generated bass plays each bar's chord root; the bass stem alone names it on most beats.
    roots = [root for _start, _end, root, _quality in song.chords]
    bar_len = 60.0 / song.tempo * song.beats_per_bar
    named = [c.bass for c in result.chords if c.label != "N"]
    expected = [
        roots[min(int((c.start + 0.01) / bar_len), len(roots) - 1)] for c in result.chords if c.label != "N"
    ]
    agree = np.mean([a == b for a, b in zip(named, expected, strict=True)])
    assert agree >= 0.75, (named, expected)


@pytest.mark.slow
def test_without_drums_the_beat_is_tracked_on_the_mix() -> None:
    song = make_song(tempo=110.0, bars=4, with_drums=False, seed=2)
    stems = separate(song.audio, method="demucs", models_dir=DEFAULT_MODELS_DIR)
    result = analyze(song.audio, stems=stems)
    assert result.extra["beat_source"] == "mix"


def test_a_dsp_split_keeps_the_mix_beats() -> None:
    song = make_song(tempo=120.0, bars=4, seed=1)
    stems = separate(song.audio, method="dsp")
    result = analyze(song.audio, stems=stems)
    assert result.extra["beat_source"] == "mix"
