"""The mix is playable first (issue 29): stored and recorded as soon as it is mastered, served by the result
API and shown on the job page while the stems, MIDI files and pictures are still being stored, and deleted
with the job's other results when the job then fails or is cancelled.

The runs are real (eager worker, real pipeline, local storage); what a listener does while the job is in its
finishing stage is done from inside the worker's ``on_mix`` (``jobs.runner.EarlyMix``), right after the mix
was stored, through the same test client a listener's browser would be.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
import soundfile as sf
from django.utils import timezone

from jobs import lifecycle, runner, services
from jobs.models import Job
from jobs.storage import upload_file
from jobs.tasks import process_job
from jobs.tests.helpers import error_of, stored_files

pytestmark = pytest.mark.django_db

EARLY_NOTE = "Your remix is ready: stems, MIDI and picture are still being stored."


def body_of(response) -> bytes:  # type: ignore[no-untyped-def]
    return b"".join(response.streaming_content) if response.streaming else response.content


def queued_job(client, song_upload, **options: str) -> Job:  # type: ignore[no-untyped-def]
    response = client.post("/api/jobs", {"file": song_upload("Riff.wav", bars=2), **options})
    assert response.status_code == 201, response.content
    return Job.objects.get(pk=response.json()["id"])


def run_acting_on_mix(
    monkeypatch,
    job: Job,
    before: Callable[[Any], None] | None = None,
    after: Callable[[Any], None] | None = None,
) -> str:  # type: ignore[no-untyped-def]
    """Run ``job`` in the worker; ``before``/``after`` run (with the job id) around storing its early mix."""

    class Acting(runner.EarlyMix):
        def __call__(self, mixes):  # type: ignore[no-untyped-def]
            if before:
                before(self.job_id)
            super().__call__(mixes)
            if after:
                after(self.job_id)

    monkeypatch.setattr(runner, "EarlyMix", Acting)
    return process_job.apply(args=[str(job.pk)], task_id=job.celery_task_id).get()


def result_files() -> list[str]:
    return [p.name for p in stored_files(stem_cache=False) if "result" in p.parts]


@pytest.mark.parametrize("output_format", ["wav", "mp3"])
def test_the_mix_downloads_while_the_job_is_still_finishing(
    monkeypatch, held_queue, client, song_upload, output_format
):
    job = queued_job(client, song_upload, output_format=output_format)
    seen: dict[str, Any] = {}

    def listen(job_id: Any) -> None:
        seen["row"] = Job.objects.get(pk=job_id)
        seen["api"] = client.get(f"/api/jobs/{job_id}").json()
        mix = client.get(f"/api/jobs/{job_id}/result?part=mix")
        seen["mix"] = (mix.status_code, mix["Content-Type"], mix.get("Content-Disposition"), body_of(mix))
        seen["stems"] = error_of(client.get(f"/api/jobs/{job_id}/result?part=stems"))
        seen["drums"] = client.get(f"/api/jobs/{job_id}/result?part=drums").status_code
        other = "flac"
        seen["other_format"] = client.get(f"/api/jobs/{job_id}/result?part=mix&format={other}")
        seen["page"] = client.get(f"/jobs/{job_id}/").content.decode()
        seen["files"] = result_files()

    assert run_acting_on_mix(monkeypatch, job, after=listen) == "succeeded"
    row, api = seen["row"], seen["api"]
    assert (row.status, row.stage) == ("running", "finishing")
    assert row.mix_ready_at is not None and set(row.outputs) == {"mix"}
    assert seen["files"] == [f"mix.{output_format}"]  # the mix alone: the rest is stored after
    # the job API says the mix is ready, and where
    assert (api["status"], api["stage"], api["mix_ready"]) == ("running", "finishing", True)
    assert api["mix_url"] == f"http://testserver/api/jobs/{job.pk}/result?part=mix"
    assert api["links"]["result"] == {}  # what an original client reads as "done" is unchanged
    # the mix downloads, whole, and decodes
    status, content_type, disposition, data = seen["mix"]
    assert status == 200 and content_type == ("audio/wav" if output_format == "wav" else "audio/mpeg")
    assert disposition.startswith("attachment;") and f"Riff (metal, heavy).{output_format}" in disposition
    audio, rate = sf.read(io.BytesIO(data)) if output_format == "wav" else (None, None)
    if audio is not None:
        assert rate == 44100 and abs(len(audio) / rate - job.duration) < 1.0
    # every other part, and the mix's other formats, answer as for any running job
    assert seen["stems"]["code"] == "not_ready" and seen["drums"] == 409
    assert seen["other_format"].status_code == 409
    assert "can be played now as " + output_format in error_of(seen["other_format"])["message"]
    # the page shows the player, server-rendered (without a script its refresh brings it, then the rest)
    page = seen["page"]
    assert EARLY_NOTE in page and "{#" not in page and "job.js (which" not in page  # no template comment
    assert (
        f'<audio id="early-mix-audio" controls preload="none" src="/api/jobs/{job.pk}/result?part=mix">'
        in page
    )
    assert 'id="early-mix" aria-labelledby="early-mix-heading" hidden' not in page
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in page and "js/job.js" in page
    # once done: the same file (stored once), the other formats beside it, the time it was ready kept
    job.refresh_from_db()
    assert job.status == "succeeded"
    assert job.outputs["mix"][output_format] == row.outputs["mix"][output_format]
    assert "wav" in job.outputs["mix"] and {"drums", "pictures"} <= set(job.outputs)
    assert job.started_at <= job.mix_ready_at == row.mix_ready_at <= job.finished_at
    final = client.get(f"/api/jobs/{job.pk}/result?part=mix&format={output_format}")
    assert body_of(final) == data
    done = client.get(f"/api/jobs/{job.pk}").json()
    assert done["mix_ready"] is True and done["mix_url"] == api["mix_url"]


def test_the_stems_and_pictures_are_stored_as_they_are_written_each_file_once(
    monkeypatch, held_queue, client, song_upload
):
    """Storing overlaps the making (issue 29): each stem and picture goes up while the job is still
    finishing, the next ones still being written; the MIDI ZIP and the mix's other formats follow. What a
    client sees is unchanged: the parts are handed out once the job has succeeded, each stored once."""
    job = queued_job(client, song_upload, output_format="mp3")
    uploads: list[str] = []
    real_upload = runner.upload_file

    def counted(path: Any, key: str) -> str:
        uploads.append(key)
        return real_upload(path, key)

    seen: list[tuple[str, str, str, str, list[str], int]] = []

    class Watching(runner.EarlyFiles):
        def __call__(self, kind, name, path):  # type: ignore[no-untyped-def]
            super().__call__(kind, name, path)
            row = Job.objects.get(pk=self.job_id)
            drums = client.get(f"/api/jobs/{self.job_id}/result?part=drums").status_code
            seen.append((kind, name, row.status, row.stage, result_files(), drums))

    monkeypatch.setattr(runner, "upload_file", counted)
    monkeypatch.setattr(runner, "EarlyFiles", Watching)
    assert process_job.apply(args=[str(job.pk)], task_id=job.celery_task_id).get() == "succeeded"
    job.refresh_from_db()
    stems = sorted(name for kind, name, *_ in seen if kind == "stems")
    assert stems == ["bass", "drums", "guitars", "other", "vocals"]
    assert {kind for kind, *_ in seen} == {"stems", "midi", "pictures"}
    # the MIDI files go up as one ZIP, with the rest
    assert not [files for kind, _n, _s, _t, files, _d in seen if kind == "midi" and "midi.zip" in files]
    assert all((status, stage) == ("running", "finishing") for _k, _n, status, stage, _f, _d in seen)
    first_files = seen[0][4]
    assert "midi.zip" not in first_files and "mix.wav" not in first_files  # stored before the rest
    assert all(drums == 409 for *_, drums in seen)  # not handed out before the job succeeds
    assert len(uploads) == len(set(uploads))  # every file stored once
    for name in stems:
        assert job.outputs[name]["flac"].endswith(f"/result/stems/{name}.flac")
    assert set(job.outputs["pictures"]) == {name for kind, name, *_ in seen if kind == "pictures"}
    assert {"mp3", "wav"} <= set(job.outputs["mix"]) and "zip" in job.outputs["midi"]
    drums = client.get(f"/api/jobs/{job.pk}/result?part=drums")
    assert drums.status_code == 200
    audio, rate = sf.read(io.BytesIO(body_of(drums)))
    assert rate == 44100 and abs(len(audio) / rate - job.duration) < 1.0


def test_a_re_style_stores_its_mix_early_too(monkeypatch, client, song_upload, held_queue):
    """A re-style plays from the stem cache (``pipeline.replay``): its mix is playable first as well."""
    source = queued_job(client, song_upload)
    assert process_job.apply(args=[str(source.pk)], task_id=source.celery_task_id).get() == "succeeded"
    response = client.post(f"/api/jobs/{source.pk}/remix", {"style": "doom"}, content_type="application/json")
    assert response.status_code == 201, response.content
    restyle = Job.objects.get(pk=response.json()["id"])
    seen = []

    def listen(job_id: Any) -> None:
        seen.append((Job.objects.get(pk=job_id).stage, client.get(f"/api/jobs/{job_id}/result").status_code))

    assert run_acting_on_mix(monkeypatch, restyle, after=listen) == "succeeded"
    restyle.refresh_from_db()
    assert seen == [("finishing", 200)] and restyle.stems_reused and restyle.mix_ready_at


def test_a_job_failing_after_its_mix_was_stored_deletes_it_with_the_rest(
    monkeypatch, held_queue, client, song_upload
):
    """The pictures fail after the mix was stored: the job fails and hands out nothing, the mix included."""
    import pipeline.play
    from pipeline.errors import RENDER_FAILED, PipelineError

    def breaks(*_args: Any, **_kwargs: Any) -> None:  # a fault in the picture, injected
        raise PipelineError(RENDER_FAILED, "The picture could not be drawn.")

    monkeypatch.setattr(pipeline.play, "draw_song", breaks)
    job = queued_job(client, song_upload)
    stored: list[str] = []
    assert run_acting_on_mix(monkeypatch, job, after=lambda _id: stored.extend(result_files())) == "failed"
    assert stored == ["mix.wav"]
    job.refresh_from_db()
    assert (job.status, job.error_code, job.stage) == ("failed", "render_failed", "finishing")
    assert job.outputs == {} and job.mix_ready_at is None
    assert [p.name for p in stored_files(stem_cache=False)] == ["Riff.wav"]
    assert error_of(client.get(f"/api/jobs/{job.pk}/result?part=mix"))["code"] == "job_failed"
    body = client.get(f"/api/jobs/{job.pk}").json()
    assert (body["mix_ready"], body["mix_url"], body["mix_ready_at"]) == (False, None, None)
    assert 'id="early-mix"' not in client.get(f"/jobs/{job.pk}/").content.decode()


def test_a_job_cancelled_while_finishing_deletes_its_early_mix(monkeypatch, held_queue, client, song_upload):
    job = queued_job(client, song_upload)
    answers: list[str] = []

    def cancel(job_id: Any) -> None:
        assert services.cancel_job(Job.objects.get(pk=job_id))
        answers.append(error_of(client.get(f"/api/jobs/{job_id}/result?part=mix"))["code"])

    assert run_acting_on_mix(monkeypatch, job, after=cancel) == "cancelled"
    assert answers == ["job_cancelled"]  # gone from the moment it was cancelled
    job.refresh_from_db()
    assert (job.status, job.outputs, job.mix_ready_at) == ("cancelled", {}, None)
    assert [p.name for p in stored_files(stem_cache=False)] == ["Riff.wav"]


def test_a_job_cancelled_while_its_mix_goes_up_leaves_no_mix(monkeypatch, held_queue, client, song_upload):
    """The cancel's cleanup ran before the upload landed: the worker deletes what it stored and stops."""
    job = queued_job(client, song_upload)
    cancel = lambda job_id: lifecycle.cancel(job_id)  # noqa: E731 - the row only: the files are not there yet
    assert run_acting_on_mix(monkeypatch, job, before=cancel) == "cancelled"
    job.refresh_from_db()
    assert (job.status, job.outputs, job.mix_ready_at) == ("cancelled", {}, None)
    assert [p.name for p in stored_files(stem_cache=False)] == ["Riff.wav"]


def test_a_deleted_job_while_finishing_leaves_nothing(monkeypatch, held_queue, client, song_upload):
    job = queued_job(client, song_upload)
    delete = lambda job_id: services.delete_job(Job.objects.get(pk=job_id))  # noqa: E731
    assert run_acting_on_mix(monkeypatch, job, after=delete) == "cancelled"
    assert not Job.objects.filter(pk=job.pk).exists() and stored_files(stem_cache=False) == []


# --- The row's transitions: a job that hands out nothing names no mix --------------------------------------


@pytest.fixture
def finishing_job(client, song_upload, held_queue, tmp_path) -> Job:  # type: ignore[no-untyped-def]
    """A running job whose mix is stored and recorded (as EarlyMix leaves it), with no pipeline run."""
    job = queued_job(client, song_upload)
    Job.objects.filter(pk=job.pk).update(
        status="running", stage="finishing", progress=95.0, started_at=timezone.now()
    )
    mix = tmp_path / "mix.wav"
    mix.write_bytes((tmp_path / "songs" / "Riff.wav").read_bytes())
    key = upload_file(mix, f"jobs/{job.pk}/result/mix.wav")
    assert lifecycle.record_mix(job.pk, {"wav": key})
    job.refresh_from_db()
    return job


@pytest.mark.parametrize(
    "transition",
    [
        lambda job: lifecycle.fail(job.pk, "render_failed"),
        lambda job: services.cancel_job(job),
        lambda job: lifecycle.wait_for_retry(job.pk, "a temporary storage or network problem"),
        lambda job: lifecycle.recover_orphan(job),
    ],
    ids=["fail", "cancel", "retry", "orphan"],
)
def test_every_end_but_success_forgets_the_early_mix_and_deletes_it(client, finishing_job, transition):
    assert finishing_job.mix_ready and result_files() == ["mix.wav"]
    transition(finishing_job)
    finishing_job.refresh_from_db()
    assert finishing_job.status != "running"
    assert (finishing_job.outputs, finishing_job.mix_ready_at, finishing_job.mix_ready) == ({}, None, False)
    assert result_files() == []
    assert client.get(f"/api/jobs/{finishing_job.pk}/result?part=mix").status_code == 409


def test_record_mix_refuses_a_job_no_longer_running(finishing_job):
    lifecycle.cancel(finishing_job.pk)
    assert not lifecycle.record_mix(finishing_job.pk, {"wav": "jobs/x/result/mix.wav"})
    finishing_job.refresh_from_db()
    assert finishing_job.outputs == {}


def test_the_job_page_holds_the_player_hidden_until_the_mix_is_ready(client, song_upload, held_queue):
    job = queued_job(client, song_upload)
    Job.objects.filter(pk=job.pk).update(status="running", stage="mastering", progress=80.0)
    html = client.get(f"/jobs/{job.pk}/").content.decode()
    assert (
        '<section class="panel early-mix" id="early-mix" aria-labelledby="early-mix-heading" hidden>' in html
    )
    assert '<audio id="early-mix-audio" controls preload="none"></audio>' in html  # job.js sets its source
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in html
    assert client.get(f"/api/jobs/{job.pk}").json()["mix_ready"] is False


def test_the_page_of_a_finishing_job_offers_its_mix_and_still_refreshes(client, finishing_job):
    html = client.get(f"/jobs/{finishing_job.pk}/").content.decode()
    assert EARLY_NOTE in html
    assert f'href="/api/jobs/{finishing_job.pk}/result?part=mix" download="Riff (metal, heavy).wav"' in html
    # without a script the page keeps refreshing, to the whole result once the rest is stored
    assert '<noscript><meta http-equiv="refresh" content="3"></noscript>' in html


def test_my_remixes_offers_the_mix_of_a_job_still_finishing(client, finishing_job):
    html = client.get("/jobs/").content.decode()
    url = f"/api/jobs/{finishing_job.pk}/result?part=mix"
    link = f'href="{url}" download="Riff (metal, heavy).wav">Download remix'
    assert link in html and "Running · 95%" in html


def test_the_schema_describes_the_new_fields(client):
    import yaml

    schema = yaml.safe_load(client.get("/api/schema/").content)
    job = schema["components"]["schemas"]["Job"]["properties"]
    assert job["mix_ready"]["type"] == "boolean"
    assert job["mix_url"]["format"] == "uri" and job["mix_url"]["nullable"] is True
    assert job["mix_ready_at"]["format"] == "date-time"
    for field in ("status", "stage", "progress", "seconds_left", "links", "error_code", "finished_at"):
        assert field in job  # none of the original fields went


def test_a_seed_job_still_answers_not_ready_until_complete(monkeypatch, held_queue, client, song_upload):
    """The original API's clients poll until ``complete`` and read 409 before: its jobs keep that contract."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    generated = song_upload("Riff.wav", bars=2)
    upload = SimpleUploadedFile("song.wav", generated.read(), content_type="audio/wav")
    response = client.post("/api/remix?background=true", {"file": upload})
    assert response.status_code == 200, response.content
    job = Job.objects.get(pk=response.json()["job_id"])
    seen: dict[str, Any] = {}

    def listen(job_id: Any) -> None:
        seen["stored"] = Job.objects.get(pk=job_id).mix_ready
        seen["result"] = client.get(f"/api/jobs/{job_id}/result")
        seen["job"] = client.get(f"/api/jobs/{job_id}").json()

    assert run_acting_on_mix(monkeypatch, job, after=listen) == "succeeded"
    assert seen["stored"] is True  # stored early all the same: the native page of the job may play it
    assert seen["result"].status_code == 409
    assert seen["job"]["status"] == "processing" and "download_url" not in seen["job"]
    assert client.get(f"/api/jobs/{job.pk}/result").status_code == 200
