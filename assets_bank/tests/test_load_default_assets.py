"""``manage.py load_default_assets`` puts the repo's default content into the bank, once."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from assets_bank.models import Asset, Kind, Pack
from pipeline.asset_layout import DEFAULT_GUITAR, DEFAULT_IR, DEFAULT_KIT, DRUM_ROLES

pytestmark = pytest.mark.django_db


def run_command() -> str:
    out = io.StringIO()
    call_command("load_default_assets", stdout=out)
    return out.getvalue()


def test_loads_the_default_kit_and_irs_as_default_packs():
    output = run_command()
    kit = Pack.objects.get(slug=DEFAULT_KIT)
    manifest = json.loads(
        (Path(settings.METALIZER_ASSETS_DIR) / "drums" / DEFAULT_KIT / "kit.json").read_text()
    )
    layers = sum(len(v) for v in manifest["roles"].values())
    assert kit.is_default and kit.active and kit.kind == Kind.DRUMS
    assert kit.assets.count() == layers
    assert set(kit.assets.values_list("role", flat=True)) == set(DRUM_ROLES)
    assert "GPL" in kit.licence
    kick = kit.assets.filter(role="kick").order_by("velocity_min")
    assert kick.count() >= 3 and kick.first().velocity_min == 0.0 and kick.last().velocity_max == 1.0
    assert all(a.sample_rate == 44100 and a.duration > 0 and len(a.sha256) == 64 for a in kick)
    irs = Pack.objects.get(kind=Kind.IMPULSE_RESPONSE, is_default=True)
    first_ir = irs.assets.order_by("position").first()
    assert first_ir.name == DEFAULT_IR and first_ir.role == "ir"
    guitar = Pack.objects.get(slug=DEFAULT_GUITAR)
    assert guitar.is_default and guitar.kind == Kind.GUITAR and "MIT" in guitar.licence
    roles = set(guitar.assets.values_list("role", flat=True))
    assert {"E2", "E2-palm-mute", "C4"} <= roles and len(roles) == guitar.assets.count()
    midi = Asset.objects.filter(pack__kind=Kind.MIDI).count()
    loaded = kit.assets.count() + irs.assets.count() + guitar.assets.count() + midi
    assert f"{loaded} new asset(s) loaded" in output


def test_running_it_again_adds_nothing():
    run_command()
    before = (
        Asset.objects.count(),
        Pack.objects.count(),
        list(Pack.objects.values_list("version", flat=True)),
    )
    output = run_command()
    after = (
        Asset.objects.count(),
        Pack.objects.count(),
        list(Pack.objects.values_list("version", flat=True)),
    )
    assert before == after
    assert f"0 new asset(s) loaded, {before[0]} already in the bank" in output


def test_a_default_chosen_by_staff_is_kept(staff_user):
    from assets_bank.services import create_pack

    run_command()
    mine = create_pack("My kit", Kind.DRUMS, user=staff_user)
    for role in ("kick", "snare", "hihat-closed"):
        asset = Pack.objects.get(slug=DEFAULT_KIT).assets.filter(role=role).first()
        asset.pack = mine
        asset.save()
    mine.make_default()
    run_command()
    assert Pack.objects.get(kind=Kind.DRUMS, is_default=True) == mine
    assert Asset.objects.filter(pack__slug=DEFAULT_KIT, role="kick").exists()


def test_loads_midi_seeds_per_style_when_present(tmp_path, settings):
    from assets_bank.tests.conftest import midi_bytes

    root = tmp_path / "assets"
    (root / "drums").mkdir(parents=True)
    (root / "midi" / "thrash").mkdir(parents=True)
    (root / "midi" / "thrash" / "riff-1.mid").write_bytes(midi_bytes([40, 41]))
    (root / "midi" / "thrash" / "groove-1.mid").write_bytes(midi_bytes([36, 38], beats=8))
    settings.METALIZER_ASSETS_DIR = root
    run_command()
    pack = Pack.objects.get(kind=Kind.MIDI)
    assert pack.style_tags == ["thrash"]
    assert sorted(pack.assets.values_list("role", flat=True)) == ["groove", "riff"]
    groove = pack.assets.get(role="groove")
    assert (groove.bars, groove.tempo, groove.time_signature) == (2.0, 140.0, "4/4")


def test_loads_the_shipped_midi_pack_as_one_pack_per_style_with_riffs_motifs_and_grooves():
    from pipeline import STYLES

    run_command()
    packs = Pack.objects.filter(kind=Kind.MIDI).order_by("slug")
    assert [p.slug for p in packs] == sorted(f"midi-{style}" for style in STYLES)
    for pack in packs:
        assert pack.active and pack.licence.strip() and pack.style_tags == [pack.slug.removeprefix("midi-")]
        roles = sorted(pack.assets.values_list("role", flat=True))
        assert roles == ["groove", "motif", "riff", "riff"]
        for asset in pack.assets.all():
            assert (asset.bars, asset.time_signature, asset.format) == (2.0, "4/4", "midi")
            assert asset.tempo > 0 and asset.note_min is not None and asset.note_min <= asset.note_max
        groove = pack.assets.get(role="groove")
        assert groove.note_min == 36  # GM kick
    assert Pack.objects.get(kind=Kind.MIDI, is_default=True).slug == "midi-heavy"


def test_a_defaults_json_naming_another_kit_makes_that_kit_the_default_pack(tmp_path, settings):
    import shutil

    root = tmp_path / "assets"
    shipped = Path(settings.METALIZER_ASSETS_DIR)
    shutil.copytree(shipped / "drums" / DEFAULT_KIT, root / "drums" / "house-kit")
    shutil.copytree(shipped / "ir", root / "ir")
    (root / "defaults.json").write_text(json.dumps({"drums": "house-kit", "ir": "evh-5150-iii"}))
    settings.METALIZER_ASSETS_DIR = root
    run_command()
    assert Pack.objects.get(kind=Kind.DRUMS, is_default=True).slug == "house-kit"
    irs = Pack.objects.get(kind=Kind.IMPULSE_RESPONSE, is_default=True)
    assert irs.assets.order_by("position").first().name == "evh-5150-iii"


def test_refuses_a_missing_folder(tmp_path, settings):
    from django.core.management.base import CommandError

    settings.METALIZER_ASSETS_DIR = tmp_path / "nowhere"
    with pytest.raises(CommandError, match="METALIZER_ASSETS_DIR"):
        run_command()


def test_manage_py_runs_the_asset_bank_command():
    from django.core.management import get_commands

    assert get_commands()["load_default_assets"] == "assets_bank"


def test_fails_when_the_folder_is_missing(settings, tmp_path):
    settings.METALIZER_ASSETS_DIR = tmp_path / "nowhere"
    with pytest.raises(CommandError, match="METALIZER_ASSETS_DIR"):
        call_command("load_default_assets")
