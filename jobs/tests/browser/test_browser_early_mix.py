"""The mix plays first, in a real browser (static/js/job.js): the job page shows the mix's player as soon as
the API says ``mix_ready``, and a listener already playing it when the job succeeds is not cut off by the
page's reload, which waits for the pause.

The finishing stage of a short test song lasts a fraction of a second, too short to meet reliably with a poll
a second: the page is a real job's, and its polls answer what the API answers for a job in that stage, with
the mix of a finished remix (real audio from the same server) as ``mix_url``.
"""

from __future__ import annotations

import json
import re

import pytest
import requests

pytestmark = [pytest.mark.integration, pytest.mark.browser]

EARLY_NOTE = "Your remix is ready: stems, MIDI and picture are still being stored."


def test_the_mix_shows_and_plays_before_the_job_is_done_and_the_reload_waits_for_the_pause(
    site, new_page, finished_remix, song, shots
):
    assert finished_remix["mix_ready"] and finished_remix["mix_url"]
    session = requests.Session()
    with song("Early Song.wav", seconds=4.0, seed=5).open("rb") as fh:
        created = session.post(
            site.url("/api/jobs"), files={"file": ("Early Song.wav", fh, "audio/wav")}, timeout=60
        )
    assert created.status_code == 201, created.text
    job_id = created.json()["id"]
    answer = {
        "id": job_id,
        "status": "running",
        "stage": "finishing",
        "progress": 96.0,
        "seconds_left": 2,
        "mix_ready": True,
        "mix_url": finished_remix["mix_url"],
    }

    page = new_page()
    page.route(
        re.compile(rf"/api/jobs/{job_id}$"),
        lambda route: route.fulfill(status=200, content_type="application/json", body=json.dumps(answer)),
    )
    page.goto(site.url(f"/jobs/{job_id}/"))
    early = page.locator("#early-mix")
    early.wait_for(state="visible", timeout=15_000)
    assert page.locator("#early-mix-note").inner_text() == EARLY_NOTE
    assert page.locator("#early-mix-audio").get_attribute("src") == finished_remix["mix_url"]
    assert page.locator("#early-mix-download").get_attribute("href") == finished_remix["mix_url"]
    assert page.locator("#job-steps [data-step=finishing]").get_attribute("data-state") == "current"
    shots(page, "early-mix", full_page=False)

    page.evaluate("window.stillTheSamePage = true; document.getElementById('early-mix-audio').play()")
    page.wait_for_function(
        "() => document.getElementById('early-mix-audio').currentTime > 1.0", timeout=15_000
    )
    answer.update(status="succeeded", stage="done", progress=100.0, seconds_left=None)
    page.wait_for_function(
        "() => document.getElementById('early-mix-note').textContent.startsWith('Everything is stored')"
    )
    page.wait_for_timeout(1500)  # the reload would have come 0.4 s after the poll
    assert page.evaluate("window.stillTheSamePage === true")
    assert not page.evaluate("document.getElementById('early-mix-audio').paused")

    page.unroute(re.compile(rf"/api/jobs/{job_id}$"))
    with page.expect_navigation():
        page.evaluate("document.getElementById('early-mix-audio').pause()")
    assert page.evaluate("window.stillTheSamePage === undefined")
