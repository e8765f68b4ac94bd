"""The bank written in the pipeline's layout: the pipeline's own loaders read it, a snapshot records it."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings

from assets_bank.materialize import materialize, materialize_cached
from assets_bank.models import Kind
from assets_bank.services import add_asset, create_pack, make_default, set_active
from assets_bank.tests.conftest import audio_bytes, midi_bytes, tone_burst
from pipeline.arrange.seeds import load_riff_seeds
from pipeline.asset_layout import DEFAULT_GUITAR, DEFAULT_IR, DEFAULT_KIT, DRUM_ROLES, default_names
from pipeline.assets import load_guitar, load_ir, load_kit, midi_seeds

pytestmark = pytest.mark.django_db


@pytest.fixture
def tone_kit(make_file, default_bank):  # type: ignore[no-untyped-def]
    pack = create_pack("Tone kit", Kind.DRUMS, licence="CC0 test tones")
    for i, role in enumerate(("kick", "snare", "hihat-closed")):
        path = make_file(f"{role}.wav", audio_bytes(tone_burst(700 + 100 * i, 0.3)))
        add_asset(pack, path, filename=path.name, role=role)
    pack.refresh_from_db()
    return pack


def test_default_bank_materialises_into_a_kit_and_ir_the_pipeline_loads(tmp_path, default_bank):
    snapshot = materialize(tmp_path / "bank")
    kit = load_kit(tmp_path / "bank", DEFAULT_KIT)
    assert set(kit.roles) >= set(DRUM_ROLES)
    assert len(kit.roles["kick"]) == default_bank[Kind.DRUMS].assets.filter(role="kick").count()
    ir = load_ir(tmp_path / "bank", DEFAULT_IR)
    assert ir.ndim == 1 and np.isclose(np.sum(ir.astype(np.float64) ** 2), 1.0, atol=1e-3)
    ids = {p["id"]: p for p in snapshot["packs"]}
    drums = ids[default_bank[Kind.DRUMS].pk]
    assert drums["version"] == default_bank[Kind.DRUMS].version and drums["folder"] == f"drums/{DEFAULT_KIT}"
    assert {a["sha256"] for a in drums["assets"]} == set(
        default_bank[Kind.DRUMS].assets.values_list("sha256", flat=True)
    )
    assert snapshot["played"]["drums"] == default_bank[Kind.DRUMS].pk
    assert snapshot["played"]["guitar"] == default_bank[Kind.GUITAR].pk
    guitar = load_guitar(tmp_path / "bank")  # the pipeline plays the bank's guitar pack, note for note
    shipped = load_guitar(Path(settings.METALIZER_ASSETS_DIR))
    assert guitar is not None and guitar.folder == DEFAULT_GUITAR and set(guitar.notes) == set(shipped.notes)
    assert snapshot["fallback"] == [] and snapshot["filled_roles"] == {}
    json.dumps(snapshot)  # JSON-able, to be stored on the job


def test_a_partial_default_kit_plays_with_its_own_samples_and_borrows_the_rest(
    tmp_path, tone_kit, default_bank
):
    make_default(tone_kit)
    snapshot = materialize(tmp_path / "bank")
    kit = load_kit(tmp_path / "bank")  # the played (default) kit
    assert kit.name == "Tone kit"
    kick = kit.roles["kick"][0].audio
    spectrum = np.abs(np.fft.rfft(kick[0]))
    assert np.argmax(spectrum) * 44100 / len(kick[0]) == pytest.approx(700, abs=5)
    assert snapshot["played"]["drums"] == tone_kit.pk
    assert snapshot["filled_roles"]["crash"]["pack"] == default_bank[Kind.DRUMS].pk
    assert "kick" not in snapshot["filled_roles"]
    assert (tmp_path / "bank" / "drums" / default_bank[Kind.DRUMS].slug).is_dir()  # the other kit, too


def test_a_default_kit_and_ir_keep_their_own_names_and_defaults_json_picks_them(
    tmp_path, tone_kit, make_file, default_bank
):
    room = create_pack("Small room", Kind.IMPULSE_RESPONSE)
    ir = tone_burst(2000, 0.2, decay_s=0.03)
    add_asset(room, make_file("room.wav", audio_bytes(ir)), filename="room.wav", role="ir")
    make_default(tone_kit)
    make_default(room)
    snapshot = materialize(tmp_path / "bank")
    bank = tmp_path / "bank"
    assert default_names(bank) == ("tone-kit", "room")
    chosen = {"drums": "tone-kit", "ir": "room", "guitar": DEFAULT_GUITAR}
    assert json.loads((bank / "defaults.json").read_text()) == chosen
    folders = {p["id"]: p["folder"] for p in snapshot["packs"]}
    assert folders[tone_kit.pk] == "drums/tone-kit"
    played = load_kit(bank)
    assert played.name == "Tone kit" and played.path.name == "tone-kit"
    # The shipped kit is written under its own slug, untouched, and is not what is played.
    shipped = load_kit(bank, DEFAULT_KIT)
    assert shipped.name != "Tone kit" and len(shipped.roles["kick"]) >= 3
    assert (bank / "ir" / f"{DEFAULT_IR}.wav").is_file() and (bank / "ir" / "room.wav").is_file()
    spectrum = np.abs(np.fft.rfft(load_ir(bank)))
    assert np.argmax(spectrum) * 44100 / len(load_ir(bank)) == pytest.approx(2000, abs=10)


def test_the_shipped_defaults_are_named_when_the_bank_has_its_own_default_pack(tmp_path, default_bank):
    materialize(tmp_path / "bank")
    assert default_names(tmp_path / "bank") == (DEFAULT_KIT, DEFAULT_IR)
    assert json.loads((tmp_path / "bank" / "defaults.json").read_text()) == {
        "drums": DEFAULT_KIT,
        "ir": DEFAULT_IR,
        "guitar": DEFAULT_GUITAR,
    }


def test_inactive_packs_are_left_out(tmp_path, tone_kit):
    set_active(tone_kit, False)
    snapshot = materialize(tmp_path / "bank")
    assert tone_kit.pk not in {p["id"] for p in snapshot["packs"]}
    assert not (tmp_path / "bank" / "drums" / tone_kit.slug).exists()


def test_an_empty_bank_falls_back_to_the_shipped_folder_and_says_so(tmp_path, settings, db):
    snapshot = materialize(tmp_path / "bank", fallback_dir=settings.METALIZER_ASSETS_DIR)
    assert snapshot["packs"] == []
    assert snapshot["fallback"] == [
        f"drums/{DEFAULT_KIT}",
        f"ir/{DEFAULT_IR}.wav",
        f"guitar/{DEFAULT_GUITAR}",
    ]
    assert load_guitar(tmp_path / "bank").folder == DEFAULT_GUITAR
    assert load_kit(tmp_path / "bank", DEFAULT_KIT).roles["kick"]
    assert default_names(tmp_path / "bank") == (DEFAULT_KIT, DEFAULT_IR)


def test_midi_packs_land_in_their_style_folders(tmp_path, make_file, db):
    pack = create_pack("Thrash riffs", Kind.MIDI, style_tags=["thrash"])
    add_asset(pack, make_file("riff-a.mid", midi_bytes([40, 42])), filename="riff-a.mid", role="riff")
    materialize(tmp_path / "bank")
    seeds = midi_seeds(tmp_path / "bank", "thrash")
    assert [p.name for p in seeds] == ["riff--thrash-riffs--riff-a.mid"]
    assert len(load_riff_seeds(seeds)) == 1  # the arranger takes it as a riff seed (by its "riff" prefix)
    assert midi_seeds(tmp_path / "bank", "doom") == []


def test_the_cache_is_reused_until_a_pack_changes(tmp_path, tone_kit, make_file):
    first, snap1 = materialize_cached(tmp_path / "cache")
    again, snap2 = materialize_cached(tmp_path / "cache")
    assert first == again and snap1 == snap2
    add_asset(
        tone_kit, make_file("ride.wav", audio_bytes(tone_burst(5000))), filename="ride.wav", role="ride"
    )
    changed, snap3 = materialize_cached(tmp_path / "cache")
    assert changed != first and snap3["fingerprint"] != snap1["fingerprint"]
    versions = {p["id"]: p["version"] for p in snap3["packs"]}
    tone_kit.refresh_from_db()
    assert versions[tone_kit.pk] == tone_kit.version


def test_a_flac_impulse_response_made_default_is_played_as_wav(tmp_path, make_file, default_bank):
    room = create_pack("Small room", Kind.IMPULSE_RESPONSE)
    ir = tone_burst(2000, 0.2, decay_s=0.03)
    add_asset(room, make_file("room.flac", audio_bytes(ir, fmt="FLAC")), filename="room.flac", role="ir")
    make_default(room)
    snapshot = materialize(tmp_path / "bank")
    played = load_ir(tmp_path / "bank")  # the played (default) IR
    spectrum = np.abs(np.fft.rfft(played))
    assert np.argmax(spectrum) * 44100 / len(played) == pytest.approx(2000, abs=10)
    assert snapshot["played"]["impulse-response"] == room.assets.get().pk
    # The shipped IRs stay available under their own names.
    assert (tmp_path / "bank" / "ir" / "evh-5150-iii.wav").is_file()


def test_guitar_packs_are_written_with_a_sample_index(tmp_path, make_file, db):
    pack = create_pack("Chugs", Kind.GUITAR)
    add_asset(
        pack, make_file("e2.wav", audio_bytes(tone_burst(82.4))), filename="e2.wav", role="E2-palm-mute"
    )
    materialize(tmp_path / "bank")
    index = json.loads((tmp_path / "bank" / "guitar" / "chugs" / "samples.json").read_text())
    assert index["samples"][0]["role"] == "E2-palm-mute" and index["samples"][0]["file"] == "e2.wav"
    assert (tmp_path / "bank" / "guitar" / "chugs" / "e2.wav").is_file()


def test_the_shipped_midi_pack_reaches_the_pipeline_as_seeds_per_style(tmp_path, default_bank):
    materialize(tmp_path / "bank")
    seeds = midi_seeds(tmp_path / "bank", "doom")
    assert [p.name for p in seeds] == [
        "groove--midi-doom--groove-1.mid",
        "motif--midi-doom--motif-1.mid",
        "riff--midi-doom--riff-1.mid",
        "riff--midi-doom--riff-2.mid",
    ]
    shipped = load_riff_seeds(midi_seeds(Path(settings.METALIZER_ASSETS_DIR), "doom"))
    assert load_riff_seeds(seeds) == shipped and len(shipped) == 2  # the same riffs the CLI plays
    assert midi_seeds(tmp_path / "bank", "heavy") and midi_seeds(tmp_path / "bank", "black")
