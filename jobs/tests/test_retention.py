"""Expired jobs disappear with every file they own; nothing else is touched."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone

from jobs import lifecycle, services
from jobs.models import Job
from jobs.tests.helpers import stored_files

pytestmark = pytest.mark.django_db


def make_job_with_files(*, expired: bool, status: str = "succeeded") -> Job:
    job = Job.objects.create(original_name="song.wav", status=status)
    job.input_file.save("song.wav", ContentFile(b"RIFF input"), save=True)
    prefix = f"jobs/{job.pk}/result"
    keys = {
        "mix": {"wav": default_storage.save(f"{prefix}/mix.wav", ContentFile(b"mix"))},
        "drums": {"flac": default_storage.save(f"{prefix}/stems/drums.flac", ContentFile(b"drums"))},
        "midi": {"zip": default_storage.save(f"{prefix}/midi.zip", ContentFile(b"zip"))},
    }
    Job.objects.filter(pk=job.pk).update(
        outputs=keys, expires_at=timezone.now() + timedelta(hours=-1 if expired else 5)
    )
    return job


def files_of(job: Job) -> list[str]:
    return [str(p) for p in stored_files() if str(job.pk) in str(p)]


def test_expired_queryset_selects_only_jobs_past_their_expiry():
    old = make_job_with_files(expired=True)
    make_job_with_files(expired=False)
    assert list(Job.objects.expired()) == [old]


def test_purge_removes_expired_jobs_and_every_file_they_own():
    old = make_job_with_files(expired=True)
    fresh = make_job_with_files(expired=False)
    assert len(files_of(old)) == 4
    assert services.purge_expired() == 1
    assert not Job.objects.filter(pk=old.pk).exists()
    assert files_of(old) == []
    assert Job.objects.filter(pk=fresh.pk).exists()
    assert len(files_of(fresh)) == 4


def test_purge_command_reports_what_it_removed(capsys):
    make_job_with_files(expired=True)
    make_job_with_files(expired=True, status="failed")
    call_command("purge_expired_jobs")
    assert "Purged 2 expired job(s)." in capsys.readouterr().out
    assert Job.objects.count() == 0
    assert stored_files() == []


def test_purge_periodic_task_is_scheduled_and_purges():
    from django.conf import settings

    from jobs.tasks import purge_expired_jobs

    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert {"jobs.tasks.purge_expired_jobs", "jobs.tasks.recover_stuck_jobs"} <= scheduled
    make_job_with_files(expired=True)
    assert purge_expired_jobs.delay().get() == 1
    assert stored_files() == []


def test_delete_job_files_also_removes_the_workers_scratch_folder(settings):
    job = make_job_with_files(expired=False)
    scratch = settings.METALIZER_WORK_DIR / str(job.pk)
    scratch.mkdir(parents=True)
    (scratch / "partial.wav").write_bytes(b"half")
    assert services.delete_job_files(job) == 4
    assert not scratch.exists()
    assert files_of(job) == []


def test_failure_removes_half_stored_results_but_keeps_the_input():
    job = make_job_with_files(expired=False, status="running")
    assert lifecycle.fail(job.pk, "render_failed", "The guitars could not be rendered.")
    job.refresh_from_db()
    assert (job.status, job.error_code, job.outputs) == ("failed", "render_failed", {})
    assert [p.name for p in stored_files()] == ["song.wav"]


def test_purge_removes_files_of_vanished_jobs_once_they_are_old():
    import os
    import time
    import uuid

    orphan_key = default_storage.save(f"jobs/{uuid.uuid4()}/result/mix.wav", ContentFile(b"left behind"))
    fresh_key = default_storage.save(f"jobs/{uuid.uuid4()}/input/song.wav", ContentFile(b"being uploaded"))
    kept = make_job_with_files(expired=False)
    old = time.time() - 2 * services.ORPHAN_GRACE_S
    orphan_path = [p for p in stored_files() if str(p).endswith(orphan_key)][0]
    os.utime(orphan_path, (old, old))
    assert services.purge_orphaned_files() == 1
    assert not default_storage.exists(orphan_key)
    assert default_storage.exists(fresh_key)  # too recent: its row may not be committed yet
    assert len(files_of(kept)) == 4
