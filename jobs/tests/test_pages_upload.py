"""The upload page: what it offers, and errors shown inline in plain words (no JavaScript needed)."""

from __future__ import annotations

import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from jobs.models import Job
from jobs.tests.helpers import stored_files
from pipeline import STYLES

pytestmark = pytest.mark.django_db


def test_upload_page_states_formats_and_limits(client):
    page = client.get("/")
    assert page.status_code == 200
    html = page.content.decode()
    assert 'enctype="multipart/form-data"' in html
    assert "MP3" in html and "100 MB" in html and "10 min" in html
    assert 'name="style"' in html and 'name="intensity"' in html and 'name="keep_vocals"' in html


def test_upload_page_offers_every_style_preset_with_its_description(client):
    html = client.get("/").content.decode()
    for name, description in STYLES.items():
        assert f'<input type="radio" name="style" value="{name}"' in html
        assert description in html
    assert re.search(r'<input type="radio" name="style" value="heavy" checked>', html)


def test_upload_page_has_a_dropzone_slider_toggle_and_upload_progress_bar(client):
    html = client.get("/").content.decode()
    assert 'id="dropzone"' in html and 'type="file" name="file"' in html
    assert 'type="range" name="intensity"' in html and 'id="intensity-value"' in html
    assert 'name="keep_vocals" id="id_keep_vocals" role="switch" checked' in html
    assert '<progress id="upload-progress"' in html and "js/upload.js" in html
    # every control has a label
    for control_id in (
        "id_file",
        "id_intensity",
        "id_keep_vocals",
        "id_output_format",
        "id_seed",
        "upload-progress",
    ):
        assert f'for="{control_id}"' in html, control_id


def test_upload_page_gives_the_client_side_checks_the_servers_limits(client, settings):
    settings.METALIZER_UPLOAD_MAX_BYTES = 5 * 1024 * 1024
    settings.METALIZER_MAX_DURATION_S = 90
    html = client.get("/").content.decode()
    assert 'data-max-bytes="5242880"' in html and 'data-max-size="5 MB"' in html
    assert 'data-max-duration-s="90"' in html and 'data-max-duration="1 min 30 s"' in html
    assert 'data-accept=".wav,' in html and ".mp3" in html
    assert 'data-api-url="/api/jobs"' in html
    assert "Up to 5 MB and 1 min 30 s long." in html


def test_posting_text_as_mp3_without_javascript_shows_the_error_inline(client):
    bad = SimpleUploadedFile("lyrics.mp3", b"These are the lyrics, not the song.\n" * 50)
    response = client.post("/", {"file": bad, "style": "heavy", "intensity": "0.7", "output_format": "wav"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="file-error" class="error" role="alert" data-code="not_audio"' in html
    assert "does not look like audio" in html
    assert Job.objects.count() == 0 and stored_files() == []


def test_posting_a_too_long_song_says_how_long_the_limit_is(client, song_upload, settings):
    settings.METALIZER_MAX_DURATION_S = 3
    response = client.post(
        "/", {"file": song_upload(bars=3), "style": "heavy", "intensity": "0.7", "output_format": "wav"}
    )
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-code="too_long"' in html and "3.0 s" in html
    assert Job.objects.count() == 0


def test_posting_a_file_over_the_byte_limit_answers_413_with_the_limit(client, song_upload, settings):
    settings.METALIZER_UPLOAD_MAX_BYTES = 100_000
    response = client.post("/", {"file": song_upload(), "style": "heavy", "intensity": "0.7"})
    assert response.status_code == 413
    assert "larger than the 97.7 KB limit" in response.content.decode()
    assert Job.objects.count() == 0


def test_the_form_redirects_to_the_job_with_its_options_vocals_unchecked(client, song_upload, held_queue):
    response = client.post(
        "/", {"file": song_upload(), "style": "black", "intensity": "0.35", "output_format": "flac"}
    )
    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/jobs/{job.pk}/"
    assert (job.style, job.intensity, job.output_format, job.keep_vocals) == ("black", 0.35, "flac", False)


def test_posting_an_empty_file_without_javascript_gives_the_products_message(client):
    empty = SimpleUploadedFile("song.mp3", b"")
    response = client.post("/", {"file": empty, "style": "heavy", "intensity": "0.7", "output_format": "wav"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-code="empty_file"' in html and "The file is empty (0 bytes)." in html
    assert "The submitted file is empty" not in html
    assert Job.objects.count() == 0
