"""A listener uploads a song in a real browser and watches it become a metal remix, also without JS."""

from __future__ import annotations

import re
import time

import pytest
import soundfile as sf

pytestmark = [pytest.mark.integration, pytest.mark.browser]

# Report the upload's XHR progress events and every change of the job's progress bar to the test;
# exposed bindings survive page navigations, so the whole journey is recorded.
RECORDER = """
(() => {
  const send = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.send = function (body) {
    this.upload.addEventListener("progress", (e) => {
      const bar = document.getElementById("upload-progress");
      window.reportUpload(e.loaded, e.total, bar ? Number(bar.value) : -1);
    });
    return send.call(this, body);
  };
  document.addEventListener("DOMContentLoaded", () => {
    const bar = document.getElementById("job-progress");
    if (!bar) return;
    window.reportJob(Number(bar.value), "load");
    new MutationObserver(() => window.reportJob(Number(bar.value), "poll"))
      .observe(bar, { attributes: true, attributeFilter: ["value"] });
  });
})();
"""


def test_upload_shows_transfer_and_job_progress_then_the_result(site, new_page, song, shots):
    page = new_page()
    uploads: list[tuple[int, int, int]] = []
    progress: list[tuple[float, str]] = []
    page.expose_binding("reportUpload", lambda _src, loaded, total, bar: uploads.append((loaded, total, bar)))
    page.expose_binding("reportJob", lambda _src, value, how: progress.append((value, how)))
    page.add_init_script(RECORDER)
    page.goto(site.url("/"))
    shots(page, "upload-page")

    page.set_input_files("#id_file", str(song("Beat Song.wav", seconds=4.0)))
    assert page.locator("#file-chosen").inner_text().startswith("Beat Song.wav")
    page.get_by_label("Thrash").check()
    page.locator("#id_intensity").fill("0.9")
    assert page.locator("#intensity-value").inner_text() == "0.90"
    with page.expect_response(lambda r: r.url.endswith("/api/jobs") and r.request.method == "POST") as posted:
        page.get_by_role("button", name="Metalize").click()
    assert posted.value.status == 201 and posted.value.request.resource_type == "xhr"
    page.wait_for_url(re.compile(r"/jobs/[0-9a-f-]{36}/$"))
    # the transfer's own progress bar followed the XHR upload events up to the whole file
    assert uploads and uploads[-1][0] == uploads[-1][1] > 700_000, uploads
    assert uploads[-1][2] == 100

    assert page.locator("[data-step=uploading]").get_attribute("data-state") == "done"
    shots(page, "job-queued")
    started, running_shot = time.monotonic(), False
    while page.locator("#result-heading").count() == 0:
        assert time.monotonic() - started < 180, site.logs()
        value = float(page.locator("#job-progress").get_attribute("value") or 0)
        if 0 < value < 100 and not running_shot:
            running_shot = bool(shots(page, "job-running", docs="screenshot-progress.png"))
        page.wait_for_timeout(200)
    values = [v for v, _how in progress]
    assert values == sorted(values), progress  # never moves backwards
    assert ("poll" in {how for _v, how in progress}) and 100 in values, progress
    assert [s.get_attribute("data-state") for s in page.locator("#job-steps .step").all()] == ["done"] * 8
    assert page.locator("#job-percent").inner_text() == "100%"
    assert re.fullmatch(r"\d+ BPM( \(a guess\))?", page.locator("#fact-tempo").inner_text())
    assert page.locator(".meta").inner_text().endswith("expires in 24 h")
    img = page.locator(".song-picture img")
    img.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=img.element_handle())
    shots(page, "result-page", docs="screenshot-result.png")

    page.goto(site.url("/jobs/"))
    assert page.locator(".job-card").first.locator(".badge").inner_text() == "Succeeded"
    shots(page, "my-remixes")


def test_without_javascript_upload_refreshes_to_the_result_and_downloads(
    site, new_page, song, tmp_path, shots
):
    page = new_page(javascript=False)
    page.goto(site.url("/"))
    page.set_input_files("#id_file", str(song("Quiet Song.wav", seconds=4.0, seed=5)))
    page.locator("input[name=style][value=doom]").check()
    page.locator("#id_keep_vocals").uncheck()
    page.get_by_role("button", name="Metalize").click()
    page.wait_for_url(re.compile(r"/jobs/[0-9a-f-]{36}/$"))
    assert page.locator('meta[http-equiv="refresh"]').count() == 1
    shots(page, "job-progress-no-js")
    started = time.monotonic()
    refreshes = 0
    while page.locator("#result-heading").count() == 0:  # the meta refresh reloads the page
        assert time.monotonic() - started < 180, site.logs()
        page.wait_for_event("load", timeout=10_000)
        refreshes += 1
    assert refreshes >= 1
    shots(page, "result-no-js")
    # the native players stand in for the A/B switch
    assert page.locator("#ab-original audio").is_visible() and page.locator("#ab-remix audio").is_visible()
    assert page.locator("#ab-player .ab-controls").is_hidden()
    link = page.locator('#downloads-panel a[download$=".flac"]').first
    with page.expect_download() as caught:
        link.click()
    download = caught.value
    assert download.suggested_filename == "Quiet Song (metal, doom).flac"
    saved = tmp_path / download.suggested_filename
    download.save_as(saved)
    audio, rate = sf.read(saved)
    assert rate == 44100 and audio.shape[0] > 3.5 * rate


def test_delete_waits_for_a_confirmation_that_names_what_goes_and_needs_no_javascript(site, new_page, song):
    page = new_page(javascript=False)
    page.goto(site.url("/"))
    page.set_input_files("#id_file", str(song("Doomed Song.wav", seconds=4.0, seed=6)))
    page.get_by_role("button", name="Metalize").click()
    page.wait_for_url(re.compile(r"/jobs/[0-9a-f-]{36}/$"))
    job_url = page.url
    started = time.monotonic()
    while page.locator("#result-heading").count() == 0:  # the meta refresh reloads the page
        assert time.monotonic() - started < 180, site.logs()
        page.wait_for_event("load", timeout=10_000)
    confirm = page.get_by_role("button", name="Yes, delete it")
    assert confirm.is_hidden()  # one click on "Delete" alone deletes nothing
    page.locator("#confirm-delete summary").click()
    assert "cannot be undone" in page.locator("#confirm-delete").inner_text()
    confirm.click()
    page.wait_for_url(re.compile(r"/jobs/$"))
    assert "Deleted “Doomed Song.wav” and all its files." in page.locator("body").inner_text()
    assert page.request.get(job_url).status == 404
