"""Work done beside the rest in a forked child: the result the caller would get, whatever goes wrong there."""

from __future__ import annotations

import os
import signal
import time

import numpy as np
import pytest

from pipeline import forked
from pipeline.analyze import analyze
from pipeline.errors import ANALYSIS_FAILED, PipelineError
from pipeline.forked import Aside
from pipeline.tests._analyze_songs import song, stems_of

PARENT = os.getpid()


def _big(seed: int) -> np.ndarray:
    """8 MB: far more than a pipe holds, so the child writes while the parent reads."""
    return np.random.default_rng(seed).standard_normal(1 << 20)


def _where_and_what(seed: int) -> tuple[int, np.ndarray]:
    return os.getpid(), _big(seed)


def test_the_child_computes_it_in_another_process_and_the_parent_gets_the_same_result():
    with Aside(_where_and_what, 3) as job:
        pid, value = job.result()
    assert pid != os.getpid()
    assert value.tobytes() == _big(3).tobytes()


def _refuse(message: str) -> None:
    raise PipelineError(ANALYSIS_FAILED, message)


def test_an_error_in_the_child_is_raised_by_the_parent_as_itself():
    with Aside(_refuse, "no beat") as job, pytest.raises(PipelineError) as raised:
        job.result()
    assert raised.value.code == ANALYSIS_FAILED and "no beat" in str(raised.value)


def _die_unless_parent(seed: int) -> np.ndarray:
    if os.getpid() != PARENT:
        os.kill(os.getpid(), signal.SIGKILL)  # as the kernel's out-of-memory killer would
    return _big(seed)


def _unpicklable() -> object:
    return lambda: "a function does not pickle"


def test_a_child_that_dies_or_cannot_send_its_result_is_done_again_here(caplog):
    with Aside(_die_unless_parent, 4) as job:
        assert job.result().tobytes() == _big(4).tobytes()
    with Aside(_unpicklable) as job:
        assert job.result()() == "a function does not pickle"
    assert caplog.text.count("computing it here") == 2


def test_cancel_stops_a_child_at_once_and_leaves_no_process_behind():
    job = Aside(time.sleep, 60)
    pid = job._pid
    started = time.monotonic()
    with job:
        pass  # the result is not wanted (an error or a stop in the caller)
    assert time.monotonic() - started < 5
    with pytest.raises(ChildProcessError):  # reaped: no zombie left
        os.waitpid(pid, os.WNOHANG)


def test_without_fork_the_work_is_done_in_the_caller(monkeypatch):
    monkeypatch.delattr(os, "fork")
    with Aside(_where_and_what, 5) as job:
        pid, value = job.result()
    assert pid == os.getpid() and value.tobytes() == _big(5).tobytes()


def test_a_failed_fork_leaves_the_work_to_the_caller(monkeypatch):
    def no_process() -> int:
        raise BlockingIOError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(forked.os, "fork", no_process)
    with Aside(_where_and_what, 6) as job:
        pid, value = job.result()
    assert pid == os.getpid() and value.tobytes() == _big(6).tobytes()


@pytest.mark.parametrize("name", ["c_major_128", "e_minor_92"])  # sung; instrumental
def test_the_analysis_with_its_trackers_in_children_equals_the_one_computed_in_one_process(monkeypatch, name):
    """The beats and the tune tracked beside the rest give the analysis computed in one process, field for
    field (only the stage timings differ)."""
    played = song(name)
    beside = analyze(played.audio, stems=stems_of(played)).to_dict()
    monkeypatch.delattr(os, "fork")
    alone = analyze(played.audio, stems=stems_of(played)).to_dict()
    for one in (beside, alone):
        one["extra"].pop("timings")
    assert beside == alone
    assert beside["melody"] is not None and beside["beats"]


def test_a_song_longer_than_the_limit_tracks_in_this_process(monkeypatch):
    """A long song's analysis has no room for the children's working memory beside it: no fork at all, and
    the same analysis."""
    from pipeline import analyze as analysis_module

    played = song("e_minor_92")
    beside = analyze(played.audio, stems=stems_of(played)).to_dict()

    def no_fork() -> int:
        raise AssertionError("a long song must not fork")

    monkeypatch.setattr(forked.os, "fork", no_fork)
    monkeypatch.setattr(analysis_module, "TRACK_BESIDE_MAX_S", played.audio.shape[1] / 44100 - 1.0)
    alone = analyze(played.audio, stems=stems_of(played)).to_dict()
    for one in (beside, alone):
        one["extra"].pop("timings")
    assert beside == alone
