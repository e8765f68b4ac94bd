"""The result page in a real browser: A/B player, stem mixer, downloads, and a phone-width layout."""

from __future__ import annotations

import pytest
import soundfile as sf

pytestmark = [pytest.mark.integration, pytest.mark.browser]


def current_time(page, audio_id: str) -> float:  # type: ignore[no-untyped-def]
    return float(page.evaluate(f"document.getElementById('{audio_id}').currentTime"))


def test_ab_player_switches_between_original_and_remix_at_the_same_position(site, new_page, finished_remix):
    page = new_page()
    page.goto(finished_remix["links"]["page"])
    player = page.locator("#ab-player")
    assert player.locator(".ab-sources").is_hidden()  # the JS switch replaces the two native players
    page.get_by_role("button", name="Play").click()
    page.wait_for_function("() => document.getElementById('audio-remix').currentTime > 1.0", timeout=15_000)
    assert player.get_attribute("data-state") == "playing" and player.get_attribute("data-active") == "remix"

    page.get_by_role("button", name="A: original").click()
    at_switch = current_time(page, "audio-remix")
    assert page.evaluate("document.getElementById('audio-remix').paused")
    page.wait_for_function("() => !document.getElementById('audio-original').paused", timeout=10_000)
    # the original carries on from where the remix was (a little later: it keeps playing)
    assert at_switch - 0.05 <= current_time(page, "audio-original") <= at_switch + 1.0
    assert player.get_attribute("data-active") == "original"
    assert page.get_by_role("button", name="A: original").get_attribute("aria-pressed") == "true"
    page.wait_for_function(f"() => document.getElementById('audio-original').currentTime > {at_switch + 0.3}")

    page.keyboard.press("b")  # the keyboard switch goes back to the remix, same position again
    back_at = current_time(page, "audio-original")
    page.wait_for_function("() => !document.getElementById('audio-remix').paused", timeout=10_000)
    assert back_at - 0.05 <= current_time(page, "audio-remix") <= back_at + 1.0
    assert page.evaluate("document.getElementById('audio-original').paused")
    page.get_by_role("button", name="Pause").click()
    page.wait_for_function("() => document.getElementById('ab-player').dataset.state === 'paused'")
    assert page.evaluate("document.getElementById('audio-remix').paused")


def test_stem_mixer_decodes_every_stem_and_sets_volume_and_mute(site, new_page, finished_remix):
    page = new_page()
    page.goto(finished_remix["links"]["page"])
    page.get_by_role("button", name="Load the stems into the mixer").click()
    page.wait_for_function("() => document.getElementById('mixer').dataset.state === 'ready'", timeout=30_000)
    lengths = page.evaluate(
        "Object.fromEntries(Object.entries(window.metalizerMixer.buffers).map(([k, b]) => [k, b.duration]))"
    )
    assert set(lengths) == {"drums", "guitars", "bass", "vocals", "other"}
    assert all(abs(d - finished_remix["duration"]) < 4.0 and d > 3.0 for d in lengths.values()), lengths
    assert "Stems ready: 5 tracks" in page.locator("#mixer-status").inner_text()

    page.get_by_role("button", name="Play stems").click()
    page.wait_for_function("() => window.metalizerMixer.position() > 0.5", timeout=10_000)
    page.get_by_label("Drums").fill("0.5")
    page.wait_for_function("() => Math.abs(window.metalizerMixer.gains.drums.gain.value - 0.5) < 0.02")
    assert page.locator("#volv-drums").inner_text() == "50%"
    page.locator("#mute-guitars").check()
    page.wait_for_function("() => window.metalizerMixer.gains.guitars.gain.value < 0.01")
    assert "muted" in (page.locator("li[data-part=guitars]").get_attribute("class") or "")
    assert page.evaluate("window.metalizerMixer.gains.bass.gain.value") == pytest.approx(1.0)
    page.locator("#mute-guitars").uncheck()
    page.wait_for_function("() => window.metalizerMixer.gains.guitars.gain.value > 0.99")
    page.get_by_role("button", name="Pause stems").click()
    assert page.locator("#mixer").get_attribute("data-state") == "ready"


def test_mix_download_has_the_proper_name_and_decodes(site, new_page, finished_remix, tmp_path):
    page = new_page()
    page.goto(finished_remix["links"]["page"])
    for fmt in ("mp3", "wav"):
        with page.expect_download() as caught:
            page.locator(f'#downloads-panel li[data-part=mix] a[download$=".{fmt}"]').click()
        download = caught.value
        assert download.suggested_filename == f"Beat Song (metal, thrash).{fmt}"
        saved = tmp_path / download.suggested_filename
        download.save_as(saved)
        audio, rate = sf.read(saved)
        assert rate == 44100 and audio.shape[0] > 3.0 * rate
    with page.expect_download() as caught:
        page.locator("#downloads-panel li[data-part=stems] a").click()
    assert caught.value.suggested_filename == "Beat Song - stems (metal, thrash).zip"


def test_result_page_fits_a_phone_screen_and_is_usable_by_keyboard(site, new_page, finished_remix, shots):
    page = new_page(width=375, height=812)
    page.goto(finished_remix["links"]["page"])
    # nothing wider than the screen: no sideways scrolling
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    for selector in ("#ab-play", "#ab-seek", ".song-picture img", "#downloads-panel"):
        box = page.locator(selector).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 375, (selector, box)
    page.locator(".song-picture img").scroll_into_view_if_needed()
    page.wait_for_function("() => document.querySelector('.song-picture img').naturalWidth > 0")
    # the picture drawn for a phone's width (its names sized and thinned for it), not the desktop one shrunk
    assert "format=phone" in page.evaluate("document.querySelector('.song-picture img').currentSrc")
    page.evaluate("window.scrollTo(0, 0)")
    shots(page, "result-phone", docs="screenshot-phone.png")
    # the first Tab reaches the skip link, which shows itself; focus is visible on the controls
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    page.locator("#ab-play").focus()
    outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline == "solid"
    page.keyboard.press("Enter")
    page.wait_for_function("() => !document.getElementById('audio-remix').paused", timeout=10_000)
    page.keyboard.press("Enter")
    assert page.evaluate("document.getElementById('audio-remix').paused")


def test_ab_player_and_stem_mixer_never_play_at_once_and_the_mixer_shows_its_position(
    site, new_page, finished_remix
):
    page = new_page()
    page.goto(finished_remix["links"]["page"])
    page.get_by_role("button", name="Load the stems into the mixer").click()
    page.wait_for_function("() => document.getElementById('mixer').dataset.state === 'ready'", timeout=30_000)
    clock = page.locator("#mixer-time")
    assert clock.inner_text().startswith("0:00 / 0:0")

    page.get_by_role("button", name="Play stems").click()
    page.wait_for_function("() => window.metalizerMixer.position() > 1.2", timeout=10_000)
    page.wait_for_function("() => document.getElementById('mixer-time').textContent.startsWith('0:01')")

    page.get_by_role("button", name="Play", exact=True).click()  # the A/B player pauses the mixer
    page.wait_for_function("() => !document.getElementById('audio-remix').paused", timeout=10_000)
    # the players say their state from their media events, which follow the element's own flag
    page.wait_for_function("() => document.getElementById('mixer').dataset.state === 'ready'", timeout=5_000)
    held = page.evaluate("window.metalizerMixer.position()")
    page.wait_for_timeout(400)
    assert page.evaluate("window.metalizerMixer.position()") == held

    page.get_by_role("button", name="Play stems").click()  # and the mixer pauses the A/B player
    page.wait_for_function("() => document.getElementById('audio-remix').paused", timeout=10_000)
    page.wait_for_function(
        "() => document.getElementById('ab-player').dataset.state === 'paused'"
        " && document.getElementById('mixer').dataset.state === 'playing'",
        timeout=5_000,
    )
    page.get_by_role("button", name="Pause stems").click()


@pytest.mark.parametrize(("width", "height", "hint_shown"), [(1280, 900, True), (375, 812, False)])
def test_keyboard_hint_shows_on_desktop_only_and_the_page_has_a_favicon(
    site, new_page, finished_remix, width, height, hint_shown
):
    page = new_page(width=width, height=height)
    page.goto(finished_remix["links"]["page"])
    assert page.locator(".keyboard-hint").is_visible() is hint_shown
    assert "Switching keeps the position" in page.locator(".ab-controls .hint").inner_text()
    icon = page.locator('link[rel="icon"]').get_attribute("href")
    answer = page.request.get(site.url(icon))
    assert answer.status == 200 and b"<svg" in answer.body()
