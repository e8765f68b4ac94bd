"""Turns per-stage progress into whole-job percent, and times each stage."""

from __future__ import annotations

import time
from collections.abc import Callable

from pipeline.types import STAGES, ProgressCallback, StageProgress


class ProgressTracker:
    """Reports ``(stage, percent)`` to a callback and records how long each stage took.

    Percent never goes backwards, so a listener's progress bar only moves forward. ``stages`` (name, share)
    are the stages this run goes through: every stage by default, only the playing ones for a re-play.
    """

    def __init__(
        self,
        on_progress: ProgressCallback | None = None,
        clock: Callable[[], float] = time.perf_counter,
        *,
        stages: tuple[tuple[str, float], ...] = STAGES,
    ):
        self._on_progress = on_progress
        self._clock = clock
        self._weights = dict(stages)
        self._starts: dict[str, float] = {}
        done, total = 0.0, sum(self._weights.values())
        for name, weight in stages:
            self._starts[name] = 100.0 * done / total
            done += weight
        self._total = total
        self._stage: str | None = None
        self._stage_started = 0.0
        self._percent = 0.0
        self.timings: dict[str, float] = {}

    def report(self, stage: str, fraction: float) -> None:
        if stage not in self._weights:
            raise ValueError(f"unknown stage {stage!r}")
        if stage != self._stage:
            self._close_stage()
            self._stage = stage
            self._stage_started = self._clock()
        fraction = min(max(float(fraction), 0.0), 1.0)
        percent = self._starts[stage] + 100.0 * self._weights[stage] * fraction / self._total
        self._percent = max(self._percent, min(percent, 100.0))
        if self._on_progress is not None:
            self._on_progress(stage, round(self._percent, 1))

    def for_stage(self, stage: str) -> StageProgress:
        """A StageProgress bound to one stage; announces the stage at 0 straight away."""
        self.report(stage, 0.0)
        return lambda fraction: self.report(stage, fraction)

    def finish(self) -> None:
        self._close_stage()

    def _close_stage(self) -> None:
        if self._stage is not None:
            elapsed = self._clock() - self._stage_started
            self.timings[self._stage] = round(self.timings.get(self._stage, 0.0) + elapsed, 3)
            self._stage = None
