"""The seed Metalizer API's asset calls (issue 27): the two lists and the category upload, with the key in
X-Metalizer-Key or X-API-Key."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client

from assets_bank.api.seed_contract import UPLOAD_PACK_NAME, role_from_name
from assets_bank.models import Asset, Kind, Pack
from assets_bank.tests.conftest import audio_bytes, tone_burst, upload

pytestmark = pytest.mark.django_db

KEY = "k3y-for-seed-clients-0123456789"


@pytest.fixture(params=["HTTP_X_METALIZER_KEY", "HTTP_X_API_KEY"])
def seed_client(request, settings) -> Client:  # type: ignore[no-untyped-def]
    settings.METALIZER_ASSETS_API_KEY = KEY
    return Client(**{request.param: KEY})


def send(client: Client, query: str, name: str, data: bytes):  # type: ignore[no-untyped-def]
    return client.post(f"/api/assets/upload?{query}", {"file": upload(name, data)})


def test_the_listing_carries_the_drum_and_guitar_file_names(seed_client, default_bank):
    body = seed_client.get("/api/assets").json()
    kit = default_bank[Kind.DRUMS].assets.all()
    drums = {f"{a.name}{Path(a.file.name).suffix}" for a in kit}
    assert set(body["drums"]) == drums and body["drums"] == sorted(body["drums"])
    guitars = Asset.objects.filter(pack__kind=Kind.GUITAR, pack__active=True).count()
    assert len(body["guitars"]) == guitars
    assert body["count"] == Asset.objects.count() and body["results"]  # the native page is still there
    assert "drums" not in seed_client.get("/api/assets?kind=drums").json()


def test_a_category_upload_answers_the_category_and_file_name(seed_client):
    response = send(seed_client, "category=drums", "Snare_02.wav", audio_bytes(tone_burst(190.0)))
    assert response.status_code == 200, response.content
    assert response.json() == {"category": "drums", "filename": "Snare_02.wav"}
    asset = Asset.objects.get(name="Snare_02")
    assert asset.role == "snare" and asset.pack.name == UPLOAD_PACK_NAME and asset.pack.kind == Kind.DRUMS
    assert not asset.pack.is_default
    assert "Snare_02.wav" in seed_client.get("/api/assets").json()["drums"]


def test_an_existing_name_is_409_unless_overwrite_replaces_it(seed_client):
    assert send(seed_client, "category=guitars", "E2.wav", audio_bytes(tone_burst(82.4))).status_code == 200
    again = send(seed_client, "category=guitars", "E2.wav", audio_bytes(tone_burst(82.5)))
    assert again.status_code == 409 and "overwrite=true" in again.json()["error"]["message"]
    replaced = send(seed_client, "category=guitars&overwrite=true", "E2.wav", audio_bytes(tone_burst(82.6)))
    assert replaced.status_code == 200 and replaced.json() == {"category": "guitars", "filename": "E2.wav"}
    pack = Pack.objects.get(name=UPLOAD_PACK_NAME, kind=Kind.GUITAR)
    assert pack.assets.count() == 1 and pack.assets.get().role == "E2"


def test_a_file_that_is_not_wav_or_mp3_is_415_and_a_large_one_413(seed_client, settings):
    refused = send(seed_client, "category=drums", "kick.flac", audio_bytes(tone_burst(60.0), fmt="FLAC"))
    assert refused.status_code == 415
    settings.METALIZER_ASSET_MAX_BYTES = 1000
    assert send(seed_client, "category=drums", "kick.wav", audio_bytes(tone_burst(60.0))).status_code == 413


def test_a_bad_category_or_a_name_naming_no_role_is_a_400_that_says_what_works(seed_client):
    bad = send(seed_client, "category=bass", "kick.wav", audio_bytes(tone_burst(60.0)))
    assert bad.status_code == 400 and "drums, guitars" in bad.json()["error"]["message"]
    nameless = send(seed_client, "category=drums", "thing.wav", audio_bytes(tone_burst(60.0)))
    assert nameless.status_code == 400 and "snare_02.wav" in nameless.json()["error"]["message"]


def test_without_the_key_the_seed_calls_are_401(settings):
    settings.METALIZER_ASSETS_API_KEY = KEY
    assert Client().get("/api/assets").status_code == 401
    assert Client(HTTP_X_API_KEY="wrong").get("/api/assets").status_code == 401


@pytest.mark.parametrize(
    "kind, stem, role",
    [
        (Kind.DRUMS, "Kick_01", "kick"),
        (Kind.DRUMS, "hihat closed 3", "hihat-closed"),
        (Kind.DRUMS, "TOM-LOW", "tom-low"),
        (Kind.GUITAR, "riff_E2_palm-mute", "E2-palm-mute"),
        (Kind.GUITAR, "chug", "chug"),
        (Kind.GUITAR, "my guitar", None),
    ],
)
def test_roles_are_read_from_seed_file_names(kind, stem, role):
    assert role_from_name(kind, stem) == role
