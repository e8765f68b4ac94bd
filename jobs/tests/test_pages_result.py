"""A finished job's page and downloads: A/B player, song picture, facts, mixer stems, named files.

The song goes through the real pipeline (Celery eager), once per test.
"""

from __future__ import annotations

import io
import re
import zipfile

import pytest
import soundfile as sf
from django.test import Client

from jobs.models import Job

pytestmark = pytest.mark.django_db


def body_of(response) -> bytes:  # type: ignore[no-untyped-def]
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def done(song_upload) -> tuple[Client, Job, bytes]:  # type: ignore[no-untyped-def]
    """A browser that uploaded ``My Song.wav`` (thrash) through the page; the remix is finished."""
    client = Client()
    upload = song_upload("My Song.wav")
    original = upload.read()
    upload.seek(0)
    response = client.post(
        "/",
        {"file": upload, "style": "thrash", "intensity": "0.8", "output_format": "mp3", "keep_vocals": "on"},
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    job = Job.objects.get()
    assert job.status == Job.Status.SUCCEEDED, (job.error_code, job.error_message)
    return client, job, original


def test_result_page_has_an_ab_player_picture_facts_mixer_and_named_downloads(done):
    client, job, _original = done
    html = client.get(f"/jobs/{job.pk}/").content.decode()
    base = f"/api/jobs/{job.pk}/result"
    # A/B player: both sources, JS adds the switch on top of the native players
    original = re.search(r'<figure class="ab-source" id="ab-original">.*?</figure>', html, re.S).group(0)
    assert f'<audio controls preload="none" src="{base}?part=original">' in original
    remix = re.search(r'<figure class="ab-source" id="ab-remix">.*?</figure>', html, re.S).group(0)
    assert f'<audio controls preload="none" src="{base}?part=mix">' in remix  # mp3, as asked
    assert 'id="ab-a"' in html and 'id="ab-b"' in html and "js/player.js" in html
    # song picture with a text alternative
    assert re.search(rf'<img src="{base}\?part=picture&amp;format=png" alt="[^"]*waveform, beat grid', html)
    # facts from the analysis, and why this separator
    assert f'id="fact-tempo">{round(job.analysis["tempo"])} BPM' in html
    assert f'id="fact-key">{job.analysis["key"]} {job.analysis["scale"]}<' in html
    # the separator in a listener's words (issue 27 item 6), not its recorded name and model files
    assert 'id="fact-separator">Spleeter (fast)<' in html or 'id="fact-separator">Built-in' in html
    why = re.search(r'<p class="why" id="separator-why">(.*?)</p>', html, re.S).group(1)
    assert "Chosen automatically, the fast choice on this server." in why
    assert job.separator["name"] not in html and job.separator["reason"][:40] not in html
    assert "make models" not in html and "models/" not in html
    # a mixer channel (labelled volume + mute) per stem
    for part in ("drums", "guitars", "bass", "vocals", "other"):
        assert f'data-part="{part}" data-url="{base}?part={part}"' in html
        assert f'<label for="vol-{part}"' in html and f'id="mute-{part}"' in html
    # downloads carry the file name the browser saves them under
    for fmt in ("wav", "mp3", "flac"):
        assert f'href="{base}?part=mix&amp;format={fmt}" download="My Song (metal, thrash).{fmt}"' in html
    assert f'href="{base}?part=stems" download="My Song - stems (metal, thrash).zip"' in html
    assert f'href="{base}?part=midi" download="My Song - MIDI (metal, thrash).zip"' in html
    assert "expires in 24 h" in html and "js/job.js" not in html


def test_original_is_served_unchanged_under_its_own_name(done):
    client, job, original = done
    response = client.get(f"/api/jobs/{job.pk}/result?part=original")
    assert response.status_code == 200
    assert 'filename="My Song.wav"' in response["Content-Disposition"]
    assert response["Content-Type"] == "audio/wav"
    assert body_of(response) == original
    ranged = client.get(f"/api/jobs/{job.pk}/result?part=original", HTTP_RANGE="bytes=0-99")
    assert ranged.status_code == 206 and body_of(ranged) == original[:100]


def test_mix_downloads_decode_and_carry_the_song_and_style_in_their_names(done):
    client, job, _original = done
    for fmt in ("mp3", "flac"):
        response = client.get(f"/api/jobs/{job.pk}/result?part=mix&format={fmt}")
        assert response.status_code == 200
        disposition = response["Content-Disposition"]
        assert disposition.startswith("attachment;") and f"My Song (metal, thrash).{fmt}" in disposition
        audio, rate = sf.read(io.BytesIO(body_of(response)))
        assert rate == 44100 and audio.shape[0] > 3 * rate


def test_stems_zip_holds_every_stem_as_decodable_named_flac(done):
    client, job, _original = done
    response = client.get(f"/api/jobs/{job.pk}/result?part=stems")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert "My Song - stems (metal, thrash).zip" in response["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(body_of(response))) as zf:
        names = sorted(zf.namelist())
        assert names == sorted(
            f"My Song - {part} (metal, thrash).flac"
            for part in ("drums", "guitars", "bass", "vocals", "other")
        )
        for name in names:
            audio, rate = sf.read(io.BytesIO(zf.read(name)))
            assert rate == 44100 and audio.shape[0] > 3 * rate
    # built once, then served from storage
    job.refresh_from_db()
    assert job.outputs["stems"]["zip"].endswith("/result/stems.zip")


def test_song_picture_is_served_inline_as_png_and_svg(done):
    client, job, _original = done
    png = client.get(f"/api/jobs/{job.pk}/result?part=picture")
    assert png.status_code == 200 and png["Content-Type"] == "image/png"
    assert png["Content-Disposition"].startswith("inline;")
    assert body_of(png)[:8] == b"\x89PNG\r\n\x1a\n"
    svg = client.get(f"/api/jobs/{job.pk}/result?part=picture&format=svg")
    assert svg.status_code == 200 and b"<svg" in body_of(svg)[:2000]
    assert svg["Content-Security-Policy"].startswith("default-src 'none'")
    assert client.get(f"/api/jobs/{job.pk}/result?part=picture&format=gif").status_code == 400
    phone = client.get(f"/api/jobs/{job.pk}/result?part=picture&format=phone")
    assert phone.status_code == 200 and phone["Content-Type"] == "image/png"
    assert body_of(phone)[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_phone_is_offered_the_picture_drawn_for_its_width(done):
    client, job, _original = done
    html = client.get(f"/jobs/{job.pk}/").content.decode()
    phone_source = r'<source media="\(max-width: 40rem\)" srcset="[^"]*part=picture&amp;format=phone">'
    assert re.search(phone_source, html)


def test_my_remixes_lists_this_browsers_jobs_newest_first_with_a_download(done, song_upload, held_queue):
    client, job, _original = done
    client.post(
        "/", {"file": song_upload("Second.wav"), "style": "doom", "intensity": "0.5", "output_format": "wav"}
    )
    html = client.get("/jobs/").content.decode()
    assert html.index("Second.wav") < html.index("My Song.wav")
    assert "badge-queued" in html and "badge-succeeded" in html
    assert f'href="/api/jobs/{job.pk}/result?part=mix" download="My Song (metal, thrash).mp3"' in html
    assert "expires in 24 h" in html
    assert "My Song.wav" not in Client().get("/jobs/").content.decode()


def test_a_stem_damaged_in_storage_is_not_packed_into_the_stems_zip(done):
    """Issue 25: a corrupted stored stem was zipped (and the ZIP kept) as if it were whole."""
    from django.core.files.storage import default_storage

    client, job, _original = done
    key = job.outputs["drums"]["flac"]
    with default_storage.open(key, "rb") as fh:
        data = fh.read()
    damaged = data[: len(data) // 2] + bytes(255 - b for b in data[len(data) // 2 : len(data) // 2 + 4000])
    default_storage.delete(key)
    default_storage.save(key, io.BytesIO(damaged + data[len(data) // 2 + 4000 :]))
    response = client.get(f"/api/jobs/{job.pk}/result?part=stems")
    assert response.status_code == 404
    error = response.json()["error"]
    assert error["code"] == "part_unavailable" and "drums stem of this remix is damaged" in error["message"]
    job.refresh_from_db()
    assert "stems" not in job.outputs and not default_storage.exists(f"jobs/{job.pk}/result/stems.zip")
