"""The listener chooses the separator: the upload page explains each, the API takes it, the operator may
forbid one, a re-style keeps its source's, and the result names the licence of the weights that ran."""

from __future__ import annotations

import pytest

from jobs.models import Job
from jobs.tests.helpers import error_of, finished_source
from jobs.views import job_result

pytestmark = pytest.mark.django_db


def test_the_upload_page_explains_each_separator_with_its_speed_and_licence(client):
    page = client.get("/").content.decode()
    for label in ("Automatic", "Demucs (cleanest, slow)", "Spleeter (fast)", "Built-in (fastest, roughest)"):
        assert label in page
    assert "research and personal use only" in page and "Deezer: MIT" in page
    assert "per minute of song" in page and 'data-seconds-per-minute="' in page
    assert "make models" not in page  # listeners are never told to run a command


def test_a_separator_the_operator_forbids_is_shown_unavailable_and_refused(client, song_upload, settings):
    settings.METALIZER_SEPARATORS = ("spleeter", "dsp")
    page = client.get("/").content.decode()
    assert 'value="demucs" disabled' in page and "Not offered on this server" in page
    response = client.post("/api/jobs", {"file": song_upload(), "separator": "demucs"})
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid_options" and "not offered on this server" in error["message"]
    assert not Job.objects.exists()


def test_a_song_too_long_for_the_slow_separator_is_refused_before_it_is_queued(client, song_upload, settings):
    settings.METALIZER_TASK_SOFT_TIME_LIMIT_S = 5  # a 4 s song needs ~7 s with htdemucs; 80 % of 5 s is 4
    response = client.post("/api/jobs", {"file": song_upload(), "separator": "demucs"})
    assert response.status_code == 400
    assert "Choose a faster separator" in error_of(response)["message"]


def test_the_choice_is_stored_and_a_restyle_keeps_the_sources(client, song_upload, held_queue):
    source = finished_source(client, song_upload, separator="dsp")
    assert source.separator_choice == "dsp" and source.remix_options().separator == "dsp"
    assert client.get(f"/api/jobs/{source.pk}").json()["options"]["separator"] == "dsp"
    again = client.post(
        f"/api/jobs/{source.pk}/remix",
        {"style": "doom", "separator": "demucs"},
        content_type="application/json",
    )
    assert again.status_code == 201, again.content
    assert Job.objects.get(pk=again.json()["id"]).separator_choice == "dsp"


def test_the_result_names_the_licence_of_the_separator_that_ran() -> None:
    job = Job(
        status=Job.Status.SUCCEEDED, outputs={"mix": {"wav": "x"}}, separator={"name": "demucs:htdemucs"}
    )
    assert "research and personal use only" in job_result(job)["separator_licence"]
    job.separator = {"name": "spleeter:2stems"}
    assert job_result(job)["separator_licence"].endswith("MIT")


def test_the_upload_page_with_demucs_makes_a_remix_htdemucs_separated(client, song_upload, settings):
    """The real network in the real chain, in eager mode (a 4 s song: one chunk)."""
    form = {"file": song_upload(), "style": "heavy", "intensity": "0.7", "output_format": "wav"}
    response = client.post("/", {**form, "separator": "demucs"})
    assert response.status_code == 302, response.content.decode()[-2000:]
    job = Job.objects.get()
    assert job.status == Job.Status.SUCCEEDED, (job.error_code, job.error_message)
    assert job.separator["name"] == "demucs:htdemucs" and job.separator_choice == "demucs"
    page = client.get(f"/jobs/{job.pk}/").content.decode()
    assert "Demucs (cleanest, slow)" in page and "research and personal use only" in page
    assert "You chose it." in page and "demucs:htdemucs" not in page  # a listener's words (issue 27 item 6)
