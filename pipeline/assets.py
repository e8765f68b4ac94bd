"""Loads the asset directory: drum kits, cabinet impulse responses, guitar DI notes and MIDI riff seeds, laid
out as ``pipeline.asset_layout`` says (the Django asset bank writes the same layout).

No layout can stop a remix: ``load_kit``, ``load_ir`` and ``load_guitar`` fall back to the packs shipped in
``SHIPPED_ASSETS_DIR`` (with a warning in the log) when what a folder names is missing, malformed or does not
decode, and ``midi_seeds`` leaves out files that do not parse. ``read_kit`` and ``read_ir`` are the strict
readers, for callers that want to know what is wrong.

Each file is read within bounds (``read_sample``: length, sample rate, channels; ``seeds.open_seed``: bytes,
events, bars, division), and ``check_bank_file`` loads one file exactly as the band would: the asset bank
runs it on every upload, on every file it writes for a job and in the admin's check.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from pipeline.asset_layout import (
    BASS_CAB,
    BASS_CAB_DIR,
    DRUM_ROLES,
    DRUMS_DIR,
    GUITAR_DIR,
    GUITAR_MANIFEST,
    IR_DIR,
    KIT_MANIFEST,
    MIDI_SUFFIX,
    bass_cab_path,
    default_guitar,
    default_names,
    guitar_dir,
    ir_path,
    kit_dir,
    midi_dir,
    note_role_pitch,
)
from pipeline.audio_io import AudioInfo, decode, write_audio
from pipeline.errors import ASSETS_MISSING, CORRUPT_AUDIO, TOO_LONG, UNSUPPORTED_FORMAT, PipelineError
from pipeline.paths import DEFAULT_ASSETS_DIR
from pipeline.types import SAMPLE_RATE

logger = logging.getLogger(__name__)
T = TypeVar("T")

SHIPPED_ASSETS_DIR = DEFAULT_ASSETS_DIR  # the repo's default packs
# The right rhythm guitar's cabinet when installed: a second, brighter high-gain cab against the main one
# (real doubles use two amps/cabs). When absent, or when it is the main IR, both sides share the main IR.
PAIR_IR = "slayer-christ-illusion"
# What a sample (drum hit, guitar note, impulse response) may be at most: anything longer is not a sample, and
# decoding it would hold a worker's memory for nothing.
MAX_SAMPLE_SECONDS = 60.0
SAMPLE_RATES = (8_000, 384_000)  # the lowest and highest rate a sample may have, in Hz
MAX_SAMPLE_CHANNELS = 8
# The formats the band reads a sample from as it is (``read_sample``: libsndfile). A sample may be anything a
# song may be (``audio_io.ACCEPTED_FORMATS``); one in another format (MP3, M4A, WebM, ...), or one libsndfile
# cannot step through, is decoded once by the song decoder and kept as ``SAMPLE_STORE_FORMAT``
# (``convert_sample``).
PLAYED_SAMPLE_FORMATS: tuple[str, ...] = ("wav", "flac", "aiff", "ogg")
SAMPLE_STORE_FORMAT = "flac"


@dataclass(frozen=True, eq=False)
class DrumLayer:
    audio: np.ndarray  # float32 (2, n) at SAMPLE_RATE, peak-normalised
    vel_min: float
    vel_max: float
    gain: float


@dataclass(frozen=True, eq=False)
class DrumKit:
    name: str
    author: str
    licence: str
    path: Path
    roles: dict[str, tuple[DrumLayer, ...]]

    def layers_for(self, role: str, velocity: float) -> tuple[DrumLayer, ...]:
        """The round-robin group whose velocity range holds ``velocity`` (nearest group if none does)."""
        layers = self.roles[role]
        hits = tuple(
            layer
            for layer in layers
            if layer.vel_min <= velocity <= layer.vel_max or velocity > layer.vel_max == 1.0
        )
        if hits:
            first = hits[0]
            return tuple(h for h in hits if (h.vel_min, h.vel_max) == (first.vel_min, first.vel_max))
        return (min(layers, key=lambda layer: abs((layer.vel_min + layer.vel_max) / 2 - velocity)),)


def read_sample(path: Path) -> np.ndarray:
    """A sample as the band plays it: float32 (2, n) at SAMPLE_RATE. PipelineError (CORRUPT_AUDIO,
    TOO_LONG or UNSUPPORTED_FORMAT) when it does not decode, or lies outside the bounds above."""
    path = Path(path)
    try:
        info = sf.info(str(path))
    except (OSError, RuntimeError, ValueError, TypeError, sf.LibsndfileError) as exc:
        raise PipelineError(CORRUPT_AUDIO, f"{path.name} does not decode as audio.") from exc
    if not SAMPLE_RATES[0] <= info.samplerate <= SAMPLE_RATES[1]:
        raise PipelineError(
            UNSUPPORTED_FORMAT,
            f"{path.name} has a sample rate of {info.samplerate} Hz; samples need "
            f"{SAMPLE_RATES[0]}-{SAMPLE_RATES[1]} Hz.",
        )
    if not 1 <= info.channels <= MAX_SAMPLE_CHANNELS:
        raise PipelineError(
            UNSUPPORTED_FORMAT, f"{path.name} has {info.channels} channels; at most {MAX_SAMPLE_CHANNELS}."
        )
    max_frames = int(MAX_SAMPLE_SECONDS * info.samplerate)
    try:
        # At most one frame past the bound, whatever the header says (a streamed FLAC declares no length).
        data, sr = sf.read(str(path), frames=max_frames + 1, dtype="float32", always_2d=True)
    except (OSError, RuntimeError, ValueError, TypeError, sf.LibsndfileError) as exc:
        raise PipelineError(CORRUPT_AUDIO, f"{path.name} does not decode as audio.") from exc
    if data.shape[0] > max_frames:
        raise PipelineError(TOO_LONG, f"{path.name} lasts over {MAX_SAMPLE_SECONDS:g} s; it is not a sample.")
    if data.shape[0] == 0 or not np.isfinite(data).all():
        raise PipelineError(CORRUPT_AUDIO, f"{path.name} holds no usable sound.")
    return _to_band_format(data, sr)


def _read_audio(path: Path) -> np.ndarray:
    """``read_sample`` for the strict kit, IR and guitar readers: their files missing is ASSETS_MISSING."""
    try:
        return read_sample(path)
    except PipelineError as exc:
        raise PipelineError(ASSETS_MISSING, f"Asset file {exc.message}") from exc


def _to_band_format(data: np.ndarray, sr: int) -> np.ndarray:
    if sr != SAMPLE_RATE:
        from math import gcd

        g = gcd(sr, SAMPLE_RATE)
        data = resample_poly(data, SAMPLE_RATE // g, sr // g, axis=0).astype(np.float32)
    if data.shape[1] == 1:
        data = np.repeat(data, 2, axis=1)
    return np.ascontiguousarray(data[:, :2].T)


def _is_shipped(assets_dir: Path) -> bool:
    return Path(assets_dir).resolve() == SHIPPED_ASSETS_DIR.resolve()


def _warn_fallback(what: str, exc: PipelineError) -> None:
    logger.warning(
        "%s cannot be played (%s); the shipped one from %s plays", what, exc.message, SHIPPED_ASSETS_DIR
    )


def _or_shipped(read: Callable[[Path, str], T], what: str, assets_dir: Path, name: str, shipped: str) -> T:
    """``read(assets_dir, name)``, or the shipped ``shipped`` when that one cannot be played."""
    try:
        return read(assets_dir, name)
    except PipelineError as exc:
        if _is_shipped(assets_dir) and name == shipped:
            raise
        _warn_fallback(what, exc)
        return read(SHIPPED_ASSETS_DIR, shipped)


def load_kit(assets_dir: Path, name: str | None = None) -> DrumKit:
    """The drum kit to play (the folder's default when ``name`` is None); when it is missing, malformed,
    lacks a role or a file does not decode, the shipped default kit (see ``read_kit`` for the strict one)."""
    name = name or default_names(assets_dir)[0]
    return _or_shipped(read_kit, f"Drum kit '{name}'", assets_dir, name, default_names(SHIPPED_ASSETS_DIR)[0])


def read_kit(assets_dir: Path, name: str | None = None) -> DrumKit:
    """Load a drum kit (the default one when ``name`` is None); PipelineError(ASSETS_MISSING) when it, a role
    or a file is missing or unreadable.

    Decoded kits are cached per process, keyed by the manifest's modification time too, so a kit the asset
    bank rewrites in place is read afresh.
    """
    if name is None:
        name = default_names(assets_dir)[0]
    manifest = kit_dir(Path(assets_dir).resolve(), name) / KIT_MANIFEST
    stamp = manifest.stat().st_mtime_ns if manifest.is_file() else 0
    return _load_kit_cached(str(Path(assets_dir).resolve()), name, stamp)


@lru_cache(maxsize=4)
def _load_kit_cached(assets_dir: str, name: str, _stamp: int) -> DrumKit:
    folder = kit_dir(Path(assets_dir), name)
    manifest_path = folder / KIT_MANIFEST
    if not manifest_path.is_file():
        raise PipelineError(ASSETS_MISSING, f"Drum kit '{name}' is not installed ({manifest_path} missing).")
    try:
        manifest = json.loads(manifest_path.read_text())
        role_specs = {str(role): list(specs) for role, specs in manifest["roles"].items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise PipelineError(ASSETS_MISSING, f"Drum kit '{name}' has a malformed kit.json.") from exc
    missing = [role for role in DRUM_ROLES if not role_specs.get(role)]
    if missing:
        raise PipelineError(ASSETS_MISSING, f"Drum kit '{name}' lacks: {', '.join(missing)}.")
    roles: dict[str, tuple[DrumLayer, ...]] = {}
    for role, specs in role_specs.items():
        layers = []
        for spec in specs:
            try:
                file = str(spec["file"])
                vel_min, vel_max = float(spec.get("min", 0.0)), float(spec.get("max", 1.0))
                gain = float(spec.get("gain", 1.0))
            except (KeyError, TypeError, ValueError, AttributeError) as exc:
                raise PipelineError(ASSETS_MISSING, f"Drum kit '{name}' has a malformed layer.") from exc
            path = folder / file
            if not path.resolve().is_relative_to(folder.resolve()) or not path.is_file():
                raise PipelineError(ASSETS_MISSING, f"Drum kit '{name}' is missing {file}.")
            layers.append(DrumLayer(audio=_read_audio(path), vel_min=vel_min, vel_max=vel_max, gain=gain))
        roles[role] = tuple(sorted(layers, key=lambda layer: layer.vel_min))
    return DrumKit(
        name=str(manifest.get("name", name)),
        author=str(manifest.get("author", "")),
        licence=str(manifest.get("licence", "")),
        path=folder,
        roles=roles,
    )


def load_ir(assets_dir: Path, name: str | None = None) -> np.ndarray:
    """The cabinet impulse response to play (the folder's default when ``name`` is None); the shipped
    default IR when that one is missing, unreadable or silent (see ``read_ir`` for the strict one)."""
    name = name or default_names(assets_dir)[1]
    shipped = default_names(SHIPPED_ASSETS_DIR)[1]
    return _or_shipped(read_ir, f"Impulse response '{name}'", assets_dir, name, shipped)


def read_ir(assets_dir: Path, name: str | None = None) -> np.ndarray:
    """A cabinet impulse response (the default one when ``name`` is None) as mono float32 at SAMPLE_RATE,
    normalised to unit energy; PipelineError(ASSETS_MISSING) when it is missing, unreadable or silent."""
    if name is None:
        name = default_names(assets_dir)[1]
    return _read_cabinet(ir_path(assets_dir, name), name)


def _read_cabinet(path: Path, name: str) -> np.ndarray:
    if not path.is_file():
        raise PipelineError(ASSETS_MISSING, f"Cabinet impulse response '{name}' is not installed.")
    ir = _read_audio(path)[0].astype(np.float64)
    energy = float(np.sqrt(np.sum(ir**2)))
    if not energy > 0.0:
        raise PipelineError(ASSETS_MISSING, f"Cabinet impulse response '{name}' is silent.")
    return (ir / energy).astype(np.float32)


def load_bass_cab(assets_dir: Path) -> tuple[str, np.ndarray] | None:
    """(name, IR) of the bass guitar's cabinet: the folder's, else the shipped one; None when neither loads
    (the bass then plays through its own filters, see ``pipeline.render.bass``)."""
    name = f"{BASS_CAB_DIR}/{BASS_CAB}"
    for folder in dict.fromkeys((Path(assets_dir).resolve(), SHIPPED_ASSETS_DIR.resolve())):
        path = bass_cab_path(folder)
        if not path.is_file():
            continue
        try:
            return name, _read_cabinet(path, name)
        except PipelineError as exc:
            logger.warning("the bass cabinet in %s cannot be played (%s)", folder, exc)
    return None


def load_pair_ir(assets_dir: Path, main_ir: str) -> tuple[str, np.ndarray] | None:
    """(name, IR) of the right guitar's second cabinet; None when it is not installed, does not load or is
    the main IR."""
    if main_ir == PAIR_IR or not ir_path(assets_dir, PAIR_IR).is_file():
        return None
    try:
        return PAIR_IR, read_ir(assets_dir, PAIR_IR)
    except PipelineError as exc:
        logger.warning("the second cabinet %s cannot be played (%s); both guitars share one", PAIR_IR, exc)
        return None


@dataclass(frozen=True, eq=False)
class GuitarSamples:
    """Recorded DI notes of a guitar pack: ``notes[(midi pitch, palm-muted)]``, mono float32, peak 1."""

    name: str
    folder: str
    notes: dict[tuple[int, bool], np.ndarray]

    def nearest(self, pitch: int, mute: bool) -> tuple[int, np.ndarray] | None:
        """(sampled pitch, audio) of the closest note of the same articulation; None when it has none."""
        pitches = [p for p, m in self.notes if m == mute]
        if not pitches:
            return None
        best = min(pitches, key=lambda p: (abs(p - pitch), p))
        return best, self.notes[(best, mute)]


def load_guitar(assets_dir: Path, name: str | None = None) -> GuitarSamples | None:
    """The guitar pack's DI notes; None when no pack (or no note in it) is installed, and the rhythm guitars
    then fall back to the Karplus-Strong model. A pack that is there but broken (malformed manifest, a file
    missing or not decoding) gives way to the shipped pack. Cached per process like the kits."""
    try:
        return read_guitar(assets_dir, name)
    except PipelineError as exc:
        if _is_shipped(assets_dir):
            raise
        _warn_fallback(f"Guitar pack '{name or default_guitar(assets_dir)}'", exc)
        return read_guitar(SHIPPED_ASSETS_DIR)


def read_guitar(assets_dir: Path, name: str | None = None) -> GuitarSamples | None:
    """Like ``load_guitar`` without the fallback: PipelineError(ASSETS_MISSING) for a broken pack."""
    name = name or default_guitar(assets_dir)
    if name is None:
        return None
    manifest = guitar_dir(Path(assets_dir).resolve(), name) / GUITAR_MANIFEST
    if not manifest.is_file():
        return None
    return _load_guitar_cached(str(manifest), manifest.stat().st_mtime_ns)


@lru_cache(maxsize=2)
def _load_guitar_cached(manifest: str, _stamp: int) -> GuitarSamples | None:
    folder = Path(manifest).parent
    try:
        spec = json.loads(Path(manifest).read_text())
        entries = list(spec["samples"])
    except (ValueError, KeyError, TypeError) as exc:
        raise PipelineError(
            ASSETS_MISSING, f"Guitar pack '{folder.name}' has a malformed samples.json."
        ) from exc
    notes: dict[tuple[int, bool], np.ndarray] = {}
    for entry in entries:
        if not isinstance(entry, dict):
            raise PipelineError(ASSETS_MISSING, f"Guitar pack '{folder.name}' has a malformed samples.json.")
        key = note_role_pitch(str(entry.get("role", "")))
        if key is None or key in notes:
            continue
        path = folder / str(entry.get("file", ""))
        if not path.resolve().is_relative_to(folder.resolve()) or not path.is_file():
            raise PipelineError(ASSETS_MISSING, f"Guitar pack '{folder.name}' is missing {path.name}.")
        mono = _read_audio(path).mean(axis=0)
        notes[key] = (mono / (np.abs(mono).max() or 1.0)).astype(np.float32)
    if not notes:
        return None
    return GuitarSamples(name=str(spec.get("name", folder.name)), folder=folder.name, notes=notes)


@dataclass(frozen=True, eq=False)
class BandAssets:
    """What the band plays with, each named as the facts of a remix report it."""

    kit_name: str
    kit: DrumKit
    ir_name: str
    ir: np.ndarray  # the main cabinet (both guitars when there is no pair)
    pair: tuple[str, np.ndarray] | None  # the right guitar's own cabinet, when installed
    guitar: GuitarSamples | None  # recorded DI notes; without a pack the strings are modelled
    bass_cab: tuple[str, np.ndarray] | None = None  # the bass guitar's cabinet (load_bass_cab)

    def facts(self) -> dict[str, Any]:
        """Which kit, cabinets and guitar played, and every pack folder they came from."""
        guitar = f"{GUITAR_DIR}/{self.guitar.folder}" if self.guitar else None
        return {
            "kit": self.kit.name,
            "kit_licence": self.kit.licence,
            "ir": self.ir_name,
            "ir_right": self.pair[0] if self.pair else self.ir_name,
            "guitar_di": guitar or "karplus-strong",
            "bass_cab": self.bass_cab[0] if self.bass_cab else None,
            "packs": [
                f"{DRUMS_DIR}/{self.kit_name}",
                f"{IR_DIR}/{self.ir_name}",
                *([f"{IR_DIR}/{self.pair[0]}"] if self.pair else []),
                *([guitar] if guitar else []),
            ],
        }


def load_band(assets_dir: Path) -> BandAssets:
    """The folder's default kit, cabinet (and the right guitar's, when installed), guitar pack and bass
    cabinet, each falling back to the shipped one when it cannot be played."""
    kit_name, ir_name = default_names(assets_dir)
    kit = load_kit(assets_dir, kit_name)
    ir = load_ir(assets_dir, ir_name)
    pair = load_pair_ir(assets_dir, ir_name)
    return BandAssets(kit_name, kit, ir_name, ir, pair, load_guitar(assets_dir), load_bass_cab(assets_dir))


def midi_seeds(assets_dir: Path, style: str) -> list[Path]:
    """MIDI riff/groove seeds shipped for a style (may be empty); files ``seeds.open_seed`` refuses are left
    out."""
    return [p for p in sorted(midi_dir(assets_dir, style).glob(f"*{MIDI_SUFFIX}")) if _opens_as_seed(p)]


def _opens_as_seed(path: Path) -> bool:
    from pipeline.arrange.seeds import open_seed

    try:
        open_seed(path)
    except (PipelineError, OSError) as exc:
        logger.warning("MIDI seed %s cannot be played (%s); it is left out", path, exc)
        return False
    return True


def sample_needs_conversion(info: AudioInfo) -> bool:
    """True when a probed sample is not in a format the band reads as it is (``PLAYED_SAMPLE_FORMATS``)."""
    return info.format not in PLAYED_SAMPLE_FORMATS or info.decoder != "soundfile"


def convert_sample(
    source: Path, dest: Path, *, max_duration_s: float = MAX_SAMPLE_SECONDS, min_duration_s: float = 0.0
) -> Path:
    """Decode ``source`` with the song decoder (``audio_io.decode``: ffmpeg or libsndfile, within the same
    length bounds) and write it at ``dest`` as ``SAMPLE_STORE_FORMAT`` (44.1 kHz; mono when both decoded
    channels are the same). PipelineError when it does not decode or lies outside the bounds."""
    audio = decode(source, min_duration_s=min_duration_s, max_duration_s=max_duration_s)
    if np.array_equal(audio[0], audio[1]):
        audio = audio[:1]
    return write_audio(dest, audio, SAMPLE_STORE_FORMAT)


def check_bank_file(path: Path, *, midi: bool) -> None:
    """Load the file at ``path`` as the band would play it: a MIDI file read as a riff seed
    (``seeds.read_riff``), an audio file decoded as a sample (``read_sample``) and heard (not silent).
    PipelineError, whose message says why, when it cannot be played."""
    if midi:
        from pipeline.arrange.seeds import read_riff

        read_riff(path)
        return
    data = read_sample(path)
    if not np.abs(data).max() > 0.0:
        raise PipelineError(CORRUPT_AUDIO, f"{Path(path).name} is silent.")
