"""Every bad upload is refused before anything is stored or queued, with a message a listener understands."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.handlers.wsgi import WSGIHandler

from jobs.models import Job
from jobs.tests.helpers import error_of, stored_files
from metalizer_site.uploads import sniff_audio

pytestmark = pytest.mark.django_db


def post_file(client, name: str, content: bytes, **options):  # type: ignore[no-untyped-def]
    upload = SimpleUploadedFile(name, content, content_type="application/octet-stream")
    return client.post("/api/jobs", {"file": upload, **options})


def assert_nothing_kept() -> None:
    assert Job.objects.count() == 0
    assert stored_files() == []


def test_upload_rejects_empty_file(client):
    response = post_file(client, "song.mp3", b"")
    assert response.status_code == 400
    assert error_of(response)["code"] == "empty_file"
    assert_nothing_kept()


def test_upload_rejects_text_renamed_mp3(client):
    response = post_file(client, "song.mp3", b"Dear diary, today I renamed a text file. " * 200)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "not_audio"
    assert "does not look like audio" in error["message"]
    assert_nothing_kept()


def test_upload_rejects_truncated_flac(client, make_song_file):
    flac = make_song_file("song.flac", bars=3).read_bytes()
    response = post_file(client, "song.flac", flac[: len(flac) // 2])
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "corrupt_audio"
    assert "damaged or incomplete" in error["message"]
    assert_nothing_kept()


def test_upload_rejects_unsupported_extension(client, make_song_file):
    wav = make_song_file("song.wav").read_bytes()
    response = post_file(client, "song.doc", wav)
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "unsupported_format"
    assert ".doc" in error["message"]
    assert_nothing_kept()


def test_upload_rejects_song_over_duration_limit(client, settings, make_song_file):
    settings.METALIZER_MAX_DURATION_S = 3
    response = post_file(client, "long.wav", make_song_file("long.wav", bars=3).read_bytes())
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "too_long"
    assert "limit is 3.0 s" in error["message"]
    assert_nothing_kept()


def test_upload_rejects_song_under_a_second(client, make_song_file):
    from pipeline.testing import make_song, write_song

    path = make_song_file("x.wav").with_name("short.wav")
    write_song(path, make_song(bars=1, tempo=300))  # 0.8 s
    response = post_file(client, "short.wav", path.read_bytes())
    assert response.status_code == 400
    assert error_of(response)["code"] == "too_short"
    assert_nothing_kept()


def test_upload_refuses_a_two_second_clip_naming_the_minimum(client, tmp_path):
    import numpy as np
    import soundfile as sf

    path = tmp_path / "clip.wav"
    t = np.arange(2 * 44_100) / 44_100
    sf.write(path, 0.3 * np.sin(2 * np.pi * 220 * t), 44_100)
    response = post_file(client, "clip.wav", path.read_bytes())
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "too_short"
    assert "only 2.0 s long" in error["message"] and "at least 3.0 s" in error["message"]
    assert_nothing_kept()


def test_upload_refuses_twenty_seconds_of_silence_saying_there_is_nothing_to_play(client, tmp_path):
    import numpy as np
    import soundfile as sf

    path = tmp_path / "silence.wav"
    sf.write(path, np.zeros((20 * 44_100, 2), dtype=np.float32), 44_100)
    response = post_file(client, "silence.wav", path.read_bytes())
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "silent"
    assert "nothing to play" in error["message"]
    assert_nothing_kept()


def test_upload_refuses_silence_on_the_page_without_javascript(client, tmp_path):
    import numpy as np
    import soundfile as sf

    path = tmp_path / "silence.wav"
    sf.write(path, np.zeros((20 * 44_100, 2), dtype=np.float32), 44_100)
    song = SimpleUploadedFile("silence.wav", path.read_bytes())
    response = client.post("/", {"file": song, "style": "heavy", "intensity": "0.7", "output_format": "wav"})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-code="silent"' in html and "nothing to play" in html
    assert_nothing_kept()


def test_upload_rejects_missing_file_field(client):
    response = client.post("/api/jobs", {"style": "heavy"})
    assert response.status_code == 400
    assert error_of(response)["code"] == "no_file"
    assert_nothing_kept()


def test_upload_rejects_unknown_style(client, song_upload):
    response = client.post("/api/jobs", {"file": song_upload(), "style": "polka"})
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid_options"
    assert "style" in error["message"]
    assert_nothing_kept()


def test_upload_over_byte_limit_is_refused_from_content_length(client, settings, make_song_file):
    settings.METALIZER_UPLOAD_MAX_BYTES = 50_000  # the song is ~600 KB: the header alone proves it too big
    response = post_file(client, "song.wav", make_song_file().read_bytes())
    assert response.status_code == 413
    error = error_of(response)
    assert error["code"] == "file_too_large"
    assert "48.8 KB" in error["message"]
    assert_nothing_kept()


def test_upload_over_byte_limit_is_stopped_while_streaming(client, settings, make_song_file):
    wav = make_song_file().read_bytes()
    # Just under the declared-length shortcut: the handler must count the file's bytes as they arrive.
    settings.METALIZER_UPLOAD_MAX_BYTES = len(wav) - 20_000
    response = post_file(client, "song.wav", wav)
    assert response.status_code == 413
    assert error_of(response)["code"] == "file_too_large"
    assert_nothing_kept()


class CountingStream(io.RawIOBase):
    """A request body of ``size`` bytes that records how much of it was ever read."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        n = min(len(buffer), self.size - self.read_bytes)
        buffer[:n] = b"\0" * n
        self.read_bytes += n
        return n


def test_upload_over_byte_limit_never_reads_the_body(settings):
    """A 10 GB upload is answered 413 by the real WSGI handler without reading one byte of its body."""
    body = CountingStream(10 * 1024**3)
    environ = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/api/jobs",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": body,
        "CONTENT_TYPE": "multipart/form-data; boundary=metalizerboundary",
        "CONTENT_LENGTH": str(body.size),
    }
    statuses: list[str] = []
    chunks = WSGIHandler()(environ, lambda status, headers: statuses.append(status))
    payload = b"".join(chunks)
    assert statuses[0].startswith("413")
    assert b"file_too_large" in payload
    assert body.read_bytes == 0
    assert_nothing_kept()


def test_upload_page_shows_readable_error_for_non_audio(client):
    upload = SimpleUploadedFile("song.wav", b"<html>not a song</html>" * 50)
    response = client.post(
        "/", {"file": upload, "style": "heavy", "intensity": "0.7", "output_format": "wav"}
    )
    assert response.status_code == 400
    assert b"does not look like audio" in response.content
    assert_nothing_kept()


@pytest.mark.parametrize(
    ("head", "family"),
    [
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", "wav"),
        (b"fLaC\x00\x00\x00\x22", "flac"),
        (b"OggS\x00\x02", "ogg"),
        (b"\x00\x00\x00\x20ftypM4A ", "m4a"),
        (b"ID3\x04\x00", "mp3"),
        (b"\xff\xfb\x90\x64", "mp3"),
        (b"\xff\xf1\x50\x80", "aac"),
        (b"Hello, world", None),
        (b"%PDF-1.7", None),
    ],
)
def test_sniff_audio_recognises_containers_by_their_first_bytes(head, family):
    assert sniff_audio(head) == family


def test_accepted_formats_pass_the_validator(make_song_file):
    """MP3, FLAC, OGG, Opus and M4A made by ffmpeg from a generated song are all accepted as audio."""
    from jobs.validators import validate_audio_upload

    for name in ("song.mp3", "song.flac", "song.ogg", "song.opus", "song.m4a"):
        path = make_song_file(name)
        upload = SimpleUploadedFile(Path(name).name, path.read_bytes())
        validated = validate_audio_upload(upload)
        assert 3.0 < validated.info.duration_s < 6.0, name


def test_upload_page_says_too_large_even_before_the_csrf_token_is_read(settings, make_song_file):
    from django.test import Client

    settings.METALIZER_UPLOAD_MAX_BYTES = 50_000
    browser = Client(enforce_csrf_checks=True)
    browser.get("/")
    token = browser.cookies["csrftoken"].value
    upload = SimpleUploadedFile("song.wav", make_song_file().read_bytes())
    response = browser.post("/", {"csrfmiddlewaretoken": token, "file": upload, "style": "heavy"})
    assert response.status_code == 413
    assert b"larger than the 48.8 KB limit" in response.content
    assert_nothing_kept()


def test_upload_accepts_a_stream_encoded_flac_of_unknown_length(client, held_queue, tmp_path):
    """Issue 25, finding 5: total samples 0 in STREAMINFO (legal) was refused as millions of minutes long."""
    import numpy as np

    from pipeline.testing import stream_encoded_flac

    tone = 0.3 * np.sin(2 * np.pi * 330.0 * np.arange(4 * 44100) / 44100)
    path = stream_encoded_flac(tmp_path / "streamed.flac", tone.astype(np.float32)[:, None])
    response = post_file(client, "streamed.flac", path.read_bytes())
    assert response.status_code == 201, response.content
    assert Job.objects.get().duration == pytest.approx(4.0, abs=0.05)
