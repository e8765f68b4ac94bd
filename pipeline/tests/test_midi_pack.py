"""assets/build_midi_pack.py: riffs, motifs and grooves per style, deterministic, shipped in assets/midi."""

from __future__ import annotations

import importlib.util
import sys
from functools import cache
from pathlib import Path

import mido
import pytest

from pipeline.assets import midi_seeds
from pipeline.styles import PRESETS

ASSETS = Path(__file__).resolve().parents[2] / "assets"
GM_DRUM_NOTES = {36, 38, 42, 46, 49, 51, 52}
FILES = ("groove-1.mid", "motif-1.mid", "riff-1.mid", "riff-2.mid")


@cache
def _load_script():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("build_midi_pack", ASSETS / "build_midi_pack.py")
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules["build_midi_pack"] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    out = tmp_path_factory.mktemp("midi")
    _load_script().build(out)
    return out


def _facts(path: Path) -> dict:  # type: ignore[type-arg]
    midi = mido.MidiFile(str(path))
    events = [msg for track in midi.tracks for msg in track]
    tempo = next(m for m in events if m.type == "set_tempo")
    ts = next(m for m in events if m.type == "time_signature")
    ticks = max(sum(m.time for m in track) for track in midi.tracks)
    notes = [m for m in events if m.type == "note_on" and m.velocity > 0]
    return {
        "bpm": round(mido.tempo2bpm(tempo.tempo), 3),
        "time_signature": (ts.numerator, ts.denominator),
        "bars": ticks / (midi.ticks_per_beat * ts.numerator * 4 / ts.denominator),
        "pitches": {m.note for m in notes},
        "channels": {m.channel for m in notes},
        "onsets": len(notes),
    }


def test_the_script_writes_the_same_bytes_as_the_shipped_pack(built):
    for style in PRESETS:
        assert sorted(p.name for p in (built / style).glob("*.mid")) == list(FILES)
        for name in FILES:
            assert (built / style / name).read_bytes() == (ASSETS / "midi" / style / name).read_bytes(), (
                f"assets/midi/{style}/{name} is stale: rerun assets/build_midi_pack.py"
            )
        assert (built / style / "LICENSE").read_text().strip()


def test_every_file_is_two_bars_of_4_4_at_the_style_tempo(built):
    for style in PRESETS:
        for name in FILES:
            facts = _facts(built / style / name)
            assert facts["time_signature"] == (4, 4)
            assert facts["bars"] == pytest.approx(2.0)
            assert facts["bpm"] == pytest.approx(PRESETS[style].midi_pack.bpm)
            assert facts["onsets"] >= 8


def test_riffs_sit_on_the_styles_low_string_and_grooves_on_gm_drums(built):
    for style in PRESETS:
        low = PRESETS[style].lowest_string
        for riff in ("riff-1.mid", "riff-2.mid"):
            facts = _facts(built / style / riff)
            assert min(facts["pitches"]) == low and max(facts["pitches"]) <= low + 24
            assert facts["channels"] == {0}
        groove = _facts(built / style / "groove-1.mid")
        assert {36, 38, 49} <= groove["pitches"] <= GM_DRUM_NOTES
        assert groove["channels"] == {9}  # GM percussion channel 10
        motif = mido.MidiFile(str(built / style / "motif-1.mid"))
        sounding = 0
        for msg in motif.tracks[-1]:  # a single line: never two notes at once
            if msg.type == "note_on" and msg.velocity > 0:
                sounding += 1
                assert sounding == 1
            elif msg.type in ("note_off", "note_on"):
                sounding -= 1
        assert min(_facts(built / style / "motif-1.mid")["pitches"]) >= low + 12


def test_pipeline_finds_the_shipped_seeds_for_every_style():
    for style in PRESETS:
        assert [p.name for p in midi_seeds(ASSETS, style)] == list(FILES)
