"""Long songs are processed in blocks; each blocked path must give the same samples as the whole-array one."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
from pedalboard import (
    Compressor,
    Delay,
    Distortion,
    LowpassFilter,
    LowShelfFilter,
    NoiseGate,
    PeakFilter,
    Pedalboard,
    Reverb,
)
from scipy.signal import fftconvolve, oaconvolve, resample_poly

from pipeline import loudness
from pipeline import master as mastering
from pipeline.arrange import arrange
from pipeline.assets import load_band, load_kit
from pipeline.master import master, process_in_place
from pipeline.render import amp
from pipeline.render.drums import render_hits
from pipeline.testing.synth import make_song
from pipeline.tests.play_helpers import analysis_from_song
from pipeline.types import SAMPLE_RATE, RemixOptions

ASSETS = Path(__file__).resolve().parents[2] / "assets"


def test_blocked_clipper_matches_the_whole_signal_at_once():
    rng = np.random.default_rng(4)
    x = (rng.standard_normal(3 * amp.CLIP_BLOCK + 12345) * 0.2).astype(np.float32)
    blocked = amp.clipper(x, 30.0)
    whole = amp._clip_block(x, np.float32(10 ** (30.0 / 20)))
    assert blocked.shape == x.shape and blocked.dtype == np.float32
    assert np.abs(blocked - whole).max() < 1e-6


def test_in_place_board_processing_matches_one_call():
    rng = np.random.default_rng(5)
    audio = (rng.standard_normal((2, 300_000)) * 0.3).astype(np.float32)

    def board() -> Pedalboard:
        return Pedalboard([Compressor(threshold_db=-20.0, ratio=4.0), LowShelfFilter(90.0, 3.0, 0.7)])

    expected = board()(audio, SAMPLE_RATE)
    buffer = audio.copy()
    result = process_in_place(board(), buffer, block=4096)
    assert result is buffer
    assert np.abs(result - expected).max() < 1e-6


def test_master_in_place_reuses_the_buffer_and_equals_the_copying_master():
    song = make_song(tempo=120.0, bars=4, with_vocals=True, seed=9)
    copied, facts = master(song.audio)
    buffer = song.audio.astype(np.float32, copy=True)
    in_place, facts_in_place = master(buffer, in_place=True)
    assert in_place is buffer
    assert np.array_equal(copied, in_place) and facts == facts_in_place


def test_a_drum_bus_built_alone_equals_the_same_bus_built_with_the_others():
    song = make_song(tempo=140.0, bars=4, seed=2)
    hits = arrange(analysis_from_song(song), RemixOptions(style="thrash")).drums
    kit = load_kit(ASSETS)
    n = song.audio.shape[1]
    rng = np.random.default_rng(3)
    together = render_hits(hits, kit, n, copy.deepcopy(rng))
    for name, bus in together.items():
        alone = render_hits(hits, kit, n, copy.deepcopy(rng), only=(name,))
        assert list(alone) == [name]
        assert np.array_equal(alone[name], bus)
    assert np.any(together["kick"]) and np.any(together["snare"])


def _clipped_one_block_after_another(y: np.ndarray, crest_db: float) -> np.ndarray:
    """The mastering clipper as a plain loop over blocks, each reading its clipped predecessor's tail."""
    from pipeline.master import _CLIP_OS, CLIP_KNEE, DYNAMICS_HOP_S, _hop_rms, _shave

    n, pad = y.shape[1], _CLIP_OS.size
    level = float(np.percentile(_hop_rms(y, int(DYNAMICS_HOP_S * SAMPLE_RATE)), 90)) * 10 ** (crest_db / 20)
    for start in range(0, n, mastering._CLIP_BLOCK):
        stop = min(n, start + mastering._CLIP_BLOCK)
        lo, hi = max(0, start - pad), min(n, stop + pad)
        if np.abs(y[:, lo:hi]).max() <= CLIP_KNEE * level:
            continue
        up = _shave(resample_poly(y[:, lo:hi], 2, 1, axis=1, window=_CLIP_OS).astype(np.float32), level)
        y[:, start:stop] = resample_poly(up, 1, 2, axis=1, window=_CLIP_OS)[:, start - lo : stop - lo]
    return y


@pytest.mark.parametrize("block", [4096, 30_011])
def test_the_threaded_mastering_clipper_equals_one_block_after_another(monkeypatch, block):
    song = make_song(tempo=132.0, bars=6, with_vocals=True, seed=4).audio.astype(np.float32)
    song[:, : song.shape[1] // 5] *= np.float32(0.01)  # a quiet intro: blocks the clipper skips
    monkeypatch.setattr(mastering, "_CLIP_BLOCK", block)
    for crest_db in (9.0, 6.0):
        expected = _clipped_one_block_after_another(song * np.float32(3.0), crest_db)
        threaded = mastering.soft_clip(song * np.float32(3.0), crest_db, threads=2)
        assert not np.array_equal(expected, song * np.float32(3.0))  # it clipped something
        assert np.array_equal(threaded, expected)


def _per_sample_true_peak_envelope(audio: np.ndarray) -> np.ndarray:
    """The reference: per-sample max over channels of the samples and their 2x oversampled reconstruction,
    from one whole-song oversampling (what the limiter's detector used to build before reducing it)."""
    x = audio.astype(np.float32)
    up = np.abs(resample_poly(x, 2, 1, axis=1, window=mastering._TP_FAST))
    return np.maximum(np.abs(x).max(axis=0), up.reshape(x.shape[0], -1, 2).max(axis=(0, 2)))


def _per_frame_reference(x: np.ndarray, reduce: str) -> np.ndarray:
    """Max or float64 sum over LIMITER_FRAME-sample frames of a per-sample curve, the last frame padded with
    its edge value (the loudness search's reduction of per-sample curves)."""
    pad = -x.size % mastering.LIMITER_FRAME
    framed = np.pad(x, (0, pad), mode="edge").reshape(-1, mastering.LIMITER_FRAME)
    return framed.max(axis=1) if reduce == "max" else framed.sum(axis=1, dtype=np.float64)


@pytest.mark.parametrize("extra", [0, 1, 31, 33])
def test_the_per_frame_true_peaks_equal_the_per_sample_envelope_reduced_per_frame(extra):
    song = make_song(tempo=120.0, bars=4, with_vocals=True, seed=6).audio.astype(np.float32)
    song = np.ascontiguousarray(song[:, : song.shape[1] // 64 * 64 + extra])
    expected = _per_frame_reference(_per_sample_true_peak_envelope(song), "max")
    whole = -(-song.shape[1] // mastering.LIMITER_FRAME) * mastering.LIMITER_FRAME  # one chunk
    for chunk, threads in ((whole, 1), (10_016, 2), (mastering.LIMITER_FRAME, 2)):
        peaks = mastering._frame_true_peaks(song, chunk=chunk, threads=threads)
        assert peaks.dtype == np.float32 and peaks.tobytes() == expected.tobytes()


@pytest.mark.parametrize("n", [31, 32, 1000, 300_017])
def test_the_blocked_frame_sums_equal_the_padded_whole_array_sums(n):
    power = (np.random.default_rng(n).random(n) ** 4).astype(np.float32)
    expected = _per_frame_reference(power, "sum")
    assert mastering._frame_sums(power, block=4096).tobytes() == expected.tobytes()
    assert mastering._frame_sums(power).tobytes() == expected.tobytes()


def test_the_dynamics_gain_made_once_equals_the_one_made_block_by_block():
    """The master used to make the shape's gain afresh for each use, a block at a time; made once it is
    the same per sample, and so are the powers it shapes (squared) and the final gain it multiplies."""
    rng = np.random.default_rng(12)
    n = 5 * (1 << 18) + 777
    ride = np.minimum(rng.normal(-3.0, 3.0, int(n / (mastering.DYNAMICS_HOP_S * SAMPLE_RATE)) + 2), 0.0)
    once = mastering._hops_to_samples(ride, n)
    power = (rng.random(n) ** 4).astype(np.float32)
    gain = rng.random(n).astype(np.float32)
    expected_power, expected_gain = power.copy(), gain.copy()
    mastering._scale_by_hops(expected_power, ride, power=True)
    mastering._scale_by_hops(expected_gain, ride)
    assert once.tobytes() == mastering.hop_gain(ride, 0, n).tobytes()
    shaped = mastering._frame_sums(power * (once * once))
    assert shaped.tobytes() == mastering._frame_sums(expected_power).tobytes()
    assert (gain * once).tobytes() == expected_gain.tobytes()


@pytest.mark.parametrize(("seed", "copies"), [(0, 1), (1, 1), (2, 3)])
def test_the_true_peak_search_finds_the_whole_envelopes_peak_exactly(seed, copies):
    rng = np.random.default_rng(seed)
    song = make_song(tempo=140.0, bars=4, with_vocals=True, seed=seed).audio.astype(np.float32)
    song = np.tile(song * np.float32(0.5), (1, copies))  # 3 copies: more than one block of frames
    # a few clicks and a burst at a quarter of the rate whose peaks fall between the samples
    song[:, rng.integers(0, song.shape[1], 8)] = np.float32(0.6)
    t = np.arange(3000)
    at = int(rng.integers(0, song.shape[1] - t.size))
    song[0, at : at + t.size] = 0.95 * np.sin(2 * np.pi * 0.25 * t + np.pi / 4).astype(np.float32)
    whole = resample_poly(song, 4, 1, axis=1, window=mastering._TP_EXACT)
    expected = max(float(np.abs(whole).max()), float(np.abs(song).max()))
    assert expected > float(np.abs(song).max()) * 1.05  # an intersample peak the samples miss
    assert mastering.true_peak_db(song) == 20 * np.log10(expected)
    for threads in (1, 2):
        assert mastering._exact_peak(song, threads=threads) == expected


def test_the_exact_peak_in_small_batches_and_runs_equals_the_whole_oversampled_maximum(monkeypatch):
    song = make_song(tempo=128.0, bars=4, with_vocals=True, seed=3).audio.astype(np.float32)
    song *= np.float32(0.9 / np.abs(song).max())  # a limited master: every frame near the peak is a candidate
    whole = resample_poly(song, 4, 1, axis=1, window=mastering._TP_EXACT)
    expected = max(float(np.abs(whole).max()), float(np.abs(song).max()))
    for batch, run in ((1, 1), (3, 2), (7, 64), (256, 5)):
        monkeypatch.setattr(mastering, "_TP_BATCH", batch)
        monkeypatch.setattr(mastering, "_TP_RUN", run)
        assert mastering._exact_peak(song, threads=2) == expected


def test_frame_runs_split_consecutive_frames_into_bounded_runs():
    assert mastering._frame_runs(np.array([9, 3, 4, 5, 1, 6, 7]), 3) == [(1, 2), (3, 6), (6, 8), (9, 10)]


@pytest.mark.parametrize("ir_name", ["main", "pair", "bass"])
def test_the_chunked_cabinet_equals_one_oaconvolve_call_bit_for_bit(monkeypatch, ir_name):
    band = load_band(ASSETS)
    ir = {"main": band.ir, "pair": band.pair[1] if band.pair else band.ir}.get(ir_name)
    if ir is None:
        ir = band.bass_cab[1] if band.bass_cab else band.ir
    monkeypatch.setattr(amp, "CAB_CHUNK_STEPS", 2)  # several chunks from a short signal
    rng = np.random.default_rng(7)
    x = (rng.standard_normal(2_000_003) * 0.3).astype(np.float32)
    x[500_000:900_000] = 0.0  # silence across a chunk seam: zeros must keep their sign too
    assert amp._cab_chunks(x.size, ir.size) is not None and len(amp._cab_chunks(x.size, ir.size)) > 2
    whole = oaconvolve(x, ir, mode="full")[: x.size].astype(np.float32, copy=False)
    assert amp.cabinet(x, ir).tobytes() == whole.tobytes()


def test_the_blocked_running_sums_equal_one_cumsum_bit_for_bit(monkeypatch):
    monkeypatch.setattr(loudness, "_CUM_BLOCK", 1000)
    rng = np.random.default_rng(8)
    for n in (0, 999, 1000, 1001, 54_321):
        power = (rng.random(n) ** 4).astype(np.float32)
        cum = np.concatenate([[0.0], np.cumsum(power, dtype=np.float64)])
        at = np.concatenate([rng.integers(0, n + 1, 300), [0, n]])
        assert np.array_equal(loudness._running_sums(power, at), cum[at])


def test_the_stem_chains_in_place_equal_pedalboards_whole_array_call():
    song = make_song(tempo=120.0, bars=6, with_vocals=True, seed=3).audio.astype(np.float32)

    def boards() -> list[Pedalboard]:
        return [
            Pedalboard(
                [Compressor(threshold_db=-22.0, ratio=3.5, attack_ms=5.0), PeakFilter(3500.0, 2.5, 0.8)]
            ),
            Pedalboard([Distortion(drive_db=14.0), LowpassFilter(6000.0)]),
            Pedalboard(
                [Delay(delay_seconds=0.32, feedback=0.25, mix=0.18), Reverb(room_size=0.5, wet_level=0.18)]
            ),
            Pedalboard([NoiseGate(threshold_db=-70.0, ratio=4.0, attack_ms=1.0, release_ms=60.0)]),
        ]

    for whole_board, blocked_board in zip(boards(), boards(), strict=True):
        whole = whole_board(song, SAMPLE_RATE)
        assert process_in_place(blocked_board, song.copy()).tobytes() == whole.tobytes()


def test_kick_ducking_per_hop_equals_the_per_sample_curve_bit_for_bit():
    rng = np.random.default_rng(9)
    for n in (64, 1000, 300_037):
        env = (rng.random(n) ** 8).astype(np.float32)
        env[n // 3 : n // 2] = 0.0
        hop = 64  # the reference: the per-sample float64 curve, powered sample by sample
        frames = env[: n // hop * hop].reshape(-1, hop).max(axis=1)
        frames = frames / (frames.max() + 1e-9)
        k = np.exp(-np.arange(int(0.07 * SAMPLE_RATE / hop) + 1) / (0.07 * SAMPLE_RATE / hop / 3))
        smooth = np.clip(fftconvolve(frames, k)[: frames.size], 0.0, 1.0)
        curve = np.pad(np.repeat(smooth, hop), (0, n - smooth.size * hop), mode="edge")
        expected = (10 ** (-3.0 * curve / 20)).astype(np.float32)
        assert mastering.kick_ducking(env).tobytes() == expected.tobytes()
