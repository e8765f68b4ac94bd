"""The asset directory: the shipped kit and IRs load; the strict readers say clearly what is broken, and the
loaders the remix uses fall back to the shipped packs, so no folder can stop a remix."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from pipeline.asset_layout import (
    BASS_CAB,
    BASS_CAB_DIR,
    DEFAULT_GUITAR,
    DEFAULT_IR,
    DEFAULT_KIT,
    DRUM_ROLES,
    bass_cab_path,
    default_guitar,
    default_names,
    list_irs,
    list_kits,
    note_role_pitch,
)
from pipeline.assets import (
    PAIR_IR,
    load_band,
    load_bass_cab,
    load_guitar,
    load_ir,
    load_kit,
    load_pair_ir,
    midi_seeds,
    read_guitar,
    read_ir,
    read_kit,
)
from pipeline.errors import ASSETS_MISSING, PipelineError

ASSETS = Path(__file__).resolve().parents[2] / "assets"


def test_shipped_kit_and_irs_load_with_their_licences():
    assert DEFAULT_KIT in list_kits(ASSETS) and DEFAULT_IR in list_irs(ASSETS)
    kit = load_kit(ASSETS)
    assert set(DRUM_ROLES) <= set(kit.roles) and kit.licence.startswith("GPL")
    assert (ASSETS / "drums" / DEFAULT_KIT / "LICENSE").read_text().strip()
    assert (ASSETS / "ir" / "LICENSE").read_text().strip()
    ir = load_ir(ASSETS)
    assert ir.ndim == 1 and ir.dtype == np.float32 and np.sum(ir**2) == pytest.approx(1.0, rel=1e-3)


def test_velocity_picks_the_matching_layer():
    kit = load_kit(ASSETS)
    layers = kit.roles["kick"]
    assert kit.layers_for("kick", 0.05)[0] is layers[0]
    assert kit.layers_for("kick", 1.0)[0] is layers[-1]


def test_asset_bank_layout_with_a_wav_kit_at_another_rate_loads(tmp_path):
    kit_dir = tmp_path / "drums" / "mine"
    kit_dir.mkdir(parents=True)
    roles = {}
    for role in DRUM_ROLES:
        sf.write(kit_dir / f"{role}.wav", np.linspace(1, 0, 4800), 48000)  # mono, 48 kHz
        roles[role] = [{"file": f"{role}.wav", "min": 0.0, "max": 1.0}]
    (kit_dir / "kit.json").write_text(json.dumps({"name": "Mine", "roles": roles}))
    kit = load_kit(tmp_path, "mine")
    audio = kit.roles["snare"][0].audio
    assert audio.shape == (2, 4410) and kit.roles["snare"][0].gain == 1.0


def test_missing_kit_role_file_or_ir_raise_assets_missing_in_the_strict_readers(tmp_path):
    with pytest.raises(PipelineError) as err:
        read_kit(tmp_path, "nope")
    assert err.value.code == ASSETS_MISSING
    kit_dir = tmp_path / "drums" / "half"
    kit_dir.mkdir(parents=True)
    (kit_dir / "kit.json").write_text(json.dumps({"roles": {"kick": [{"file": "kick.wav"}]}}))
    with pytest.raises(PipelineError, match="lacks"):
        read_kit(tmp_path, "half")
    with pytest.raises(PipelineError) as err:
        read_ir(tmp_path, "nope")
    assert err.value.code == ASSETS_MISSING


def _broken_kits(root: Path) -> list[str]:
    """Kit folders broken in every way a layout can be: each name is one way."""
    full = {role: [{"file": f"{role}.wav"}] for role in DRUM_ROLES}
    kits = {
        "no-manifest": None,
        "not-json": "{roles",
        "roles-not-a-map": json.dumps({"roles": ["kick"]}),
        "layer-not-a-map": json.dumps({"roles": {**full, "kick": ["kick.wav"]}}),
        "lacks-roles": json.dumps({"roles": {"kick": [{"file": "kick.wav"}]}}),
        "file-missing": json.dumps({"roles": full}),
        "outside-the-folder": json.dumps({"roles": {**full, "kick": [{"file": "../../defaults.json"}]}}),
        "does-not-decode": json.dumps({"roles": full}),
        "zero-frames": json.dumps({"roles": full}),
    }
    for name, manifest in kits.items():
        folder = root / "drums" / name
        folder.mkdir(parents=True)
        if manifest is not None:
            (folder / "kit.json").write_text(manifest)
        if name in ("does-not-decode", "zero-frames", "outside-the-folder"):
            for role in DRUM_ROLES:
                sf.write(folder / f"{role}.wav", np.linspace(1, 0, 441), 44100)
    (root / "drums" / "does-not-decode" / "snare.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk")
    sf.write(root / "drums" / "zero-frames" / "snare.wav", np.zeros((0, 1)), 44100)
    return list(kits)


def test_every_broken_kit_falls_back_to_the_shipped_kit_when_played(tmp_path):
    shipped = load_kit(ASSETS)
    for name in _broken_kits(tmp_path):
        with pytest.raises(PipelineError) as err:
            read_kit(tmp_path, name)
        assert err.value.code == ASSETS_MISSING, name
        kit = load_kit(tmp_path, name)
        assert kit.path == shipped.path and set(kit.roles) >= set(DRUM_ROLES), name


def test_a_broken_defaults_json_or_ir_falls_back_to_the_shipped_ir(tmp_path):
    (tmp_path / "ir").mkdir()
    sf.write(tmp_path / "ir" / "silent.wav", np.zeros(441), 44100)
    (tmp_path / "ir" / "junk.wav").write_bytes(b"not a wav at all")
    shipped = load_ir(ASSETS)
    for name in ("silent", "junk", "absent"):
        with pytest.raises(PipelineError):
            read_ir(tmp_path, name)
        assert np.array_equal(load_ir(tmp_path, name), shipped), name
    assert load_pair_ir(tmp_path, DEFAULT_IR) is None
    (tmp_path / "ir" / f"{PAIR_IR}.wav").write_bytes(b"junk")
    assert load_pair_ir(tmp_path, DEFAULT_IR) is None  # a broken second cabinet: both guitars share one


def test_midi_seeds_that_do_not_parse_are_left_out(tmp_path):
    import mido

    folder = tmp_path / "midi" / "heavy"
    folder.mkdir(parents=True)
    (folder / "riff-broken.mid").write_bytes(b"MThd\x00\x00\x00\x06junk")
    midi = mido.MidiFile()
    midi.tracks.append(mido.MidiTrack([mido.Message("note_on", note=40, velocity=100, time=0)]))
    midi.save(str(folder / "riff-good.mid"))
    assert [p.name for p in midi_seeds(tmp_path, "heavy")] == ["riff-good.mid"]


def test_a_layout_broken_in_every_way_still_plays_a_remix(tmp_path):
    from pipeline.play import play
    from pipeline.testing.synth import make_song
    from pipeline.tests.play_helpers import analysis_from_song, stems_from_song
    from pipeline.types import RemixOptions

    root = tmp_path / "assets"
    _broken_kits(root)
    _guitar_pack(root, "broken-guitar", ["E2"])
    (root / "guitar" / "broken-guitar" / "E2.wav").write_bytes(b"junk")
    (root / "ir").mkdir()
    (root / "ir" / "junk.wav").write_bytes(b"junk")
    (root / "midi" / "heavy").mkdir(parents=True)
    (root / "midi" / "heavy" / "riff-broken.mid").write_bytes(b"MThd junk")
    (root / "defaults.json").write_text(
        json.dumps({"drums": "does-not-decode", "ir": "junk", "guitar": "broken-guitar"})
    )
    song = make_song(tempo=120.0, key="E", scale="minor", bars=2, sections=1, with_vocals=False, seed=3)
    perf = play(
        *stems_from_song(song),
        analysis_from_song(song),
        RemixOptions(style="heavy", seed=1),
        assets_dir=root,
        out_dir=tmp_path / "out",
    )
    assert perf.facts["kit"] == load_kit(ASSETS).name
    assert perf.facts["guitar_di"] == f"guitar/{DEFAULT_GUITAR}"
    assert perf.mix.shape[1] == stems_from_song(song)[0].shape[1] and np.abs(perf.mix).max() > 0.01


def test_a_kit_rewritten_in_place_is_read_again(tmp_path):
    shutil.copytree(ASSETS / "drums" / DEFAULT_KIT, tmp_path / "drums" / DEFAULT_KIT)
    first = load_kit(tmp_path)
    manifest = tmp_path / "drums" / DEFAULT_KIT / "kit.json"
    data = json.loads(manifest.read_text())
    data["name"] = "Rewritten"
    manifest.write_text(json.dumps(data))
    stat = manifest.stat()
    os.utime(manifest, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    assert load_kit(tmp_path).name == "Rewritten" != first.name


def test_without_defaults_json_the_shipped_names_are_the_defaults(tmp_path):
    assert default_names(tmp_path) == (DEFAULT_KIT, DEFAULT_IR)
    assert json.loads((ASSETS / "defaults.json").read_text()) == {"drums": DEFAULT_KIT, "ir": DEFAULT_IR}
    assert default_names(ASSETS) == (DEFAULT_KIT, DEFAULT_IR)


def test_defaults_json_naming_something_outside_the_folder_or_malformed_is_ignored(tmp_path):
    for text in ('{"drums": "../elsewhere"}', "not json", '["forzee-stereo"]', '{"drums": 7, "ir": ".x"}'):
        (tmp_path / "defaults.json").write_text(text)
        assert default_names(tmp_path) == (DEFAULT_KIT, DEFAULT_IR), text


def test_the_kit_and_ir_named_in_defaults_json_are_the_ones_played(tmp_path):
    from pipeline.play import play
    from pipeline.testing.synth import make_song
    from pipeline.tests.play_helpers import analysis_from_song, stems_from_song
    from pipeline.types import RemixOptions

    kit_dir = tmp_path / "assets" / "drums" / "house-kit"
    shutil.copytree(ASSETS / "drums" / DEFAULT_KIT, kit_dir)
    manifest = json.loads((kit_dir / "kit.json").read_text())
    manifest["name"] = "House kit"
    (kit_dir / "kit.json").write_text(json.dumps(manifest))
    (tmp_path / "assets" / "ir").mkdir()
    shutil.copy2(ASSETS / "ir" / "evh-5150-iii.wav", tmp_path / "assets" / "ir" / "room.wav")
    (tmp_path / "assets" / "defaults.json").write_text(json.dumps({"drums": "house-kit", "ir": "room"}))
    assert load_kit(tmp_path / "assets").name == "House kit"
    assert np.allclose(load_ir(tmp_path / "assets"), load_ir(ASSETS, "evh-5150-iii"))

    song = make_song(tempo=120.0, key="E", scale="minor", bars=2, sections=1, with_vocals=False, seed=3)
    perf = play(
        *stems_from_song(song),
        analysis_from_song(song),
        RemixOptions(style="heavy", seed=1),
        assets_dir=tmp_path / "assets",
        out_dir=tmp_path / "out",
    )
    assert perf.facts["kit"] == "House kit" and perf.facts["ir"] == "room"
    assert perf.facts["ir_right"] == "room"  # no second cabinet installed: both guitars share the chosen one
    assert perf.facts["packs"] == ["drums/house-kit", "ir/room"]


def test_the_right_guitar_gets_the_second_shipped_cabinet_unless_it_is_the_main_one():
    name, ir = load_pair_ir(ASSETS, DEFAULT_IR)
    assert name == PAIR_IR != DEFAULT_IR
    assert np.allclose(ir, load_ir(ASSETS, PAIR_IR)) and not np.allclose(ir[:512], load_ir(ASSETS)[:512])
    assert load_pair_ir(ASSETS, PAIR_IR) is None


def test_note_roles_name_midi_pitches_and_palm_mutes():
    assert note_role_pitch("E2") == (40, False)
    assert note_role_pitch("E2-palm-mute") == (40, True)
    assert note_role_pitch("F#3") == (54, False) and note_role_pitch("Bb1") == (34, False)
    assert note_role_pitch("E2-bend") is None and note_role_pitch("noise") is None


def test_shipped_guitar_pack_has_open_and_muted_notes_over_the_riff_range():
    pack = load_guitar(ASSETS)
    assert pack is not None and pack.folder == DEFAULT_GUITAR
    assert "MIT" in (ASSETS / "guitar" / DEFAULT_GUITAR / "LICENSE").read_text()
    for mute in (False, True):
        assert {p for p, m in pack.notes if m == mute} >= set(range(36, 61))
    for audio in pack.notes.values():
        assert audio.dtype == np.float32 and np.abs(audio).max() == pytest.approx(1.0, rel=1e-3)
        assert np.abs(audio[:441]).max() > 1e-3  # the note starts at once: no leading silence
    assert pack.nearest(20, True)[0] == 36 and pack.nearest(47, False)[0] == 47


def _guitar_pack(root: Path, folder: str, roles: list[str]) -> None:
    pack = root / "guitar" / folder
    pack.mkdir(parents=True)
    t = np.arange(22050) / 44100.0
    for role in roles:
        sf.write(pack / f"{role}.wav", 0.5 * np.sin(2 * np.pi * 82.41 * t), 44100)
    samples = [{"file": f"{r}.wav", "role": r} for r in roles]
    (pack / "samples.json").write_text(json.dumps({"name": folder.title(), "samples": samples}))


def test_guitar_pack_is_chosen_by_defaults_json_and_absent_packs_mean_none(tmp_path):
    assert load_guitar(tmp_path) is None and default_guitar(tmp_path) is None
    _guitar_pack(tmp_path, "one", ["E2", "E2-palm-mute", "E2-bend"])
    _guitar_pack(tmp_path, "two", ["E2"])
    assert default_guitar(tmp_path) == "one"  # no fluid-r3 here: the first folder
    (tmp_path / "defaults.json").write_text(json.dumps({"guitar": "two"}))
    pack = load_guitar(tmp_path)
    assert pack is not None and pack.name == "Two" and set(pack.notes) == {(40, False)}
    assert set(load_guitar(tmp_path, "one").notes) == {(40, False), (40, True)}  # the bend is not a note


def test_a_guitar_pack_with_a_missing_file_or_bad_manifest_fails_clearly_or_gives_way(tmp_path):
    _guitar_pack(tmp_path, "broken", ["E2"])
    (tmp_path / "guitar" / "broken" / "E2.wav").unlink()
    with pytest.raises(PipelineError, match="missing E2.wav") as err:
        read_guitar(tmp_path, "broken")
    assert err.value.code == ASSETS_MISSING
    assert load_guitar(tmp_path, "broken").folder == DEFAULT_GUITAR  # played: the shipped pack
    for text in ("{not json", '{"samples": ["E2.wav"]}', '{"samples": 3}'):
        (tmp_path / "guitar" / "broken" / "samples.json").write_text(text)
        with pytest.raises(PipelineError, match="malformed"):
            read_guitar(tmp_path, "broken")
        assert load_guitar(tmp_path, "broken").folder == DEFAULT_GUITAR


def test_the_bass_cabinet_is_the_folders_else_the_shipped_one(tmp_path, caplog):
    name, shipped = load_bass_cab(ASSETS)
    assert name == f"{BASS_CAB_DIR}/{BASS_CAB}" and bass_cab_path(ASSETS).is_file()
    assert shipped.ndim == 1 and np.sum(shipped**2) == pytest.approx(1.0, rel=1e-3)
    assert BASS_CAB not in list_irs(ASSETS)  # never offered as a guitar cabinet
    assert np.array_equal(load_bass_cab(tmp_path)[1], shipped)  # a folder without one: the shipped one
    own = np.zeros(256, np.float32)
    own[0], own[40] = 1.0, -0.5
    bass_cab_path(tmp_path).parent.mkdir(parents=True)
    sf.write(bass_cab_path(tmp_path), own, 44100, subtype="FLOAT")
    assert np.allclose(load_bass_cab(tmp_path)[1], own / np.sqrt(1.25), atol=1e-6)  # the folder's own
    bass_cab_path(tmp_path).write_bytes(b"not a wav")
    assert np.array_equal(load_bass_cab(tmp_path)[1], shipped)  # a broken one gives way, with a warning
    assert "bass cabinet" in caplog.text
    assert load_band(ASSETS).facts()["bass_cab"] == name
