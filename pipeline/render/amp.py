"""High-gain amp chain: gate, boost, oversampled distortion, amp EQ, cabinet IR, post EQ."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pedalboard import (
    HighpassFilter,
    HighShelfFilter,
    LowpassFilter,
    LowShelfFilter,
    NoiseGate,
    PeakFilter,
    Pedalboard,
    Plugin,
)
from scipy.signal import oaconvolve
from scipy.signal._signaltools import _calc_oa_lens  # private: the block layout oaconvolve picks

from pipeline.master import process_in_place
from pipeline.polyphase import half_band, resample

OVERSAMPLE = 2
# Anti-imaging / anti-aliasing filter for the 2x oversampled clipper (short: it runs on every guitar and bass
# sample; the DI is low-passed before the clipper and the cabinet rolls off the top after it). A half-band
# filter (13 of its 23 taps non-zero): what folds back below 13 kHz is at least 62 dB down.
_OS_FILTER = half_band(23, 6.0)


@dataclass(frozen=True)
class AmpVoice:
    """Tone settings of the chain (frequencies in Hz, gains in dB)."""

    tight_hz: float = 110.0  # high-pass before the drive: keeps palm mutes tight
    boost_hz: float = 750.0  # overdrive-pedal mid hump before the amp
    boost_db: float = 6.0
    pre_lowpass_hz: float = 6500.0
    pickup_hz: float = 3000.0  # humbucker resonance
    pickup_db: float = 0.0
    low_shelf_db: float = 3.0  # post-amp, at 120 Hz: weight
    scoop_hz: float = 450.0
    scoop_db: float = -5.0
    honk_hz: float = 1400.0  # cut where a synthetic guitar honks (SOUND-NOTES #7)
    honk_db: float = 0.0
    presence_hz: float = 2600.0
    presence_db: float = 3.0
    cab_lowpass_hz: float = 9000.0
    air_db: float = -2.0  # high shelf at 6 kHz after the cabinet


DEFAULT_VOICE = AmpVoice()


CLIP_BLOCK = 1 << 18  # samples per block of the oversampled clipper (~6 s): bounds its temporary buffers
_CLIP_PAD = _OS_FILTER.size  # context on each side of a block: more than both filters reach


def _clip_block(x: np.ndarray, gain: np.float32) -> np.ndarray:
    y = resample(x, OVERSAMPLE, 1, _OS_FILTER).astype(np.float32, copy=False)
    bias = np.float32(0.2)
    # tanh(y * gain + bias) - tanh(bias), then tanh(2.5 * that): in the oversampled buffer itself
    y *= gain
    y += bias
    np.tanh(y, out=y)
    y -= np.tanh(bias)
    y *= np.float32(2.5)
    np.tanh(y, out=y)
    return resample(y, 1, OVERSAMPLE, _OS_FILTER).astype(np.float32, copy=False)[: x.size]


def clipper(x: np.ndarray, drive_db: float, *, out: np.ndarray | None = None) -> np.ndarray:
    """Two asymmetric tanh stages at 2x oversampling (aliasing products fall above the audible band).

    Runs in overlapping blocks: the tanh stages are memoryless and the filters short, so each block with
    ``_CLIP_PAD`` samples of context either side gives the same samples as the whole signal at once, while the
    oversampled copy of a long song never exists in full. ``out`` (float32, ``x``'s size) receives the result
    and may be ``x`` itself: each block's input tail is kept for the next block's context before it is
    overwritten, so clipping in place gives the same samples without a second song-long buffer.
    """
    gain = np.float32(10 ** (drive_db / 20))
    out = np.empty(x.size, dtype=np.float32) if out is None else out
    before = x[:0]  # the _CLIP_PAD input samples before the block, kept before they are overwritten
    for start in range(0, x.size, CLIP_BLOCK):
        stop = min(x.size, start + CLIP_BLOCK)
        lo, hi = max(0, start - _CLIP_PAD), min(x.size, stop + _CLIP_PAD)
        context = np.concatenate([before, x[start:hi]])  # x[lo:hi] as it was read in
        before = x[max(0, stop - _CLIP_PAD) : stop].copy()
        out[start:stop] = _clip_block(context, gain)[start - lo : stop - lo]
    return out


CAB_CHUNK_STEPS = 8  # overlap-add blocks of the cabinet convolved at a time


def _cab_chunks(n: int, taps: int) -> list[tuple[int, int]] | None:
    """(start, stop) chunks of ``n`` samples made of whole overlap-add blocks, each given the same block
    layout by ``oaconvolve`` as the whole signal; None when the signal is too short to split."""
    layout = _calc_oa_lens(n, taps)
    if layout[1] is None:
        return None
    size = CAB_CHUNK_STEPS * layout[2]
    bounds = list(range(0, n - size, size))[:-1] + [n]  # the last chunk takes the rest (size .. 2 * size)
    chunks = list(zip(bounds[:-1], bounds[1:], strict=True))
    if len(chunks) < 2 or any(_calc_oa_lens(b - a, taps) != layout for a, b in chunks):
        return None
    return chunks


def cabinet(x: np.ndarray, ir: np.ndarray, *, out: np.ndarray | None = None) -> np.ndarray:
    """Mono ``x`` heard through a cabinet impulse response, same length, float32.

    A long signal is convolved a few of ``oaconvolve``'s own blocks at a time, each chunk's tail added to
    the next chunk's head as ``oaconvolve`` adds a block's tail to the next block's: the same FFTs and sums,
    so the same samples, without the whole song's padded, transformed and multiplied copies at once. ``out``
    (float32, ``x``'s size) receives the result and may be ``x`` itself: a chunk reads only its own samples,
    and is written back only once it is convolved.
    """
    out = np.empty(x.size, dtype=np.float32) if out is None else out
    chunks = _cab_chunks(x.size, ir.size)
    if chunks is None:
        out[:] = oaconvolve(x, ir, mode="full")[: x.size]
        return out
    tail = np.zeros(0, dtype=np.float32)
    for start, stop in chunks:
        part = oaconvolve(x[start:stop], ir, mode="full").astype(np.float32, copy=False)
        head = part[: tail.size]
        head += tail
        out[start:stop] = part[: stop - start]
        tail = part[stop - start :].copy()
    return out


def _chain(stages: list[Plugin]) -> Pedalboard:
    """A chain of ``stages`` without its equaliser bands set to 0 dB: pedalboard passes every sample
    through such a band unchanged (its coefficients cancel exactly; tested), so it is left out rather than
    run over every sample of the take (the voices' unused pickup and honk bands, the lead's low shelf)."""
    flat = (PeakFilter, LowShelfFilter, HighShelfFilter)
    return Pedalboard([s for s in stages if not (isinstance(s, flat) and s.gain_db == 0.0)])


def amp(
    di: np.ndarray, ir: np.ndarray, drive_db: float, voice: AmpVoice | None = None, *, in_place: bool = False
) -> np.ndarray:
    """A mono DI through the whole chain; returns mono float32 of the same length.

    Every stage runs in one buffer: the pedal stages block by block (``process_in_place``: the same samples
    as one call on the whole take), the clipper and the cabinet writing back into it, so a long take holds
    one song-long buffer; with ``in_place`` a float32 ``di`` is that buffer (it is overwritten and returned).
    """
    v = voice or DEFAULT_VOICE
    pre = _chain(
        [
            NoiseGate(threshold_db=-70.0, ratio=4.0, attack_ms=1.0, release_ms=60.0),
            HighpassFilter(v.tight_hz),
            PeakFilter(v.pickup_hz, v.pickup_db, 1.2),
            PeakFilter(v.boost_hz, v.boost_db, 0.7),
            LowpassFilter(v.pre_lowpass_hz),
        ]
    )
    mine = in_place and di.dtype == np.float32 and di.flags.c_contiguous
    x = process_in_place(pre, di[None, :] if mine else di[None, :].astype(np.float32))[0]
    clipper(x, drive_db, out=x)
    post = _chain(
        [
            LowShelfFilter(120.0, v.low_shelf_db, 0.7),
            PeakFilter(v.scoop_hz, v.scoop_db, 0.8),
            PeakFilter(v.honk_hz, v.honk_db, 0.7),
            PeakFilter(v.presence_hz, v.presence_db, 0.8),
        ]
    )
    process_in_place(post, x[None, :])
    cabinet(x, ir, out=x)
    cab_post = _chain(
        [HighpassFilter(75.0), LowpassFilter(v.cab_lowpass_hz), HighShelfFilter(6000.0, v.air_db, 0.7)]
    )
    return process_in_place(cab_post, x[None, :])[0]
