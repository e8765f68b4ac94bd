"""A good upload runs through the real pipeline (Celery eager) to a downloadable remix."""

from __future__ import annotations

import io
import re
import zipfile

import pytest
import soundfile as sf
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jobs.models import Job
from jobs.tests.helpers import stored_files

pytestmark = pytest.mark.django_db


def body_of(response) -> bytes:  # type: ignore[no-untyped-def]
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def finished_job(client, song_upload, settings):  # type: ignore[no-untyped-def]
    """Upload a 3.5 s song; in eager mode the worker's task runs inside the request."""
    settings.METALIZER_PROGRESS_MIN_INTERVAL_S = 0.0  # record every progress report for the test to see
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/api/jobs", {"file": song_upload("My Song.wav"), "style": "thrash"})
    assert response.status_code == 201, response.content
    job = Job.objects.get(pk=response.json()["id"])
    assert job.status == Job.Status.SUCCEEDED, (job.error_code, job.error_message)
    progress_updates = [
        q["sql"] for q in queries.captured_queries if q["sql"].startswith('UPDATE "jobs_job" SET "stage"')
    ]
    return job, progress_updates


def test_good_upload_runs_to_success_with_analysis_and_progress(client, finished_job):
    job, progress_updates = finished_job
    assert (job.stage, job.progress, job.attempts) == ("done", 100.0, 1)
    assert job.started_at <= job.finished_at
    assert job.analysis["tempo"] > 0 and job.analysis["key"]
    assert job.separator["name"]
    seen = [re.search(r"SET \"stage\" = '?([a-z]+)", sql).group(1) for sql in progress_updates]
    assert {"decoding", "separating", "analysing", "rendering", "mastering"} <= set(seen)
    # the mix is made before the stems, MIDI files and pictures are finished and stored
    first = seen.index("finishing")
    assert "mastering" in seen[:first] and set(seen[first:]) == {"finishing"}
    body = client.get(f"/api/jobs/{job.pk}").json()
    assert body["status"] == "succeeded" and body["progress"] == 100.0
    assert set(body["links"]["result"]) >= {"mix", "drums", "bass"}
    assert body["links"]["downloads"]["mix"]["mp3"].endswith(f"/api/jobs/{job.pk}/result?part=mix&format=mp3")


def test_result_mix_downloads_as_an_attachment_that_decodes(client, finished_job):
    job, _ = finished_job
    response = client.get(f"/api/jobs/{job.pk}/result?part=mix")
    assert response.status_code == 200
    assert response["Content-Type"] == "audio/wav"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "My Song (metal, thrash).wav" in response["Content-Disposition"]
    audio, rate = sf.read(io.BytesIO(body_of(response)))
    assert rate == 44100 and abs(len(audio) / rate - job.duration) < 1.0


def test_result_can_be_had_in_another_format_and_as_stems(client, finished_job):
    job, _ = finished_job
    mp3 = client.get(f"/api/jobs/{job.pk}/result?part=mix&format=mp3")
    assert mp3.status_code == 200 and mp3["Content-Type"] == "audio/mpeg"
    mp3_bytes = body_of(mp3)
    assert mp3_bytes[:3] == b"ID3" or mp3_bytes[0] == 0xFF
    drums = client.get(f"/api/jobs/{job.pk}/result?part=drums&format=flac")
    assert drums.status_code == 200
    assert body_of(drums)[:4] == b"fLaC"
    job.refresh_from_db()
    assert "mp3" in job.outputs["mix"]  # converted once, then served from storage


def test_result_midi_is_a_zip_of_midi_files(client, finished_job):
    job, _ = finished_job
    if "midi" not in job.outputs:
        pytest.skip("this pipeline build wrote no MIDI")
    response = client.get(f"/api/jobs/{job.pk}/result?part=midi")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(body_of(response))) as zf:
        names = zf.namelist()
        assert names and all(name.endswith((".mid", ".midi")) for name in names)
        assert zf.read(names[0])[:4] == b"MThd"


def test_deleting_a_finished_job_removes_all_its_files(client, finished_job):
    job, _ = finished_job
    assert len(stored_files()) >= 5  # input, mix, stems...
    assert client.delete(f"/api/jobs/{job.pk}").status_code == 204
    assert stored_files() == []
    assert not Job.objects.filter(pk=job.pk).exists()


def test_job_page_shows_player_and_downloads_when_done(client, finished_job):
    job, _ = finished_job
    page = client.get(f"/jobs/{job.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert f'<audio controls preload="none" src="/api/jobs/{job.pk}/result?part=mix">' in html
    assert f"/api/jobs/{job.pk}/result?part=mix&amp;format=mp3" in html
    assert 'http-equiv="refresh"' not in html  # finished: no more refreshing


def test_result_honours_a_byte_range_so_the_player_can_seek(client, finished_job):
    job, _ = finished_job
    whole = body_of(client.get(f"/api/jobs/{job.pk}/result?part=mix"))
    part = client.get(f"/api/jobs/{job.pk}/result?part=mix", HTTP_RANGE="bytes=100-1099")
    assert part.status_code == 206
    assert part["Content-Range"] == f"bytes 100-1099/{len(whole)}"
    assert body_of(part) == whole[100:1100]
    tail = client.get(f"/api/jobs/{job.pk}/result?part=mix", HTTP_RANGE="bytes=-500")
    assert body_of(tail) == whole[-500:]
    beyond = client.get(f"/api/jobs/{job.pk}/result?part=mix", HTTP_RANGE=f"bytes={len(whole)}-")
    assert beyond.status_code == 416
