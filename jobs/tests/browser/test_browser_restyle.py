"""Try another style in a real browser: the result page plays the same song again in another style, the new
version links back to the first, "another take" makes a third, and My remixes shows them together."""

from __future__ import annotations

import re
import time

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.browser]

JOB_URL = re.compile(r"/jobs/([0-9a-f-]{36})/$")


def wait_for_result(page, site) -> None:  # type: ignore[no-untyped-def]
    """The job page reloads itself when the job finishes (job.js); wait for the result section."""
    started = time.monotonic()
    while page.locator("#result-heading").count() == 0:
        assert page.locator(".error[role=alert]").count() == 0, page.locator(".error").inner_text()
        assert time.monotonic() - started < 180, site.logs()
        page.wait_for_timeout(250)


def job_id_of(url: str) -> str:
    match = JOB_URL.search(url)
    return match.group(1) if match else ""


def plays(page) -> None:  # type: ignore[no-untyped-def]
    """The remix really plays: the A/B player's remix element moves past one second of audio."""
    page.get_by_role("button", name="Play").click()
    page.wait_for_function("() => document.getElementById('audio-remix').currentTime > 1.0", timeout=15_000)
    assert page.evaluate("document.getElementById('audio-remix').duration") > 3.0
    page.get_by_role("button", name="Pause").click()


def test_try_another_style_gives_a_playable_version_that_links_back(site, new_page, song, shots):
    page = new_page()
    page.goto(site.url("/"))
    page.set_input_files("#id_file", str(song("Restyle Song.wav", seconds=4.0, seed=8)))
    page.get_by_label("Thrash").check()
    page.get_by_role("button", name="Metalize").click()
    page.wait_for_url(JOB_URL)
    source_id = job_id_of(page.url)
    wait_for_result(page, site)

    panel = page.locator("#remix")
    assert panel.get_by_role("heading", name="Try another style").is_visible()
    assert panel.locator("input[name=style][value=thrash]").is_checked()
    panel.locator("input[name=style][value=doom]").check()
    panel.locator("input[name=feel][value=half]").check()
    panel.locator("#id_intensity").fill("0.5")
    assert panel.locator("output").inner_text() == "0.50"
    panel.scroll_into_view_if_needed()
    shots(page, "try-another-style", docs="screenshot-restyle.png", full_page=False)
    panel.get_by_role("button", name="Remix in this style").click()
    page.wait_for_url(lambda url: job_id_of(url) not in ("", source_id))
    doom_id = job_id_of(page.url)
    assert [s.get_attribute("data-step") for s in page.locator("#job-steps .step").all()] == [
        "reusing",
        "arranging",
        "rendering",
        "mastering",
        "finishing",
    ]
    wait_for_result(page, site)
    assert page.locator(".meta").inner_text().startswith("Doom · intensity 0.50 · half time")
    assert "nothing was separated or analysed again" in page.locator("#fact-reused").inner_text()
    plays(page)

    back = page.locator("#job-source a")
    assert back.inner_text().startswith("the thrash remix")
    back.click()
    page.wait_for_url(re.compile(f"/jobs/{source_id}/$"))
    page.locator("#remix").get_by_role("button", name="Another take").click()
    page.wait_for_url(lambda url: job_id_of(url) not in ("", source_id, doom_id))
    wait_for_result(page, site)
    assert page.locator(".meta").inner_text().startswith("Thrash · intensity")
    assert " · take 1" in page.locator(".meta").inner_text()
    plays(page)
    versions = page.locator("#versions li")
    assert versions.count() == 3 and "(this one)" in versions.nth(2).inner_text()

    page.goto(site.url("/jobs/"))
    group = page.locator(".song-group", has_text="Restyle Song.wav")
    assert group.get_attribute("data-versions") == "3"
    assert group.locator(".song-name").inner_text().startswith("Restyle Song.wav")
    assert group.locator(".job-card .badge").all_inner_texts() == ["Succeeded"] * 3
