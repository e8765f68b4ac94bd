"""Try another style on the result page (no JavaScript needed), the way back to the source, and the versions
of one song together in My remixes. The queue is held: these are the pages, not the pipeline."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils.html import escape

from jobs.models import Job
from jobs.tests.helpers import finished_source
from metalizer_site import error_codes
from pipeline.types import FEELS

pytestmark = pytest.mark.django_db


def test_the_result_page_offers_try_another_style_to_its_owner_only(client, song_upload, held_queue):
    source = finished_source(client, song_upload, style="thrash", intensity="0.8")
    html = client.get(f"/jobs/{source.pk}/").content.decode()
    assert "Try another style" in html
    assert f'action="/jobs/{source.pk}/remix/"' in html
    assert re.search(r'<input type="radio" name="style" value="thrash" checked>', html)
    assert 'name="intensity"' in html and 'value="0.8"' in html
    for name, text in FEELS.items():
        assert f'name="feel" value="{name}"' in html and escape(text) in html
    assert 'id="another-take"' in html and "js/remix.js" in html
    stranger = Client().get(f"/jobs/{source.pk}/").content.decode()
    assert "Try another style" not in stranger and "js/remix.js" not in stranger


def test_the_form_makes_a_new_version_whose_page_links_back_to_the_source(client, song_upload, held_queue):
    source = finished_source(client, song_upload, style="thrash")
    response = client.post(f"/jobs/{source.pk}/remix/", {"style": "doom", "intensity": "0.6", "feel": "half"})
    job = Job.objects.exclude(pk=source.pk).get()
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.pk}/"
    assert (job.style, job.intensity, job.feel, job.source_id) == ("doom", 0.6, "half", source.pk)
    html = client.get(f"/jobs/{job.pk}/").content.decode()
    assert f'<a href="/jobs/{source.pk}/">the thrash remix' in html
    assert 'data-step="reusing"' in html and 'data-step="uploading"' not in html
    assert "half time" in html


def test_another_take_keeps_the_options_with_a_seed_no_version_has_used(client, song_upload, held_queue):
    source = finished_source(client, song_upload, style="power", seed="4")
    form = {"style": "power", "intensity": "0.7", "feel": "auto", "take": "another"}
    client.post(f"/jobs/{source.pk}/remix/", form)
    client.post(f"/jobs/{source.pk}/remix/", form)
    takes = list(Job.objects.exclude(pk=source.pk).order_by("created_at").values_list("style", "seed"))
    assert takes == [("power", 5), ("power", 6)]


def test_submitting_the_same_options_makes_nothing_and_says_why(client, song_upload, held_queue):
    source = finished_source(client, song_upload, style="heavy")
    response = client.post(
        f"/jobs/{source.pk}/remix/", {"style": "heavy", "intensity": "0.7", "feel": "auto"}, follow=True
    )
    assert Job.objects.count() == 1
    assert "That is this remix already" in response.content.decode()


def test_another_browser_cannot_remix_and_a_bad_option_is_explained(client, song_upload, held_queue):
    source = finished_source(client, song_upload)
    assert (
        Client().post(f"/jobs/{source.pk}/remix/", {"style": "doom", "intensity": "0.7"}).status_code == 403
    )
    response = client.post(f"/jobs/{source.pk}/remix/", {"style": "polka", "intensity": "0.7"}, follow=True)
    assert "Pick a style" in response.content.decode()
    assert Job.objects.count() == 1


def test_my_remixes_shows_the_versions_of_one_song_together(client, song_upload, held_queue):
    first = finished_source(client, song_upload, style="thrash")
    client.post(f"/jobs/{first.pk}/remix/", {"style": "doom", "intensity": "0.7"})
    other = client.post("/api/jobs", {"file": song_upload("Other Song.wav")}).json()["id"]
    restyle = Job.objects.get(source=first)
    html = client.get("/jobs/").content.decode()
    groups = re.findall(r'<li class="song-group" data-versions="(\d)">(.*?)</ul>\s*</li>', html, flags=re.S)
    assert [count for count, _ in groups] == ["1", "2"]  # the newest song first
    assert f"/jobs/{other}/" in groups[0][1]
    assert "song.wav" in groups[1][1] and "2 versions" in groups[1][1]
    versions = groups[1][1]
    assert versions.index(f"/jobs/{restyle.pk}/") < versions.index(f"/jobs/{first.pk}/")  # newest first
    assert "Doom · take 0" in versions and "Thrash · take 0" in versions
    detail = client.get(f"/jobs/{first.pk}/").content.decode()
    assert "Versions of this song" in detail and f'href="/jobs/{restyle.pk}/"' in detail


def test_deleting_one_version_on_the_page_keeps_the_others(client, song_upload, held_queue):
    first = finished_source(client, song_upload)
    client.post(f"/jobs/{first.pk}/remix/", {"style": "doom", "intensity": "0.7"})
    response = client.post(f"/jobs/{first.pk}/delete/", follow=True)
    assert "its other versions stay" in response.content.decode()
    assert Job.objects.get().input_file.name == first.input_file.name


def test_the_upload_page_offers_the_tempo_feel_and_stores_it(client, song_upload, held_queue):
    html = client.get("/").content.decode()
    assert "Tempo feel" in html
    for name, text in FEELS.items():
        assert f'name="feel" value="{name}"' in html and escape(text) in html
    assert '<input type="radio" name="feel" value="auto" checked>' in html
    form = {
        "file": song_upload(),
        "style": "doom",
        "intensity": "0.5",
        "output_format": "wav",
        "feel": "double",
    }
    assert client.post("/", form).status_code == 302
    assert Job.objects.get().feel == "double"


def test_the_admin_shows_the_source_and_filters_by_feel(client, song_upload, held_queue):
    source = finished_source(client, song_upload)
    client.post(f"/jobs/{source.pk}/remix/", {"style": "doom", "intensity": "0.7", "feel": "half"})
    restyle = Job.objects.get(source=source)
    staff = Client()
    staff.force_login(User.objects.create_superuser("admin", "admin@example.com", "pw"))
    listing = staff.get("/admin/jobs/job/?feel=half").content.decode()
    assert f"/admin/jobs/job/{source.pk}/change/" in listing and "doom" in listing.lower()
    page = staff.get(f"/admin/jobs/job/{restyle.pk}/change/").content.decode()
    assert f'<a href="/admin/jobs/job/{source.pk}/change/">' in page
    assert "Stem key" in page and "Analysis reused" in page


def test_a_stranger_is_refused_in_a_plain_sentence(client, song_upload, held_queue):
    """Issue 25: '... can play in another style it.'"""
    source = finished_source(client, song_upload)
    response = Client().post(f"/jobs/{source.pk}/remix/", {"style": "doom", "intensity": "0.5"})
    assert response.status_code == 403
    assert (
        response.content.decode() == "Only the browser that created this remix can play it in another style."
    )
    deleted = Client().post(f"/jobs/{source.pk}/delete/")
    assert deleted.content.decode() == "Only the browser that created this remix can delete it."


def test_another_style_refused_because_the_song_is_gone_answers_409_on_the_job_page(
    client, song_upload, held_queue
):
    source = finished_source(client, song_upload)
    Job.objects.filter(pk=source.pk).update(analysis=None)  # the cached analysis is gone: nothing to replay
    response = client.post(f"/jobs/{source.pk}/remix/", {"style": "doom", "intensity": "0.7", "feel": "auto"})
    assert response.status_code == 409
    html = response.content.decode()
    assert escape(error_codes.message(error_codes.SOURCE_UNAVAILABLE)) in html
    assert "Try another style" in html  # the page again, its form in view
    assert Job.objects.count() == 1


def test_another_style_answers_503_on_the_job_page_when_the_broker_is_down(client, song_upload, held_queue):
    source = finished_source(client, song_upload)
    from jobs.tests.conftest import celery_app

    celery_app.conf.broker_url = "redis://127.0.0.1:9/0"
    celery_app.close()
    try:
        response = client.post(
            f"/jobs/{source.pk}/remix/", {"style": "doom", "intensity": "0.7", "feel": "auto"}
        )
    finally:
        celery_app.conf.broker_url = "memory://"
        celery_app.close()
    assert response.status_code == 503
    assert escape(error_codes.message(error_codes.QUEUE_UNAVAILABLE)) in response.content.decode()
    assert list(Job.objects.values_list("pk", flat=True)) == [source.pk]


def test_delete_answers_503_on_the_job_page_when_the_file_store_is_down(
    client, song_upload, held_queue, settings
):
    from botocore.config import Config

    from metalizer_site.s3_storage import BACKEND

    source = finished_source(client, song_upload)
    settings.STORAGES = {  # an S3 store nobody listens on: every call fails to connect
        **settings.STORAGES,
        "default": {
            "BACKEND": BACKEND,  # the site's S3 storage, as production has it
            "OPTIONS": {
                "bucket_name": "metalizer",
                "endpoint_url": "http://127.0.0.1:1",
                "access_key": "test",
                "secret_key": "test-secret",
                "client_config": Config(retries={"max_attempts": 0}, connect_timeout=1),
            },
        },
    }
    response = client.post(f"/jobs/{source.pk}/delete/")
    assert response.status_code == 503
    assert "so the remix could not be deleted completely" in response.content.decode()
    assert Job.objects.filter(pk=source.pk).exists()  # the row stays, so deleting can be tried again
