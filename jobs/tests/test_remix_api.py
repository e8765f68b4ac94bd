"""POST /api/jobs/{id}/remix: the contract (queue held, no pipeline) and a real re-style (Celery eager).

A re-style shares its source's stored song, stem cache entry and analysis, so its worker only plays.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import soundfile as sf
from django.contrib.auth.models import User
from django.test import Client
from rest_framework.authtoken.models import Token

from jobs.models import Job
from jobs.tests.helpers import ANALYSIS, error_of, finished_source, stored_files
from pipeline.types import PLAY_STAGES

pytestmark = pytest.mark.django_db


def body_of(response) -> bytes:  # type: ignore[no-untyped-def]
    return b"".join(response.streaming_content) if response.streaming else response.content


def remix(client, job: Job, body: dict | None = None, **extra):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/jobs/{job.pk}/remix", json.dumps(body or {}), content_type="application/json", **extra
    )


# --- The contract ----------------------------------------------------------------------------------------


def test_remix_creates_a_queued_job_that_shares_the_sources_song_analysis_and_stems(
    client, song_upload, held_queue
):
    source = finished_source(client, song_upload, style="thrash", intensity="0.9", output_format="mp3")
    held_queue.drain()
    response = remix(client, source, {"style": "doom", "feel": "half"})
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == {"id", "status", "url"} and body["status"] == "queued"
    assert response["Location"] == body["url"] == f"http://testserver/api/jobs/{body['id']}"
    job = Job.objects.get(pk=body["id"])
    # what was not asked for keeps the source's value
    assert (job.style, job.feel, job.intensity, job.output_format, job.seed) == (
        "doom",
        "half",
        0.9,
        "mp3",
        0,
    )
    assert job.source == source
    assert job.input_file.name == source.input_file.name
    assert (job.analysis, job.stem_key, job.original_name) == (
        ANALYSIS,
        source.stem_key,
        source.original_name,
    )
    assert [p.name for p in stored_files()] == ["song.wav"], "the song is shared, not copied"
    messages = held_queue.drain()
    assert [m["argsrepr"] for m in messages] == [repr([str(job.pk)])]
    detail = client.get(body["url"]).json()
    assert detail["source"] == str(source.pk)
    assert detail["options"]["feel"] == "half"
    assert detail["links"]["source"] == f"http://testserver/api/jobs/{source.pk}"
    assert detail["reused"] == {"stems": False, "analysis": False}  # not played yet


def test_remix_takes_form_data_too(client, song_upload, held_queue):
    source = finished_source(client, song_upload)
    response = client.post(
        f"/api/jobs/{source.pk}/remix", {"style": "black", "seed": "5", "keep_vocals": "false"}
    )
    assert response.status_code == 201, response.content
    job = Job.objects.get(pk=response.json()["id"])
    assert (job.style, job.seed, job.keep_vocals) == ("black", 5, False)


def test_only_the_creator_may_remix_another_session_or_token_gets_403(client, song_upload, held_queue):
    source = finished_source(client, song_upload)
    for stranger, extra in (
        (Client(), {}),
        (
            Client(),
            {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=User.objects.create_user('eve')).key}"},
        ),
    ):
        response = remix(stranger, source, {"style": "doom"}, **extra)
        assert response.status_code == 403
        assert error_of(response)["code"] == "forbidden"
    assert Job.objects.count() == 1


def test_a_token_user_remixes_their_own_job(song_upload, held_queue):
    carol = User.objects.create_user("carol")
    auth = {"HTTP_AUTHORIZATION": f"Token {Token.objects.create(user=carol).key}"}
    source = finished_source(Client(**auth), song_upload)
    assert source.owner == carol
    response = remix(Client(), source, {"style": "power"}, **auth)
    assert response.status_code == 201, response.content
    assert Job.objects.get(pk=response.json()["id"]).owner == carol


def test_remix_of_an_unfinished_failed_or_unknown_job_is_refused_in_the_error_shape(
    client, song_upload, held_queue
):
    source = finished_source(client, song_upload)
    Job.objects.filter(pk=source.pk).update(status="queued")
    assert error_of(remix(client, source))["code"] == "not_ready"
    Job.objects.filter(pk=source.pk).update(status="failed", error_message="Boom.")
    response = remix(client, source)
    assert response.status_code == 409 and error_of(response)["code"] == "job_failed"
    missing = client.post("/api/jobs/00000000-0000-4000-8000-000000000000/remix", {})
    assert missing.status_code == 404 and error_of(missing)["code"] == "not_found"
    Job.objects.filter(pk=source.pk).update(status="succeeded", analysis=None)
    gone = remix(client, source)
    assert gone.status_code == 409 and error_of(gone)["code"] == "source_unavailable"


@pytest.mark.parametrize(
    "body", [{"style": "polka"}, {"intensity": 2}, {"feel": "triple"}, {"seed": -1}, ["style", "doom"]]
)
def test_invalid_options_are_400_and_create_nothing(client, song_upload, held_queue, body):
    source = finished_source(client, song_upload)
    response = client.post(f"/api/jobs/{source.pk}/remix", json.dumps(body), content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_options"
    assert Job.objects.count() == 1


def test_remix_answers_503_and_keeps_the_song_when_the_broker_is_down(
    client, song_upload, held_queue, settings
):
    source = finished_source(client, song_upload)
    from jobs.tests.conftest import celery_app

    celery_app.conf.broker_url = "redis://127.0.0.1:9/0"
    celery_app.close()
    try:
        response = remix(client, source, {"style": "doom"})
    finally:
        celery_app.conf.broker_url = "memory://"
        celery_app.close()
    assert response.status_code == 503
    assert error_of(response)["code"] == "queue_unavailable"
    assert list(Job.objects.values_list("pk", flat=True)) == [source.pk]
    assert [p.name for p in stored_files()] == ["song.wav"]


def test_remixes_count_against_the_upload_throttle(client, song_upload, held_queue, settings):
    source = finished_source(client, song_upload)
    settings.METALIZER_UPLOAD_RATE = (4, 3600)  # the source's upload is 1
    assert remix(client, source, {"style": "doom"}).status_code == 201
    assert client.post("/api/jobs", {"file": song_upload()}).status_code == 201
    assert remix(client, source, {"style": "black"}).status_code == 201
    for response in (
        remix(client, source, {"style": "power"}),
        client.post("/api/jobs", {"file": song_upload()}),
    ):
        assert response.status_code == 429
        assert error_of(response)["code"] == "throttled"


def test_the_schema_documents_the_remix_endpoint_with_every_status():
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    path = next(p for p in schema["paths"] if p.rstrip("/") == "/api/jobs/{id}/remix")
    operation = schema["paths"][path]["post"]
    expected = {"201", "400", "401", "403", "404", "409", "413", "415", "429", "503"}
    assert set(operation["responses"]) == expected
    for content in operation["requestBody"]["content"].values():
        ref = content["schema"]["$ref"].rsplit("/", 1)[-1]
        request = schema["components"]["schemas"][ref]
        assert set(request["properties"]) == {
            "style",
            "intensity",
            "output_format",
            "keep_vocals",
            "seed",
            "feel",
        }
        assert not request.get("required")
    job = schema["components"]["schemas"]["Job"]["properties"]
    assert {"source", "reused"} <= set(job)
    feel = schema["components"]["schemas"]["RemixOptions"]["properties"]["feel"]["allOf"][0]["$ref"]
    assert schema["components"]["schemas"][feel.rsplit("/", 1)[-1]]["enum"] == [
        "auto",
        "half",
        "normal",
        "double",
    ]


def test_deleting_the_source_keeps_the_song_for_its_remix_then_the_last_delete_removes_everything(
    client, song_upload, held_queue
):
    source = finished_source(client, song_upload)
    restyle = Job.objects.get(pk=remix(client, source, {"style": "doom"}).json()["id"])
    assert client.delete(f"/api/jobs/{source.pk}").status_code == 204
    restyle.refresh_from_db()
    assert restyle.source is None  # the link goes, the song stays
    assert [p.name for p in stored_files()] == ["song.wav"]
    assert client.get(f"/api/jobs/{restyle.pk}/result?part=original").status_code == 200
    assert client.delete(f"/api/jobs/{restyle.pk}").status_code == 204
    assert stored_files() == []


# --- A real re-style through the pipeline (Celery eager) -------------------------------------------------


def _refuse(what: str):  # type: ignore[no-untyped-def]
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise AssertionError(f"{what} ran although the re-style had everything it needed")

    return refuse


def test_a_restyle_plays_the_cached_stems_with_the_stored_analysis_and_sounds_different(
    client, song_upload, monkeypatch
):
    created = client.post("/api/jobs", {"file": song_upload("My Song.wav"), "style": "thrash"})
    source = Job.objects.get(pk=created.json()["id"])
    assert source.status == "succeeded", source.error_message
    assert source.stem_key and not source.analysis_reused and not source.stems_reused
    monkeypatch.setattr("jobs.runner.download_file", _refuse("fetching the stored song"))
    monkeypatch.setattr("pipeline.audio_io.decode", _refuse("decoding"))
    monkeypatch.setattr("pipeline.separate.separate", _refuse("separation"))
    monkeypatch.setattr("pipeline.analyze.analyze", _refuse("analysis"))

    response = remix(client, source, {"style": "doom"})
    assert response.status_code == 201, response.content
    job = Job.objects.get(pk=response.json()["id"])
    assert job.status == "succeeded", (job.error_code, job.error_message)
    body = client.get(f"/api/jobs/{job.pk}?include=analysis").json()
    assert body["reused"] == {"stems": True, "analysis": True}
    assert body["separator"]["cached"] is True
    assert body["separator"]["name"] == source.separator["name"]
    assert body["analysis"] == source.analysis
    assert body["source"] == str(source.pk)
    assert set(job.timings) == {"reusing", *(name for name, _ in PLAY_STAGES), "storing"}
    mixes = [
        sf.read(io.BytesIO(body_of(client.get(f"/api/jobs/{j.pk}/result?part=mix&format=wav"))))[0]
        for j in (source, job)
    ]
    assert mixes[0].shape == mixes[1].shape
    assert np.abs(mixes[0] - mixes[1]).mean() > 0.01, "doom must not sound like thrash"
    assert sum(p.parent.name == "input" for p in stored_files()) == 1, "the song is stored once"


def test_a_restyle_whose_stems_left_the_cache_separates_again_but_keeps_the_analysis(
    client, song_upload, monkeypatch
):
    from jobs.stem_cache import delete_entry

    source = Job.objects.get(pk=client.post("/api/jobs", {"file": song_upload()}).json()["id"])
    assert source.status == "succeeded"
    assert delete_entry(source.stem_key) >= 5
    monkeypatch.setattr("pipeline.analyze.analyze", _refuse("analysis"))
    job = Job.objects.get(pk=remix(client, source, {"style": "power"}).json()["id"])
    assert job.status == "succeeded", (job.error_code, job.error_message)
    assert job.analysis_reused and not job.stems_reused
    assert job.stem_key == source.stem_key  # put back in the cache under the same key
    assert {"separating", "arranging"} <= set(job.timings) and "analysing" not in job.timings
