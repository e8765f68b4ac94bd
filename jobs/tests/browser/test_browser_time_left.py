"""The job page's time-left estimate (static/js/job.js) in a real browser, fed a job whose stages run at
very different speeds (a slow separation, a fast analysis, a slower render), one poll a second."""

from __future__ import annotations

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.browser]

SCENARIO = """() => {
  const eta = new window.MetalizerEta();
  const start = 1_000_000, shown = [];
  let progress = 1, t = 0;
  const speeds = [[30, 0.5], [60, 3.0], [100, 1.0]];  // up to this percent, percent per second
  while (progress < 97) {
    t += 1;
    progress += speeds.find(([upTo]) => progress < upTo)[1];
    shown.push([progress, eta.update(progress, start, start + t * 1000)]);
  }
  return shown;
}"""


def test_time_left_counts_down_steadily_across_stages_of_different_speeds(site, new_page):
    page = new_page()
    page.goto(site.url("/"))
    page.add_script_tag(url=site.url("/static/js/job.js"))
    shown = page.evaluate(SCENARIO)
    seconds = [s for _p, s in shown if s is not None]
    assert len(seconds) > 60
    # From one poll (1 s) to the next the figure moves by at most a quarter of itself plus the second gone,
    # never the jumps of a raw rate (85 s, 2 min, 52 s).
    jumps = [abs(b - a) for a, b in zip(seconds, seconds[1:], strict=False)]
    assert max(jumps) <= max(6, 0.25 * max(seconds)), list(zip(shown, jumps, strict=False))[:40]
    steps_up = [b - a for a, b in zip(seconds, seconds[1:], strict=False) if b > a]
    assert not steps_up or max(steps_up) <= 0.25 * max(seconds)
    assert seconds[-1] <= 10  # and it ends near the truth (3 % left at 1 %/s)
