"""A stop raised from the progress callback (the caller cancelled, or ran out of time) leaves the pipeline
as it was raised, at every stage: never turned into a song error, and nothing half-written is left."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline import RemixOptions, metalize
from pipeline.errors import Interrupted
from pipeline.testing.synth import make_song, write_song
from pipeline.types import STAGES

OPTIONS = RemixOptions(style="heavy", separator="dsp", seed=2)


class Stop(Interrupted):
    """What a caller's callback raises (jobs.runner.JobCancelled and JobTimedOut are such subclasses)."""


@pytest.fixture(scope="module")
def song_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    song = make_song(tempo=120.0, key="E", scale="minor", bars=2, sections=1, seed=5)
    return write_song(tmp_path_factory.mktemp("song") / "song.wav", song)


@pytest.fixture(scope="module")
def reports(song_file: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, int]:
    """How many progress reports each stage makes on this song."""
    counted: dict[str, int] = {}
    metalize(
        song_file, tmp_path_factory.mktemp("full"), OPTIONS, on_progress=lambda s, _p: _count(counted, s)
    )
    return counted


def _count(counted: dict[str, int], stage: str) -> None:
    counted[stage] = counted.get(stage, 0) + 1


def test_every_stage_reports_more_than_once_so_both_ends_of_it_are_tried(reports):
    assert set(reports) == {name for name, _ in STAGES}
    assert all(n >= 2 for n in reports.values()), reports


@pytest.mark.parametrize("which", ["first", "last"])
@pytest.mark.parametrize("stage", [name for name, _ in STAGES])
def test_a_stop_from_the_progress_callback_comes_out_unchanged(song_file, reports, tmp_path, stage, which):
    target = 1 if which == "first" else reports[stage]
    seen = 0

    def on_progress(reported: str, _percent: float) -> None:
        nonlocal seen
        if reported == stage:
            seen += 1
            if seen == target:
                raise Stop(stage)

    with pytest.raises(Stop) as stopped:
        metalize(song_file, tmp_path / "out", OPTIONS, on_progress=on_progress)
    assert stopped.value.args == (stage,)
    assert [p for p in (tmp_path / "out").rglob("*") if p.is_file()] == []  # nothing half-written
