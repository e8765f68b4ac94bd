"""play() renders its parts on threads: the same bytes as one thread, parts taken in order, few ahead."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from pipeline.play import in_order, play
from pipeline.testing.synth import make_song
from pipeline.tests.play_helpers import analysis_from_song, stems_from_song
from pipeline.types import RemixOptions

ASSETS = Path(__file__).resolve().parents[2] / "assets"


@pytest.fixture(scope="module")
def song():
    return make_song(tempo=100.0, key="E", bars=8, sections=2, with_vocals=True, seed=5)


def _take(song, tmp: Path, threads: int):
    analysis = analysis_from_song(song)
    analysis.has_vocals = False  # played as an instrumental: a lead guitar tracks the tune, every part plays
    return play(
        *stems_from_song(song),
        analysis,
        RemixOptions(style="power", seed=3),
        assets_dir=ASSETS,
        out_dir=tmp,
        render_threads=threads,
    )


@pytest.mark.parametrize("threads", [2, 7])
def test_parts_rendered_on_threads_give_the_bytes_of_one_thread(song, tmp_path, threads):
    # with 7, every task starts at once: the lead waits for its part, the original's level depends on it
    serial = _take(song, tmp_path / "one", 1)
    parallel = _take(song, tmp_path / "many", threads)
    assert serial.facts["lead_notes"] > 0
    assert np.array_equal(serial.mix, parallel.mix)
    for name, path in serial.stems.items():
        assert path.read_bytes() == parallel.stems[name].read_bytes(), name
    assert serial.midi.keys() == parallel.midi.keys()
    for name, path in serial.midi.items():
        assert path.read_bytes() == parallel.midi[name].read_bytes(), name


def test_results_come_in_task_order_whichever_finishes_first():
    def task(i: int, delay: float):
        def run() -> int:
            time.sleep(delay)
            return i

        return run

    tasks = [task(0, 0.2), task(1, 0.0), task(2, 0.1), task(3, 0.0)]
    assert list(in_order(tasks, 2)) == [0, 1, 2, 3]


def test_only_workers_tasks_are_started_and_not_yet_taken():
    started: list[int] = []
    lock = threading.Lock()

    def task(i: int):
        def run() -> int:
            with lock:
                started.append(i)
            return i

        return run

    results = in_order([task(i) for i in range(8)], 2)
    assert next(results) == 0
    time.sleep(0.2)
    assert sorted(started) == [0, 1, 2]  # 0 and 1 started; 2 started when 0 was taken
    assert list(results) == list(range(1, 8))
