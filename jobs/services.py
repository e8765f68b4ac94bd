"""What can happen to a job, in one place: create, enqueue, cancel, requeue, delete, purge, recover.

Pages, the API, the admin, commands and periodic tasks all call these; none of them touches storage or
Celery directly.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from jobs.models import Job
from jobs.storage import delete_tree, discard_results, job_prefix, list_tree
from jobs.validators import ValidatedUpload

logger = logging.getLogger(__name__)

# A job is requeued at most this many times after its worker vanished; the next loss fails it.
MAX_RECOVERIES = 1
# Files under jobs/<id>/ with no job row are removed by purge once they are this old (seconds).
ORPHAN_GRACE_S = 3600
WORKER_LOST_MESSAGE = (
    "The worker processing this song stopped unexpectedly, and it happened again after a retry. "
    "Please upload the song again; if it keeps failing, try a shorter song."
)
QUEUE_LOST_MESSAGE = (
    "This song waited too long for a free worker and was dropped. Please upload it again in a few minutes."
)
QUEUE_UNAVAILABLE_MESSAGE = "The remix queue is not reachable right now. Please try again in a minute."


class QueueUnavailable(Exception):
    """The broker refused or timed out; the job was not created."""


class StorageUnavailable(Exception):
    """The file store could not be reached; the operation did not happen (or not completely)."""


def _storage_errors() -> tuple[type[BaseException], ...]:
    found: list[type[BaseException]] = [OSError]
    try:
        from botocore.exceptions import BotoCoreError, ClientError

        found += [BotoCoreError, ClientError]
    except ImportError:  # pragma: no cover - boto3 is a pinned requirement
        pass
    return tuple(found)


STORAGE_ERRORS = _storage_errors()


@dataclass(frozen=True)
class Caller:
    """Who is asking: a signed-in user/token, else the anonymous browser session."""

    user: Any = None
    session_key: str = ""

    @property
    def is_user(self) -> bool:
        return self.user is not None and getattr(self.user, "is_authenticated", False)

    def owns(self, job: Job) -> bool:
        if self.is_user:
            return job.owner_id == self.user.pk
        return bool(self.session_key) and job.owner_id is None and job.session_key == self.session_key


# --- Creating and queueing -----------------------------------------------------------------------------


def create_job(upload: ValidatedUpload, options: dict[str, Any], caller: Caller) -> Job:
    """Store a validated upload, create its Job row and queue it.

    Must run outside an open transaction so the worker can see the committed row. If the broker
    cannot take the message, the row and the stored file are removed and QueueUnavailable is raised.
    """
    job = Job(
        id=uuid.uuid4(),
        original_name=upload.name,
        size_bytes=upload.size,
        duration=upload.info.duration_s,
        owner=caller.user if caller.is_user else None,
        session_key="" if caller.is_user else caller.session_key,
        **options,
    )
    try:
        with transaction.atomic():
            job.save()
            job.input_file.save(upload.name, upload.file, save=True)
    except STORAGE_ERRORS as exc:
        logger.error("could not store the upload of job %s: %s", job.pk, exc)
        with contextlib.suppress(Exception):  # a half-written input, if the store got that far
            delete_tree(job_prefix(job.pk))
        raise StorageUnavailable(
            "The file store is not reachable right now, so the song was not saved. "
            "Please try again in a minute."
        ) from exc
    try:
        enqueue(job)
    except QueueUnavailable:
        delete_job_files(job)
        job.delete()
        raise
    return job


def enqueue(job: Job) -> None:
    """Give the job a fresh task id and send it to the heavy queue."""
    from kombu.exceptions import KombuError, OperationalError

    from jobs.tasks import process_job
    from metalizer_site.celery import ensure_broker_dirs

    task_id = str(uuid.uuid4())
    now = timezone.now()
    Job.objects.filter(pk=job.pk).update(celery_task_id=task_id, queued_at=now)
    job.celery_task_id, job.queued_at = task_id, now
    try:
        if settings.CELERY_TASK_ALWAYS_EAGER:
            process_job.apply_async(args=[str(job.pk)], task_id=task_id, queue="heavy")
        else:
            ensure_broker_dirs()  # the web app may take an upload before the embedded worker first ran
            # A fresh connection per upload: a broker that went away is noticed now, not via a stale pool.
            with process_job.app.connection_for_write() as conn:
                process_job.apply_async(args=[str(job.pk)], task_id=task_id, queue="heavy", connection=conn)
    except (OperationalError, KombuError, ConnectionError, OSError, TimeoutError) as exc:
        logger.error("could not queue job %s: %s", job.pk, exc)
        raise QueueUnavailable(QUEUE_UNAVAILABLE_MESSAGE) from exc


def revoke(job: Job) -> None:
    """Best effort: revoke the job's task so a queued message never runs.

    A task already running is stopped cooperatively rather than killed: its next progress report finds
    the row cancelled or gone and raises JobCancelled (see jobs.runner), and the run's files are removed.
    Killing the pool child (revoke with terminate) was tried and can leave a prefork pool wedged on a
    lock the dead child held, which would stop every later job.
    """
    if not job.celery_task_id or job.is_finished or settings.CELERY_TASK_ALWAYS_EAGER:
        return
    from metalizer_site.celery import app

    try:
        app.control.revoke(job.celery_task_id)
    except Exception as exc:  # a down broker must not block deleting a job
        logger.warning("could not revoke task %s of job %s: %s", job.celery_task_id, job.pk, exc)


# --- Ending jobs ---------------------------------------------------------------------------------------


def delete_job_files(job: Job) -> int:
    """Delete every file the job owns in storage (input, outputs, stems, MIDI) and its local work dir."""
    count = delete_tree(job_prefix(job.pk))
    shutil.rmtree(settings.METALIZER_WORK_DIR / str(job.pk), ignore_errors=True)
    return count


def delete_job(job: Job) -> None:
    """Revoke, delete every file, then the row. If storage fails the row stays, so deleting can be retried."""
    revoke(job)
    try:
        delete_job_files(job)
    except STORAGE_ERRORS as exc:
        logger.error("could not delete the files of job %s: %s", job.pk, exc)
        raise StorageUnavailable(
            "The file store is not reachable right now, so the remix could not be deleted completely. "
            "Please try again in a minute."
        ) from exc
    job.delete()


def cancel_job(job: Job) -> bool:
    """Stop a queued or running job; its results (if any were half-stored) are removed. False if finished."""
    updated = Job.objects.filter(pk=job.pk, status__in=[Job.Status.QUEUED, Job.Status.RUNNING]).update(
        status=Job.Status.CANCELLED,
        stage="cancelled",
        finished_at=timezone.now(),
        error_code="cancelled",
        error_message="The remix was cancelled.",
    )
    if updated:
        revoke(job)
        discard_results(job.pk)
    job.refresh_from_db()
    return bool(updated)


def requeue(job: Job) -> bool:
    """Run a failed or cancelled job again from the stored input. False when it cannot be requeued."""
    if not job.input_file:
        return False
    updated = Job.objects.filter(pk=job.pk, status__in=[Job.Status.FAILED, Job.Status.CANCELLED]).update(
        **_reset_fields()
    )
    if not updated:
        return False
    discard_results(job.pk)
    job.refresh_from_db()
    try:
        enqueue(job)
    except QueueUnavailable as exc:
        mark_failed(job.pk, "queue_unavailable", str(exc), from_statuses=[Job.Status.QUEUED])
        return False
    return True


def _reset_fields() -> dict[str, Any]:
    return {
        "status": Job.Status.QUEUED,
        "stage": "queued",
        "progress": 0.0,
        "error_code": "",
        "error_message": "",
        "started_at": None,
        "heartbeat_at": None,
        "finished_at": None,
        "outputs": {},
        "worker": "",
        "expires_at": timezone.now() + timedelta(hours=settings.METALIZER_JOB_TTL_HOURS),
    }


def mark_failed(job_id: Any, code: str, message: str, *, from_statuses: list[str] | None = None) -> bool:
    """Record a failure (only over the given statuses, running by default) and remove half-stored results."""
    statuses = from_statuses or [Job.Status.RUNNING]
    updated = Job.objects.filter(pk=job_id, status__in=statuses).update(
        status=Job.Status.FAILED,
        error_code=code[:64],
        error_message=message,
        finished_at=timezone.now(),
        outputs={},
    )
    discard_results(job_id)
    return bool(updated)


# --- Housekeeping --------------------------------------------------------------------------------------


def purge_expired(now: datetime | None = None) -> int:
    """Delete every expired job and all its files, then orphaned job folders. Returns jobs deleted."""
    count = 0
    for job in Job.objects.expired(now).iterator():
        try:
            delete_job(job)
            count += 1
        except Exception:  # one bad object must not stop the sweep; the next run tries again
            logger.exception("could not purge job %s", job.pk)
    purge_orphaned_files(now)
    return count


def purge_orphaned_files(now: datetime | None = None, grace_s: int = ORPHAN_GRACE_S) -> int:
    """Delete ``jobs/<id>/`` folders whose job row is gone (e.g. a worker killed while uploading results).

    Only folders whose newest file is older than ``grace_s`` are touched, so an upload whose row is not
    committed yet is never mistaken for an orphan. Returns the number of files deleted.
    """
    now = now or timezone.now()
    try:
        folders, _files = default_storage.listdir("jobs")
    except (FileNotFoundError, NotADirectoryError):
        return 0
    ids = {}
    for name in folders:
        try:
            ids[uuid.UUID(name)] = name
        except ValueError:
            continue
    known = set(Job.objects.filter(pk__in=list(ids)).values_list("pk", flat=True))
    deleted = 0
    for job_id, name in ids.items():
        if job_id in known:
            continue
        keys = list_tree(f"jobs/{name}")
        cutoff = now - timedelta(seconds=grace_s)
        if keys and all(default_storage.get_modified_time(k) < cutoff for k in keys):
            deleted += delete_tree(f"jobs/{name}")
            logger.warning("deleted %d orphaned file(s) of vanished job %s", len(keys), name)
    return deleted


def recover_stuck_jobs(*, orphaned_by: str | None = None, older_than_s: int | None = None) -> dict[str, int]:
    """Requeue (once) or fail running jobs whose worker is gone, and queued jobs whose message was lost.

    A job is orphaned when its heartbeat is older than ``older_than_s`` (default
    METALIZER_STUCK_AFTER_S), or when ``orphaned_by`` names the worker node it ran on (that node has
    just started, so its previous life is over).
    """
    stuck = Job.objects.stuck(older_than_s)
    if orphaned_by:
        stuck = stuck | Job.objects.filter(status=Job.Status.RUNNING, worker=orphaned_by)
    counts = {"requeued": 0, "failed": 0}
    for job in Job.objects.lost_in_queue():
        # Sent again under a new task id, so the old message (if it ever turns up) is skipped.
        if job.recoveries >= MAX_RECOVERIES:
            if mark_failed(job.pk, "queue_lost", QUEUE_LOST_MESSAGE, from_statuses=[Job.Status.QUEUED]):
                counts["failed"] += 1
            continue
        if Job.objects.filter(pk=job.pk, status=Job.Status.QUEUED, celery_task_id=job.celery_task_id).update(
            recoveries=job.recoveries + 1
        ):
            try:
                enqueue(job)
                counts["requeued"] += 1
            except QueueUnavailable as exc:
                mark_failed(job.pk, "queue_unavailable", str(exc), from_statuses=[Job.Status.QUEUED])
                counts["failed"] += 1
    hard_limit = timedelta(seconds=settings.METALIZER_TASK_TIME_LIMIT_S)
    for job in stuck.distinct():
        if job.started_at and timezone.now() - job.started_at >= hard_limit:
            # Killed by the hard time limit: running it again would only hit the limit again.
            minutes = settings.METALIZER_TASK_TIME_LIMIT_S // 60
            message = f"The remix took longer than {minutes} minutes and was stopped. Try a shorter song."
            if mark_failed(job.pk, "timeout", message):
                counts["failed"] += 1
            continue
        if job.recoveries >= MAX_RECOVERIES:
            if mark_failed(job.pk, "worker_lost", WORKER_LOST_MESSAGE):
                counts["failed"] += 1
            continue
        fields = _reset_fields()
        fields.pop("expires_at")
        fields["stage"] = "requeued"
        fields["recoveries"] = job.recoveries + 1
        updated = Job.objects.filter(
            pk=job.pk, status=Job.Status.RUNNING, heartbeat_at=job.heartbeat_at
        ).update(**fields)
        if not updated:
            continue  # it moved on (finished or heartbeat) while we looked
        discard_results(job.pk)
        job.refresh_from_db()
        try:
            enqueue(job)
            counts["requeued"] += 1
            logger.warning("requeued job %s left running by a lost worker", job.pk)
        except QueueUnavailable as exc:
            mark_failed(job.pk, "queue_unavailable", str(exc), from_statuses=[Job.Status.QUEUED])
            counts["failed"] += 1
    return counts
