"""A job's first seconds on a real Celery worker (issue 27 item 9): progress moves before separation ends,
separation reports chunk by chunk, and the time left the API gives never jumps up."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from metalizer_site.tests.integration.apiclient import ApiClient
from metalizer_site.tests.integration.songs import song_file

if TYPE_CHECKING:
    from metalizer_site.tests.integration.conftest import Worker

pytestmark = pytest.mark.integration

TERMINAL = ("succeeded", "failed", "cancelled")
EARLY_STAGES = ("starting", "decoding", "separating")


def _timeline(client: ApiClient, job_id: str, timeout: float = 400) -> list[tuple[float, dict[str, Any]]]:
    """Every poll's (seconds since the first poll, job body), four polls a second, until the job ends."""
    start, seen = time.monotonic(), []
    while True:
        body = client.job(job_id)
        seen.append((time.monotonic() - start, body))
        if body["status"] in TERMINAL:
            return seen
        assert time.monotonic() - start < timeout, [
            (round(t), b["stage"], b["progress"]) for t, b in seen[-9:]
        ]
        time.sleep(0.25)


def test_a_job_moves_before_separation_ends_and_its_time_left_never_jumps_up(
    client: ApiClient, worker: Worker, songs_dir: Path
) -> None:
    # long enough that separation outlasts several of the worker's progress writes (at most one per
    # METALIZER_PROGRESS_MIN_INTERVAL_S, 2 s) on an idle machine too: a 50 s song separated in ~5 s there,
    # which leaves room for two writes whatever the separator reports; 120 s gave four, 180 s five or more
    song = song_file(songs_dir / "early progress.wav", seconds=180, seed=4)
    created = client.upload(song, style="heavy", output_format="wav", separator="spleeter")
    assert created.status_code == 201, created.text
    seen = _timeline(client, created.json()["id"])
    history = [(round(t, 1), b["stage"], b["progress"], b["seconds_left"]) for t, b in seen]
    assert seen[-1][1]["status"] == "succeeded", seen[-1][1]
    running = [(t, b) for t, b in seen if b["status"] == "running"]
    early = [b["progress"] for _t, b in running if b["stage"] in EARLY_STAGES]
    assert any(p > 0 for p in early), history
    separating = {b["progress"] for _t, b in running if b["stage"] == "separating"}
    assert len(separating) >= 3, f"separation should report chunk by chunk: {history}"
    # A figure from the start (the admission estimate), and never more than ~3 s up per second after.
    assert all(b["seconds_left"] is not None for _t, b in running if b["stage"] != "starting"), history
    left = [(t, b["seconds_left"]) for t, b in running if b["seconds_left"] is not None]
    for (t0, a), (t1, b) in zip(left, left[1:], strict=False):
        assert b - a <= 3 * (t1 - t0) + 1, history
