"""A separator that needs no model: harmonic/percussive split plus centre-channel extraction, soft masks.

Per time-frequency bin of the stereo STFT:
- harmonic vs percussive: median filtering of the magnitude along time (sustained partials) and along
  frequency (broadband hits), turned into soft Wiener-like masks (FitzGerald 2010);
- centre: how alike left and right are, ``2|L R*| / (|L|^2 + |R|^2)`` (1 for a centre-panned source, lower
  for anything panned or wide; Avendano & Jot 2002), smoothed over neighbouring bins and frames.

vocals = (harmonic + a little percussive, for consonants) x centre x vocal band (above ~90-180 Hz);
bass = the rest of harmonic below ~200 Hz; drums = the rest of percussive; other = everything left. The four
masks sum to one, so the stems add back up to the mix exactly. The constants were tuned with
bench/vocal_sdr.py (vocal SDR on mixtures with a known vocal). Its limit: anything harmonic and exactly
centred counts as voice (a mono recording's whole harmonic content, a centred lead guitar).

Long songs are processed in blocks of ~6 s with enough margin that the result equals a whole-song pass,
keeping memory at a few blocks' worth of spectra however long the song is.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from scipy import ndimage

from pipeline.separate.median import median_along
from pipeline.types import SAMPLE_RATE, StageProgress, no_progress

NAME = "dsp:hpss-centre"
VERSION = 1  # bump when the output changes, so cached stems from an older version are not reused

N_FFT = 4096
HOP = 1024
HARMONIC_KERNEL = 9  # frames (~0.2 s): a partial must last this long to count as harmonic
PERCUSSIVE_KERNEL = 17  # bins (~180 Hz): a hit must spread this wide to count as percussive
MASK_POWER = 2.0
VOCAL_PERCUSSIVE_SHARE = 0.2  # centred percussive share given to vocals (consonants); more pulls snare in
CENTRE_POWER = 32.0  # only near-identical left and right count as centre (tuned by bench/vocal_sdr.py)
BASS_CUTOFF_HZ = (120.0, 250.0)  # bass mask goes from 1 to 0 between these
VOCAL_BAND_HZ = (90.0, 180.0)  # vocal mask ramps up from 0 to 1 between these
BLOCK = 256 * HOP  # ~6 s of new output per block (bounded memory, good cache use)
MARGIN = N_FFT // 2 + (HARMONIC_KERNEL // 2 + 2) * HOP
THREADS = 2  # blocks separated at once: the two cores the service is sized for

_WINDOW = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(N_FFT) / N_FFT)).astype(np.float32)
_FREQS = np.fft.rfftfreq(N_FFT, 1.0 / SAMPLE_RATE).astype(np.float32)


def _ramp(freqs: np.ndarray, lo: float, hi: float) -> np.ndarray:
    """0 below ``lo``, 1 above ``hi``, raised-cosine in between."""
    x = np.clip((freqs - lo) / (hi - lo), 0.0, 1.0)
    return (0.5 - 0.5 * np.cos(np.pi * x)).astype(np.float32)


_BASS_BAND = 1.0 - _ramp(_FREQS, *BASS_CUTOFF_HZ)
_VOCAL_BAND = _ramp(_FREQS, *VOCAL_BAND_HZ)


def separate(
    audio: np.ndarray,
    progress: StageProgress = no_progress,
    *,
    with_vocals: bool = True,
    threads: int = THREADS,
) -> dict[str, np.ndarray]:
    """Split float32 ``(2, n)`` audio into vocals, drums, bass and other, each ``(2, n)``.

    ``with_vocals=False`` is for audio whose vocals were already taken out: no vocal mask, and the result
    has only drums, bass and other.
    """
    audio = np.asarray(audio, dtype=np.float32)
    n = audio.shape[1]
    names = ("vocals", "drums", "bass") if with_vocals else ("drums", "bass")
    stems = {name: np.zeros_like(audio) for name in names}
    n_blocks = max(1, -(-n // BLOCK))

    def block(start: int) -> None:
        end = min(start + BLOCK, n)
        segment = _padded_slice(audio, start - MARGIN, end + MARGIN)
        for name, part in _separate_segment(segment, with_vocals).items():
            stems[name][:, start:end] = part[:, MARGIN : MARGIN + end - start]

    # each block is made from the song's own samples around it and written to its own span, so blocks on
    # several threads (the FFTs and filters release the GIL) give the same stems as one after another
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="dsp") as pool:
        for i, _ in enumerate(pool.map(block, range(0, n, BLOCK))):
            progress((i + 1) / n_blocks)
    other = audio - stems["drums"]
    other -= stems["bass"]
    if with_vocals:
        other -= stems["vocals"]
    stems["other"] = other
    return stems


def _padded_slice(audio: np.ndarray, start: int, end: int) -> np.ndarray:
    """audio[:, start:end] with zeros where the range runs past either end."""
    n = audio.shape[1]
    out = np.zeros((audio.shape[0], end - start), dtype=np.float32)
    lo, hi = max(start, 0), min(end, n)
    if hi > lo:
        out[:, lo - start : hi - start] = audio[:, lo:hi]
    return out


def _stft(x: np.ndarray) -> np.ndarray:
    """(channels, samples) -> (channels, bins, frames) complex64, frames starting every HOP at 0."""
    frames = np.lib.stride_tricks.sliding_window_view(x, N_FFT, axis=-1)[:, ::HOP]
    return np.fft.rfft(frames * _WINDOW, axis=-1).astype(np.complex64).transpose(0, 2, 1)


def _istft(spec: np.ndarray, length: int) -> np.ndarray:
    """Inverse of ``_stft`` by weighted overlap-add; samples covered by no frame come out as zero."""
    frames = np.fft.irfft(spec.transpose(0, 2, 1), n=N_FFT, axis=-1).astype(np.float32) * _WINDOW
    out = np.zeros((spec.shape[0], length), dtype=np.float32)
    norm = np.zeros(length, dtype=np.float32)
    for k in range(frames.shape[1]):
        pos = k * HOP
        out[:, pos : pos + N_FFT] += frames[:, k]
        norm[pos : pos + N_FFT] += _WINDOW**2
    return out / np.maximum(norm, 1e-3)


def masks(spec: np.ndarray, with_vocals: bool = True) -> dict[str, np.ndarray]:
    """Soft masks (bins, frames) for vocals, drums and bass from a stereo spectrogram (2, bins, frames)."""
    left, right = spec[0], spec[1]
    power_l = left.real**2 + left.imag**2
    power_r = right.real**2 + right.imag**2
    mag = np.sqrt(0.5 * (power_l + power_r))

    harm = median_along(mag, HARMONIC_KERNEL, axis=1)  # ndimage.median_filter's samples, "nearest" edges
    perc = median_along(mag, PERCUSSIVE_KERNEL, axis=0)
    harm_p, perc_p = harm**MASK_POWER, perc**MASK_POWER
    total = harm_p + perc_p + 1e-12
    m_harm = harm_p / total
    m_perc = 1.0 - m_harm
    if not with_vocals:
        return {"drums": m_perc, "bass": m_harm * _BASS_BAND[:, None]}

    cross = left * np.conj(right)
    # Smooth the cross- and auto-spectra a little: a per-bin estimate is noisy and makes musical noise.
    cross_mag = np.abs(_smooth(cross.real) + 1j * _smooth(cross.imag))
    centre = 2.0 * cross_mag / (_smooth(power_l) + _smooth(power_r) + 1e-12)
    centre = np.clip(centre, 0.0, 1.0) ** CENTRE_POWER
    vocals = (m_harm + VOCAL_PERCUSSIVE_SHARE * m_perc) * centre * _VOCAL_BAND[:, None]
    bass = (m_harm - np.minimum(vocals, m_harm)) * _BASS_BAND[:, None]
    drums = m_perc - (vocals - np.minimum(vocals, m_harm))
    return {"vocals": vocals, "drums": drums, "bass": bass}


def _smooth(x: np.ndarray) -> np.ndarray:
    return ndimage.uniform_filter(x, size=(3, 3), mode="nearest")


def _separate_segment(segment: np.ndarray, with_vocals: bool) -> dict[str, np.ndarray]:
    spec = _stft(segment)
    return {
        name: _istft(spec * mask[None], segment.shape[1]) for name, mask in masks(spec, with_vocals).items()
    }
