"""Celery tasks: thin wrappers; the work lives in jobs.runner and jobs.services."""

from __future__ import annotations

import random
import sys

from celery import shared_task
from celery.signals import worker_init

import pipeline
from jobs import services
from jobs.runner import RetryLater, run_job

MAX_RETRIES = 3


@worker_init.connect
def _import_the_pipeline_at_start(**_kwargs: object) -> None:
    """The worker imports the pipeline's heavy modules once, before its pool forks: every pool process then
    starts with them loaded, and no job pays seconds of imports."""
    seconds = pipeline.preload()
    sys.stderr.write(f"metalizer worker: pipeline loaded in {seconds:.1f} s\n")
    sys.stderr.flush()


def backoff_delay(retries: int, *, base_s: float = 30.0, cap_s: float = 600.0) -> float:
    """Exponential backoff with full jitter: the n-th retry waits up to base * 2**n seconds (capped)."""
    return random.uniform(base_s / 2, min(cap_s, base_s * 2**retries))


@shared_task(bind=True, name="jobs.tasks.process_job", max_retries=MAX_RETRIES)
def process_job(self, job_id: str) -> str:
    """Remix one job. Receives the id only; the row holds everything else.

    Its queue (heavy), late acks, redelivery when a worker is lost and its time limits are set once, in
    settings (``CELERY_TASK_*``)."""
    try:
        return run_job(
            job_id,
            task_id=self.request.id,
            worker=self.request.hostname or "",
            retries=self.request.retries,
            max_retries=self.max_retries,
            eager=bool(self.request.is_eager),
        )
    except RetryLater as exc:
        if self.request.is_eager:
            # Eager (unit tests): the retry runs inline; raising Retry would surface as an error.
            retry = self.retry(exc=exc, countdown=0, throw=False)
            return retry.sig.apply(retries=self.request.retries + 1).result
        raise self.retry(exc=exc, countdown=backoff_delay(self.request.retries)) from None


@shared_task(name="jobs.tasks.purge_expired_jobs")
def purge_expired_jobs() -> int:
    return services.purge_expired()


@shared_task(name="jobs.tasks.recover_stuck_jobs")
def recover_stuck_jobs() -> dict[str, int]:
    return services.recover_stuck_jobs()
