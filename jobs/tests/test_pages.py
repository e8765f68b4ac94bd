"""The server-rendered pages work without JavaScript: upload, job progress, my remixes, delete."""

from __future__ import annotations

import pytest
from django.test import Client

from jobs.models import Job
from jobs.tests.helpers import stored_files

pytestmark = pytest.mark.django_db


def test_upload_page_states_formats_and_limits(client):
    page = client.get("/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'enctype="multipart/form-data"' in html
    assert "MP3" in html and "100 MB" in html and "10 min" in html
    assert 'name="style"' in html and 'name="intensity"' in html and 'name="keep_vocals"' in html


def test_upload_form_redirects_to_the_job_page(client, song_upload, held_queue):
    response = client.post(
        "/", {"file": song_upload(), "style": "doom", "intensity": "0.5", "output_format": "mp3", "seed": "3"}
    )
    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.pk}/"
    assert (job.style, job.intensity, job.output_format, job.keep_vocals) == ("doom", 0.5, "mp3", False)


def test_running_job_page_has_a_progress_bar_js_polling_and_a_no_js_refresh(client, song_upload, held_queue):
    client.post(
        "/",
        {
            "file": song_upload(),
            "style": "heavy",
            "intensity": "0.7",
            "output_format": "wav",
            "keep_vocals": "on",
        },
    )
    job = Job.objects.get()
    Job.objects.filter(pk=job.pk).update(status="running", stage="separating", progress=41.0)
    html = client.get(f"/jobs/{job.pk}/").content.decode()
    assert '<progress id="job-progress" max="100" value="41"' in html
    assert "(separating)" in html
    assert f'data-api-url="/api/jobs/{job.pk}"' in html
    assert "js/job.js" in html
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in html


def test_failed_job_page_explains_the_error(client):
    job = Job.objects.create(
        original_name="x.wav",
        status="failed",
        error_code="too_long",
        error_message="This file is 12 min long; the limit is 10 min.",
    )
    html = Client().get(f"/jobs/{job.pk}/").content.decode()
    assert "The remix failed." in html and "the limit is 10 min" in html


def test_my_remixes_lists_only_this_browsers_jobs_and_delete_works(song_upload, held_queue):
    mine, other = Client(), Client()
    mine.post(
        "/", {"file": song_upload("mine.wav"), "style": "heavy", "intensity": "0.7", "output_format": "wav"}
    )
    other.post(
        "/", {"file": song_upload("theirs.wav"), "style": "heavy", "intensity": "0.7", "output_format": "wav"}
    )
    listing = mine.get("/jobs/").content.decode()
    assert "mine.wav" in listing and "theirs.wav" not in listing
    job = Job.objects.get(original_name="mine.wav")
    assert other.post(f"/jobs/{job.pk}/delete/").status_code == 403
    response = mine.post(f"/jobs/{job.pk}/delete/", follow=True)
    assert response.status_code == 200 and "Deleted" in response.content.decode()
    assert not Job.objects.filter(pk=job.pk).exists()
    assert [p.name for p in stored_files()] == ["theirs.wav"]


def test_unknown_job_page_is_a_friendly_404(client):
    response = client.get("/jobs/00000000-0000-0000-0000-000000000000/")
    assert response.status_code == 404
    assert b"may have expired" in response.content


def test_static_files_are_served(client):
    assert client.get("/static/js/job.js").status_code == 200
    assert client.get("/static/css/site.css").status_code == 200
