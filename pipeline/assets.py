"""Loads the asset directory: drum kits, cabinet impulse responses and MIDI riff seeds.

Layout (the Django asset bank writes the same one)::

    assets/
      drums/<kit>/kit.json      {"name", "author", "licence", "source", "sample_rate",
                                 "roles": {"<role>": [{"file": "kick-0.flac", "min": 0.0, "max": 0.2,
                                                       "gain": 1.0}, ...]}}
      drums/<kit>/LICENSE       licence and credit text, kept beside the samples
      drums/<kit>/*.flac|*.wav  one file per velocity layer; layers sharing the same (min, max) range are
                                round-robin alternatives
      ir/<name>.wav             mono cabinet impulse response, 44.1 kHz (irs.json: where each came from)
      ir/LICENSE
      midi/<style>/*.mid        riff / motif / groove seeds for a style (role from the file-name prefix)
      defaults.json             {"drums": "<kit folder>", "ir": "<ir name>"}: what is played by default;
                                either key may be left out (then DEFAULT_KIT / DEFAULT_IR)

Roles a kit should provide: kick, snare, hihat-closed, hihat-open, ride, crash, china, tom-high, tom-mid,
tom-low. Velocities are 0..1. ``gain`` restores the layer's recorded level (files are peak-normalised).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

from pipeline.errors import ASSETS_MISSING, PipelineError
from pipeline.types import SAMPLE_RATE

DRUM_ROLES = (
    "kick",
    "snare",
    "hihat-closed",
    "hihat-open",
    "ride",
    "crash",
    "china",
    "tom-high",
    "tom-mid",
    "tom-low",
)
DEFAULT_KIT = "forzee-stereo"  # used when defaults.json is absent or names no kit
DEFAULT_IR = "cannibal-corpse-vile"
# The right rhythm guitar's cabinet when installed: a second, brighter high-gain cab against the main one
# (real doubles use two amps/cabs). When absent, or when it is the main IR, both sides share the main IR.
PAIR_IR = "slayer-christ-illusion"
DEFAULTS_FILE = "defaults.json"


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


def _read_audio(path: Path) -> np.ndarray:
    try:
        data, sr = sf.read(path, dtype="float32", always_2d=True)
    except (OSError, RuntimeError, sf.LibsndfileError) as exc:
        raise PipelineError(ASSETS_MISSING, f"Asset file {path.name} cannot be read.") from exc
    if sr != SAMPLE_RATE:
        from math import gcd

        g = gcd(sr, SAMPLE_RATE)
        data = resample_poly(data, SAMPLE_RATE // g, sr // g, axis=0).astype(np.float32)
    if data.shape[1] == 1:
        data = np.repeat(data, 2, axis=1)
    return np.ascontiguousarray(data[:, :2].T)


def list_kits(assets_dir: Path) -> list[str]:
    return sorted(p.parent.name for p in (Path(assets_dir) / "drums").glob("*/kit.json"))


def list_irs(assets_dir: Path) -> list[str]:
    return sorted(p.stem for p in (Path(assets_dir) / "ir").glob("*.wav"))


def default_names(assets_dir: Path) -> tuple[str, str]:
    """(kit folder, IR name) played by default: from ``defaults.json``, else DEFAULT_KIT / DEFAULT_IR."""
    path = Path(assets_dir) / DEFAULTS_FILE
    if not path.is_file():
        return DEFAULT_KIT, DEFAULT_IR
    try:
        chosen = json.loads(path.read_text())
    except ValueError as exc:
        raise PipelineError(ASSETS_MISSING, f"{DEFAULTS_FILE} in the asset folder is malformed.") from exc
    if not isinstance(chosen, dict):
        raise PipelineError(ASSETS_MISSING, f"{DEFAULTS_FILE} in the asset folder is not an object.")
    kit, ir = chosen.get("drums") or DEFAULT_KIT, chosen.get("ir") or DEFAULT_IR
    for value in (kit, ir):
        if not isinstance(value, str) or "/" in value or "\\" in value or value.startswith("."):
            raise PipelineError(ASSETS_MISSING, f"{DEFAULTS_FILE} names an invalid asset: {value!r}.")
    return kit, ir


def load_kit(assets_dir: Path, name: str | None = None) -> DrumKit:
    """Load a drum kit (the default one when ``name`` is None); PipelineError(ASSETS_MISSING) when it or a
    role is missing.

    Decoded kits are cached per process, keyed by the manifest's modification time too, so a kit the asset
    bank rewrites in place is read afresh.
    """
    if name is None:
        name = default_names(assets_dir)[0]
    manifest = Path(assets_dir).resolve() / "drums" / name / "kit.json"
    stamp = manifest.stat().st_mtime_ns if manifest.is_file() else 0
    return _load_kit_cached(str(Path(assets_dir).resolve()), name, stamp)


@lru_cache(maxsize=4)
def _load_kit_cached(assets_dir: str, name: str, _stamp: int) -> DrumKit:
    kit_dir = Path(assets_dir) / "drums" / name
    manifest_path = kit_dir / "kit.json"
    if not manifest_path.is_file():
        raise PipelineError(ASSETS_MISSING, f"Drum kit '{name}' is not installed ({manifest_path} missing).")
    try:
        manifest = json.loads(manifest_path.read_text())
        role_specs = manifest["roles"]
    except (ValueError, KeyError) as exc:
        raise PipelineError(ASSETS_MISSING, f"Drum kit '{name}' has a malformed kit.json.") from exc
    missing = [role for role in DRUM_ROLES if not role_specs.get(role)]
    if missing:
        raise PipelineError(ASSETS_MISSING, f"Drum kit '{name}' lacks: {', '.join(missing)}.")
    roles: dict[str, tuple[DrumLayer, ...]] = {}
    for role, specs in role_specs.items():
        layers = []
        for spec in specs:
            path = kit_dir / spec["file"]
            if not path.is_file():
                raise PipelineError(ASSETS_MISSING, f"Drum kit '{name}' is missing {spec['file']}.")
            layers.append(
                DrumLayer(
                    audio=_read_audio(path),
                    vel_min=float(spec.get("min", 0.0)),
                    vel_max=float(spec.get("max", 1.0)),
                    gain=float(spec.get("gain", 1.0)),
                )
            )
        roles[role] = tuple(sorted(layers, key=lambda layer: layer.vel_min))
    return DrumKit(
        name=str(manifest.get("name", name)),
        author=str(manifest.get("author", "")),
        licence=str(manifest.get("licence", "")),
        path=kit_dir,
        roles=roles,
    )


def load_ir(assets_dir: Path, name: str | None = None) -> np.ndarray:
    """A cabinet impulse response (the default one when ``name`` is None) as mono float32 at SAMPLE_RATE,
    normalised to unit energy."""
    if name is None:
        name = default_names(assets_dir)[1]
    path = Path(assets_dir) / "ir" / f"{name}.wav"
    if not path.is_file():
        raise PipelineError(ASSETS_MISSING, f"Cabinet impulse response '{name}' is not installed.")
    ir = _read_audio(path)[0].astype(np.float64)
    ir /= np.sqrt(np.sum(ir**2)) or 1.0
    return ir.astype(np.float32)


def load_pair_ir(assets_dir: Path, main_ir: str) -> tuple[str, np.ndarray] | None:
    """(name, IR) of the right guitar's second cabinet; None when it is not installed or is the main IR."""
    if main_ir == PAIR_IR or not (Path(assets_dir) / "ir" / f"{PAIR_IR}.wav").is_file():
        return None
    return PAIR_IR, load_ir(assets_dir, PAIR_IR)


def midi_seeds(assets_dir: Path, style: str) -> list[Path]:
    """MIDI riff/groove seeds shipped for a style (may be empty)."""
    return sorted((Path(assets_dir) / "midi" / style).glob("*.mid"))
