"""What a bench prints beside its figures: the machine's load, and the CPU time spent."""

from __future__ import annotations

import os
import resource


def load() -> str:
    """The 1/5/15-minute load averages and the core count, e.g. ``1.02 1.45 1.77 on 2 cores``."""
    return " ".join(f"{x:.2f}" for x in os.getloadavg()) + f" on {os.cpu_count()} cores"


def cpu_seconds(children: bool = False) -> float:
    """User + system CPU seconds of this process (all its threads), or with ``children`` of the child
    processes it has waited for (and theirs)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
