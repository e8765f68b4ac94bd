"""Songs in free time (no pulse to lock to): the band swells with the song's loudness instead of drumming a
click over it. A generated beatless pad song goes through the real analysis and the real playing half."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pipeline.analyze import analyze
from pipeline.analyze.loudness import short_term_curve
from pipeline.arrange import arrange
from pipeline.arrange.free_time import FREE_TIME_CONFIDENCE, bar_dynamics, in_free_time, swell_sections
from pipeline.play import play
from pipeline.testing.synth import make_pad_song
from pipeline.tests.play_helpers import analysis_from_song, minor_progression_song
from pipeline.types import LOUDNESS_HOP_S, SAMPLE_RATE, RemixOptions, SeparatorInfo, Stems

ASSETS = Path(__file__).resolve().parents[2] / "assets"


def _with_curve(levels: list[tuple[float, float]]):  # type: ignore[no-untyped-def]
    """A steady song's analysis with a loudness curve of (seconds, LUFS) stretches."""
    analysis = analysis_from_song(minor_progression_song())
    curve = [lufs for seconds, lufs in levels for _ in range(int(seconds / LOUDNESS_HOP_S))]
    return replace(analysis, loudness_curve=curve, duration=len(curve) * LOUDNESS_HOP_S)


def test_a_song_is_in_free_time_when_its_beat_is_a_guess_or_barely_tracked():
    steady = analysis_from_song(minor_progression_song())
    assert not in_free_time(steady)
    assert in_free_time(replace(steady, tempo_is_guess=True))
    assert in_free_time(replace(steady, tempo_confidence=FREE_TIME_CONFIDENCE - 0.01))
    assert not in_free_time(replace(steady, tempo_confidence=FREE_TIME_CONFIDENCE + 0.01))


def test_the_form_of_a_song_in_free_time_follows_its_loudness_and_ignores_a_short_dip():
    analysis = _with_curve([(12.0, -30.0), (12.0, -23.0), (10.0, -19.0), (3.0, -26.0), (12.0, -19.0)])
    sections = swell_sections(analysis)
    assert [s.label for s in sections] == ["A", "B", "C"]  # the 3 s dip is part of the swell's top
    assert sections[0].start == 0.0 and sections[-1].end == analysis.duration
    assert all(a.end == b.start for a, b in zip(sections, sections[1:], strict=False))
    assert sections[0].energy < sections[1].energy < sections[2].energy
    assert sections[1].start == pytest.approx(12.0, abs=2.5) and sections[2].start == pytest.approx(
        24.0, abs=2.5
    )


def test_the_drums_of_a_song_in_free_time_play_as_hard_as_the_song_is_loud():
    analysis = _with_curve([(10.0, -30.0), (10.0, -22.0), (10.0, -18.0)])
    arr = arrange(replace(analysis, tempo_is_guess=True), RemixOptions())
    dynamics = bar_dynamics(arr.bars, analysis)
    assert dynamics[0] < 0.6 and dynamics[-1] == pytest.approx(1.0, abs=0.05)
    assert all(
        b >= a - 0.02 for a, b in zip(dynamics, dynamics[1:], strict=False)
    )  # it grows as the song does


@pytest.fixture(scope="module")
def pad_song():
    return make_pad_song()


@pytest.fixture(scope="module")
def pad_analysis(pad_song):
    s = pad_song.stems
    return analyze(
        pad_song.audio,
        stems=Stems(s["vocals"], s["drums"], s["bass"], s["other"], SeparatorInfo("truth", "test")),
    )


def test_a_beatless_quiet_pad_song_is_heard_as_in_free_time(pad_analysis):
    assert pad_analysis.loudness_lufs < -16.0
    assert in_free_time(pad_analysis)


@pytest.mark.parametrize("style", ["heavy", "doom"])
def test_a_beatless_pad_song_is_swelled_drums_low_then_growing_no_double_kick_while_quiet(
    pad_song, pad_analysis, style, tmp_path
):
    options = RemixOptions(style=style)
    arr = arrange(pad_analysis, options)
    assert arr.free_time
    third = pad_song.duration / 3
    sixteenth = 60.0 / pad_analysis.tempo / 4
    # where the song is quiet the kit touches the beat (a ride, a soft kick): no double kick rolling 16ths
    quiet_kicks = np.array(sorted(h.time for h in arr.drums if h.role == "kick" and h.time < third))
    assert quiet_kicks.size >= 2 and np.diff(quiet_kicks).min() > 1.5 * sixteenth
    early = [h.velocity for h in arr.drums if h.time < third]
    late = [h.velocity for h in arr.drums if 2 * third <= h.time < pad_song.duration - 3.0]
    assert early and late and np.mean(early) < 0.7 * np.mean(late)

    perf = play(
        pad_song.stems["vocals"],
        pad_song.stems["other"],
        pad_analysis,
        options,
        assets_dir=ASSETS,
        out_dir=tmp_path,
    )
    perf.finish()
    assert perf.facts["free_time"] is True
    drums, rate = sf.read(perf.stems["drums"], dtype="float32", always_2d=True)
    curve = np.array(short_term_curve(drums.T, rate, 0.5))
    times = np.arange(curve.size) * 0.5
    start = curve[(times > 2.0) & (times < third)]
    swell = curve[(times >= 2 * third) & (times < pad_song.duration - 3.0)]
    assert np.median(swell) - np.median(start) >= 6.0  # the kit in the mix grows with the song
    assert rate == SAMPLE_RATE


def test_a_song_with_a_steady_beat_keeps_its_styles_grooves(tmp_path):
    analysis = analysis_from_song(minor_progression_song(), energies=(0.9, 0.9))
    arr = arrange(analysis, RemixOptions(style="heavy"))
    assert not arr.free_time
    kicks = np.array(sorted(h.time for h in arr.drums if h.role == "kick"))
    assert np.diff(kicks).min() < 60.0 / analysis.tempo / 4 * 1.5  # its choruses' double kick
