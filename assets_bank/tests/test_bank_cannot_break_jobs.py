"""Nothing staff or an integrator does to the bank can break a remix: unplayable packs are skipped or filled
from the shipped packs, the job says what it played and what it skipped, and the job still succeeds."""

from __future__ import annotations

import pytest
from django.test import Client

from assets_bank.models import Asset, Kind, Pack
from assets_bank.services import add_asset, create_pack, make_default
from assets_bank.tests.conftest import audio_bytes, midi_bytes, tone_burst, upload
from jobs.models import Job

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

KEY = "k3y-for-integrators-0123456789"


@pytest.fixture
def integrator(settings) -> Client:  # type: ignore[no-untyped-def]
    settings.METALIZER_ASSETS_API_KEY = KEY
    return Client(HTTP_X_METALIZER_KEY=KEY)


def remix(client: Client, song_upload) -> dict:  # type: ignore[no-untyped-def,type-arg]
    response = client.post("/api/jobs", {"file": song_upload("song.wav", bars=2), "style": "heavy"})
    assert response.status_code == 201, response.content
    job = client.get(response.json()["url"]).json()
    assert job["status"] == "succeeded", (job["error_code"], job["error_message"])
    job["assets_used"] = Job.objects.get(pk=job["id"]).assets_used  # the full record (staff's in the API)
    return job


def upload_kick(integrator: Client, pack_name: str):  # type: ignore[no-untyped-def]
    return integrator.post(
        "/api/assets/upload",
        {
            "file": upload("kick.wav", audio_bytes(tone_burst(61.0))),
            "kind": "drums",
            "role": "kick",
            "pack_name": pack_name,
        },
    )


def pack_record(job: dict, pack: Pack) -> dict:  # type: ignore[type-arg]
    return next(p for p in job["assets_used"]["packs"] if p["id"] == pack.pk)


def test_an_uploaded_then_deleted_kick_leaves_remixing_working(integrator, client, default_bank, song_upload):
    """The outage of issue 12: an empty active drum pack used to fail every job with internal_error."""
    created = upload_kick(integrator, "my-kit")
    assert created.status_code == 201, created.content
    assert integrator.delete(f"/api/assets/{created.json()['id']}").status_code == 204
    empty = Pack.objects.get(name="my-kit")
    assert empty.active and not empty.assets.exists()

    job = remix(client, song_upload)
    record = pack_record(job, empty)
    assert record["state"] == "skipped" and "no samples" in record["problems"][0]
    assert job["assets_used"]["played"]["drums"] == default_bank[Kind.DRUMS].pk
    assert any(s["pack"] == empty.pk for s in job["assets_used"]["skipped"])


def test_with_no_default_kit_a_lone_kick_pack_is_skipped_and_the_shipped_kit_plays(
    integrator, client, song_upload
):
    created = upload_kick(integrator, "only-a-kick")
    assert created.status_code == 201, created.content
    job = remix(client, song_upload)
    lone = Pack.objects.get(name="only-a-kick")
    record = pack_record(job, lone)
    assert record["state"] == "skipped" and "snare" in record["problems"][0]
    assert job["assets_used"]["played"]["drums"] is None
    assert "drums/forzee-stereo" in job["assets_used"]["fallback"]


def test_default_kit_files_missing_or_undecodable_in_storage_are_skipped_and_filled(
    client, default_bank, song_upload, make_file
):
    kit = create_pack("Tone kit", Kind.DRUMS)
    for i, role in enumerate(("kick", "snare", "hihat-closed")):
        path = make_file(f"{role}.wav", audio_bytes(tone_burst(600 + 200 * i, 0.3)))
        add_asset(kit, path, filename=path.name, role=role)
    make_default(kit)
    kick = kit.assets.get(role="kick")
    snare = kit.assets.get(role="snare")
    kick.file.storage.delete(kick.file.name)  # the file went missing from storage
    with snare.file.storage.open(snare.file.name, "wb") as fh:  # the file no longer decodes
        fh.write(b"RIFF\x00\x00\x00\x00WAVEjunk" * 10)

    job = remix(client, song_upload)
    used = job["assets_used"]
    assert used["played"]["drums"] == kit.pk
    reasons = {s["asset"]: s["reason"] for s in used["skipped"]}
    assert "missing" in reasons[kick.pk] or "cannot be read" in reasons[kick.pk]
    assert "does not decode" in reasons[snare.pk]
    assert used["filled_roles"]["kick"]["pack"] == default_bank[Kind.DRUMS].pk
    assert used["filled_roles"]["snare"]["pack"] == default_bank[Kind.DRUMS].pk
    assert pack_record(job, kit)["state"] == "played" and pack_record(job, kit)["problems"]


def test_every_pack_of_every_kind_broken_still_remixes_with_the_shipped_packs(
    client, default_bank, song_upload
):
    for asset in Asset.objects.all():
        asset.file.storage.delete(asset.file.name)
    job = remix(client, song_upload)
    used = job["assets_used"]
    assert used["played"] == {"drums": None, "impulse-response": None, "guitar": None}
    assert {"drums/forzee-stereo", "ir/cannibal-corpse-vile.wav", "guitar/fluid-r3"} <= set(used["fallback"])
    assert {p["state"] for p in used["packs"]} == {"skipped"}


def test_a_midi_pack_whose_file_no_longer_parses_is_skipped(client, song_upload, make_file):
    riffs = create_pack("Riffs", Kind.MIDI, style_tags=["heavy"])
    good = add_asset(riffs, make_file("riff-a.mid", midi_bytes()), filename="riff-a.mid", role="riff")
    bad = add_asset(riffs, make_file("riff-b.mid", midi_bytes([45, 47])), filename="riff-b.mid", role="riff")
    with bad.file.storage.open(bad.file.name, "wb") as fh:
        fh.write(b"MThd garbage")
    job = remix(client, song_upload)
    record = pack_record(job, riffs)
    assert record["state"] == "available"
    skipped = {s["asset"] for s in job["assets_used"]["skipped"]}
    assert bad.pk in skipped and good.pk not in skipped
