"""The loudness meter the analysis and the master share: BS.1770's filters, pyloudnorm's readings, one
reading whether power is kept per sample or per 100 ms frame."""

from __future__ import annotations

import numpy as np
import pyloudnorm
import pytest

from pipeline.analyze.loudness import loudness_and_curve
from pipeline.loudness import (
    SILENCE_LUFS,
    gated_loudness,
    integrated_loudness,
    k_power,
    k_weighting,
    short_term,
    step_frames,
)
from pipeline.testing import make_song
from pipeline.types import SAMPLE_RATE


@pytest.fixture(scope="module")
def song_audio() -> np.ndarray:
    # 31 s: several filter blocks, quiet and loud sections
    return make_song(tempo=174.0, key="F#", bars=24, sections=3, with_vocals=True, seed=3).audio


def test_k_weighting_at_48_khz_is_the_standards_published_filter():
    # ITU-R BS.1770-4, tables 1 and 2: the pre-filter and the RLB high-pass at 48 kHz
    shelf = [1.53512485958697, -2.69169618940638, 1.19839281085285, 1.0, -1.69065929318241, 0.73248077421585]
    highpass = [1.0, -2.0, 1.0, 1.0, -1.99004745483398, 0.99007225036621]
    np.testing.assert_allclose(k_weighting(48000), [shelf, highpass], atol=1e-9)


@pytest.mark.parametrize("gain", [1.0, 0.05])
def test_integrated_loudness_agrees_with_pyloudnorm_on_the_standards_filters(song_audio, gain):
    audio = song_audio * np.float32(gain)
    reference = pyloudnorm.Meter(SAMPLE_RATE, filter_class="DeMan").integrated_loudness(
        audio.T.astype(np.float64)
    )
    assert integrated_loudness(audio) == pytest.approx(reference, abs=0.01)


def test_a_full_scale_1khz_sine_in_two_channels_reads_about_0_lufs_and_gain_moves_it_db_for_db():
    t = np.arange(5 * SAMPLE_RATE) / SAMPLE_RATE
    tone = np.sin(2 * np.pi * 997 * t).astype(np.float32)
    full = integrated_loudness(np.stack([tone, tone]))
    quieter = integrated_loudness(np.stack([tone, tone]) * np.float32(10 ** (-12 / 20)))
    assert full == pytest.approx(0.0, abs=0.8)
    assert full - quieter == pytest.approx(12.0, abs=0.1)


def test_silence_and_audio_shorter_than_a_block_read_the_absolute_gate():
    assert integrated_loudness(np.zeros((2, 4 * SAMPLE_RATE), np.float32)) == SILENCE_LUFS
    assert integrated_loudness(np.ones((2, SAMPLE_RATE // 10), np.float32) * 0.5) == SILENCE_LUFS
    assert loudness_and_curve(np.zeros((2, 4 * SAMPLE_RATE), np.float32), SAMPLE_RATE)[0] == SILENCE_LUFS


def test_power_kept_per_100ms_frame_reads_as_power_kept_per_sample(song_audio):
    frame = step_frames()
    per_sample, per_frame = k_power(song_audio), k_power(song_audio, frame=frame)
    assert per_frame.size == song_audio.shape[1] // frame
    np.testing.assert_allclose(
        per_frame, per_sample[: per_frame.size * frame].reshape(-1, frame).sum(axis=1), rtol=1e-4
    )
    assert gated_loudness(per_frame, frame) == pytest.approx(gated_loudness(per_sample), abs=0.005)
    whole = per_frame.size * frame  # the per-sample reading of the same whole frames
    np.testing.assert_allclose(
        short_term(per_frame, 0.5, frame), short_term(per_sample[:whole], 0.5), atol=0.005
    )


def test_the_analysis_stores_the_meters_reading_rounded_and_floored(song_audio):
    lufs, curve = loudness_and_curve(song_audio, SAMPLE_RATE, 0.5)
    assert lufs == pytest.approx(integrated_loudness(song_audio), abs=0.01) and lufs == round(lufs, 2)
    frame = step_frames()
    expected = short_term(k_power(song_audio, frame=frame), 0.5, frame)
    assert curve == [round(float(max(v, SILENCE_LUFS)), 2) for v in expected]
    assert len(curve) == int(np.ceil(song_audio.shape[1] // frame / 5))


def test_the_short_term_curve_follows_a_6_db_step_in_the_middle_of_a_song():
    t = np.arange(12 * SAMPLE_RATE) / SAMPLE_RATE
    tone = (0.1 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    tone[6 * SAMPLE_RATE :] *= np.float32(10 ** (6 / 20))
    curve = short_term(k_power(np.stack([tone, tone])), 0.5)
    times = np.arange(curve.size) * 0.5
    assert np.median(curve[times > 8.0]) - np.median(curve[(times > 1.5) & (times < 4.0)]) == pytest.approx(
        6.0, abs=0.05
    )
