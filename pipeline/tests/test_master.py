"""Mastering: the master hits -9 LUFS under -1 dBTP, unclipped, and follows the song's dynamics."""

from __future__ import annotations

import numpy as np
import pyloudnorm
import pytest
from scipy.signal import resample_poly

from pipeline.loudness import integrated_loudness
from pipeline.master import kick_ducking, master, set_loudness, true_peak_db
from pipeline.testing.synth import make_song
from pipeline.types import SAMPLE_RATE


@pytest.fixture(scope="module")
def song_audio():
    return make_song(tempo=128.0, bars=10, sections=2, with_vocals=True, seed=2).audio


def _reference_true_peak(audio: np.ndarray) -> float:
    """An independent, slower true-peak measurement: 8x polyphase oversampling with scipy's default filter."""
    up = resample_poly(audio.astype(np.float64), 8, 1, axis=1)
    return 20 * np.log10(np.abs(up).max())


def test_true_peak_sees_intersample_overs():
    t = np.arange(SAMPLE_RATE) / SAMPLE_RATE
    tone = np.sin(2 * np.pi * (SAMPLE_RATE / 4) * t + np.pi / 4).astype(np.float32)  # samples at +-0.707
    stereo = np.stack([tone, tone]) * np.float32(0.9)
    assert true_peak_db(stereo) > 20 * np.log10(0.9 * 0.75)
    assert true_peak_db(stereo) == pytest.approx(_reference_true_peak(stereo), abs=0.3)


@pytest.mark.parametrize("gain", [0.02, 0.3, 3.0])
def test_master_hits_minus_9_lufs_under_minus_1_dbtp_without_clipping(song_audio, gain):
    out, measured = master(song_audio * np.float32(gain))
    assert out.shape == song_audio.shape and out.dtype == np.float32
    lufs = pyloudnorm.Meter(SAMPLE_RATE).integrated_loudness(out.T.astype(np.float64))
    assert lufs == pytest.approx(-9.0, abs=1.0)
    assert _reference_true_peak(out) <= -1.0
    assert np.abs(out).max() < 1.0
    assert measured["lufs"] == pytest.approx(lufs, abs=0.3)


def test_master_leaves_silence_silent():
    out, measured = master(np.zeros((2, SAMPLE_RATE), np.float32))
    assert not np.any(out) and measured["lufs"] == -70.0


def test_set_loudness_reaches_the_target(song_audio):
    assert integrated_loudness(set_loudness(song_audio, -20.0)) == pytest.approx(-20.0, abs=0.05)


def test_kick_ducking_dips_right_after_each_kick_and_recovers():
    kick = np.zeros((2, SAMPLE_RATE), np.float32)
    kick[:, 1000:1400] = 1.0
    curve = kick_ducking(kick, depth_db=4.0)
    assert curve[1200] < 10 ** (-3.0 / 20)
    assert curve[-1] > 0.99 and curve[0] == pytest.approx(1.0)


def test_the_master_follows_the_songs_dynamics_instead_of_flattening_them(song_audio):
    from pipeline.analyze.loudness import short_term_curve
    from pipeline.master import DYNAMICS_HOP_S

    # a band that plays everything equally loud, under a song shape whose first half is 6 dB quieter
    band = np.tile(song_audio, (1, 2))
    n_hops = int(band.shape[1] / SAMPLE_RATE / DYNAMICS_HOP_S) + 1
    shape = np.zeros(n_hops)
    shape[: n_hops // 2] = -6.0
    out, measured = master(band, dynamics_db=shape)
    assert measured["lufs"] == pytest.approx(-9.0, abs=0.3) and true_peak_db(out) <= -1.0
    curve = np.array(short_term_curve(out, SAMPLE_RATE, DYNAMICS_HOP_S))
    quarter = curve.size // 4
    step = np.median(curve[2 * quarter + 4 : -4]) - np.median(curve[4 : quarter * 2 - 4])
    assert step == pytest.approx(6.0, abs=1.5)
    flat, _ = master(band)
    flat_curve = np.array(short_term_curve(flat, SAMPLE_RATE, DYNAMICS_HOP_S))
    assert abs(np.median(flat_curve[2 * quarter + 4 : -4]) - np.median(flat_curve[4 : quarter * 2 - 4])) < 1.5


def test_set_loudness_can_level_a_stem_by_the_part_where_it_plays_in_full(song_audio):
    """A stem played softer in places (a song in free time's drums) is levelled where it plays in full, so its
    soft part does not raise the rest."""
    half = song_audio.shape[1] // 2
    stem = song_audio.astype(np.float32).copy()
    stem[:, :half] *= np.float32(0.5)  # its first half 6 dB softer
    out = set_loudness(stem, -16.0, measured=[(half, stem.shape[1])])
    assert integrated_loudness(out[:, half:]) == pytest.approx(-16.0, abs=0.05)
    assert integrated_loudness(set_loudness(stem, -16.0)[:, half:]) > -16.0 + 1.0  # levelled whole: raised
