from pipeline.progress import ProgressTracker
from pipeline.types import STAGES


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_progress_runs_from_zero_to_hundred_through_every_stage_in_order():
    seen: list[tuple[str, float]] = []
    tracker = ProgressTracker(lambda stage, pct: seen.append((stage, pct)))
    for name, _ in STAGES:
        report = tracker.for_stage(name)
        report(0.5)
        report(1.0)
    assert seen[0] == ("decoding", 0.0)
    assert seen[-1] == ("finishing", 100.0)
    assert [s for s, _ in seen][::3] == [name for name, _ in STAGES]
    percents = [p for _, p in seen]
    assert percents == sorted(percents)


def test_progress_never_moves_backwards_when_a_stage_reports_less():
    seen: list[float] = []
    tracker = ProgressTracker(lambda stage, pct: seen.append(pct))
    report = tracker.for_stage("separating")
    report(0.8)
    report(0.3)
    assert seen[-1] == seen[-2] > 0


def test_progress_records_time_spent_in_each_stage():
    clock = FakeClock()
    tracker = ProgressTracker(None, clock=clock)
    tracker.for_stage("decoding")
    clock.now = 1.5
    tracker.for_stage("separating")
    clock.now = 4.0
    tracker.finish()
    assert tracker.timings == {"decoding": 1.5, "separating": 2.5}
