"""Long songs are processed in blocks; each blocked path must give the same samples as the whole-array one."""

from __future__ import annotations

import copy
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from pedalboard import (
    Compressor,
    Delay,
    Distortion,
    HighpassFilter,
    LowpassFilter,
    LowShelfFilter,
    NoiseGate,
    PeakFilter,
    Pedalboard,
    Reverb,
)
from scipy.ndimage import uniform_filter1d
from scipy.signal import fftconvolve, oaconvolve, resample_poly, sosfilt

from pipeline import loudness, play
from pipeline import master as mastering
from pipeline.arrange import arrange
from pipeline.arrange.events import Hit
from pipeline.assets import load_band, load_kit
from pipeline.master import master, process_in_place
from pipeline.render import amp, bass, drums, guitar
from pipeline.render.drums import render_hits
from pipeline.render.strings import StringBank, render_part
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


@pytest.mark.parametrize("size", [30, 3 * amp.CLIP_BLOCK + 12_345, 2 * amp.CLIP_BLOCK])
def test_the_clipper_in_its_own_buffer_equals_the_clipper_into_a_new_one(size):
    rng = np.random.default_rng(size)
    x = (rng.standard_normal(size) * 0.2).astype(np.float32)
    expected = amp.clipper(x, 24.0)
    assert amp.clipper(x, 24.0, out=x) is x
    assert x.tobytes() == expected.tobytes()


def test_the_amp_in_the_takes_own_buffer_equals_the_amp_on_a_copy():
    band = load_band(ASSETS)
    rng = np.random.default_rng(11)
    di = (rng.standard_normal(amp.CLIP_BLOCK + 99_999) * 0.1).astype(np.float32)
    kept = di.copy()
    expected = amp.amp(di, band.ir, 20.0)
    assert di.tobytes() == kept.tobytes()  # without in_place the DI is left as it was
    played = amp.amp(di, band.ir, 20.0, in_place=True)
    assert np.shares_memory(played, di)
    assert played.tobytes() == expected.tobytes()


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


def _whole_true_peak(song: np.ndarray) -> float:
    whole = resample_poly(song, 4, 1, axis=1, window=mastering._TP_EXACT)
    return max(float(np.abs(whole).max()), float(np.abs(song).max()))


def _hard_songs() -> dict[str, np.ndarray]:
    """Signals whose true peak is hard to find: a limited master (every frame near the peak), a hard-clipped
    one, full-scale alternating signs (the interpolator's worst case), ties, edges and short songs."""
    rng = np.random.default_rng(7)
    song = make_song(tempo=128.0, bars=4, with_vocals=True, seed=3).audio.astype(np.float32)
    limited = song * np.float32(0.9 / np.abs(song).max())
    clipped = np.clip(song * np.float32(4.0), -0.8, 0.8).astype(np.float32)
    n = song.shape[1]
    worst = np.tile(np.float32([0.7, -0.7]), (2, n // 2))
    signs = np.sign(mastering._TP_EXACT[::4][::-1]).astype(np.float32)  # one phase's taps' signs, in reach
    worst[1, 70_000 : 70_000 + signs.size] = np.float32(0.7) * signs
    ties = np.zeros((2, 3 * mastering._TP_TILE + 5), dtype=np.float32)
    ties[:, 100::9000] = np.float32(0.5)  # the same click in many frames: every one of them is a candidate
    edge = (rng.standard_normal((2, 5000)) * 0.1).astype(np.float32)
    edge[:, :3] = edge[:, -3:] = np.float32(0.9)  # the peaks at the song's first and last samples
    short = (rng.standard_normal((2, 37)) * 0.3).astype(np.float32)
    quiet = (song * np.float32(1e-30)).astype(np.float32)
    return {
        "limited": limited,
        "clipped": clipped,
        "worst": worst,
        "ties": ties,
        "edge": edge,
        "short": short,
        "mono": limited[:1],
        "quiet": quiet,
    }


@pytest.mark.parametrize("name", list(_hard_songs()))
def test_the_exact_peak_of_hard_signals_equals_the_whole_oversampled_maximum(name):
    song = _hard_songs()[name]
    expected = _whole_true_peak(song)
    for threads in (1, 2):
        assert mastering._exact_peak(song, threads=threads) == expected


def test_the_approximate_envelope_stays_within_its_bound_of_the_exact_one():
    for song in _hard_songs().values():
        whole = np.abs(resample_poly(song, 4, 1, axis=1, window=mastering._TP_EXACT).astype(np.float32))
        width = 4 * mastering._TP_FRAME
        frames = np.pad(whole.max(axis=0), (0, -whole.shape[1] % width)).reshape(-1, width).max(axis=1)
        approx, error = mastering._approximate_frame_peaks(song, float(np.abs(song).max()), threads=2)
        assert approx.shape == frames.shape
        assert np.all(np.abs(approx.astype(np.float64) - frames) <= error / 2)
        assert error < 1e-4 * float(np.abs(song).max()) + 1e-30  # tight: few frames are measured exactly


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
    assert amp.cabinet(x, ir, out=x) is x and x.tobytes() == whole.tobytes()  # in its own buffer


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_the_running_sums_equal_one_cumsum_bit_for_bit(dtype):
    """Read at repeated, unsorted and 2-D indices, the ends included; per-sample (float32) and per-frame
    (float64) power."""
    rng = np.random.default_rng(8)
    for n in (0, 1, 999, 54_321):
        power = (rng.random(n) ** 4).astype(dtype)
        cum = np.concatenate([[0.0], np.cumsum(power, dtype=np.float64)])
        at = np.concatenate([rng.integers(0, n + 1, 300), [0, n, n, 0]])
        assert loudness._running_sums(power, at).tobytes() == cum[at].tobytes()
        grid = at[:300].reshape(20, 15)
        assert loudness._running_sums(power, grid).tobytes() == cum[grid].tobytes()


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


def _vocal_chain_with_a_song_long_grit(vocals: np.ndarray, intensity: float) -> np.ndarray:
    """The vocal chain as whole arrays: the grit made on a copy of the dry vocals, then scaled and added."""
    dry = Pedalboard(
        [
            HighpassFilter(110.0),
            Compressor(threshold_db=-22.0, ratio=3.5, attack_ms=5.0, release_ms=120.0),
            PeakFilter(3500.0, 2.5, 0.8),
        ]
    )(vocals.astype(np.float32), SAMPLE_RATE)
    grit = Pedalboard([Distortion(drive_db=14.0), LowpassFilter(6000.0)])(dry.copy(), SAMPLE_RATE)
    scale = np.float32(np.abs(dry).max() / (np.abs(grit).max() + 1e-9))
    return grit * np.float32(0.12 * intensity) * scale + dry


@pytest.mark.parametrize(("extra", "intensity"), [(0, 1.0), (12_345, 0.7)])
@pytest.mark.parametrize("hold_bytes", [0, play.GRIT_HOLD_BYTES], ids=["grit-made-twice", "grit-kept"])
def test_the_vocal_chain_made_block_by_block_equals_the_song_long_grit_bit_for_bit(
    extra, intensity, hold_bytes
):
    song = make_song(tempo=120.0, bars=8, with_vocals=True, seed=5).audio.astype(np.float32)
    vocals = np.ascontiguousarray(song[:, : 3 * play.VOCAL_BLOCK + extra])
    expected = _vocal_chain_with_a_song_long_grit(vocals, intensity)
    made = play._vocal_chain(vocals, intensity, hold_bytes=hold_bytes)
    assert made.dtype == np.float32 and made.shape == vocals.shape
    assert made.tobytes() == expected.tobytes()


def test_the_vocal_chain_keeping_its_grit_equals_making_it_twice_on_a_3_minute_song():
    """A play's vocals: the grit's blocks kept from the peak pass give the mix pass the same samples as the
    grit made again, over a whole song."""
    song = make_song(tempo=120.0, bars=90, with_vocals=True, seed=1).audio.astype(np.float32)
    kept = play._vocal_chain(song, 1.0)
    assert song.nbytes <= play.GRIT_HOLD_BYTES  # the path a 3-minute play takes
    assert kept.tobytes() == play._vocal_chain(song, 1.0, hold_bytes=0).tobytes()


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


def _drums_bus_after_bus(hits, kit, n, rng) -> tuple[np.ndarray, np.ndarray]:
    """The drum stem as whole-song buses, one after another: each raw bus built whole, processed, summed."""
    chains = drums._bus_chains()
    strikes = drums.plan_strikes(hits, kit, n, rng)
    out = np.zeros((2, n), dtype=np.float32)
    room_send = np.zeros((1, n), dtype=np.float32)
    kick_env = np.zeros(n, dtype=np.float32)
    for name in ("kick", "snare", "toms", "cymbals"):
        raw = drums.build_bus(strikes, name, n)
        if name == "kick":
            kick_env = np.abs(raw).max(axis=0)
        wet = process_in_place(chains[name], raw)
        wet *= np.float32(10 ** (drums.BUS_GAIN_DB[name] / 20))
        out += wet
        room_send[0] += wet.mean(axis=0, dtype=np.float32) * np.float32(drums.ROOM_SEND[name])
    room = Pedalboard([Reverb(room_size=0.3, damping=0.55, wet_level=1.0, dry_level=0.0, width=1.0)])
    out += process_in_place(room, room_send) * np.float32(drums.ROOM_LEVEL)
    return out, kick_env


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("extra", [0, 12_345])
def test_the_drums_built_block_by_block_equal_whole_buses_bit_for_bit(extra, threads):
    """Bus after bus, whole, as the reference; built a block at a time with the buses on ``threads``."""
    song = make_song(tempo=150.0, bars=8, seed=5)  # ~13 s: several blocks, hits across their seams
    hits = arrange(analysis_from_song(song), RemixOptions(style="thrash")).drums
    kit = load_kit(ASSETS)
    n = song.audio.shape[1] + extra
    assert n > 4 * drums.BLOCK
    stem, kick_env = drums.render_drums(hits, kit, n, np.random.default_rng(3), threads=threads)
    expected, expected_env = _drums_bus_after_bus(hits, kit, n, np.random.default_rng(3))
    assert np.any(stem) and np.any(kick_env)
    assert stem.tobytes() == expected.tobytes()
    assert kick_env.tobytes() == expected_env.tobytes()


def test_buses_left_out_where_they_have_settled_give_the_whole_buses_bit_for_bit():
    """Long silences on every bus (the chains settle and are left out), then strikes again, some of them
    quiet enough that a compressor state a little off would show."""
    kit = load_kit(ASSETS)
    block_s = drums.BLOCK / SAMPLE_RATE
    hits = [Hit(0.5 * i, "kick", 0.9) for i in range(6)] + [
        Hit(0.25 + 0.5 * i, "snare", 0.8) for i in range(6)
    ]
    hits += [Hit(1.0, "tom-low", 0.9), Hit(1.2, "crash", 0.9)]
    late = 6.5 * block_s  # after more than SETTLED_BLOCKS silent blocks on every bus
    hits += [Hit(late + 0.1 * i, role, 0.05) for i, role in enumerate(("kick", "snare", "tom-mid", "ride"))]
    hits += [Hit(late + 1.0, "tom-high", 1.0), Hit(10.5 * block_s, "kick", 0.02)]
    hits.sort(key=lambda h: h.time)
    n = 12 * drums.BLOCK + 777
    strikes = drums.plan_strikes(hits, kit, n, np.random.default_rng(2))
    assert any(any(drums._settled(drums.strikes_by_block(strikes, name, n))) for name in drums.BUS_ORDER)
    stem, kick_env = drums.render_drums(hits, kit, n, np.random.default_rng(2))
    expected, expected_env = _drums_bus_after_bus(hits, kit, n, np.random.default_rng(2))
    assert stem.tobytes() == expected.tobytes()
    assert kick_env.tobytes() == expected_env.tobytes()


def test_a_bus_settles_after_its_silent_blocks_and_at_the_songs_start():
    strike = [object()]
    assert drums._settled([[], [], strike, [], [], [], strike, []], settled=2) == [
        True,
        True,
        False,
        False,
        False,
        True,
        False,
        False,
    ]


def test_a_block_of_a_drum_bus_equals_that_part_of_the_whole_bus():
    song = make_song(tempo=170.0, bars=4, seed=6)
    hits = arrange(analysis_from_song(song), RemixOptions(style="thrash")).drums
    n = song.audio.shape[1]
    strikes = drums.plan_strikes(hits, load_kit(ASSETS), n, np.random.default_rng(4))
    for name in drums.BUS_ORDER:
        whole = drums.build_bus(strikes, name, n)
        for block in (1000, 4096, 65_536):
            listed = drums.strikes_by_block(strikes, name, n, block)
            for k, start in enumerate(range(0, n, block)):
                stop = min(n, start + block)
                assert drums.bus_block(listed[k], start, stop).tobytes() == whole[:, start:stop].tobytes()


def _treatment_gain_whole(arr, n: int, gains_db: dict[str, float], ramp_s: float = 0.03) -> np.ndarray:
    """The treatment gain as one stepped dB curve of the whole song, filtered at once."""
    db = np.zeros(n, dtype=np.float32)
    for bar, treatment in zip(arr.bars, arr.treatments, strict=True):
        a, b = int(bar.start * SAMPLE_RATE), min(n, int(bar.end * SAMPLE_RATE))
        db[a:b] = gains_db[treatment]
    if arr.bars:
        db[min(n, int(arr.bars[-1].end * SAMPLE_RATE)) :] = gains_db[arr.treatments[-1]]
    db = uniform_filter1d(db, max(1, int(ramp_s * SAMPLE_RATE)), mode="nearest")
    return np.power(np.float32(10.0), db / np.float32(20.0))


@pytest.mark.parametrize("block", [7, 1000, 65_536])
def test_the_treatment_gain_block_by_block_equals_one_filter_of_the_whole_curve(monkeypatch, block):
    monkeypatch.setattr(play, "GAIN_BLOCK", block)
    song = make_song(tempo=150.0, bars=6, sections=2, seed=3)
    arr = arrange(analysis_from_song(song), RemixOptions(style="heavy"))
    assert len(set(arr.treatments)) > 1
    rng = np.random.default_rng(block)
    # values far apart in magnitude: their float64 window sums are inexact, so a running sum started anew
    # (each block filtered on its own with context) would give other samples; the curve must not
    magnitudes = [1e-9, 31.123457, -7.3e-6, 0.1, -19.99]
    odd = {t: float(rng.choice(magnitudes)) for t in set(arr.treatments)}
    first = int(arr.bars[0].start * SAMPLE_RATE)
    bars = SimpleNamespace(  # bars in a random order with gaps: later bars write over earlier ones
        bars=[
            SimpleNamespace(start=float(a), end=float(a + rng.uniform(0.01, 0.5)))
            for a in rng.uniform(0, 3, 40)
        ],
        treatments=[str(t) for t in rng.choice(sorted(odd), 40)],
    )
    cases = [
        (arr, song.audio.shape[1], play.TREATMENT_DRIVE_DB, 0.03),
        (arr, song.audio.shape[1] + 54_321, odd, 0.03),
        (arr, first + 3_000, odd, 0.05),  # the song ends inside the first bar's ramp
        (bars, 4 * SAMPLE_RATE, odd, 0.03),
        (bars, 1, odd, 0.03),
        (arr, song.audio.shape[1], odd, 0.0),  # no ramp: a window of one sample
    ]
    for a, n, gains, ramp in cases:
        expected = _treatment_gain_whole(a, n, gains, ramp)
        assert play.treatment_gain(a, n, gains, ramp).tobytes() == expected.tobytes()


def _guitars_side_by_side(left, right, n, ir, drive_db, seed, ir_right, samples, drive_gain) -> np.ndarray:
    """The guitar stem as each side's takes in buffers of their own, then the two sides combined."""
    sides = []
    for index, notes, cents in ((0, left, -4.0), (1, right, 4.0)):
        cab = ir_right if index == 1 and ir_right is not None else ir
        wet = np.zeros(n, dtype=np.float32)
        for take in range(guitar.TAKES_PER_SIDE):
            played = notes if take == 0 else guitar._retake(notes, seed * 7 + index * 3 + take)
            di = guitar.render_di(
                played, n, seed * 2 + index + 1 + 10 * take, cents * (1 + 0.5 * take), samples
            )
            if drive_gain is not None:
                di = di * drive_gain
            wet += amp.amp(di, cab, drive_db)
        sides.append(wet / np.float32(guitar.TAKES_PER_SIDE))
    lt, rt = sides
    return np.stack([lt + np.float32(0.12) * rt, rt + np.float32(0.12) * lt])


@pytest.mark.parametrize("takes", [1, 2])
def test_guitars_played_in_the_stems_rows_equal_sides_in_their_own_buffers(monkeypatch, takes):
    monkeypatch.setattr(guitar, "TAKES_PER_SIDE", takes)
    monkeypatch.setattr(guitar, "BLEED_BLOCK", 10_007)
    song = make_song(tempo=140.0, bars=4, sections=2, seed=8)
    arr = arrange(analysis_from_song(song), RemixOptions(style="heavy"))
    band = load_band(ASSETS)
    n = song.audio.shape[1] + 777
    gain = play.treatment_gain(arr, n, {t: -6.0 * i for i, t in enumerate(sorted(set(arr.treatments)))})
    pair = band.pair[1] if band.pair else band.ir[::-1].copy()
    args = (arr.guitar_left, arr.guitar_right, n, band.ir, 24.0, 5, pair, band.guitar, gain)
    stem = guitar.render_guitars(*args[:6], ir_right=pair, samples=band.guitar, drive_gain=gain)
    assert stem.shape == (2, n) and np.any(stem[0]) and np.any(stem[1])
    assert stem.tobytes() == _guitars_side_by_side(*args).tobytes()


def test_a_part_rendered_into_a_given_buffer_equals_one_in_a_new_buffer():
    song = make_song(tempo=120.0, bars=4, seed=2)
    arr = arrange(analysis_from_song(song), RemixOptions(style="heavy"))
    n = song.audio.shape[1]
    expected = render_part(arr.guitar_left, StringBank(4), n)
    row = np.full((2, n), 7.0, dtype=np.float32)[1]  # a dirty row of a stem: zeroed first
    assert render_part(arr.guitar_left, StringBank(4), n, out=row) is row
    assert row.tobytes() == expected.tobytes()


def _bass_stage_by_stage(notes, n: int, seed: int, cab) -> np.ndarray:
    """The bass with each stage run on the whole signal into a new array (as pedalboard and numpy return)."""
    di = render_part(notes, StringBank(seed, 0.0, bass=True), n, release_s=0.02)[None, :] * np.float32(0.3)
    low = Pedalboard([LowpassFilter(180.0)])(di, SAMPLE_RATE)
    grit_band = amp.clipper(Pedalboard([HighpassFilter(300.0)])(di, SAMPLE_RATE)[0], 18.0)[None, :]
    speaker = Pedalboard([PeakFilter(1200.0, 3.0, 0.8)] + ([LowpassFilter(3500.0)] if cab is None else []))
    grit_band = speaker(grit_band, SAMPLE_RATE)
    if cab is not None:
        grit_band = amp.cabinet(grit_band[0], cab)[None, :]
    mix = low * np.float32(2.0) + grit_band * np.float32(bass.GRIT_LEVEL)
    mix = Pedalboard(
        [HighpassFilter(35.0), Compressor(threshold_db=-20.0, ratio=4.0, attack_ms=5.0, release_ms=90.0)]
    )(mix, SAMPLE_RATE)
    return np.repeat(mix, 2, axis=0)


@pytest.mark.parametrize("with_cab", [True, False])
def test_the_bass_in_the_stems_rows_equals_each_stage_on_a_new_array(with_cab):
    song = make_song(tempo=120.0, bars=8, sections=2, seed=4)  # 16 s: several blocks of every stage
    arr = arrange(analysis_from_song(song), RemixOptions(style="doom"))
    band = load_band(ASSETS)
    cab = (band.bass_cab[1] if band.bass_cab else band.ir) if with_cab else None
    n = song.audio.shape[1]
    stem = bass.render_bass(arr.bass, n, 6, cab=cab)
    assert stem.shape == (2, n) and np.any(stem)
    assert stem.tobytes() == _bass_stage_by_stage(arr.bass, n, 6, cab).tobytes()


@pytest.mark.parametrize("chain", [mastering.bus_chain, play._vocal_dry, play._other_board, play._grit_board])
def test_a_chain_run_channel_by_channel_on_threads_equals_the_stereo_chain_bit_for_bit(chain):
    """These chains' plugins (filters, compressors, the grit's distortion) each process every channel on
    their own, so each channel through its own chain on its own thread gives the stereo chain's samples."""
    song = make_song(tempo=120.0, bars=6, with_vocals=True, seed=4).audio.astype(np.float32)
    song[1] *= np.float32(0.5)  # channels that differ
    whole = chain()(song, SAMPLE_RATE)
    rows = mastering.process_rows(chain, song.copy(), threads=2, block=4096)
    assert rows.tobytes() == whole.tobytes()


def _k_power_by_sosfilt(audio: np.ndarray, frame: int) -> np.ndarray:
    """The reference: the whole song through ``sosfilt`` at once, squared and summed over channels by
    ``einsum``, then (``frame`` > 1) summed over whole frames in float64."""
    weighted = sosfilt(loudness.k_weighting().astype(np.float32), audio, axis=1)
    power = np.einsum("cn,cn->n", weighted, weighted)
    if frame == 1:
        return power
    whole = power.size // frame * frame
    return power[:whole].reshape(-1, frame).sum(axis=1, dtype=np.float64)


@pytest.mark.parametrize("n", [17_640, 300_017, 3 * (1 << 18) + 5])
@pytest.mark.parametrize("channels", [1, 2, 3])
def test_k_weighting_block_by_block_in_the_compiled_kernel_equals_sosfilt_on_the_whole_song(n, channels):
    """Bit for bit: each section's float32 operations in sosfilt's order, the state carried across blocks,
    the channels' powers summed in einsum's order (stereo channels are filtered side by side)."""
    audio = (np.random.default_rng(n).standard_normal((channels, n)) * 0.2).astype(np.float32)
    audio[-1] *= np.float32(0.3)
    for frame in (1, loudness.step_frames()):
        expected = _k_power_by_sosfilt(audio, frame)
        assert loudness.k_power(audio, frame=frame).tobytes() == expected.tobytes()
    strided = np.zeros((channels, 2 * n), np.float32)[:, ::2]  # every other sample: copied a block at a time
    strided[...] = audio
    assert loudness.k_power(strided).tobytes() == _k_power_by_sosfilt(audio, 1).tobytes()


@pytest.mark.parametrize("ride", [False, True])
def test_the_final_gain_applied_a_block_at_a_time_on_threads_equals_the_song_long_gain(ride):
    rng = np.random.default_rng(21)
    n = 3 * (1 << 18) + 1234
    y = (rng.standard_normal((2, n)) * 0.3).astype(np.float32)
    curve = rng.random(-(-n // mastering.LIMITER_FRAME)).astype(np.float32)
    ride_gain = rng.random(n).astype(np.float32) if ride else None
    gain = mastering.frame_gain_to_samples(curve, n)
    if ride_gain is not None:
        gain *= ride_gain
    expected = y * gain
    out = mastering._apply_gain(y, curve, ride_gain, threads=2)
    assert out is y and out.tobytes() == expected.tobytes()


@pytest.mark.parametrize("voice", ["rhythm", "lead"])
def test_the_amp_without_its_0_db_bands_equals_the_amp_with_every_band_bit_for_bit(monkeypatch, voice):
    """pedalboard passes every sample through a 0 dB peak or shelf band unchanged, so the amp leaves such
    bands out: the same take as the whole chain, every band run."""
    from pipeline.render.lead import LEAD_VOICE

    chosen = LEAD_VOICE if voice == "lead" else amp.DEFAULT_VOICE
    ir = load_band(ASSETS).ir
    rng = np.random.default_rng(13)
    di = (rng.standard_normal(amp.CLIP_BLOCK + 99_999) * 0.1).astype(np.float32)
    di[50_000:120_000] *= np.float32(1e-4)  # a quiet stretch, where the gate works
    flat = (PeakFilter(3000.0, 0.0, 1.2), LowShelfFilter(120.0, 0.0, 0.7), PeakFilter(750.0, 6.0, 0.7))
    assert len(amp._chain(list(flat))) == 1
    left_out = amp.amp(di, ir, 24.0, chosen)
    monkeypatch.setattr(amp, "_chain", Pedalboard)  # every band, 0 dB ones too
    assert amp.amp(di, ir, 24.0, chosen).tobytes() == left_out.tobytes()
