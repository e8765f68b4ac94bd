"""Every change of a job's status, with the rules that decide it. Nothing else writes ``Job.status``.

::

    queued --claim--> running --succeed--> succeeded
      ^                  |------fail-----> failed  <--(lost message, out of recoveries)-- queued
      |                  |-----cancel----> cancelled  <--cancel-- queued
      |--wait_for_retry--|   a transient error: back in the queue, retried with backoff
      |--recover_orphan--|   its worker vanished: requeued once (MAX_RECOVERIES), then failed
      '------reset------ failed / cancelled (the admin's "requeue")

Each transition is one conditional UPDATE over the statuses it may leave (``claim``: a locked row), so two
actors racing (a cancel and the worker finishing, two recoveries) never both win; each says whether it
happened. Sending and revoking
queue messages is ``jobs.services``' business, running the pipeline ``jobs.runner``'s.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce
from django.utils import timezone

from jobs.models import Job
from jobs.storage import discard_results
from metalizer_site import error_codes as codes

QUEUED, RUNNING = Job.Status.QUEUED, Job.Status.RUNNING
SUCCEEDED, FAILED, CANCELLED = Job.Status.SUCCEEDED, Job.Status.FAILED, Job.Status.CANCELLED
# A job is requeued at most this many times after its worker vanished; the next loss fails it, so a song
# that kills workers cannot take them down one after another.
MAX_RECOVERIES = 1
MAX_STAGE_LENGTH = 32  # Job.stage's column
MAX_PROGRESS = 99.9  # only a finished job shows 100 %
# The columns of a job that hands out nothing (failed, cancelled, back in the queue): its files are deleted
# with them, a mix stored early included, so the row never names a file that is gone.
NO_RESULTS: dict[str, Any] = {"outputs": {}, "mix_ready_at": None}


def timeout_message(limit_s: int | None = None) -> str:
    """What a listener reads when the remix ran past ``limit_s`` (the soft time limit by default)."""
    limit_s = settings.METALIZER_TASK_SOFT_TIME_LIMIT_S if limit_s is None else limit_s
    minutes = math.ceil(limit_s / 60)
    return (
        f"The remix took longer than {minutes} minute{'s' if minutes != 1 else ''} and was stopped. "
        "Try a shorter song."
    )


def may_recover(job: Job) -> bool:
    """The stuck-job rule: a job whose worker vanished is played again while it has recoveries left."""
    return job.recoveries < MAX_RECOVERIES


# --- queued -> running, and the run's own writes -------------------------------------------------------


def claim(job_id: Any, task_id: str, worker: str) -> Job | None:
    """Mark the job running for this task, or None when it must not run (deleted, finished, stale message).

    Only the task id recorded on the row may run it, so a stale or duplicated message never runs a job
    twice. The same message delivered again while the row says ``running`` means the worker that had
    it died (``reject_on_worker_lost``): that counts as one recovery.
    """
    with transaction.atomic():
        job = Job.objects.select_for_update().filter(pk=job_id).first()
        if job is None or job.celery_task_id != task_id:
            return None
        if job.status == RUNNING:
            if not may_recover(job):
                fail(job.pk, codes.WORKER_LOST)
                return None
            job.recoveries += 1
        elif job.status != QUEUED:
            return None
        now = timezone.now()
        job.status = RUNNING
        job.stage = "starting"
        job.worker = worker[:255]
        job.attempts += 1
        job.started_at = now
        job.heartbeat_at = now
        job.save(
            update_fields=[
                "status",
                "stage",
                "worker",
                "attempts",
                "recoveries",
                "started_at",
                "heartbeat_at",
            ]
        )
    return job


def record_progress(job_id: Any, stage: str, percent: float) -> bool:
    """Stage and percent of a running job (also a heartbeat); False when it is no longer running."""
    return bool(
        Job.objects.filter(pk=job_id, status=RUNNING).update(
            stage=stage[:MAX_STAGE_LENGTH],
            progress=round(min(max(float(percent), 0.0), MAX_PROGRESS), 1),
            heartbeat_at=timezone.now(),
        )
    )


def record_mix(job_id: Any, mix: dict[str, str]) -> bool:
    """A running job's mix is stored (format -> key) while its stems, MIDI files and pictures are still being
    made: a listener may play it now. False when the job is no longer running (its caller deletes the file).
    """
    return bool(
        Job.objects.filter(pk=job_id, status=RUNNING).update(
            outputs={"mix": dict(mix)}, mix_ready_at=timezone.now(), heartbeat_at=timezone.now()
        )
    )


def beat(job_id: Any) -> None:
    """A running job's worker is alive (a long silent stage is not 'stuck')."""
    Job.objects.filter(pk=job_id, status=RUNNING).update(heartbeat_at=timezone.now())


def is_running(job_id: Any) -> bool:
    return Job.objects.filter(pk=job_id, status=RUNNING).exists()


# --- running -> an end, or back to the queue -----------------------------------------------------------


def succeed(job_id: Any, **results: Any) -> bool:
    """running -> succeeded with what the run made (``outputs``, ``analysis``, ``timings``...); False when the
    job stopped running meanwhile (cancelled or deleted). ``mix_ready_at`` keeps the time the mix was stored
    early (now, when it was not)."""
    now = timezone.now()
    return bool(
        Job.objects.filter(pk=job_id, status=RUNNING).update(
            status=SUCCEEDED,
            stage="done",
            progress=100.0,
            error_code="",
            error_message="",
            finished_at=now,
            heartbeat_at=now,
            mix_ready_at=Coalesce(F("mix_ready_at"), Value(now)),
            **results,
        )
    )


def fail(
    job_id: Any, code: str, message: str | None = None, *, from_statuses: list[str] | None = None
) -> bool:
    """Record a failure (only over the given statuses, running by default) and remove half-stored results
    (a mix stored early included: a failed job hands out nothing).

    ``message`` defaults to the code's own (``metalizer_site.error_codes``).
    """
    statuses = from_statuses or [RUNNING]
    updated = Job.objects.filter(pk=job_id, status__in=statuses).update(
        status=FAILED,
        error_code=code[: codes.MAX_CODE_LENGTH],
        error_message=codes.message(code) if message is None else message,
        finished_at=timezone.now(),
        **NO_RESULTS,
    )
    discard_results(job_id)
    return bool(updated)


def cancel(job_id: Any) -> bool:
    """queued or running -> cancelled; False when the job had already finished (or is gone).

    A mix stored early is no longer handed out; its caller (``services.cancel_job``) deletes the files."""
    return bool(
        Job.objects.filter(pk=job_id, status__in=[QUEUED, RUNNING]).update(
            status=CANCELLED,
            stage="cancelled",
            finished_at=timezone.now(),
            error_code=codes.CANCELLED,
            error_message=codes.message(codes.CANCELLED),
            **NO_RESULTS,
        )
    )


def wait_for_retry(job_id: Any, reason: str) -> None:
    """running -> queued after a transient error; the task retries it with backoff."""
    Job.objects.filter(pk=job_id, status=RUNNING).update(
        status=QUEUED,
        stage="retrying",
        error_message=f"Retrying after {reason}.",
        queued_at=timezone.now(),
        **NO_RESULTS,
    )
    discard_results(job_id)


def _queued_afresh() -> dict[str, Any]:
    """The fields of a job back at the start of the queue, as if nothing had run yet."""
    return {
        "status": QUEUED,
        "stage": "queued",
        "progress": 0.0,
        "error_code": "",
        "error_message": "",
        "started_at": None,
        "heartbeat_at": None,
        "finished_at": None,
        **NO_RESULTS,
        "worker": "",
    }


def reset(job: Job) -> bool:
    """failed or cancelled -> queued, from its stored input, with a fresh expiry; False when it is neither.

    The caller sends it to the queue (``jobs.services.requeue``).
    """
    expires_at = timezone.now() + timedelta(hours=settings.METALIZER_JOB_TTL_HOURS)
    updated = Job.objects.filter(pk=job.pk, status__in=[FAILED, CANCELLED]).update(
        **_queued_afresh(), expires_at=expires_at
    )
    if updated:
        discard_results(job.pk)
        job.refresh_from_db()
    return bool(updated)


# --- Recovery: jobs a worker or a message lost ---------------------------------------------------------


def recover_orphan(job: Job) -> str | None:
    """A running job whose worker is gone (no heartbeat, or its node restarted).

    "failed" when it reached the hard time limit (running it again would only hit the limit again) or had its
    recovery already; "requeued" when it is back in the queue, its half-stored results removed (the caller
    sends it); None when it moved on while we looked (finished, or its heartbeat came back).
    """
    hard_limit_s = settings.METALIZER_TASK_TIME_LIMIT_S
    if job.started_at and timezone.now() - job.started_at >= timedelta(seconds=hard_limit_s):
        return "failed" if fail(job.pk, codes.TIMEOUT, timeout_message(hard_limit_s)) else None
    if not may_recover(job):
        return "failed" if fail(job.pk, codes.WORKER_LOST) else None
    requeued = {**_queued_afresh(), "stage": "requeued", "recoveries": job.recoveries + 1}
    updated = Job.objects.filter(pk=job.pk, status=RUNNING, heartbeat_at=job.heartbeat_at).update(**requeued)
    if not updated:
        return None
    discard_results(job.pk)
    job.refresh_from_db()
    return "requeued"


def recover_lost_message(job: Job) -> str | None:
    """A queued job no worker took: its message was probably lost.

    "failed" (``queue_lost``) when it had its recovery already; "requeued" once the recovery is counted (the
    caller sends it again under a new task id, so the old message, if it ever turns up, is skipped); None
    when it moved on meanwhile.
    """
    if not may_recover(job):
        return "failed" if fail(job.pk, codes.QUEUE_LOST, from_statuses=[QUEUED]) else None
    counted = Job.objects.filter(pk=job.pk, status=QUEUED, celery_task_id=job.celery_task_id).update(
        recoveries=job.recoveries + 1
    )
    return "requeued" if counted else None
