"""The /api/jobs contract, with the queue held so no remix runs: ownership, listing, deleting, errors."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.authtoken.models import Token

from jobs.models import Job
from jobs.tests.helpers import error_of, stored_files

pytestmark = pytest.mark.django_db


def upload(client, song_upload, **extra):  # type: ignore[no-untyped-def]
    response = client.post("/api/jobs", {"file": song_upload(), **extra.pop("data", {})}, **extra)
    assert response.status_code == 201, response.content
    return response.json()


def test_upload_creates_a_queued_job_and_sends_only_its_id(client, song_upload, held_queue):
    body = upload(client, song_upload, data={"style": "thrash", "intensity": "0.9", "seed": "7"})
    assert body["status"] == "queued"
    assert body["url"] == f"http://testserver/api/jobs/{body['id']}"
    job = Job.objects.get(pk=body["id"])
    assert (job.style, job.intensity, job.seed, job.keep_vocals, job.output_format) == (
        "thrash",
        0.9,
        7,
        True,
        "wav",
    )
    assert job.original_name == "song.wav" and job.size_bytes > 0 and 3.0 < job.duration < 6.0
    assert [p.name for p in stored_files()] == ["song.wav"]
    messages = held_queue.drain()
    assert len(messages) == 1
    assert messages[0]["task"] == "jobs.tasks.process_job"
    assert messages[0]["id"] == job.celery_task_id
    assert messages[0]["argsrepr"] == repr([str(job.pk)])


def test_list_shows_only_the_callers_own_jobs(song_upload, held_queue):
    alice, bob = Client(), Client()
    mine = upload(alice, song_upload)
    theirs = upload(bob, song_upload)
    assert [j["id"] for j in alice.get("/api/jobs").json()["results"]] == [mine["id"]]
    assert [j["id"] for j in bob.get("/api/jobs/").json()["results"]] == [theirs["id"]]
    assert Client().get("/api/jobs").json()["results"] == []


def test_token_clients_see_their_own_jobs_only(song_upload, held_queue):
    carol = User.objects.create_user("carol")
    dave = User.objects.create_user("dave")
    carol_auth = {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=carol).key}"}
    dave_auth = {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=dave).key}"}
    job = upload(Client(), song_upload, **carol_auth)
    assert Job.objects.get(pk=job["id"]).owner == carol
    assert [j["id"] for j in Client().get("/api/jobs", **carol_auth).json()["results"]] == [job["id"]]
    assert Client().get("/api/jobs", **dave_auth).json()["results"] == []
    assert Client().delete(f"/api/jobs/{job['id']}", **dave_auth).status_code == 403
    assert Client().delete(f"/api/jobs/{job['id']}", **carol_auth).status_code == 204


def test_anyone_holding_the_id_may_read_a_job_but_not_delete_it(client, song_upload, held_queue):
    job = upload(client, song_upload)
    stranger = Client()
    detail = stranger.get(f"/api/jobs/{job['id']}")
    assert detail.status_code == 200
    body = detail.json()
    assert body["id"] == job["id"] and body["status"] == "queued"
    assert body["options"] == {
        "style": "heavy",
        "intensity": 0.7,
        "output_format": "wav",
        "keep_vocals": True,
        "seed": 0,
        "feel": "auto",
        "separator": "auto",
    }
    for key in (
        "stage",
        "progress",
        "error_code",
        "error_message",
        "original_name",
        "duration",
        "analysis",
        "separator",
        "created_at",
        "started_at",
        "finished_at",
        "expires_at",
        "links",
    ):
        assert key in body
    assert body["links"]["result"] == {}
    response = stranger.delete(f"/api/jobs/{job['id']}")
    assert response.status_code == 403
    assert error_of(response)["code"] == "forbidden"
    assert Job.objects.filter(pk=job["id"]).exists()


def test_delete_removes_the_job_and_every_file(client, song_upload, held_queue):
    job = upload(client, song_upload)
    assert stored_files()
    response = client.delete(f"/api/jobs/{job['id']}/")
    assert response.status_code == 204
    assert not Job.objects.filter(pk=job["id"]).exists()
    assert stored_files() == []
    assert client.get(f"/api/jobs/{job['id']}").status_code == 404


def test_result_is_409_while_the_job_is_not_ready(client, song_upload, held_queue):
    job = upload(client, song_upload)
    response = client.get(f"/api/jobs/{job['id']}/result?part=mix")
    assert response.status_code == 409
    error = error_of(response)
    assert error["code"] == "not_ready"
    assert "not ready yet" in error["message"]


def test_result_of_a_failed_job_is_409_with_its_reason(client, song_upload, held_queue):
    job = upload(client, song_upload)
    Job.objects.filter(pk=job["id"]).update(
        status="failed", error_code="render_failed", error_message="Boom."
    )
    response = client.get(f"/api/jobs/{job['id']}/result")
    assert response.status_code == 409
    assert error_of(response) == {"code": "job_failed", "message": "This remix failed: Boom."}


@pytest.mark.parametrize("query", ["part=karaoke", "part=mix&format=ogg"])
def test_result_refuses_unknown_part_or_format(client, song_upload, held_queue, query):
    job = upload(client, song_upload)
    response = client.get(f"/api/jobs/{job['id']}/result?{query}")
    assert response.status_code == 400
    assert error_of(response)["code"] in {"invalid_part", "invalid_format"}


@pytest.mark.parametrize("job_id", ["8d4b0211-d3f1-466d-b747-34f2ab122977", "not-a-uuid"])
def test_unknown_job_is_404_everywhere(client, job_id):
    for response in (
        client.get(f"/api/jobs/{job_id}"),
        client.get(f"/api/jobs/{job_id}/result"),
        client.delete(f"/api/jobs/{job_id}"),
    ):
        assert response.status_code == 404
        assert error_of(response)["code"] == "not_found"


def test_upload_answers_503_and_keeps_nothing_when_the_broker_is_down(
    client, song_upload, unreachable_broker
):
    response = client.post("/api/jobs", {"file": song_upload()})
    assert response.status_code == 503
    error = error_of(response)
    assert error["code"] == "queue_unavailable"
    assert "queue is not reachable" in error["message"]
    assert Job.objects.count() == 0
    assert stored_files() == []


def test_uploads_are_throttled_with_their_own_scope(client, song_upload, held_queue, settings):
    settings.METALIZER_UPLOAD_RATE = (2, 3600)
    upload(client, song_upload)
    upload(client, song_upload)
    response = client.post("/api/jobs", {"file": song_upload()})
    assert response.status_code == 429
    assert error_of(response)["code"] == "throttled"
    assert 3500 <= int(response["Retry-After"]) <= 3600
    assert client.get("/api/jobs").status_code == 200  # reading is not limited by the upload scope


def test_schema_and_docs_pages_are_served(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/jobs/{id}/result" in schema.content
    assert client.get("/api/docs/").status_code == 200


def test_upload_on_the_embedded_broker_writes_a_message_before_any_worker_ran(
    client, song_upload, filesystem_broker
):
    import json

    assert not filesystem_broker.exists()
    body = upload(client, song_upload)
    messages = sorted(filesystem_broker.glob("*.heavy.msg"))
    assert len(messages) == 1
    payload = json.loads(messages[0].read_text())
    assert payload["headers"]["task"] == "jobs.tasks.process_job"
    assert payload["headers"]["id"] == Job.objects.get(pk=body["id"]).celery_task_id
    assert client.get("/healthz").json()["broker"] == "ok"


@pytest.fixture
def broken_storage(settings, tmp_path):  # type: ignore[no-untyped-def]
    """Local storage rooted under a regular file: every write fails with an OSError."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(blocker)},
        },
    }
    return blocker


def test_upload_answers_503_when_the_file_store_is_down_and_keeps_no_row(
    client, song_upload, held_queue, broken_storage
):
    response = client.post("/api/jobs", {"file": song_upload()})
    assert response.status_code == 503
    error = error_of(response)
    assert error["code"] == "storage_unavailable"
    assert "file store is not reachable" in error["message"]
    assert Job.objects.count() == 0
    assert held_queue.drain() == []


def test_failure_is_recorded_even_when_results_cannot_be_cleaned_up(broken_storage):
    from jobs import lifecycle

    job = Job.objects.create(original_name="s.wav", status="running")
    assert lifecycle.fail(job.pk, "render_failed", "The guitars could not be rendered.")
    job.refresh_from_db()
    assert (job.status, job.error_code) == ("failed", "render_failed")
