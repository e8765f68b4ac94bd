"""One generated song through the running containers: upload, wait, download through the signed URL, decode.

The song comes from ``pipeline.testing.make_song`` (a synthetic band with drums, bass and chords), so the
check needs no audio file from anywhere. The remix must be real audio: it decodes, has the song's length
(within a second), and is neither silent nor broken (finite samples, audible level).
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
import requests
import soundfile as sf

from metalizer_site.tests.integration.apiclient import ApiClient
from pipeline.testing import make_song, write_song

SONG_TEMPO = 120.0
SONG_BARS = 8  # 16 s at 120 BPM: long enough to have sections, short enough for a slow machine
LENGTH_TOLERANCE_S = 1.0


class RoundTripError(AssertionError):
    """The remix did not come back as it should; the message says what was wrong."""


@dataclass
class RoundTrip:
    job: dict
    seconds: float
    remix_seconds: float
    song_seconds: float
    sample_rate: int
    peak: float
    rms_dbfs: float
    download_bytes: int


def generated_song(path: Path) -> tuple[Path, float]:
    """The song and its length; an MP3 path makes the container's ffmpeg decode the upload."""
    song = make_song(tempo=SONG_TEMPO, bars=SONG_BARS, sections=2, seed=7)
    write_song(path, song)
    return path, song.audio.shape[1] / song.sample_rate


def signed_download(client: ApiClient, job_id: str, s3_endpoint: str, fmt: str | None = None) -> bytes:
    """The remix through the API's redirect to a signed S3 URL, fetched as a browser would."""
    redirect = client.result(job_id, part="mix", fmt=fmt)
    if redirect.status_code != 302:
        raise RoundTripError(f"result answered {redirect.status_code}, not a redirect: {redirect.text[:300]}")
    location = redirect.headers["Location"]
    if not location.startswith(s3_endpoint) or "X-Amz-Signature" not in parse_qs(urlparse(location).query):
        raise RoundTripError(f"not a signed URL of the S3 server at {s3_endpoint}: {location}")
    download = requests.get(location, timeout=120)
    if download.status_code != 200:
        raise RoundTripError(f"signed URL answered {download.status_code}: {download.text[:300]}")
    return download.content


def check_audio(data: bytes, song_seconds: float) -> tuple[float, int, float, float]:
    try:
        audio, rate = sf.read(io.BytesIO(data), dtype="float32", always_2d=True)
    except sf.LibsndfileError as exc:
        raise RoundTripError(f"the remix does not decode ({len(data)} bytes): {exc}") from exc
    seconds = audio.shape[0] / rate
    if abs(seconds - song_seconds) > LENGTH_TOLERANCE_S:
        raise RoundTripError(f"remix lasts {seconds:.2f} s, the song {song_seconds:.2f} s")
    if not np.isfinite(audio).all():
        raise RoundTripError("the remix has NaN or infinite samples")
    peak = float(np.abs(audio).max())
    rms_dbfs = float(20 * np.log10(max(float(np.sqrt(np.mean(audio.astype(np.float64) ** 2))), 1e-12)))
    if peak < 0.05 or rms_dbfs < -40:
        raise RoundTripError(f"the remix is (nearly) silent: peak {peak:.4f}, RMS {rms_dbfs:.1f} dBFS")
    return seconds, int(rate), peak, rms_dbfs


def round_trip(
    base_url: str, token: str, song: Path, song_seconds: float, s3_endpoint: str, *, timeout: float = 1200
) -> RoundTrip:
    """POST the song to /api/jobs, poll until it is done, download and check the remix; timed end to end."""
    client = ApiClient(base_url, token=token)
    start = time.monotonic()
    job_id = client.create_job(song, style="heavy")
    watch = client.watch(job_id, timeout=timeout, interval=1.0)
    if watch.final["status"] != "succeeded":
        raise RoundTripError(f"job {job_id} ended {watch.final['status']}: {watch.final}")
    data = signed_download(client, job_id, s3_endpoint)
    remix_seconds, rate, peak, rms = check_audio(data, song_seconds)
    check_audio(signed_download(client, job_id, s3_endpoint, fmt="mp3"), song_seconds)  # ffmpeg's encoder
    return RoundTrip(
        watch.final, time.monotonic() - start, remix_seconds, song_seconds, rate, peak, rms, len(data)
    )
