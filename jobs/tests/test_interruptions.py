"""Cancelling always cancels and a time-out always fails as a time-out, whatever stage the job is in.

Each test runs a real job (eager worker, real pipeline) and does at one precise stage what the outside world
does: a user cancels (``services.cancel_job``), or the pool sends the soft time limit's signal (SIGUSR1, as
billiard does), or billiard's own handler raises ``SoftTimeLimitExceeded``. The stages are the pipeline's
(seen through the progress callback) and the worker's own: preparing the asset bank and storing results.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Callable, Iterator

import pytest
from celery.exceptions import SoftTimeLimitExceeded

from jobs import runner, services
from jobs.interrupts import JobCancelled, JobTimedOut
from jobs.models import Job
from jobs.tasks import process_job
from jobs.tests.helpers import stored_files
from pipeline.types import STAGES

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

PIPELINE_STAGES = [name for name, _ in STAGES]
WORKER_STAGES = ["assets", "storing"]


class SignalNotHandled(Exception):
    """The soft limit's signal reached the test's own handler: the job did not install its handler."""


@pytest.fixture(autouse=True)
def _guard_sigusr1() -> Iterator[None]:
    """SIGUSR1's default action ends the process: fail the test instead if the job forgot its handler."""

    def unhandled(_signum, _frame):  # type: ignore[no-untyped-def]
        raise SignalNotHandled()

    previous = signal.signal(signal.SIGUSR1, unhandled)
    try:
        yield
    finally:
        signal.signal(signal.SIGUSR1, previous)


def cancel(job_id: object) -> None:
    assert services.cancel_job(Job.objects.get(pk=job_id))


def soft_limit_signal(_job_id: object) -> None:
    os.kill(os.getpid(), signal.SIGUSR1)


def soft_limit_raised(_job_id: object) -> None:
    raise SoftTimeLimitExceeded()


def run_with(
    monkeypatch, client, song_upload, stage: str, action: Callable[[object], None]
) -> tuple[str, Job, list[str]]:  # type: ignore[no-untyped-def]
    """Run a job, doing ``action`` the first time it reaches ``stage``; returns (task result, row, where the
    stop surfaced)."""
    response = client.post("/api/jobs", {"file": song_upload("song.wav", bars=2)})
    job = Job.objects.get(pk=response.json()["id"])
    surfaced: list[str] = []
    done = []

    def once() -> bool:
        if done:
            return False
        done.append(True)
        return True

    class WriterActingAt(runner.ProgressWriter):
        def __call__(self, reported: str, percent: float) -> None:
            try:
                if reported == stage and once():
                    action(self.job_id)
                super().__call__(reported, percent)
            except (JobCancelled, JobTimedOut):
                surfaced.append(reported)
                raise

    monkeypatch.setattr(runner, "ProgressWriter", lambda job_id: WriterActingAt(job_id, min_interval_s=0))
    if stage in WORKER_STAGES:
        # storing: as the results start going up (the uploads themselves run in a small thread pool)
        name = "prepare_job_assets" if stage == "assets" else "store_outputs"
        real = getattr(runner, name)

        def acting(*args, **kwargs):  # type: ignore[no-untyped-def]
            if once():
                action(job.pk)
            return real(*args, **kwargs)

        monkeypatch.setattr(runner, name, acting)
    result = process_job.apply(args=[str(job.pk)], task_id=job.celery_task_id).get()
    job.refresh_from_db()
    return result, job, surfaced


@pytest.mark.parametrize("stage", PIPELINE_STAGES + WORKER_STAGES)
def test_a_job_cancelled_at_any_stage_ends_cancelled(monkeypatch, held_queue, client, song_upload, stage):
    result, job, surfaced = run_with(monkeypatch, client, song_upload, stage, cancel)
    assert result == "cancelled"
    assert (job.status, job.error_code) == ("cancelled", "cancelled")
    assert job.outputs == {} and [p.name for p in stored_files(stem_cache=False)] == ["song.wav"]
    if stage in PIPELINE_STAGES:
        assert surfaced == [stage]  # stopped right there, not a stage later


@pytest.mark.parametrize("stage", PIPELINE_STAGES + WORKER_STAGES)
def test_the_soft_time_limit_signal_at_any_stage_fails_the_job_as_a_timeout(
    monkeypatch, held_queue, client, song_upload, settings, stage
):
    settings.METALIZER_TASK_SOFT_TIME_LIMIT_S = 600
    result, job, surfaced = run_with(monkeypatch, client, song_upload, stage, soft_limit_signal)
    assert result == "failed"
    assert (job.status, job.error_code) == ("failed", "timeout")
    assert job.error_message == "The remix took longer than 10 minutes and was stopped. Try a shorter song."
    assert job.outputs == {} and [p.name for p in stored_files(stem_cache=False)] == ["song.wav"]
    if stage in PIPELINE_STAGES:
        assert surfaced == [stage]


@pytest.mark.parametrize("stage", ["analysing", "rendering", "storing"])
def test_celerys_own_soft_time_limit_exception_is_a_timeout_even_inside_a_stage_that_catches_errors(
    monkeypatch, held_queue, client, song_upload, stage
):
    """billiard's SoftTimeLimitExceeded is an Exception: analysis wraps it into analysis_failed, and the
    worker still reads the time-out behind that error."""
    result, job, _ = run_with(monkeypatch, client, song_upload, stage, soft_limit_raised)
    assert result == "failed"
    assert (job.status, job.error_code) == ("failed", "timeout")
    assert "took longer than" in job.error_message


def test_a_deleted_job_stops_as_cancelled_and_leaves_nothing(monkeypatch, held_queue, client, song_upload):
    def delete(job_id: object) -> None:
        services.delete_job(Job.objects.get(pk=job_id))

    response = client.post("/api/jobs", {"file": song_upload("song.wav", bars=2)})
    job = Job.objects.get(pk=response.json()["id"])

    class DeletingAtAnalysis(runner.ProgressWriter):
        def __call__(self, reported: str, percent: float) -> None:
            if reported == "analysing" and Job.objects.filter(pk=self.job_id).exists():
                delete(self.job_id)
            super().__call__(reported, percent)

    monkeypatch.setattr(runner, "ProgressWriter", lambda job_id: DeletingAtAnalysis(job_id, min_interval_s=0))
    assert process_job.apply(args=[str(job.pk)], task_id=job.celery_task_id).get() == "cancelled"
    assert not Job.objects.filter(pk=job.pk).exists() and stored_files(stem_cache=False) == []


def soft_limit_signal_dropped(_job_id: object) -> None:
    """The signal arrives inside a library that catches and drops whatever is raised in it."""
    with contextlib.suppress(BaseException):
        os.kill(os.getpid(), signal.SIGUSR1)


@pytest.mark.parametrize("stage", ["separating", "analysing", "rendering"])
def test_a_soft_time_limit_stop_dropped_where_it_was_raised_still_fails_the_job_as_a_timeout(
    monkeypatch, held_queue, client, song_upload, stage
):
    result, job, surfaced = run_with(monkeypatch, client, song_upload, stage, soft_limit_signal_dropped)
    assert result == "failed"
    assert (job.status, job.error_code) == ("failed", "timeout")
    assert job.outputs == {} and [p.name for p in stored_files(stem_cache=False)] == ["song.wav"]
    assert surfaced == [stage]  # raised again by the same progress report, not a stage later
