"""The seed Metalizer API's job calls (issue 27): their shapes and error codes, beside the native ones."""

from __future__ import annotations

import io

import pytest
import soundfile as sf
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from jobs.models import Job
from jobs.tests.helpers import error_of, finished_source

pytestmark = pytest.mark.django_db


def seed_song(song_upload, content_type: str = "audio/wav") -> SimpleUploadedFile:  # type: ignore[no-untyped-def]
    generated = song_upload()
    return SimpleUploadedFile("song.wav", generated.read(), content_type=content_type)


def queue_in_background(client: Client, song_upload) -> str:  # type: ignore[no-untyped-def]
    response = client.post("/api/remix?background=true", {"file": seed_song(song_upload)})
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"job_id", "status"} and body["status"] == "queued"
    return body["job_id"]


def test_background_remix_answers_the_job_id_and_the_job_answers_in_the_seed_shape(
    client, song_upload, held_queue
):
    job_id = queue_in_background(client, song_upload)
    body = client.get(f"/api/jobs/{job_id}").json()
    assert set(body) == {"job_id", "status", "error", "created_at"}
    assert body["job_id"] == job_id and body["status"] == "queued" and body["error"] is None
    Job.objects.filter(pk=job_id).update(status=Job.Status.RUNNING)
    assert client.get(f"/api/jobs/{job_id}").json()["status"] == "processing"
    result = client.get(f"/api/jobs/{job_id}/result")
    assert result.status_code == 409


def test_a_finished_seed_job_links_its_wav_and_a_failed_one_says_why(client, song_upload, held_queue):
    job_id = queue_in_background(client, song_upload)
    Job.objects.filter(pk=job_id).update(
        status=Job.Status.SUCCEEDED, outputs={"mix": {"wav": f"jobs/{job_id}/result/mix.wav"}}
    )
    body = client.get(f"/api/jobs/{job_id}").json()
    assert body["status"] == "complete" and body["download_url"] == f"/api/jobs/{job_id}/result"
    Job.objects.filter(pk=job_id).update(status=Job.Status.FAILED, error_message="The file is silent.")
    body = client.get(f"/api/jobs/{job_id}").json()
    assert body["status"] == "error" and body["error"] == "The file is silent." and "download_url" not in body


def test_native_jobs_keep_the_native_shape_and_either_shape_can_be_asked_for(client, song_upload, held_queue):
    native = finished_source(client, song_upload)
    body = client.get(f"/api/jobs/{native.pk}").json()
    assert body["id"] == str(native.pk) and body["status"] == "succeeded" and "job_id" not in body
    seed_view = client.get(f"/api/jobs/{native.pk}", HTTP_X_METALIZER_CONTRACT="seed").json()
    assert seed_view["status"] == "complete" and seed_view["download_url"].endswith("/result")
    seed_job = queue_in_background(client, song_upload)
    native_view = client.get(f"/api/jobs/{seed_job}", HTTP_X_METALIZER_CONTRACT="native").json()
    assert native_view["id"] == seed_job and native_view["status"] == "queued"
    bad = client.get(f"/api/jobs/{seed_job}", HTTP_X_METALIZER_CONTRACT="v3")
    assert bad.status_code == 400 and "X-Metalizer-Contract" in error_of(bad)["message"]


def test_remix_refuses_other_content_types_with_415(client, song_upload, held_queue):
    response = client.post("/api/remix", {"file": seed_song(song_upload, content_type="text/plain")})
    assert response.status_code == 415
    assert "audio/mpeg" in error_of(response)["message"]
    assert not Job.objects.exists()


@pytest.mark.parametrize("content_type", ["audio/mpeg", "audio/wav", "audio/x-wav", "audio/x-m4a"])
def test_remix_takes_each_seed_content_type(client, song_upload, held_queue, content_type):
    response = client.post("/api/remix?background=true", {"file": seed_song(song_upload, content_type)})
    assert response.status_code == 200, response.content


def test_remix_without_a_file_or_with_an_unknown_parameter_is_a_400(client, song_upload, held_queue):
    missing = client.post("/api/remix", {})
    assert missing.status_code == 400 and error_of(missing)["code"] == "no_file"
    response = client.post("/api/remix?background=true&style=doom", {"file": seed_song(song_upload)})
    assert response.status_code == 400 and "style" in error_of(response)["message"]


def test_a_blocking_remix_that_outlasts_the_wait_answers_202_with_the_job_to_poll(
    client, song_upload, held_queue, settings
):
    settings.METALIZER_SEED_REMIX_WAIT_S = 1
    response = client.post("/api/remix", {"file": seed_song(song_upload)})
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued" and response["Location"] == f"/api/jobs/{body['job_id']}"


def test_a_blocking_remix_answers_the_wav_when_done(client, song_upload):
    response = client.post("/api/remix", {"file": seed_song(song_upload)})
    assert response.status_code == 200, response.content[:500]
    assert response["Content-Type"] == "audio/wav"
    audio, rate = sf.read(io.BytesIO(b"".join(response.streaming_content)))
    assert rate == 44100 and audio.shape[0] > rate * 3


def test_seed_jobs_are_deleted_by_whoever_holds_the_id_and_native_jobs_by_their_creator(
    client, song_upload, held_queue
):
    seed_job = queue_in_background(client, song_upload)
    stranger = Client()
    response = stranger.delete(f"/api/jobs/{seed_job}")
    assert response.status_code == 200 and response.json() == {"job_id": seed_job, "status": "deleted"}
    assert stranger.get(f"/api/jobs/{seed_job}").status_code == 404
    native = finished_source(client, song_upload)
    assert stranger.delete(f"/api/jobs/{native.pk}", HTTP_X_METALIZER_CONTRACT="seed").status_code == 403
    assert client.delete(f"/api/jobs/{native.pk}").status_code == 204


def test_limit_lists_the_callers_jobs_in_the_seed_shape_up_to_200(client, song_upload, held_queue):
    first = queue_in_background(client, song_upload)
    second = queue_in_background(client, song_upload)
    listed = client.get("/api/jobs?limit=1").json()
    assert [item["job_id"] for item in listed] == [second]
    assert set(listed[0]) == {"job_id", "status", "created_at", "updated_at"}
    assert [item["job_id"] for item in client.get("/api/jobs?limit=200").json()] == [second, first]
    assert client.get("/api/jobs?limit=201").status_code == 400
    assert client.get("/api/jobs?limit=0").status_code == 400
    assert client.get("/api/jobs?limit=5&page=2").status_code == 400
    assert Client().get("/api/jobs?limit=5").json() == []
