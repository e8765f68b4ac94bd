"""The Celery app: configured from Django settings (namespace CELERY), tasks autodiscovered.

A worker checks its broker once at start-up and exits with status 2 and a message naming the variable
to fix when the broker is unreachable, instead of retrying forever.
"""

from __future__ import annotations

import os
import sys

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "metalizer_site.settings")

app = Celery("metalizer_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

BROKER_CHECK_TIMEOUT_S = 3.0


def ensure_broker_dirs() -> None:
    """The filesystem transport needs its folders to exist before the first message."""
    from django.conf import settings

    if settings.QUEUE_BACKEND == "embedded":
        for key in ("data_folder_in", "data_folder_out", "control_folder"):
            os.makedirs(settings.CELERY_BROKER_TRANSPORT_OPTIONS[key], exist_ok=True)


def broker_problem() -> str | None:
    """Connect to the broker once with a short timeout; a readable problem, or None when it answers."""
    from django.conf import settings
    from kombu import Connection

    if settings.QUEUE_BACKEND == "eager":
        return None
    try:
        ensure_broker_dirs()
        with Connection(
            settings.CELERY_BROKER_URL,
            transport_options=settings.CELERY_BROKER_TRANSPORT_OPTIONS,
            connect_timeout=BROKER_CHECK_TIMEOUT_S,
        ) as conn:
            conn.ensure_connection(
                max_retries=1, interval_start=0, interval_step=0, timeout=BROKER_CHECK_TIMEOUT_S
            )
            if settings.QUEUE_BACKEND == "embedded":
                # The filesystem transport "connects" without touching the disk; make sure its folders work.
                folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]
                if not os.access(folder, os.R_OK | os.W_OK):
                    raise PermissionError(f"{folder} is not readable and writable")
    except Exception as exc:  # any failure here means the same thing to an operator
        var = settings.METALIZER_BROKER_VARIABLE
        return f"Cannot reach the Celery broker ({type(exc).__name__}: {exc}). Check {var}."
    return None


@worker_init.connect
def _check_broker_at_worker_start(**_kwargs: object) -> None:
    problem = broker_problem()
    if problem:
        sys.stderr.write(f"metalizer worker: {problem}\n")
        sys.stderr.flush()
        os._exit(2)  # SystemExit would be swallowed by Celery's signal dispatch in some code paths
