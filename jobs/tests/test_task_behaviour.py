"""How process_job records progress, failures and cancellation."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage

from jobs.models import Job
from jobs.runner import JobCancelled, ProgressWriter
from jobs.tasks import backoff_delay
from jobs.tests.helpers import stored_files
from pipeline import jsonable

pytestmark = pytest.mark.django_db


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_progress_is_written_at_most_every_two_seconds(django_assert_num_queries):
    job = Job.objects.create(original_name="s.wav", status=Job.Status.RUNNING)
    clock = FakeClock()
    writer = ProgressWriter(job.pk, min_interval_s=2.0, clock=clock)
    with django_assert_num_queries(2):
        for step in range(400):  # 400 reports over 3.99 s of (fake) time
            clock.now = 1000.0 + step * 0.01
            writer("separating", step / 10)
    assert writer.writes == 2
    job.refresh_from_db()
    assert (job.stage, job.progress) == ("separating", 20.0)
    assert job.heartbeat_at is not None


def test_progress_report_stops_the_pipeline_when_the_job_was_cancelled():
    job = Job.objects.create(original_name="s.wav", status=Job.Status.CANCELLED)
    with pytest.raises(JobCancelled):
        ProgressWriter(job.pk, min_interval_s=0)("rendering", 70.0)


def test_progress_report_stops_the_pipeline_when_the_job_was_deleted():
    job = Job.objects.create(original_name="s.wav", status=Job.Status.RUNNING)
    writer = ProgressWriter(job.pk, min_interval_s=0)
    Job.objects.filter(pk=job.pk).delete()
    with pytest.raises(JobCancelled):
        writer("rendering", 70.0)


def test_backoff_grows_with_retries_and_has_jitter():
    first = [backoff_delay(0) for _ in range(50)]
    third = [backoff_delay(3) for _ in range(50)]
    assert all(15 <= d <= 30 for d in first)
    assert all(15 <= d <= 240 for d in third) and max(third) > 60
    assert len(set(first)) > 40


def test_jsonable_turns_numpy_and_nan_into_plain_json():
    import numpy as np

    assert jsonable({"tempo": np.float32(120.5), "beats": np.arange(3), "bad": float("nan")}) == {
        "tempo": 120.5,
        "beats": [0, 1, 2],
        "bad": None,
    }


def test_a_file_that_fails_in_the_worker_marks_the_job_failed_and_leaves_no_results(
    held_queue, client, song_upload, settings
):
    """A song that passed the upload checks but not the worker's (the duration limit was lowered since)."""
    from jobs.tasks import process_job

    response = client.post("/api/jobs", {"file": song_upload()})
    assert response.status_code == 201
    job = Job.objects.get(pk=response.json()["id"])
    settings.METALIZER_MAX_DURATION_S = 1
    assert process_job.apply(args=[str(job.pk)], task_id=job.celery_task_id).get() == "failed"
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and job.error_code == "too_long"
    assert job.outputs == {}
    job_files = [p.name for p in stored_files() if "stem-cache" not in p.parts]
    assert job_files == ["song.wav"]  # the input stays until expiry; no results
    # refused as it was decoded: nothing was separated, so nothing went into the stem cache either
    assert not [p for p in stored_files() if "stem-cache" in p.parts]
    assert not (settings.METALIZER_WORK_DIR / str(job.pk)).exists()


def test_an_empty_assets_folder_still_remixes_with_the_pipelines_shipped_packs(client, song_upload, settings):
    """METALIZER_ASSETS_DIR pointing at nothing (and an empty bank) is no reason for a remix to fail."""
    empty_assets = settings.METALIZER_WORK_DIR.parent / "no-assets"
    empty_assets.mkdir()
    settings.METALIZER_ASSETS_DIR = empty_assets
    response = client.post("/api/jobs", {"file": song_upload()})
    job = Job.objects.get(pk=response.json()["id"])
    assert (job.status, job.error_code) == ("succeeded", "")
    assert job.assets_used["fallback"] == [] and job.assets_used["packs"] == []


def test_input_missing_from_storage_fails_the_job_with_an_internal_error(held_queue, client, song_upload):
    from jobs.tasks import process_job

    response = client.post("/api/jobs", {"file": song_upload()})
    job = Job.objects.get(pk=response.json()["id"])
    default_storage.delete(job.input_file.name)
    assert process_job.apply(args=[str(job.pk)], task_id=job.celery_task_id).get() == "failed"
    job.refresh_from_db()
    assert job.status == "failed" and job.error_code == "internal_error"
    assert "went wrong on our side" in job.error_message


def test_transient_pipeline_error_is_retried_then_succeeds(client, song_upload, monkeypatch):
    """Out of memory on a busy worker is transient: the task retries (eagerly here) and the job succeeds."""
    import pipeline
    from pipeline.errors import PipelineError

    real = pipeline.metalize
    calls = []

    def flaky(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:
            raise PipelineError("out_of_memory", "The server ran out of memory on this song.", transient=True)
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "metalize", flaky)
    response = client.post("/api/jobs", {"file": song_upload()})
    job = Job.objects.get(pk=response.json()["id"])
    assert len(calls) == 2
    assert job.status == "succeeded" and job.attempts == 2


def test_a_connection_to_the_store_closed_while_storing_results_is_retried(client, song_upload, monkeypatch):
    """The S3 server or a proxy closing a connection mid-upload is a network problem, not a bug: retried."""
    from botocore.exceptions import ConnectionClosedError

    from jobs import runner

    real = runner.store_outputs
    calls = []

    def closing(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionClosedError(
                endpoint_url="http://127.0.0.1:1/bucket/jobs/x/result/stems/bass.flac"
            )
        return real(*args, **kwargs)

    monkeypatch.setattr(runner, "store_outputs", closing)
    response = client.post("/api/jobs", {"file": song_upload()})
    job = Job.objects.get(pk=response.json()["id"])
    assert len(calls) == 2
    assert job.status == "succeeded" and job.attempts == 2


def test_bad_input_pipeline_error_fails_once_without_retry(client, song_upload, monkeypatch):
    import pipeline
    from pipeline.errors import PipelineError

    calls = []

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        raise PipelineError("analysis_failed", "No beat could be found in this song.")

    monkeypatch.setattr(pipeline, "metalize", broken)
    response = client.post("/api/jobs", {"file": song_upload()})
    job = Job.objects.get(pk=response.json()["id"])
    assert len(calls) == 1
    assert (job.status, job.error_code, job.error_message) == (
        "failed",
        "analysis_failed",
        "No beat could be found in this song.",
    )


@pytest.mark.django_db(transaction=True)
def test_heartbeat_thread_keeps_a_long_silent_stage_from_looking_stuck():
    import time
    from datetime import timedelta

    from django.utils import timezone

    from jobs.runner import Heartbeat

    stale = timezone.now() - timedelta(hours=1)
    job = Job.objects.create(
        original_name="s.wav", status=Job.Status.RUNNING, started_at=stale, heartbeat_at=stale
    )
    assert list(Job.objects.stuck(older_than_s=60)) == [job]
    beat = Heartbeat(job.pk, interval_s=0.05)
    beat.start()
    time.sleep(0.5)
    beat.stop()
    assert list(Job.objects.stuck(older_than_s=60)) == []


def test_a_new_stage_is_written_at_once_so_a_failure_names_its_stage():
    job = Job.objects.create(original_name="s.wav", status=Job.Status.RUNNING)
    clock = FakeClock()
    writer = ProgressWriter(job.pk, min_interval_s=2.0, clock=clock)
    writer("separating", 40.0)
    clock.now += 0.1
    writer("separating", 41.0)  # within the interval, same stage: not written
    clock.now += 0.1
    writer("arranging", 62.0)
    assert writer.writes == 2
    job.refresh_from_db()
    assert (job.stage, job.progress) == ("arranging", 62.0)


def test_a_job_failing_while_arranging_is_recorded_as_failed_while_arranging(
    client, song_upload, monkeypatch
):
    """Issue 25: a job that failed while arranging read 'separating' or 'analysing' (progress is written
    every two seconds, and the stage change had not been)."""
    import pipeline.play
    from pipeline.errors import RENDER_FAILED, PipelineError

    def breaks(*_args, **_kwargs):  # a fault in the arranger, injected
        raise PipelineError(RENDER_FAILED, "The arranger broke.")

    monkeypatch.setattr(pipeline.play, "arrange", breaks)
    response = client.post("/api/jobs", {"file": song_upload()})
    job = Job.objects.get(pk=response.json()["id"])
    assert (job.status, job.error_code, job.stage) == ("failed", "render_failed", "arranging")
