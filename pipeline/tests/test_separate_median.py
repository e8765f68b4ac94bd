"""The DSP separator's running medians give ``ndimage.median_filter``'s samples, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from pipeline.separate import dsp
from pipeline.separate.median import median_along


def _with_ties(shape: tuple[int, int], seed: int) -> np.ndarray:
    """Random float32 values, a third of them one repeated value and some exact zeros: many equal values in
    a window, where a sliding window must take out the right one."""
    rng = np.random.default_rng(seed)
    x = np.abs(rng.standard_normal(shape)).astype(np.float32)
    x[rng.random(shape) < 0.3] = np.float32(0.5)
    x[rng.random(shape) < 0.05] = 0.0
    return x


def _ndimage(x: np.ndarray, size: int, axis: int) -> np.ndarray:
    return ndimage.median_filter(x, size=(size, 1) if axis == 0 else (1, size), mode="nearest")


@pytest.mark.parametrize("shape", [(2049, 40), (3, 5), (1, 1), (17, 2), (40, 300)])
@pytest.mark.parametrize("size", [1, 3, 9, 17])
@pytest.mark.parametrize("axis", [0, 1])
def test_the_running_median_equals_ndimage_bit_for_bit(shape, size, axis):
    """Shorter lines than the window too: every window then reaches past both ends (the edges repeated)."""
    x = _with_ties(shape, seed=size * 10 + axis)
    assert median_along(x, size, axis).tobytes() == _ndimage(x, size, axis).tobytes()


def test_a_spectrogram_s_medians_equal_ndimage_s_and_input_with_nans_goes_to_ndimage():
    rng = np.random.default_rng(3)
    song = rng.standard_normal((2, dsp.N_FFT * 12)).astype(np.float32)
    spec = dsp._stft(song)
    mag = np.abs(spec[0]).astype(np.float32)
    for size, axis in ((dsp.HARMONIC_KERNEL, 1), (dsp.PERCUSSIVE_KERNEL, 0)):
        assert median_along(mag, size, axis).tobytes() == _ndimage(mag, size, axis).tobytes()
    mag[3, 4] = np.nan
    assert median_along(mag, 9, 1).tobytes() == _ndimage(mag, 9, 1).tobytes()


def test_the_dsp_masks_are_those_of_ndimage_s_medians(monkeypatch):
    """The separator's masks with the kernel are the masks it made with ndimage (the reference)."""
    rng = np.random.default_rng(4)
    spec = dsp._stft(rng.standard_normal((2, dsp.N_FFT * 8)).astype(np.float32))
    ours = dsp.masks(spec)
    monkeypatch.setattr(dsp, "median_along", _ndimage)
    reference = dsp.masks(spec)
    assert ours.keys() == reference.keys()
    for name in ours:
        assert ours[name].tobytes() == reference[name].tobytes(), name
