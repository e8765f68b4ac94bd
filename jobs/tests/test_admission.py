"""One admission policy for every way a job is made (API upload, page upload, re-style through either): a
rate per caller, a cap on its unfinished jobs and on the music they hold, the caller named by its address,
never by a header it can choose. The queue is held: these are the limits, not the pipeline.

Issue 25, finding 2: after a 429 the same request with any ``X-Forwarded-For`` was accepted, the upload page
was not limited at all, song and asset uploads shared one count, and nothing stopped one client from filling
the queue. (Two web processes sharing one count:
``metalizer_site/tests/integration/test_admission_shared.py``.)
"""

from __future__ import annotations

import pytest
from django.test import Client

from assets_bank.tests.conftest import audio_bytes, tone_burst, upload
from jobs.models import Job
from jobs.tests.helpers import error_of, finished_source

pytestmark = pytest.mark.django_db

KEY = "k3y-for-integrators-0123456789"


def post_song(client: Client, song_upload, **headers):  # type: ignore[no-untyped-def]
    return client.post("/api/jobs", {"file": song_upload()}, **headers)


def post_page(client: Client, song_upload):  # type: ignore[no-untyped-def]
    return client.post(
        "/", {"file": song_upload(), "style": "heavy", "intensity": "0.7", "output_format": "wav"}
    )


def test_an_x_forwarded_for_header_does_not_reset_the_limit(client, song_upload, held_queue, settings):
    settings.METALIZER_UPLOAD_RATE = (2, 3600)
    assert post_song(client, song_upload).status_code == 201
    assert post_song(client, song_upload).status_code == 201
    refused = post_song(client, song_upload)
    assert refused.status_code == 429 and error_of(refused)["code"] == "throttled"
    for forwarded in ("203.0.113.7", "198.51.100.1, 203.0.113.9", "not an address"):
        again = post_song(Client(), song_upload, HTTP_X_FORWARDED_FOR=forwarded)  # a fresh session too
        assert again.status_code == 429, forwarded
        assert int(again["Retry-After"]) > 0
    assert Job.objects.count() == 2


def test_behind_a_trusted_proxy_the_client_is_the_address_the_proxy_wrote(
    client, song_upload, held_queue, settings
):
    settings.METALIZER_TRUSTED_PROXIES = 1
    settings.METALIZER_UPLOAD_RATE = (1, 3600)
    # The proxy appends the address it saw; whatever the client wrote before it is not believed.
    assert post_song(client, song_upload, HTTP_X_FORWARDED_FOR="192.0.2.1, 203.0.113.7").status_code == 201
    spoofed = post_song(client, song_upload, HTTP_X_FORWARDED_FOR="192.0.2.99, 203.0.113.7")
    assert spoofed.status_code == 429
    other = post_song(Client(), song_upload, HTTP_X_FORWARDED_FOR="192.0.2.1, 203.0.113.8")
    assert other.status_code == 201


def test_the_upload_page_is_limited_with_the_api_and_says_so_in_words(
    client, song_upload, held_queue, settings
):
    settings.METALIZER_UPLOAD_RATE = (1, 3600)
    assert post_song(client, song_upload).status_code == 201
    page = post_page(Client(), song_upload)  # another browser session from the same address
    assert page.status_code == 429
    assert int(page["Retry-After"]) > 0
    html = page.content.decode()
    assert 'data-code="throttled"' in html
    assert "You have started 1 remix in an hour" in html and "Please try again in" in html
    assert Job.objects.count() == 1


def test_a_refused_caller_is_refused_before_its_file_is_judged(client, song_upload, held_queue, settings):
    settings.METALIZER_UPLOAD_RATE = (1, 3600)
    assert post_song(client, song_upload).status_code == 201
    not_audio = client.post("/api/jobs", {"file": upload("song.wav", b"plain text, not audio\n" * 50)})
    assert not_audio.status_code == 429  # not 400: the file was never probed


def test_restyles_through_the_api_and_the_page_pass_the_same_limit(client, song_upload, held_queue, settings):
    source = finished_source(client, song_upload, style="thrash")
    settings.METALIZER_UPLOAD_RATE = (2, 3600)  # the source's upload is the first
    assert client.post(f"/api/jobs/{source.pk}/remix", {"style": "doom"}).status_code == 201
    api = client.post(f"/api/jobs/{source.pk}/remix", {"style": "black"})
    assert api.status_code == 429 and error_of(api)["code"] == "throttled" and int(api["Retry-After"]) > 0
    page = client.post(f"/jobs/{source.pk}/remix/", {"style": "power", "intensity": "0.6", "feel": "auto"})
    assert page.status_code == 429 and int(page["Retry-After"]) > 0
    html = page.content.decode()
    assert "You have started 2 remixes in an hour" in html and "Try another style" in html
    assert Job.objects.count() == 2


def test_song_and_asset_uploads_count_apart(client, song_upload, held_queue, settings):
    settings.METALIZER_ASSETS_API_KEY = KEY
    settings.METALIZER_UPLOAD_RATE = (1, 3600)
    settings.METALIZER_ASSET_UPLOAD_RATE = (1, 3600)
    integrator = Client(HTTP_X_METALIZER_KEY=KEY)  # the same address as the listener
    assert post_song(client, song_upload).status_code == 201
    kick = {"file": upload("kick.wav", audio_bytes(tone_burst(61.0))), "kind": "drums", "role": "kick"}
    assert integrator.post("/api/assets/upload", {**kick, "pack_name": "kit"}).status_code == 201
    snare = {"file": upload("snare.wav", audio_bytes(tone_burst(200.0))), "kind": "drums", "role": "snare"}
    refused = integrator.post("/api/assets/upload", {**snare, "pack_name": "kit"})
    assert refused.status_code == 429 and error_of(refused)["code"] == "throttled"
    assert int(refused["Retry-After"]) > 0


def test_a_caller_may_have_only_so_many_unfinished_jobs(client, song_upload, held_queue, settings):
    settings.METALIZER_MAX_UNFINISHED_JOBS = 2
    first = post_song(client, song_upload)
    assert post_song(client, song_upload).status_code == 201
    refused = post_page(Client(), song_upload)  # a new browser session does not start afresh
    assert refused.status_code == 429 and "2 remixes waiting or in progress" in refused.content.decode()
    api = post_song(client, song_upload)
    assert api.status_code == 429 and error_of(api)["code"] == "too_many_unfinished_jobs"
    Job.objects.filter(pk=first.json()["id"]).update(status="succeeded")
    assert post_song(client, song_upload).status_code == 201


def test_a_caller_may_queue_only_so_many_minutes_of_music(client, song_upload, held_queue, settings):
    settings.METALIZER_MAX_QUEUED_AUDIO_MINUTES = 1
    first = post_song(client, song_upload)
    assert first.status_code == 201
    Job.objects.filter(pk=first.json()["id"]).update(duration=58.0)  # as if it were a 58 s song
    refused = post_song(client, song_upload)
    assert refused.status_code == 429
    error = error_of(refused)
    assert (
        error["code"] == "queued_audio_limit" and "58 s" in error["message"] and "1 min" in error["message"]
    )
    assert Job.objects.count() == 1


def test_signed_in_callers_are_counted_by_account(
    client, song_upload, held_queue, settings, django_user_model
):
    settings.METALIZER_MAX_UNFINISHED_JOBS = 1
    alice = Client()
    alice.force_login(django_user_model.objects.create_user("alice"))
    assert post_song(alice, song_upload).status_code == 201
    assert post_song(alice, song_upload).status_code == 429
    assert post_song(client, song_upload).status_code == 201  # an anonymous caller at the same address
