"""The asset folder's layout, defined once: ``pipeline.assets`` reads it, the Django asset bank writes it
(``assets_bank.layout``) and loads the shipped folder from it (``assets_bank.defaults``). Names and paths
only: nothing here decodes audio, so reading it is cheap.

Layout::

    assets/
      drums/<kit>/kit.json      {"name", "author", "licence", "source", "sample_rate",
                                 "roles": {"<role>": [{"file": "kick-0.flac", "min": 0.0, "max": 0.2,
                                                       "gain": 1.0}, ...]}}
      drums/<kit>/LICENSE       licence and credit text, kept beside the samples
      drums/<kit>/*.flac|*.wav  one file per velocity layer; layers sharing the same (min, max) range are
                                round-robin alternatives
      ir/<name>.wav             mono cabinet impulse response, 44.1 kHz (irs.json: where each came from)
      ir/bass/<name>.wav        the bass guitar's cabinet (BASS_CAB; where a folder has none, the shipped one)
      ir/LICENSE
      midi/<style>/*.mid        riff / motif / groove seeds for a style (role from the file-name prefix)
      guitar/<pack>/samples.json  {"name", "samples": [{"file": "E2-palm-mute.flac", "role": "E2-palm-mute"},
                                 ...]}: one DI note per file, role = note name, "-palm-mute" for a chug
      defaults.json             {"drums": "<kit folder>", "ir": "<ir name>", "guitar": "<guitar folder>"}:
                                what is played by default; any key may be left out (then DEFAULT_KIT /
                                DEFAULT_IR / DEFAULT_GUITAR)

Roles a kit should provide: DRUM_ROLES. Velocities are 0..1. ``gain`` restores the layer's recorded level
(files are peak-normalised).
"""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

DRUMS_DIR, IR_DIR, GUITAR_DIR, MIDI_DIR = "drums", "ir", "guitar", "midi"
KIT_MANIFEST = "kit.json"
GUITAR_MANIFEST = "samples.json"
IR_INDEX = "irs.json"  # where each impulse response came from
LICENCE_FILE = "LICENSE"
DEFAULTS_FILE = "defaults.json"
IR_SUFFIX = ".wav"
MIDI_SUFFIX = ".mid"
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
DEFAULT_GUITAR = "fluid-r3"
BASS_CAB = "ampeg"
BASS_CAB_DIR = "bass"  # inside IR_DIR: not one of the guitar cabinets list_irs offers
NOTE_ROLE = re.compile(
    r"^(?P<name>[A-G])(?P<accidental>#|b)?(?P<octave>-?\d)(?:-(?P<articulation>[a-z-]+))?$"
)
NOTE_CLASS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def kit_dir(root: Path, name: str) -> Path:
    return Path(root) / DRUMS_DIR / name


def ir_path(root: Path, name: str) -> Path:
    return Path(root) / IR_DIR / f"{name}{IR_SUFFIX}"


def bass_cab_path(root: Path, name: str = BASS_CAB) -> Path:
    return Path(root) / IR_DIR / BASS_CAB_DIR / f"{name}{IR_SUFFIX}"


def guitar_dir(root: Path, name: str) -> Path:
    return Path(root) / GUITAR_DIR / name


def midi_dir(root: Path, style: str) -> Path:
    return Path(root) / MIDI_DIR / style


def kit_layer(file: str, vel_min: float = 0.0, vel_max: float = 1.0, gain: float = 1.0) -> dict[str, Any]:
    """One velocity layer of a role in ``kit.json``."""
    return {"file": file, "min": vel_min, "max": vel_max, "gain": gain}


def list_kits(assets_dir: Path) -> list[str]:
    return sorted(p.parent.name for p in (Path(assets_dir) / DRUMS_DIR).glob(f"*/{KIT_MANIFEST}"))


def list_irs(assets_dir: Path) -> list[str]:
    return sorted(p.stem for p in (Path(assets_dir) / IR_DIR).glob(f"*{IR_SUFFIX}"))


def list_guitars(assets_dir: Path) -> list[str]:
    return sorted(p.parent.name for p in (Path(assets_dir) / GUITAR_DIR).glob(f"*/{GUITAR_MANIFEST}"))


def default_names(assets_dir: Path) -> tuple[str, str]:
    """(kit folder, IR name) played by default: from ``defaults.json``, else DEFAULT_KIT / DEFAULT_IR.

    A malformed ``defaults.json``, or a name in it that would leave the folder, is ignored (and logged): the
    shipped names are used instead, never a path outside the folder.
    """
    path = Path(assets_dir) / DEFAULTS_FILE
    if not path.is_file():
        return DEFAULT_KIT, DEFAULT_IR
    try:
        chosen = json.loads(path.read_text())
    except (OSError, ValueError):
        chosen = None
    if not isinstance(chosen, dict):
        logger.warning("%s in %s is malformed; the shipped defaults are played", DEFAULTS_FILE, assets_dir)
        return DEFAULT_KIT, DEFAULT_IR
    kit, ir = chosen.get("drums") or DEFAULT_KIT, chosen.get("ir") or DEFAULT_IR
    return _safe_name(kit, DEFAULT_KIT, assets_dir), _safe_name(ir, DEFAULT_IR, assets_dir)


def _safe_name(value: object, default: str, assets_dir: Path) -> str:
    if isinstance(value, str) and value and not value.startswith(".") and not {"/", "\\"} & set(value):
        return value
    logger.warning("%s in %s names an invalid asset %r; %s plays", DEFAULTS_FILE, assets_dir, value, default)
    return default


def default_guitar(assets_dir: Path) -> str | None:
    """The guitar folder played: ``defaults.json``'s "guitar", else DEFAULT_GUITAR, else the only one."""
    path = Path(assets_dir) / DEFAULTS_FILE
    if path.is_file():
        try:
            named = json.loads(path.read_text()).get("guitar")
        except (ValueError, AttributeError):
            named = None  # default_names reports a malformed defaults.json
        if isinstance(named, str) and "/" not in named and not named.startswith("."):
            return named
    folders = list_guitars(assets_dir)
    return DEFAULT_GUITAR if DEFAULT_GUITAR in folders else (folders[0] if folders else None)


def note_role_pitch(role: str) -> tuple[int, bool] | None:
    """("E2" -> (40, False), "E2-palm-mute" -> (40, True)); None for a role that is not a plain/muted note."""
    m = NOTE_ROLE.match(role)
    if not m or m["articulation"] not in (None, "palm-mute"):
        return None
    shift = {"#": 1, "b": -1}.get(m["accidental"] or "", 0)
    return NOTE_CLASS[m["name"]] + shift + 12 * (int(m["octave"]) + 1), m["articulation"] == "palm-mute"
