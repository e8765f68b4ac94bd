"""Tuning the kit to the song, as a producer tunes a kick, toms and snare to the key.

A recorded kick or tom has a pitch of its own (the shipped kit's low tom sits near C#, its mid tom near A#),
and a drummer hitting it sixteen times a second plays that note all song long: on a song in A, a C# tom is
in key, a D# kick is the tritone under every chord, and a chroma listener hears it. Each pitched drum is
resampled so its body lands on the song's tonic, fourth or fifth: the nearest one below, or one at most a
semitone above (a metal producer loosens a kick's head rather than tightening it, and the kit is heard as
more metal that way than tuned to the nearest degree either way). No drum moves more than 4 semitones, so it
keeps its character.

The snare's ring and the ride's bell are notes too (the shipped ride's strongest partial is a D# at 319 Hz,
its snare rings at B, 253 Hz; a chroma listener hears them on every beat of a chorus): they are tuned the same
way, as drummers tune a snare to the song, and the remix is recognised as the song more surely. The crash,
china and hi-hats, washes without one strong partial, stay as recorded.

A style may also damp the kick (``damp_kick``), as a metal drummer damps the front head and a producer gates
the kick microphone: the thump and the beater's click stay, the body's ring is gone before the next 16th."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import replace
from fractions import Fraction

import numpy as np
from scipy.signal import resample_poly

from pipeline.assets import DrumKit, DrumLayer
from pipeline.types import SAMPLE_RATE

# The band (Hz) each pitched drum's body is looked for in, over the sample's first BODY_S seconds.
PITCHED_BANDS = {
    "kick": (40.0, 160.0),
    "tom-low": (60.0, 300.0),
    "tom-mid": (70.0, 350.0),
    "tom-high": (80.0, 400.0),
    "ride": (250.0, 400.0),
    "snare": (160.0, 300.0),
}
BODY_S = 0.4
FFT_SIZE = 1 << 17  # zero-padded: 0.34 Hz bins, a tenth of a semitone at 40 Hz
# Key degrees a drum may be tuned to (semitones above the tonic): tonic, fourth, fifth; a drum moves up by
# MAX_UP semitones at most, else down to the next degree below (at most 4 semitones: the degrees lie 2 and 5
# apart).
TARGET_DEGREES = (0, 5, 7)
MAX_UP = 1.0


def body_pitch(audio: np.ndarray, band: tuple[float, float]) -> float:
    """MIDI pitch (fractional) of the strongest partial of a drum sample (2, m) inside ``band``."""
    mono = audio.mean(axis=0)[: int(BODY_S * SAMPLE_RATE)]
    spectrum = np.abs(np.fft.rfft(mono * np.hanning(len(mono)), FFT_SIZE))
    freqs = np.fft.rfftfreq(FFT_SIZE, 1.0 / SAMPLE_RATE)
    inside = np.flatnonzero((freqs >= band[0]) & (freqs <= band[1]))
    k = int(inside[np.argmax(spectrum[inside])])
    # the peak between bins: a parabola through the log magnitudes of the bin and its neighbours
    a, b, c = np.log(spectrum[k - 1 : k + 2] + 1e-12)
    offset = 0.5 * (a - c) / (a - 2 * b + c) if a - 2 * b + c < 0 else 0.0
    peak = (k + float(np.clip(offset, -0.5, 0.5))) * SAMPLE_RATE / FFT_SIZE
    return 69.0 + 12.0 * float(np.log2(peak / 440.0))


def tuning_shift(pitch: float, key_root: int) -> float:
    """Semitones (-4 to MAX_UP) that move ``pitch`` onto the nearest of the key's TARGET_DEGREES, not more
    than MAX_UP up."""
    offsets = [((key_root + d - pitch) + 6.0) % 12.0 - 6.0 for d in TARGET_DEGREES]
    offsets = [o - 12.0 if o > MAX_UP else o for o in offsets]
    return float(min(offsets, key=abs))


def _shifted(audio: np.ndarray, semitones: float) -> np.ndarray:
    """Played faster (up) or slower (down), as a tighter or looser drum head sounds: pitch and decay move."""
    # a polyphase filter with the speed ratio as a fraction: within a cent of it, a few ms per sample
    ratio = Fraction(2.0 ** (semitones / 12.0)).limit_denominator(256)
    played = resample_poly(audio, ratio.denominator, ratio.numerator, axis=1)
    return np.ascontiguousarray(played, dtype=np.float32)


def tune_kit(kit: DrumKit, key_root: int) -> tuple[DrumKit, dict[str, float]]:
    """The kit with its pitched drums tuned to the key of ``key_root`` (pitch class), and each drum's shift
    in semitones (the median over its layers, for the remix report)."""
    roles = dict(kit.roles)
    shifts: dict[str, float] = {}
    for role, band in PITCHED_BANDS.items():
        layers = kit.roles.get(role)
        if not layers:
            continue
        moved: list[DrumLayer] = []
        applied: list[float] = []
        for layer in layers:
            shift = tuning_shift(body_pitch(layer.audio, band), key_root)
            applied.append(shift)
            moved.append(replace(layer, audio=_shifted(layer.audio, shift)) if abs(shift) > 0.05 else layer)
        roles[role] = tuple(moved)
        shifts[role] = round(float(np.median(applied)), 2)
    return replace(kit, roles=roles), shifts


def damp_kick(kit: DrumKit, hold_s: float, release_s: float) -> DrumKit:
    """The kit with every kick layer at full level for ``hold_s`` seconds, then fading linearly to silence at
    ``release_s``; the other drums as they are (the same arrays)."""
    layers = kit.roles.get("kick")
    if not layers:
        return kit
    damped = []
    for layer in layers:
        t = np.arange(layer.audio.shape[1], dtype=np.float64) / SAMPLE_RATE
        envelope = np.clip((release_s - t) / (release_s - hold_s), 0.0, 1.0).astype(np.float32)
        stop = min(layer.audio.shape[1], int(np.ceil(release_s * SAMPLE_RATE)) + 1)
        audio = np.ascontiguousarray(layer.audio[:, :stop] * envelope[None, :stop])
        damped.append(replace(layer, audio=audio))
    return replace(kit, roles={**kit.roles, "kick": tuple(damped)})


TUNED_KITS_KEPT = 4  # tuned kits a process keeps: a re-style plays the same song, so the same key, again
_tuned: OrderedDict[tuple[int, int], tuple[DrumKit, DrumKit, dict[str, float]]] = OrderedDict()
_tuned_lock = threading.Lock()


def tuned_kit(kit: DrumKit, key_root: int) -> tuple[DrumKit, dict[str, float]]:
    """``tune_kit(kit, key_root)``, made once per kit and key in a process (0.13 s of resampling per play).

    Kits are immutable and loaded once per process (``assets.load_kit``), so the same kit object in the
    same key gets the same tuned kit; the cache holds the kit itself, so its ``id`` is not reused while
    cached. The shifts are a fresh dict each call (the caller puts them in its report).
    """
    key = (id(kit), key_root)
    with _tuned_lock:
        hit = _tuned.get(key)
        if hit is not None and hit[0] is kit:
            _tuned.move_to_end(key)
            return hit[1], dict(hit[2])
    tuned, shifts = tune_kit(kit, key_root)
    with _tuned_lock:
        _tuned[key] = (kit, tuned, shifts)
        while len(_tuned) > TUNED_KITS_KEPT:
            _tuned.popitem(last=False)
    return tuned, dict(shifts)
