"""A file the service cannot take is refused inline, in plain words: before the upload when the browser can
tell (type, size, length), after it when only the server can (the bytes are not audio)."""

from __future__ import annotations

import pytest

from jobs.tests.browser.conftest import MAX_DURATION_S
from metalizer_site.tests.integration.songs import text_named_mp3

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def choose(page, path) -> str:  # type: ignore[no-untyped-def]
    """Pick the file and return the inline error the page shows (or '' when none)."""
    page.set_input_files("#id_file", str(path))
    # the checks are over once the form names the file (the length check reads its metadata first)
    page.wait_for_function(
        "name => document.getElementById('upload-form').dataset.checked === name", arg=path.name
    )
    box = page.locator("#file-error")
    return box.inner_text() if box.is_visible() else ""


def test_wrong_type_too_big_and_too_long_are_refused_before_uploading(site, new_page, song, tmp_path, shots):
    page = new_page()
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.goto(site.url("/"))

    notes = tmp_path / "notes.txt"
    notes.write_text("not a song")
    message = choose(page, notes)
    assert "Choose an audio file (WAV, FLAC, Ogg/Opus, MP3, M4A/AAC, AIFF or WebM)." in message
    assert ".mp3" not in message and ".txt" not in message  # a listener's words, not a list of extensions
    assert page.locator("#id_file").get_attribute("aria-invalid") == "true"

    big = song("big.wav", seconds=13.0)  # 16-bit stereo WAV: about 2.5 MB, over the 2 MB limit
    assert big.stat().st_size > 2_000_000
    message = choose(page, big)
    assert "larger than the 1.9 MB limit" in message

    long_flac = song("long.flac", seconds=MAX_DURATION_S + 4)  # small as FLAC, but too long
    assert long_flac.stat().st_size < 2_000_000
    message = choose(page, long_flac)
    assert f"the limit is {MAX_DURATION_S} s" in message and "Trim it" in message
    shots(page, "too-long-inline-error")

    page.get_by_role("button", name="Metalize").click()  # still refused, still nothing sent
    page.wait_for_timeout(500)
    assert page.locator("#file-error").is_visible() and posts == []

    fine = song("fine.wav", seconds=4.0)
    assert choose(page, fine) == ""
    assert page.locator("#id_file").get_attribute("aria-invalid") is None


def test_non_audio_with_an_audio_name_shows_the_servers_message_inline(site, new_page, tmp_path, shots):
    page = new_page()
    page.goto(site.url("/"))
    fake = text_named_mp3(tmp_path / "lyrics.mp3")
    assert choose(page, fake) == ""  # the browser cannot tell; the server can
    with page.expect_response(lambda r: r.url.endswith("/api/jobs")) as answered:
        page.get_by_role("button", name="Metalize").click()
    assert answered.value.status == 400
    error = page.locator("#file-error")
    error.wait_for()
    assert "does not look like audio" in error.inner_text()
    assert page.url == site.url("/")  # stays on the form, ready for another file
    assert page.get_by_role("button", name="Metalize").is_enabled()
    assert page.locator("#upload-status").is_hidden()
    shots(page, "server-error-inline")


def test_a_file_dropped_on_the_dropzone_is_chosen_and_checked(site, new_page):
    page = new_page()
    page.goto(site.url("/"))
    transfer = page.evaluate_handle(
        """() => {
          const dt = new DataTransfer();
          dt.items.add(new File(["not a song"], "setlist.pdf", { type: "application/pdf" }));
          return dt;
        }"""
    )
    zone = page.locator("#dropzone")
    zone.dispatch_event("dragenter", {"dataTransfer": transfer})
    assert "dragging" in (zone.get_attribute("class") or "")
    zone.dispatch_event("drop", {"dataTransfer": transfer})
    assert "dragging" not in (zone.get_attribute("class") or "")
    assert page.evaluate("document.getElementById('id_file').files[0].name") == "setlist.pdf"
    assert page.locator("#file-chosen").inner_text().startswith("setlist.pdf")
    assert "Choose an audio file (WAV, FLAC" in page.locator("#file-error").inner_text()
