"""Frame features every analysis step shares, computed once per song.

Two frame grids:
- a fine one (2048-sample frames, 256 hop, ~5.8 ms) for onset envelopes: full-band spectral flux for beat
  placement and a low band (< 160 Hz) flux for kick/bass onsets (bar phase), computed with numpy in blocks
  so memory stays bounded on long songs;
- a coarse one (4096-sample frames, 2048 hop, ~46 ms) through essentia for HPCP chroma (key, chords), MFCC
  timbre and RMS (sections).
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import essentia
import numpy as np
import scipy.fft

essentia.log.infoActive = False
import essentia.standard as es  # noqa: E402  (after silencing essentia's start-up line)

ONSET_FRAME = 2048
ONSET_HOP = 256
TONAL_FRAME = 4096
TONAL_HOP = 2048
LOW_BAND_HZ = 160.0
BASS_MIN_HZ, BASS_MAX_HZ = 30.0, 250.0
# Onset envelope frame i is stamped i * ONSET_HOP / sr (its start); a sharp onset peaks the log flux as soon
# as it enters the window, about 6.5 hops before that stamp reaches it (measured on synthetic drums).
ONSET_LAG_S = 6.5 * ONSET_HOP / 44100
_BLOCK_FRAMES = 2048


@dataclass
class Features:
    sample_rate: int
    duration: float
    onset: np.ndarray  # full-band spectral flux, one value per ONSET_HOP
    low_onset: np.ndarray  # flux below LOW_BAND_HZ (kick and bass), same grid
    hpcp: np.ndarray  # (frames, 12) essentia HPCP, index 0 = A, one row per TONAL_HOP
    bass_hpcp: np.ndarray  # (frames, 12) the same below BASS_MAX_HZ (which note the bass plays)
    mfcc: np.ndarray  # (frames, 13)
    rms: np.ndarray  # (frames,) linear RMS per tonal frame

    @property
    def onset_rate(self) -> float:
        """Onset envelope values per second."""
        return self.sample_rate / ONSET_HOP

    def onset_index(self, times: np.ndarray) -> np.ndarray:
        """Envelope indices where onsets heard at ``times`` (s) show, clipped to the envelope."""
        idx = np.round((np.asarray(times, dtype=np.float64) - ONSET_LAG_S) * self.onset_rate).astype(int)
        return np.clip(idx, 0, max(0, len(self.onset) - 1))

    def onset_time(self, index: np.ndarray | int) -> np.ndarray:
        """Times (s) heard for envelope indices (the inverse of onset_index)."""
        return np.asarray(index, dtype=np.float64) / self.onset_rate + ONSET_LAG_S

    @property
    def tonal_rate(self) -> float:
        return self.sample_rate / TONAL_HOP

    @property
    def bass_chroma(self) -> np.ndarray:
        """Bass HPCP with column 0 = C."""
        return np.roll(self.bass_hpcp, -3, axis=1)

    @property
    def chroma(self) -> np.ndarray:
        """HPCP re-indexed so column 0 is C (pitch class numbering used in the Analysis)."""
        return np.roll(self.hpcp, -3, axis=1)


def spectral_flux(mono: np.ndarray, sample_rate: int, bands: tuple[float, ...] = (0.0,)) -> list[np.ndarray]:
    """Half-wave rectified log-magnitude flux per ONSET_HOP, one envelope per band.

    A band is an upper frequency limit in Hz; 0 means the full band. One FFT serves all bands.
    """
    n_frames = 1 + max(0, len(mono) - ONSET_FRAME) // ONSET_HOP
    padded = np.pad(np.asarray(mono, dtype=np.float32), (0, max(0, ONSET_FRAME - len(mono))))
    window = np.hanning(ONSET_FRAME).astype(np.float32)
    n_bins = ONSET_FRAME // 2 + 1
    tops = [n_bins if hz <= 0 else max(2, int(hz * ONSET_FRAME / sample_rate) + 1) for hz in bands]
    fluxes = [np.zeros(n_frames, dtype=np.float32) for _ in bands]
    previous: np.ndarray | None = None
    offsets = np.arange(ONSET_FRAME)[None, :]
    for first in range(0, n_frames, _BLOCK_FRAMES):
        count = min(_BLOCK_FRAMES, n_frames - first)
        starts = (first + np.arange(count))[:, None] * ONSET_HOP
        mag = np.log1p(100.0 * np.abs(scipy.fft.rfft(padded[starts + offsets] * window, axis=1)[:, 1:]))
        mag = mag.astype(np.float32)
        diff = np.maximum(
            np.diff(np.concatenate([mag[:1] if previous is None else previous, mag]), axis=0), 0
        )
        for flux, top in zip(fluxes, tops, strict=True):
            flux[first : first + count] = diff[:, : top - 1].sum(axis=1)
        previous = mag[-1:]
    return fluxes


@dataclass
class TonalFrames:
    hpcp: np.ndarray  # (frames, 12), index 0 = A
    bass_hpcp: np.ndarray  # (frames, 12), index 0 = A, peaks below BASS_MAX_HZ only
    mfcc: np.ndarray  # (frames, 13)
    rms: np.ndarray  # (frames,)


def _hpcp(sample_rate: int, low: float, high: float) -> Any:
    return es.HPCP(
        size=12,
        harmonics=0,
        bandPreset=False,
        minFrequency=low,
        maxFrequency=high,
        weightType="cosine",
        nonLinear=False,
        windowSize=1.0,
        sampleRate=sample_rate,
    )


def tonal_frames(
    mono: np.ndarray, sample_rate: int, *, harmony: bool = True, timbre: bool = True
) -> TonalFrames:
    """HPCP (no harmonic folding: measured best for key), bass HPCP, MFCC and RMS per TONAL_HOP frame.

    ``harmony`` / ``timbre`` off: the HPCPs / the MFCC and RMS are not computed (empty rows): a song with
    stems reads its harmony off the harmonic stems and its timbre off the mix, and every essentia call is
    paid per frame, holding the GIL.
    """
    window = es.Windowing(type="blackmanharris62", size=TONAL_FRAME)
    spectrum = es.Spectrum(size=TONAL_FRAME)
    peaks = es.SpectralPeaks(
        orderBy="magnitude",
        magnitudeThreshold=1e-5,
        minFrequency=BASS_MIN_HZ,
        maxFrequency=3500,
        maxPeaks=60,
        sampleRate=sample_rate,
    )
    hpcp = _hpcp(sample_rate, 40.0, 3500.0)
    bass_hpcp = _hpcp(sample_rate, BASS_MIN_HZ, BASS_MAX_HZ)
    mfcc = es.MFCC(inputSize=TONAL_FRAME // 2 + 1, sampleRate=sample_rate, numberCoefficients=13)
    signal = np.ascontiguousarray(mono, dtype=np.float32)
    chroma, bass, colour, rms = [], [], [], []
    for frame in es.FrameGenerator(signal, frameSize=TONAL_FRAME, hopSize=TONAL_HOP, startFromZero=True):
        spec = spectrum(window(frame))
        if harmony:
            freqs, mags = peaks(spec)
            chroma.append(hpcp(freqs, mags))
            low = freqs < BASS_MAX_HZ
            bass.append(bass_hpcp(freqs[low], mags[low]))
        if timbre:
            colour.append(mfcc(spec)[1])
            rms.append(float(np.sqrt(np.mean(frame**2))))
    if not (chroma or colour):
        zeros = np.zeros((1, 12), np.float32)
        return TonalFrames(zeros, zeros, np.zeros((1, 13), np.float32), np.zeros(1, np.float32))
    return TonalFrames(
        hpcp=np.asarray(chroma, dtype=np.float32).reshape(-1, 12),
        bass_hpcp=np.asarray(bass, dtype=np.float32).reshape(-1, 12),
        mfcc=np.asarray(colour, dtype=np.float32).reshape(-1, 13),
        rms=np.asarray(rms, dtype=np.float32),
    )


def compute_features(
    mono: np.ndarray,
    sample_rate: int,
    *,
    low_source: np.ndarray | None = None,
    harmonic_source: np.ndarray | None = None,
    bass_source: np.ndarray | None = None,
) -> Features:
    """All shared features of a mono signal.

    ``low_source`` (e.g. drums + bass stems) feeds the low-band onsets; ``harmonic_source`` (e.g. bass +
    other stems) feeds the chroma, so drums and voice do not blur the harmony; ``bass_source`` (a real bass
    stem) feeds the bass chroma alone, so the low notes of keys and guitars do not pass for the bass.
    """

    def onsets() -> tuple[np.ndarray, np.ndarray]:
        if low_source is None:
            onset, low_onset = spectral_flux(mono, sample_rate, (0.0, LOW_BAND_HZ))
            return onset, low_onset
        return spectral_flux(mono, sample_rate)[0], spectral_flux(low_source, sample_rate, (LOW_BAND_HZ,))[0]

    # the onset envelopes (numpy FFTs, which release the GIL) on a thread beside essentia's per-frame loop
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="onsets") as pool:
        flux = pool.submit(onsets)
        frames = tonal_frames(mono, sample_rate, harmony=harmonic_source is None)
        harmony = (
            frames if harmonic_source is None else tonal_frames(harmonic_source, sample_rate, timbre=False)
        )
        bass_hpcp = (
            harmony.bass_hpcp
            if bass_source is None
            else tonal_frames(bass_source, sample_rate, timbre=False).bass_hpcp
        )
        onset, low_onset = flux.result()
    return Features(
        sample_rate=sample_rate,
        duration=len(mono) / sample_rate,
        onset=onset,
        low_onset=low_onset,
        hpcp=harmony.hpcp,
        bass_hpcp=bass_hpcp,
        mfcc=frames.mfcc,
        rms=frames.rms,
    )
