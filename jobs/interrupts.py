"""How a running job is stopped from outside: cancelled (its row changed) or out of time (the soft limit).

Both stops are ``pipeline.errors.Interrupted`` subclasses, not ``Exception``\\s, so no stage's ``except
Exception`` (an analysis library failing on odd input, a damaged asset file) can turn a stop into a song
error, and no stage has to remember to re-raise one. Celery's own ``SoftTimeLimitExceeded`` *is* an
``Exception``; while a job runs, ``soft_time_limit_raises_timed_out`` makes the soft limit's signal raise
``JobTimedOut`` instead, and marks the limit as passed: ``raise_if_out_of_time`` (called at every progress
report) raises it again, so a library that catches and drops whatever was raised inside it (the handler runs
in whatever code the main thread is in) delays the stop by one report, never loses it. ``stop_behind`` is the
backstop for code that wraps a stop into an error of its own anyway: it finds the stop in the error's chain
of causes. What a stopped job ends as is ``jobs.lifecycle``'s (``jobs.runner`` calls it).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from celery.exceptions import SoftTimeLimitExceeded

from pipeline import Interrupted

# billiard's pool sends this signal to the child running a task when its soft time limit is reached.
SOFT_LIMIT_SIGNAL = getattr(signal, "SIGUSR1", None)

# Set by the soft limit's signal while a job runs in this process (one at a time: a prefork pool's child).
_soft_limit_passed = threading.Event()


class JobCancelled(Interrupted):
    """The row was cancelled or deleted while the job ran."""


class JobTimedOut(Interrupted):
    """The job ran past its soft time limit."""


@contextmanager
def soft_time_limit_raises_timed_out() -> Iterator[None]:
    """Within the block, the soft time limit's signal raises JobTimedOut (not billiard's Exception).

    Signal handlers belong to the main thread, which is where the prefork pool runs a task; elsewhere (a
    threads pool, which has no soft limit anyway) this does nothing.
    """
    if SOFT_LIMIT_SIGNAL is None or threading.current_thread() is not threading.main_thread():
        yield
        return

    def timed_out(_signum: int, _frame: FrameType | None) -> None:
        _soft_limit_passed.set()
        raise JobTimedOut()

    _soft_limit_passed.clear()
    previous = signal.signal(SOFT_LIMIT_SIGNAL, timed_out)
    try:
        yield
    finally:
        signal.signal(SOFT_LIMIT_SIGNAL, previous)
        _soft_limit_passed.clear()


def raise_if_out_of_time() -> None:
    """Raise JobTimedOut when the running job's soft time limit has passed (from any thread)."""
    if _soft_limit_passed.is_set():
        raise JobTimedOut()


def stop_behind(exc: BaseException) -> type[Interrupted] | None:
    """JobCancelled or JobTimedOut when ``exc`` is, or was raised while handling, a stop (Celery's
    SoftTimeLimitExceeded counts as a time-out); None when no stop is in its chain of causes."""
    seen: set[int] = set()
    pending: list[BaseException] = [exc]
    while pending:
        current = pending.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, JobCancelled):
            return JobCancelled
        if isinstance(current, JobTimedOut | SoftTimeLimitExceeded):
            return JobTimedOut
        pending.extend(e for e in (current.__cause__, current.__context__) if e is not None)
    return None
