"""How long a running job has left: the one estimate the job page, its script and the API show.

It starts from the admission estimate (``pipeline.estimated_seconds``: the separator's and the other stages'
measured cost per minute of song) scaled by how much slower than that this server has lately been, and leans
on the job's own pace (elapsed time over progress) as progress grows. Early on the pace says little (stages
run at different speeds and a stage reports in steps), so the estimate does not swing with every step; later
the pace is the better witness. The page's script only smooths what this gives (``static/js/eta.js``).
"""

from __future__ import annotations

import statistics
from datetime import timedelta
from typing import Any

from django.utils import timezone

from jobs.models import Job
from pipeline import PLAY_STAGES, estimated_seconds, stages_for

# The job's own pace counts fully from this share of the work done; below it, the prior keeps a share.
PACE_TRUSTED_AT = 0.35
# A pace read off less than this share of the work is not read at all (one stage's first report).
PACE_FROM = 0.02
# How slow this server has been lately: the median of (run time / admission estimate) of its last jobs.
RECENT_JOBS = 10
RECENT_WINDOW = timedelta(days=2)
SLOWNESS_BOUNDS = (0.5, 20.0)


def admission_seconds(method: str, duration_s: float, *, replay: bool = False) -> float:
    """What admission expects a job to take on the measured machine: a whole first remix, or (``replay``:
    a re-style, which reuses the stems and analysis) the playing stages' share of one."""
    seconds = estimated_seconds(method, duration_s)
    if replay:
        stages = dict(stages_for(method))
        seconds *= sum(stages[name] for name, _share in PLAY_STAGES) / sum(stages.values())
    return seconds


def job_admission_seconds(job: Job) -> float | None:
    if not job.duration:
        return None
    return admission_seconds(job.separator_choice, job.duration, replay=job.source_id is not None)


def slowness(now: Any = None) -> float:
    """How many times the admission estimate this server's recent jobs took (1.0 without history)."""
    since = (now or timezone.now()) - RECENT_WINDOW
    recent = (
        Job.objects.filter(status=Job.Status.SUCCEEDED, finished_at__gte=since, duration__gt=0)
        .exclude(started_at=None)
        .order_by("-finished_at")[:RECENT_JOBS]
    )
    ratios = []
    for job in recent:
        expected = job_admission_seconds(job)
        took = (job.finished_at - job.started_at).total_seconds()
        if expected and took > 0:
            ratios.append(took / expected)
    if not ratios:
        return 1.0
    low, high = SLOWNESS_BOUNDS
    return min(high, max(low, statistics.median(ratios)))


def estimate_left(progress: float, elapsed_s: float, prior_total_s: float | None) -> float | None:
    """Seconds left of a job ``progress`` % done after ``elapsed_s``, expected to take ``prior_total_s`` in
    all (None: no prior); None when there is nothing to go by yet."""
    done = min(max(progress, 0.0), 100.0) / 100.0
    pace_total = elapsed_s / done if done >= PACE_FROM and elapsed_s > 0 else None
    if prior_total_s is None:
        total = pace_total
    else:
        prior = max(prior_total_s, elapsed_s)  # a prior already overrun is at least what has passed
        trust = min(1.0, done / PACE_TRUSTED_AT) if pace_total is not None else 0.0
        total = (1 - trust) * prior + trust * (pace_total or 0.0)
    if total is None:
        return None
    return max(1.0, total - elapsed_s) if done < 1.0 else 0.0


def seconds_left(job: Job, now: Any = None) -> int | None:
    """The running job's time left in whole seconds; None when it is not running or nothing says yet."""
    if job.status != Job.Status.RUNNING or not job.started_at:
        return None
    now = now or timezone.now()
    elapsed = max(0.0, (now - job.started_at).total_seconds())
    prior = job_admission_seconds(job)
    left = estimate_left(job.progress, elapsed, prior * slowness(now) if prior else None)
    return None if left is None else round(left)
