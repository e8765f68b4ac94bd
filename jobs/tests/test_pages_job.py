"""The job page while a remix runs or after it failed: steps, progress, time left, expiry, cancel, delete."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from jobs.models import Job
from jobs.tests.helpers import stored_files

pytestmark = pytest.mark.django_db


@pytest.fixture
def browser(song_upload, held_queue) -> tuple[Client, Job]:  # type: ignore[no-untyped-def]
    """A browser that uploaded a song through the page; the job waits in the (held) queue."""
    client = Client()
    response = client.post(
        "/", {"file": song_upload("Riff.wav"), "style": "doom", "intensity": "0.7", "output_format": "wav"}
    )
    assert response.status_code == 302
    return client, Job.objects.get()


def step_states(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-step="(\w+)" data-state="(\w+)"', html))


def test_queued_job_shows_the_upload_done_and_waits_for_a_worker(browser):
    client, job = browser
    html = client.get(f"/jobs/{job.pk}/").content.decode()
    assert step_states(html) == {
        "uploading": "done",
        "decoding": "current",
        "separating": "pending",
        "analysing": "pending",
        "arranging": "pending",
        "rendering": "pending",
        "mastering": "pending",
        "finishing": "pending",
    }
    assert "Waiting for a free worker" in html
    assert 'aria-live="polite"' in html


def test_running_job_shows_its_stage_and_time_left_from_the_progress_rate(browser):
    client, job = browser
    Job.objects.filter(pk=job.pk).update(
        status="running", stage="rendering", progress=75.0, started_at=timezone.now() - timedelta(seconds=60)
    )
    html = client.get(f"/jobs/{job.pk}/").content.decode()
    states = step_states(html)
    assert [states[s] for s in ("separating", "analysing", "arranging")] == ["done"] * 3
    assert states["rendering"] == "current" and states["mastering"] == "pending"
    assert 'aria-current="step"' in html
    assert '<progress id="job-progress" max="100" value="75"' in html
    # 75 % in 60 s: the remaining 25 % take about 20 s
    assert "about 20 s left" in html
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in html


def test_a_job_finishing_shows_its_mix_made_while_the_stems_midi_and_pictures_are_stored(browser):
    client, job = browser
    Job.objects.filter(pk=job.pk).update(
        status="running", stage="finishing", progress=100.0, started_at=timezone.now() - timedelta(seconds=9)
    )
    html = client.get(f"/jobs/{job.pk}/").content.decode()
    states = step_states(html)
    assert states["mastering"] == "done" and states["finishing"] == "current"
    assert "the mix is made; storing it with the stems, MIDI files and pictures" in html


def test_job_page_says_when_the_remix_expires(browser, settings):
    client, job = browser
    assert "expires in 24 h" in client.get(f"/jobs/{job.pk}/").content.decode()
    Job.objects.filter(pk=job.pk).update(expires_at=timezone.now() + timedelta(minutes=90))
    assert "expires in 2 h" in client.get(f"/jobs/{job.pk}/").content.decode()


def test_owner_can_cancel_a_queued_job_with_a_plain_form_post(browser):
    client, job = browser
    html = client.get(f"/jobs/{job.pk}/").content.decode()
    assert f'action="/jobs/{job.pk}/cancel/"' in html and "csrfmiddlewaretoken" in html
    response = client.post(f"/jobs/{job.pk}/cancel/", follow=True)
    assert response.status_code == 200
    job.refresh_from_db()
    assert job.status == "cancelled"
    html = response.content.decode()
    assert "Cancelled the remix of “Riff.wav”." in html and "This remix was cancelled." in html
    assert f'action="/jobs/{job.pk}/cancel/"' not in html  # nothing left to cancel
    assert "js/job.js" not in html


def test_cancel_and_delete_need_the_csrf_token_and_the_owner(browser):
    client, job = browser
    strict = Client(enforce_csrf_checks=True)
    strict.cookies = client.cookies  # the owner's session, but no token
    assert strict.post(f"/jobs/{job.pk}/cancel/").status_code == 403
    assert strict.post(f"/jobs/{job.pk}/delete/").status_code == 403
    stranger = Client()
    html = stranger.get(f"/jobs/{job.pk}/").content.decode()
    assert "cancel-button" not in html and "delete-button" not in html
    assert stranger.post(f"/jobs/{job.pk}/cancel/").status_code == 403
    assert stranger.post(f"/jobs/{job.pk}/delete/").status_code == 403
    job.refresh_from_db()
    assert job.status == "queued"


def test_delete_removes_the_job_and_its_files(browser):
    client, job = browser
    assert stored_files()
    response = client.post(f"/jobs/{job.pk}/delete/", follow=True)
    assert response.redirect_chain[-1][0] == "/jobs/"
    assert "Deleted “Riff.wav” and all its files." in response.content.decode()
    assert not Job.objects.filter(pk=job.pk).exists() and stored_files() == []


def test_running_job_page_has_a_progress_bar_js_polling_and_a_no_js_refresh(browser):
    client, job = browser
    Job.objects.filter(pk=job.pk).update(status="running", stage="separating", progress=41.0)
    html = client.get(f"/jobs/{job.pk}/").content.decode()
    assert '<progress id="job-progress" max="100" value="41"' in html
    assert "(separating)" in html
    assert f'data-api-url="/api/jobs/{job.pk}"' in html
    assert "js/job.js" in html
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in html


def test_unknown_job_page_is_a_friendly_404(client):
    response = client.get("/jobs/00000000-0000-0000-0000-000000000000/")
    assert response.status_code == 404
    assert b"may have expired" in response.content


def test_the_pages_script_and_styles_are_served(client):
    assert client.get("/static/js/job.js").status_code == 200
    assert client.get("/static/css/site.css").status_code == 200


@pytest.mark.parametrize(
    ("code", "advice"),
    [
        ("too_long", "Trim the song"),
        ("corrupt_audio", "looks damaged or cut off"),
        ("worker_lost", "Upload the song again"),
        ("some_new_code", "Upload the song again; if it keeps failing"),
    ],
)
def test_failed_job_says_what_went_wrong_and_what_to_try(code, advice):
    job = Job.objects.create(
        original_name="x.wav", status="failed", stage="separating", error_code=code, error_message="It broke."
    )
    html = Client().get(f"/jobs/{job.pk}/").content.decode()
    assert "The remix failed.</strong> It broke." in html
    assert "What to try:" in html and advice in html
    assert step_states(html)["separating"] == "failed"


def test_delete_asks_for_confirmation_naming_what_goes_without_javascript(browser):
    client, job = browser
    html = client.get(f"/jobs/{job.pk}/").content.decode()
    confirm = html[html.index('<details class="confirm-delete"') : html.index("</details>")]
    assert "<summary" in confirm and "cannot be undone" in confirm
    assert 'id="delete-button"' in confirm and f'action="/jobs/{job.pk}/delete/"' in confirm
