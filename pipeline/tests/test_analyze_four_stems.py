"""Which stems the analysis reads when htdemucs made real drums and bass.

By default (measured: README, "Separation") the beats come from the mix and the bass note from bass + other,
as with every separator. Two readings, measured apart, stay behind switches: the beats tracked on the drums
stem (``BEATS_FROM_DRUMS``) and the bass note off the bass stem alone (``BASS_FROM_BASS_STEM``); a DSP
split of the accompaniment never takes them. Separated with the real htdemucs weights (``make test`` fetches
them; the tests fail, never skip, without them): one generated song of ~10 s, separated once.
"""

from __future__ import annotations

import numpy as np
import pytest

import pipeline.analyze as analysis_module
from pipeline.analyze import analyze
from pipeline.paths import DEFAULT_MODELS_DIR
from pipeline.separate import demucs_model, separate
from pipeline.separate.catalogue import separates_drums_and_bass
from pipeline.testing.synth import SynthSong, make_song
from pipeline.types import Stems


@pytest.fixture(scope="module")
def song() -> SynthSong:
    return make_song(tempo=96.0, key="E", scale="minor", bars=4, seed=7)


@pytest.fixture(scope="module")
def htdemucs_stems(song: SynthSong) -> Stems:
    if demucs_model.find_checkpoint(DEFAULT_MODELS_DIR) is None:
        pytest.fail(f"no htdemucs weights in {DEFAULT_MODELS_DIR}: run `make models` (`make test` does)")
    return separate(song.audio, method="demucs", models_dir=DEFAULT_MODELS_DIR)


def test_only_a_network_made_drums_and_bass_stems() -> None:
    assert separates_drums_and_bass("demucs:htdemucs")
    assert not separates_drums_and_bass("spleeter:2stems")
    assert not separates_drums_and_bass("dsp:hpss")


@pytest.mark.slow
def test_by_default_htdemucs_stems_are_read_like_any_separators(
    song: SynthSong, htdemucs_stems: Stems
) -> None:
    result = analyze(song.audio, stems=htdemucs_stems)
    assert result.extra["beat_source"] == "mix" and result.extra["bass_source"] == "bass + other"
    assert abs(result.tempo - song.tempo) < 1.0


@pytest.mark.slow
def test_switched_on_the_beats_come_from_the_drums_and_the_bass_note_from_the_bass(
    song: SynthSong, htdemucs_stems: Stems, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(analysis_module, "BEATS_FROM_DRUMS", True)
    monkeypatch.setattr(analysis_module, "BASS_FROM_BASS_STEM", True)
    result = analyze(song.audio, stems=htdemucs_stems)
    assert result.extra["beat_source"] == "drums" and result.extra["bass_source"] == "bass stem"
    assert abs(result.tempo - song.tempo) < 1.0
    truth = np.asarray(song.beats)
    found = np.asarray(result.beats)
    misses = [np.abs(found - t).min() for t in truth[(truth > 0.5) & (truth < song.duration - 0.5)]]
    assert np.median(misses) < 0.03  # seconds
    # The generated bass plays each bar's chord root; the bass stem alone names it on most chords.
    roots = [root for _start, _end, root, _quality in song.chords]
    bar_len = 60.0 / song.tempo * song.beats_per_bar
    named = [c.bass for c in result.chords if c.label != "N"]
    expected = [
        roots[min(int((c.start + 0.01) / bar_len), len(roots) - 1)] for c in result.chords if c.label != "N"
    ]
    assert np.mean([a == b for a, b in zip(named, expected, strict=True)]) >= 0.75, (named, expected)


def test_a_dsp_split_never_takes_the_drums_beats(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(analysis_module, "BEATS_FROM_DRUMS", True)
    monkeypatch.setattr(analysis_module, "BASS_FROM_BASS_STEM", True)
    song = make_song(tempo=120.0, bars=4, seed=1)
    result = analyze(song.audio, stems=separate(song.audio, method="dsp"))
    assert result.extra["beat_source"] == "mix" and result.extra["bass_source"] == "bass + other"
