"""Packs: one default per kind, a version that moves with every change, files that follow their rows."""

from __future__ import annotations

import pytest
from django.db import IntegrityError, transaction

from assets_bank.models import Kind, Pack
from assets_bank.services import add_asset, create_pack, delete_asset, make_default, set_active
from assets_bank.tests.conftest import audio_bytes, tone_burst
from assets_bank.validators import AssetRejected

pytestmark = pytest.mark.django_db


@pytest.fixture
def kit(make_file):  # type: ignore[no-untyped-def]
    pack = create_pack("Tone kit", Kind.DRUMS)
    for i, role in enumerate(("kick", "snare", "hihat-closed")):
        path = make_file(f"{role}.wav", audio_bytes(tone_burst(100 + 50 * i)))
        add_asset(pack, path, filename=path.name, role=role)
    pack.refresh_from_db()
    return pack


def test_only_one_default_pack_per_kind_is_possible(kit):
    other = create_pack("Other kit", Kind.DRUMS)
    kit.make_default()
    with pytest.raises(IntegrityError), transaction.atomic():
        Pack.objects.filter(pk=other.pk).update(is_default=True)
    other.make_default()
    kit.refresh_from_db()
    assert not kit.is_default and Pack.objects.default_for(Kind.DRUMS) == other


def test_version_moves_with_every_change_to_the_pack_or_its_assets(kit, make_file):
    start = kit.version
    kit.licence = "CC0"
    kit.save()
    assert kit.version == start + 1
    path = make_file("ride.wav", audio_bytes(tone_burst(3000)))
    ride = add_asset(kit, path, filename="ride.wav", role="ride")
    kit.refresh_from_db()
    assert kit.version == start + 2
    delete_asset(ride)
    kit.refresh_from_db()
    assert kit.version == start + 3


def test_files_are_stored_under_the_pack_and_removed_with_the_asset(kit, django_capture_on_commit_callbacks):
    asset = kit.assets.get(role="snare")
    storage, name = asset.file.storage, asset.file.name
    assert name.startswith(f"assets/{kit.slug}/") and name.endswith("snare.wav")
    assert storage.exists(name)
    with django_capture_on_commit_callbacks(execute=True):
        delete_asset(asset)
    assert not storage.exists(name)


def test_default_pack_keeps_the_roles_the_pipeline_needs(kit):
    make_default(kit)
    with pytest.raises(AssetRejected) as info:
        delete_asset(kit.assets.get(role="kick"))
    assert info.value.code == "required_role" and "kick" in info.value.message
    with pytest.raises(AssetRejected):
        set_active(kit, False)


def test_a_pack_without_the_required_roles_cannot_become_default():
    empty = create_pack("Empty kit", Kind.DRUMS)
    with pytest.raises(AssetRejected, match="kick"):
        make_default(empty)


def test_deleting_a_pack_removes_its_files_from_storage(kit, django_capture_on_commit_callbacks):
    names = [a.file.name for a in kit.assets.all()]
    storage = kit.assets.first().file.storage
    assert names and all(storage.exists(n) for n in names)
    with django_capture_on_commit_callbacks(execute=True):
        kit.delete()
    assert not any(storage.exists(n) for n in names)
