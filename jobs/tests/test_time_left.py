"""The time left a running job shows (issue 27 item 9): the admission estimate, scaled by how slow this server
has lately been, then the job's own pace. Checked on the progress a real job reported (recorded below), so
the figure does not jump (85 s, 2 min, 52 s) where the pace alone does."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from jobs.models import Job
from jobs.time_left import admission_seconds, estimate_left, seconds_left, slowness

pytestmark = pytest.mark.django_db

# (seconds since the worker took it, percent) each time the API's progress changed: a 50 s synthetic song,
# Spleeter, through the real stack (metalizer_site/tests/integration/test_early_progress.py, load ~10 on 2
# cores); it finished after 50.4 s.
RECORDED = (
    (0.0, 0.0), (1.1, 3.0), (6.7, 10.2), (11.0, 17.4), (15.4, 24.6), (19.5, 31.8), (23.2, 39.0), (25.3, 43.0),
    (27.4, 47.0), (27.7, 48.0), (30.3, 55.2), (34.0, 60.0), (34.3, 65.0), (39.2, 75.0), (42.4, 90.0),
    (46.9, 99.0),
)  # fmt: skip
RECORDED_TOOK_S = 50.4
RECORDED_SONG_S = 50.0


def polls(prior_total_s: float | None) -> list[tuple[float, float | None, float, float | None]]:
    """(time, the estimate, the truth, the pace alone) once a second through the recorded job."""
    rows, t = [], 0.5
    while t < RECORDED_TOOK_S:
        progress = max(p for at, p in RECORDED if at <= t)
        pace_only = t * (100 - progress) / progress if progress >= 1 else None
        rows.append((t, estimate_left(progress, t, prior_total_s), RECORDED_TOOK_S - t, pace_only))
        t += 1.0
    return rows


def test_on_a_recorded_job_the_estimate_stays_near_the_truth_where_the_pace_alone_jumps():
    # A server that knows its pace (it ran such a job before) starts from the truth and never strays far.
    rows = polls(prior_total_s=RECORDED_TOOK_S)
    for t, estimate, truth, _pace in rows:
        assert estimate is not None and abs(estimate - truth) <= 10 + 0.35 * truth, (t, estimate, truth)
    rises = [b[1] - a[1] for a, b in zip(rows, rows[1:], strict=False)]
    assert max(rises) <= 2.0, rises  # while a stage reports in steps, at most 2 s up per second
    pace_rises = [b[3] - a[3] for a, b in zip(rows[1:], rows[2:], strict=False)]
    assert max(pace_rises) > 30  # the pace alone: 48 s, 81 s, ... 210 s, then 66 s
    assert rows[-1][1] <= 2


def test_without_history_the_admission_estimate_gives_a_figure_from_the_first_second():
    prior = admission_seconds("spleeter", RECORDED_SONG_S)
    assert 5 < prior < 15  # the measured machine's pace; this job ran about 6 times slower
    rows = polls(prior_total_s=prior)
    assert all(estimate is not None for _t, estimate, _truth, _pace in rows)
    rises = [b[1] - a[1] for a, b in zip(rows, rows[1:], strict=False)]
    assert max(rises) <= 3.0, rises  # it corrects upward gradually, never by a jump
    assert abs(rows[-5][1] - rows[-5][2]) <= 3


def test_a_restyle_expects_only_the_playing_stages():
    first, restyle = admission_seconds("spleeter", 180), admission_seconds("spleeter", 180, replay=True)
    assert 0.2 * first < restyle < 0.6 * first


def _finished(took_s: float, duration_s: float, *, ago_s: float = 60) -> Job:
    finished = timezone.now() - timedelta(seconds=ago_s)
    return Job.objects.create(
        original_name="s.wav",
        status=Job.Status.SUCCEEDED,
        duration=duration_s,
        separator_choice="spleeter",
        started_at=finished - timedelta(seconds=took_s),
        finished_at=finished,
    )


def test_the_server_learns_its_pace_from_its_recent_jobs_and_the_running_job_uses_it():
    assert slowness() == 1.0
    expected = admission_seconds("spleeter", 60)
    for ratio in (5.0, 6.0, 7.0):
        _finished(ratio * expected, 60)
    _finished(100 * expected, 60, ago_s=10 * 86400)  # too old to say anything about today
    assert slowness() == pytest.approx(6.0)
    now = timezone.now()
    running = Job.objects.create(
        original_name="r.wav",
        status=Job.Status.RUNNING,
        duration=60,
        separator_choice="spleeter",
        started_at=now - timedelta(seconds=2),
        progress=0.0,
    )
    assert seconds_left(running, now) == round(6.0 * expected - 2)
    running.status = Job.Status.QUEUED
    assert seconds_left(running, now) is None


def test_the_job_api_and_page_carry_the_time_left(client):
    now = timezone.now()
    job = Job.objects.create(
        original_name="r.wav",
        status=Job.Status.RUNNING,
        stage="separating",
        duration=120,
        separator_choice="spleeter",
        started_at=now - timedelta(seconds=5),
        progress=20.0,
    )
    body = client.get(f"/api/jobs/{job.pk}").json()
    assert isinstance(body["seconds_left"], int) and body["seconds_left"] > 0
    page = client.get(reverse("jobs:detail", args=[job.pk])).content.decode()
    assert re.search(r"about \d+ (s|min) left", page), page
