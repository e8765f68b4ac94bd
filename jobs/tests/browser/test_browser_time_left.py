"""The job page's time left in a real browser (static/js/eta.js smoothing the API's seconds_left), fed the
estimates the server gives, once a second, through a job whose progress was recorded from a real worker
(jobs/tests/test_time_left.py): a first job on a server with no history, whose admission estimate was 6
times too short."""

from __future__ import annotations

import pytest

from jobs.tests.test_time_left import RECORDED_SONG_S, polls
from jobs.time_left import admission_seconds

pytestmark = [pytest.mark.integration, pytest.mark.browser]

SCENARIO = """(targets) => {
  const eta = new window.MetalizerEta();
  return targets.map(([t, target]) => eta.update(target, 1_000_000 + t * 1000));
}"""


def test_time_left_counts_down_and_never_jumps_up_on_a_recorded_job(site, new_page):
    rows = polls(prior_total_s=admission_seconds("spleeter", RECORDED_SONG_S))
    page = new_page()
    page.goto(site.url("/"))
    page.add_script_tag(url=site.url("/static/js/eta.js"))
    shown = page.evaluate(SCENARIO, [[t, target] for t, target, _truth, _pace in rows])
    assert all(isinstance(s, int) and s >= 1 for s in shown), shown
    rises = [b - a for a, b in zip(shown, shown[1:], strict=False)]
    # From one poll (1 s) to the next it goes up by at most a tenth of itself (rounded up), never a jump.
    assert all(rise <= 0.1 * before + 1 for rise, before in zip(rises, shown, strict=False)), shown
    assert max(rises) <= 3, shown
    assert shown[-1] <= 3  # and it ends near the truth
    truths = [truth for _t, _target, truth, _pace in rows]
    assert abs(shown[-10] - truths[-10]) <= 6, (shown[-10:], truths[-10:])
