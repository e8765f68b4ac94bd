"""What a job's record tells whoever holds its id: nothing about the bank's files (that is staff's, as
``/api/assets`` is), and nothing about other listeners' uploads (a cache hit of someone else's song).

Issue 25, finding 6: ``GET /api/jobs/{id}?include=assets`` showed any id-holder the bank's pack and file names
and hashes, and a second listener uploading identical bytes was told the stems were cached.
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from jobs.models import Job

pytestmark = pytest.mark.django_db

FULL_RECORD = {
    "fingerprint": "f" * 64,
    "packs": [
        {
            "id": 1,
            "name": "House kit",
            "kind": "drums",
            "version": 3,
            "state": "played",
            "problems": [],
            "assets": [{"id": 7, "role": "kick", "name": "kick-secret-take", "sha256": "a" * 64}],
        }
    ],
    "played": {"drums": 1, "impulse-response": None, "guitar": None},
    "skipped": [{"pack": 1, "pack_name": "House kit", "asset": 8, "role": "snare", "reason": "it is silent"}],
}


def test_the_full_asset_record_is_for_staff_only(django_user_model):
    job = Job.objects.create(original_name="song.wav", status="succeeded", assets_used=FULL_RECORD)
    url = f"/api/jobs/{job.pk}?include=assets"
    for caller in (Client(), _signed_in(django_user_model, "listener", staff=False)):
        body = caller.get(url).json()["assets_used"]
        assert "kick-secret-take" not in str(body) and "a" * 64 not in str(body)
        assert body["packs"][0]["name"] == "House kit" and body["skipped_count"] == 1  # the summary
    staff = _signed_in(django_user_model, "curator", staff=True)
    assert staff.get(url).json()["assets_used"] == FULL_RECORD


def _signed_in(django_user_model, name: str, *, staff: bool) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(django_user_model.objects.create_user(name, is_staff=staff))
    return client


@pytest.mark.slow
def test_a_second_listener_uploading_the_same_song_is_not_told_it_was_cached(make_song_file):
    path = make_song_file("shared.wav")
    first, second = Client(), Client(REMOTE_ADDR="198.51.100.20")

    def upload(client: Client) -> dict:  # type: ignore[type-arg]
        file = SimpleUploadedFile("shared.wav", path.read_bytes(), content_type="audio/wav")
        response = client.post("/api/jobs", {"file": file})
        assert response.status_code == 201, response.content
        return client.get(response.json()["url"]).json()

    original = upload(first)
    assert original["status"] == "succeeded" and original["reused"] == {"stems": False, "analysis": False}
    other = upload(second)
    assert other["status"] == "succeeded"
    assert Job.objects.get(pk=other["id"]).stems_reused, "the stem cache served it (what must not be told)"
    assert other["reused"] == {"stems": False, "analysis": False}
    assert other["separator"]["cached"] is False
    assert "Reused" not in second.get(f"/jobs/{other['id']}/").content.decode()
    again = upload(first)  # the same listener's own song again: it may be told
    assert again["reused"]["stems"] is True and again["separator"]["cached"] is True
