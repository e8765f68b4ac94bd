"""The compiled polyphase resampler gives resample_poly's float32 samples, bit for bit, where it is used."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numba
import numpy as np
import pytest
from scipy.signal import resample_poly

from pipeline import master as mastering
from pipeline import polyphase
from pipeline.compiled import compile_kernel
from pipeline.polyphase import resample
from pipeline.render import amp
from pipeline.testing.synth import make_song

ROOT = Path(__file__).resolve().parents[2]  # the repository, where `pipeline` imports from

USES = [  # (taps, up, down): the amp's clipper, the master's clipper and both true-peak meters
    (amp._OS_FILTER, 2, 1),
    (amp._OS_FILTER, 1, 2),
    (mastering._CLIP_OS, 2, 1),
    (mastering._CLIP_OS, 1, 2),
    (mastering._TP_FAST, 2, 1),
    (mastering._TP_EXACT, 4, 1),
]


def _awkward(n: int, seed: int) -> np.ndarray:
    """Stereo noise with digital silence, negative zeros and subnormals in it: the sums' signed zeros and
    denormal products must come out as scipy's do."""
    x = (np.random.default_rng(seed).standard_normal((2, n)) * 0.3).astype(np.float32)
    x[:, n // 4 : n // 2] = 0.0
    x[1, n // 3 : n // 3 + 50] = -0.0
    x[0, -30:] = np.float32(1e-40)
    return x


@pytest.mark.parametrize(("taps", "up", "down"), USES)
@pytest.mark.parametrize("n", [97, 98, 4096, 100_003])
def test_the_compiled_polyphase_path_equals_resample_poly_bit_for_bit(monkeypatch, taps, up, down, n):
    monkeypatch.setattr(polyphase, "TILE", 1000)  # several tiles, one cut short
    x = _awkward(n, n)
    expected = resample_poly(x, up, down, axis=1, window=taps)
    got = resample(x, up, down, taps)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    assert got.tobytes() == expected.tobytes()
    mono = resample(np.ascontiguousarray(x[1]), up, down, taps)
    assert mono.tobytes() == resample_poly(x[1], up, down, window=taps).tobytes()
    view = x[:, 7 : n - 5]  # a strided view of a longer song, as the blocked callers pass
    assert (
        resample(view, up, down, taps).tobytes()
        == resample_poly(view, up, down, axis=1, window=taps).tobytes()
    )


@pytest.mark.parametrize(("taps", "up", "down"), USES)
@pytest.mark.parametrize("tile", [1, 2, 3, 7, 64])
def test_tiles_of_any_size_give_the_same_samples(monkeypatch, taps, up, down, tile):
    """Tile edges fall on every phase and offset, and on the signal's edges (its zero padding)."""
    monkeypatch.setattr(polyphase, "TILE", tile)
    x = _awkward(301, tile)
    assert resample(x, up, down, taps).tobytes() == resample_poly(x, up, down, axis=1, window=taps).tobytes()


@pytest.mark.parametrize(("taps", "up", "down"), USES)
def test_channels_of_any_layout_and_count_give_the_same_samples(taps, up, down):
    x = _awkward(2 * 1501, 5)
    for samples in (
        x[:, ::2],  # every other sample: rows with a stride
        np.asfortranarray(x),  # channels interleaved
        np.concatenate([x, x[::-1] * np.float32(0.5)]),  # four channels
        x[:1],  # one row of a (1, n) array
        np.frombuffer(x.tobytes(), dtype=np.float32).reshape(x.shape),  # read-only
    ):
        expected = resample_poly(samples, up, down, axis=1, window=taps)
        assert resample(samples, up, down, taps).tobytes() == expected.tobytes()


def test_threads_resampling_at_once_give_the_samples_of_one_after_another():
    """The kernel releases the GIL, so the master's and the renderers' threads run it side by side."""
    assert polyphase._kernel.targetoptions["nogil"]
    songs = [_awkward(60_000, seed) for seed in range(6)]
    alone = [resample(x, 2, 1, mastering._CLIP_OS).tobytes() for x in songs]
    with ThreadPoolExecutor(max_workers=3) as pool:
        together = list(pool.map(lambda x: resample(x, 2, 1, mastering._CLIP_OS).tobytes(), songs))
    assert together == alone


def test_the_kernel_is_compiled_without_fast_math():
    """Fast-math would let LLVM reorder the sums and fuse multiply-adds: other samples than scipy's."""
    assert polyphase._kernel.targetoptions.get("fastmath") is False


def test_without_a_writable_cache_folder_the_kernel_is_compiled_in_memory(monkeypatch):
    real = numba.njit

    def no_cache_folder(*args: object, **options: object) -> object:
        if options.get("cache"):
            raise RuntimeError("cannot cache function '_sum_taps': no locator available")
        return real(*args, **options)

    monkeypatch.setattr(numba, "njit", no_cache_folder)
    kernel = compile_kernel(polyphase._SIGNATURE, polyphase._sum_taps)
    monkeypatch.setattr(polyphase, "_kernel", kernel)
    x = _awkward(4096, 11)
    expected = resample_poly(x, 1, 2, axis=1, window=amp._OS_FILTER)
    assert resample(x, 1, 2, amp._OS_FILTER).tobytes() == expected.tobytes()


def test_a_second_process_loads_the_compiled_kernel_from_the_cache(tmp_path):
    script = "from pipeline import polyphase; print(sum(polyphase._kernel.stats.cache_hits.values()))"
    env = {**os.environ, "NUMBA_CACHE_DIR": str(tmp_path)}
    runs = [
        subprocess.run(
            [sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True, check=True
        )
        for _ in range(2)
    ]
    assert [run.stdout.strip() for run in runs] == ["0", "1"]


def test_float64_and_very_short_signals_give_resample_polys_samples_too():
    x = _awkward(5000, 3)
    for samples, taps in ((x.astype(np.float64), mastering._TP_EXACT), (x[:, :10], mastering._TP_EXACT)):
        expected = resample_poly(samples, 4, 1, axis=1, window=taps)
        assert resample(samples, 4, 1, taps).tobytes() == expected.tobytes()


def _scipy_clip_block(x: np.ndarray, gain: np.float32) -> np.ndarray:
    """The amp's clipper block as it was written with resample_poly: the reference."""
    y = resample_poly(x, 2, 1, window=amp._OS_FILTER).astype(np.float32, copy=False)
    y *= gain
    y += np.float32(0.2)
    np.tanh(y, out=y)
    y -= np.tanh(np.float32(0.2))
    y *= np.float32(2.5)
    np.tanh(y, out=y)
    return resample_poly(y, 1, 2, window=amp._OS_FILTER).astype(np.float32, copy=False)[: x.size]


def test_the_amp_clipper_on_the_compiled_path_equals_the_resample_poly_one():
    x = make_song(tempo=120.0, bars=2, seed=1).audio[0].astype(np.float32) * np.float32(0.3)
    x[: x.size // 5] = 0.0  # the gate's silence
    gain = np.float32(10 ** (30.0 / 20))
    assert amp._clip_block(x, gain).tobytes() == _scipy_clip_block(x, gain).tobytes()


@pytest.mark.parametrize(("size", "beta"), [(23, 6.0), (47, 7.0)])
def test_a_half_band_filter_has_every_other_tap_zero_and_passes_the_band_below_its_cut(size, beta):
    from scipy.signal import freqz

    from pipeline.polyphase import half_band

    h = half_band(size, beta)
    centre = size // 2
    assert h.dtype == np.float32 and h.size == size
    assert all(h[k] == 0.0 for k in range(size) if (k - centre) % 2 == 0 and k != centre)
    assert abs(float(h.astype(np.float64).sum()) - 1.0) < 1e-6  # unity gain at DC
    _, response = freqz(h.astype(np.float64), worN=[0.2, 0.35, 0.75], fs=2)  # x 2 = fraction of the low rate
    db = 20 * np.log10(np.abs(response))
    assert abs(db[0]) < 0.1 and db[1] > -1.0 and db[2] < -60.0
