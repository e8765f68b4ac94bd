"""The Analysis as a whole: JSON round trip, loudness, vocals from stems, progress, bad input, speed."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from pipeline.analyze import analyze
from pipeline.analyze.vocals import has_vocals
from pipeline.errors import ANALYSIS_FAILED, PipelineError
from pipeline.loudness import SILENCE_LUFS
from pipeline.testing import make_song
from pipeline.tests._analyze_songs import analysis, song, stems_of
from pipeline.types import SAMPLE_RATE, Analysis, Stems


def test_analysis_round_trips_through_json() -> None:
    original = analysis("c_major_128")
    text = json.dumps(original.to_dict(), allow_nan=False)
    restored = Analysis.from_dict(json.loads(text))
    assert restored == original
    data = json.loads(text)
    for field in ("tempo", "beats", "downbeats", "key", "chords", "sections", "loudness_lufs"):
        assert data[field] not in (None, [], "")
    assert data["chords"][0].keys() == {"start", "end", "label", "root", "quality", "bass"}


def test_silence_reports_the_gate_and_stays_json_safe() -> None:
    result = analyze(np.zeros((2, 4 * SAMPLE_RATE), dtype=np.float32))
    assert result.loudness_lufs == SILENCE_LUFS
    assert all(c.label == "N" for c in result.chords)
    json.dumps(result.to_dict(), allow_nan=False)


def test_song_loudness_is_measured() -> None:
    result = analysis("c_major_128")
    assert -30.0 < result.loudness_lufs < -5.0
    assert math.isfinite(result.loudness_lufs)


def test_vocals_stem_tells_whether_anyone_sings() -> None:
    sung = analysis("c_major_128", with_stems=True)
    assert sung.has_vocals and sung.extra["has_vocals_measured"]
    instrumental = analysis("e_minor_92", with_stems=True)
    assert not instrumental.has_vocals and instrumental.extra["vocal_share"] < 0.05


def test_stems_give_the_same_tempo_key_and_sections() -> None:
    plain, with_stems = analysis("c_major_128"), analysis("c_major_128", with_stems=True)
    assert with_stems.tempo == pytest.approx(plain.tempo, rel=0.005)
    assert (with_stems.key, with_stems.scale) == (plain.key, plain.scale)
    assert [s.label for s in with_stems.sections] == [s.label for s in plain.sections]


def test_progress_is_reported_up_to_done() -> None:
    seen: list[float] = []
    analyze(make_song(bars=4).audio, progress=seen.append)
    assert seen == sorted(seen) and seen[-1] == 1.0 and len(seen) >= 4


def test_mono_input_is_accepted() -> None:
    s = make_song(bars=4)
    result = analyze(s.audio.mean(axis=0))
    assert result.duration == pytest.approx(s.duration, abs=0.01)


def test_empty_audio_is_a_pipeline_error() -> None:
    with pytest.raises(PipelineError) as caught:
        analyze(np.zeros((2, 0), dtype=np.float32))
    assert caught.value.code == ANALYSIS_FAILED


def test_stems_of_another_length_are_refused() -> None:
    s = song("e_minor_92")
    short = Stems(**{k: v[:, :1000] for k, v in s.stems.items()}, separator=stems_of(s).separator)
    with pytest.raises(PipelineError):
        analyze(s.audio, stems=short)


def test_an_instrument_leaking_into_the_vocals_stem_is_not_singing() -> None:
    # What the model-free separator does to a centred guitar: part of it lands in "vocals", the rest
    # (its off-centre part, reverb) stays in "other". Within 12 dB of the mix, but not a voice.
    s = song("e_minor_92")
    leak, rest = 0.35 * s.stems["other"], 0.65 * s.stems["other"]
    sung, share, _windows = has_vocals(leak, rest, s.audio, SAMPLE_RATE)
    assert not sung and share < 0.1
    singer = song("c_major_128")
    assert has_vocals(singer.stems["vocals"], singer.stems["other"], singer.audio, SAMPLE_RATE)[0]


def test_features_made_with_the_onsets_on_a_thread_equal_each_feature_made_alone() -> None:
    from pipeline.analyze.features import LOW_BAND_HZ, compute_features, spectral_flux, tonal_frames

    audio = make_song(tempo=120.0, bars=8, with_vocals=True, seed=8).audio.astype(np.float32)
    mono, low, harmonic = audio.mean(axis=0), audio[0] * 0.5, audio[1] * 0.7
    for sources in ({}, {"low_source": low, "harmonic_source": harmonic}):
        made = compute_features(mono, 44100, **sources)
        frames = tonal_frames(mono, 44100)
        harmony = tonal_frames(sources.get("harmonic_source", mono), 44100)
        if sources:
            onset, low_onset = spectral_flux(mono, 44100)[0], spectral_flux(low, 44100, (LOW_BAND_HZ,))[0]
        else:
            onset, low_onset = spectral_flux(mono, 44100, (0.0, LOW_BAND_HZ))
        assert made.onset.tobytes() == onset.tobytes() and made.low_onset.tobytes() == low_onset.tobytes()
        assert made.hpcp.tobytes() == harmony.hpcp.tobytes()
        assert made.bass_hpcp.tobytes() == harmony.bass_hpcp.tobytes()
        assert made.mfcc.tobytes() == frames.mfcc.tobytes() and made.rms.tobytes() == frames.rms.tobytes()


def test_tonal_frames_make_only_the_rows_asked_for_and_the_same_ones() -> None:
    from pipeline.analyze.features import tonal_frames

    mono = make_song(tempo=100.0, bars=4, with_vocals=True, seed=3).audio.mean(axis=0).astype(np.float32)
    whole = tonal_frames(mono, 44100)
    harmony = tonal_frames(mono, 44100, timbre=False)
    timbre = tonal_frames(mono, 44100, harmony=False)
    assert len(whole.hpcp) > 10
    assert harmony.hpcp.tobytes() == whole.hpcp.tobytes()
    assert harmony.bass_hpcp.tobytes() == whole.bass_hpcp.tobytes()
    assert harmony.mfcc.shape == (0, 13) and harmony.rms.size == 0
    assert timbre.mfcc.tobytes() == whole.mfcc.tobytes() and timbre.rms.tobytes() == whole.rms.tobytes()
    assert timbre.hpcp.shape == (0, 12) and timbre.bass_hpcp.shape == (0, 12)
