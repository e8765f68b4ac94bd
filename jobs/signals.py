"""The worker's start-up hook: jobs its previous life left running are orphaned, so they are recovered now.

Connected in ``JobsConfig.ready`` (Django is set up in the worker before Celery sends ``worker_ready``).
"""

from __future__ import annotations

import logging

from celery.signals import worker_ready

from jobs.services import recover_stuck_jobs, sweep_work_dirs

logger = logging.getLogger(__name__)


@worker_ready.connect
def recover_jobs_at_worker_start(sender: object = None, **_kwargs: object) -> None:
    """Requeue or fail what this node ran before it restarted (``jobs.services.recover_stuck_jobs``)."""
    hostname = getattr(sender, "hostname", None)
    try:
        recover_stuck_jobs(orphaned_by=hostname)
        # What this node's previous life left in its scratch folder (jobs just requeued or failed).
        swept = sweep_work_dirs()
        if swept:
            logger.warning("removed %d scratch folder(s) of jobs a killed worker left", swept)
    except Exception:  # recovery must never stop a worker from starting; beat retries it
        logger.exception("recover_stuck_jobs at worker start failed")
