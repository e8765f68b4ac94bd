"""A job left running by a dead worker is requeued once, then failed: never left spinning."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.management import call_command
from django.utils import timezone

from jobs import services
from jobs.lifecycle import claim
from jobs.models import Job

pytestmark = pytest.mark.django_db


def running_job(*, heartbeat_age_s: int, recoveries: int = 0, worker: str = "celery@old-host") -> Job:
    beat = timezone.now() - timedelta(seconds=heartbeat_age_s)
    job = Job.objects.create(
        original_name="song.wav",
        status=Job.Status.RUNNING,
        stage="separating",
        progress=40.0,
        celery_task_id="task-1",
        worker=worker,
        started_at=beat,
        heartbeat_at=beat,
        recoveries=recoveries,
    )
    job.input_file.save("song.wav", ContentFile(b"RIFF"), save=True)
    return job


def test_stuck_queryset_finds_running_jobs_with_a_stale_heartbeat(settings):
    settings.METALIZER_STUCK_AFTER_S = 300
    stale = running_job(heartbeat_age_s=900)
    running_job(heartbeat_age_s=5)
    assert list(Job.objects.stuck()) == [stale]


def test_stuck_job_is_requeued_once_with_a_fresh_task(held_queue):
    job = running_job(heartbeat_age_s=900)
    assert services.recover_stuck_jobs() == {"requeued": 1, "failed": 0}
    job.refresh_from_db()
    assert (job.status, job.stage, job.progress, job.recoveries) == ("queued", "requeued", 0.0, 1)
    assert job.celery_task_id != "task-1"
    assert [m["id"] for m in held_queue.drain()] == [job.celery_task_id]


def test_job_stuck_again_after_its_requeue_is_failed_with_a_clear_message(held_queue):
    job = running_job(heartbeat_age_s=900, recoveries=1)
    assert services.recover_stuck_jobs() == {"requeued": 0, "failed": 1}
    job.refresh_from_db()
    assert job.status == "failed" and job.error_code == "worker_lost"
    assert "stopped unexpectedly" in job.error_message
    assert held_queue.drain() == []


def test_worker_restart_recovers_its_own_orphans_even_with_a_fresh_heartbeat(held_queue):
    mine = running_job(heartbeat_age_s=5, worker="celery@this-host")
    other = running_job(heartbeat_age_s=5, worker="celery@other-host")
    assert services.recover_stuck_jobs(orphaned_by="celery@this-host") == {"requeued": 1, "failed": 0}
    assert Job.objects.get(pk=mine.pk).status == "queued"
    assert Job.objects.get(pk=other.pk).status == "running"


def test_recover_command_reports_counts(held_queue, capsys):
    running_job(heartbeat_age_s=900)
    running_job(heartbeat_age_s=900, recoveries=1)
    call_command("recover_stuck_jobs")
    assert "Requeued 1 job(s), failed 1 job(s)." in capsys.readouterr().out


def test_redelivered_message_of_a_lost_worker_counts_as_the_one_recovery():
    job = running_job(heartbeat_age_s=5)
    claimed = claim(str(job.pk), "task-1", "celery@new-host")
    assert claimed is not None and claimed.recoveries == 1 and claimed.attempts == 1
    assert claim(str(job.pk), "task-1", "celery@newer-host") is None
    job.refresh_from_db()
    assert job.status == "failed" and job.error_code == "worker_lost"


def test_stale_or_duplicate_messages_never_run_a_job():
    job = Job.objects.create(original_name="song.wav", celery_task_id="current")
    assert claim(str(job.pk), "old-message", "celery@h") is None
    assert claim(str(job.pk), "current", "celery@h") is not None
    Job.objects.filter(pk=job.pk).update(status="succeeded")
    assert claim(str(job.pk), "current", "celery@h") is None
    assert claim("00000000-0000-0000-0000-000000000000", "current", "celery@h") is None


def test_job_whose_message_was_lost_is_sent_again_once_then_failed(held_queue, settings):
    settings.METALIZER_QUEUED_STALE_S = 600
    long_ago = timezone.now() - timedelta(hours=2)
    lost = Job.objects.create(original_name="song.wav", celery_task_id="lost-message", queued_at=long_ago)
    waiting = Job.objects.create(original_name="song.wav", celery_task_id="in-line", queued_at=timezone.now())
    assert services.recover_stuck_jobs() == {"requeued": 1, "failed": 0}
    lost.refresh_from_db()
    assert lost.status == "queued" and lost.celery_task_id != "lost-message" and lost.recoveries == 1
    assert [m["id"] for m in held_queue.drain()] == [lost.celery_task_id]
    assert claim(str(lost.pk), "lost-message", "celery@h") is None  # the old message, if found, is skipped
    assert Job.objects.get(pk=waiting.pk).celery_task_id == "in-line"

    Job.objects.filter(pk=lost.pk).update(queued_at=long_ago)
    assert services.recover_stuck_jobs() == {"requeued": 0, "failed": 1}
    lost.refresh_from_db()
    assert lost.status == "failed" and lost.error_code == "queue_lost"


def test_job_killed_by_the_hard_time_limit_is_failed_as_a_timeout_not_requeued(held_queue, settings):
    settings.METALIZER_TASK_TIME_LIMIT_S = 600
    job = running_job(heartbeat_age_s=900)  # started 15 minutes ago, past the 10-minute hard limit
    assert services.recover_stuck_jobs() == {"requeued": 0, "failed": 1}
    job.refresh_from_db()
    assert job.status == "failed" and job.error_code == "timeout"
    assert "longer than 10 minutes" in job.error_message
    assert held_queue.drain() == []


def test_the_scratch_folder_of_a_job_failed_as_worker_lost_goes_when_its_message_comes_back(settings):
    """Issue 25: a worker_lost job's work folder stayed until the purge."""
    import os

    from jobs.runner import run_job

    job = running_job(heartbeat_age_s=5, recoveries=1)  # its one recovery is spent
    scratch = settings.METALIZER_WORK_DIR / str(job.pk)
    (scratch / "in").mkdir(parents=True)
    (scratch / "in" / "song.wav").write_bytes(b"RIFF" * 1000)  # what the killed worker left
    assert run_job(str(job.pk), task_id="task-1", worker="celery@h", retries=0, max_retries=3) == "skipped"
    job.refresh_from_db()
    assert (job.status, job.error_code) == ("failed", "worker_lost")
    assert not scratch.exists()
    assert os.path.isdir(settings.METALIZER_WORK_DIR)


def test_a_restarted_worker_sweeps_the_scratch_folders_of_finished_or_vanished_jobs(settings):
    import os
    import time

    lost = running_job(heartbeat_age_s=5)
    alive = running_job(heartbeat_age_s=1)
    waiting = Job.objects.create(original_name="next.wav")  # queued: a worker may claim it any moment
    Job.objects.filter(pk=lost.pk).update(status="failed", error_code="worker_lost")
    root = settings.METALIZER_WORK_DIR
    old = time.time() - 3600
    folders = {}
    names = (
        str(lost.pk),
        str(alive.pk),
        str(waiting.pk),
        "00000000-0000-0000-0000-000000000001",
        "stem-cache-abc",
    )
    for name in names:
        (root / name).mkdir(parents=True)
        os.utime(root / name, (old, old))
        folders[name] = root / name
    fresh = root / "00000000-0000-0000-0000-000000000002"  # a job just claimed: being filled
    fresh.mkdir()
    assert services.sweep_work_dirs() == 2  # the failed job's and the vanished job's
    assert not folders[str(lost.pk)].exists() and not folders["00000000-0000-0000-0000-000000000001"].exists()
    assert folders[str(alive.pk)].exists() and folders[str(waiting.pk)].exists()
    assert folders["stem-cache-abc"].exists() and fresh.exists()
