"""A client of the seed Metalizer API, written only from the calls listed in issue 27, works unchanged
against the live app (gunicorn, PostgreSQL, Redis, SeaweedFS S3, a real Celery worker)."""

from __future__ import annotations

import io
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import requests
import soundfile as sf

from metalizer_site.tests.integration import services
from metalizer_site.tests.integration.songs import song_file

pytestmark = pytest.mark.integration

KEY = f"seed-{uuid.uuid4().hex}"
JOB_TIMEOUT_S = 300


class SeedClient:
    """The seed contract's client: plain requests, nothing of the native API."""

    def __init__(self, base: str, key: str) -> None:
        self.base = base
        self.key = key
        self.http = requests.Session()

    def remix(self, path: Path, content_type: str, *, background: bool) -> requests.Response:
        query = "?background=true" if background else ""
        with path.open("rb") as fh:
            files = {"file": (path.name, fh, content_type)}
            return self.http.post(f"{self.base}/api/remix{query}", files=files, timeout=180)

    def wait(self, job_id: str) -> dict:  # type: ignore[type-arg]
        deadline = time.monotonic() + JOB_TIMEOUT_S
        while time.monotonic() < deadline:
            job = self.http.get(f"{self.base}/api/jobs/{job_id}", timeout=30).json()
            assert job["status"] in ("queued", "processing", "complete", "error"), job
            if job["status"] in ("complete", "error"):
                return job
            time.sleep(1)
        raise AssertionError(f"job {job_id} did not finish in {JOB_TIMEOUT_S} s")


def wav_seconds(data: bytes) -> float:
    audio, rate = sf.read(io.BytesIO(data))
    return len(audio) / rate


@pytest.fixture(scope="module")
def seed_web(migrated_env: dict[str, str], it_dir: Path) -> Iterator[str]:
    extra = {"METALIZER_ASSETS_API_KEY": KEY}
    with services.private_stack(migrated_env, it_dir, "seed", extra) as base:
        yield base


def test_a_seed_client_remixes_polls_downloads_lists_and_deletes(seed_web: str, songs_dir: Path) -> None:
    client = SeedClient(seed_web, KEY)
    song = song_file(songs_dir / "song.wav", seconds=8, seed=5)

    refused = client.remix(songs_dir / "song.wav", "text/plain", background=True)
    assert refused.status_code == 415

    queued = client.remix(song, "audio/wav", background=True)
    assert queued.status_code == 200, queued.text
    assert queued.json()["status"] == "queued"
    job_id = queued.json()["job_id"]
    early = client.http.get(f"{seed_web}/api/jobs/{job_id}/result", timeout=30)
    assert early.status_code in (200, 409)  # 409 while not finished

    job = client.wait(job_id)
    assert job["status"] == "complete", job
    assert job["job_id"] == job_id and job["error"] is None and job["created_at"]
    download = client.http.get(f"{seed_web}{job['download_url']}", timeout=60)
    assert download.status_code == 200 and 6.0 < wav_seconds(download.content) < 10.0

    blocking = client.remix(song, "audio/x-wav", background=False)
    assert blocking.status_code == 200, blocking.text[:500]
    assert blocking.headers["Content-Type"] == "audio/wav" and 6.0 < wav_seconds(blocking.content) < 10.0

    listed = client.http.get(f"{seed_web}/api/jobs?limit=200", timeout=30).json()
    assert job_id in [item["job_id"] for item in listed]
    assert {"job_id", "status", "created_at", "updated_at"} <= set(listed[0])

    deleted = client.http.delete(f"{seed_web}/api/jobs/{job_id}", timeout=60)
    assert deleted.status_code == 200 and deleted.json() == {"job_id": job_id, "status": "deleted"}
    assert client.http.get(f"{seed_web}/api/jobs/{job_id}/result", timeout=30).status_code == 404


@pytest.mark.parametrize("header", ["X-Metalizer-Key", "X-API-Key"])
def test_a_seed_client_lists_and_uploads_samples(seed_web: str, tmp_path: Path, header: str) -> None:
    auth = {header: KEY}
    rate = 44100
    t = np.arange(int(0.3 * rate)) / rate
    sample = tmp_path / f"snare_{header[2:5].lower()}.wav"
    tone = 0.5 * np.sin(2 * np.pi * (180 + len(header)) * t) * np.exp(-t / 0.08)
    sf.write(sample, tone, rate)

    def upload(query: str) -> requests.Response:
        with sample.open("rb") as fh:
            return requests.post(
                f"{seed_web}/api/assets/upload?{query}",
                files={"file": (sample.name, fh, "audio/wav")},
                headers=auth,
                timeout=60,
            )

    stored = upload("category=drums")
    assert stored.status_code == 200, stored.text
    assert stored.json() == {"category": "drums", "filename": sample.name}
    assert upload("category=drums").status_code == 409
    assert upload("category=drums&overwrite=true").status_code == 200
    listing = requests.get(f"{seed_web}/api/assets", headers=auth, timeout=30).json()
    assert sample.name in listing["drums"] and isinstance(listing["guitars"], list)
    assert requests.get(f"{seed_web}/api/assets", timeout=30).status_code == 401
    # An MP3 (the seed took WAV or MP3; ffmpeg encodes it here) is stored converted to FLAC, under its stem.
    mp3 = tmp_path / f"kick_{header[2:5].lower()}.mp3"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(sample), "-c:a", "libmp3lame", str(mp3)], check=True
    )
    with mp3.open("rb") as fh:
        files = {"file": (mp3.name, fh, "audio/mpeg")}
        sent = requests.post(
            f"{seed_web}/api/assets/upload?category=drums", files=files, headers=auth, timeout=60
        )
    assert sent.status_code == 200, sent.text
    assert sent.json() == {"category": "drums", "filename": f"{mp3.stem}.flac"}
    listing = requests.get(f"{seed_web}/api/assets", headers=auth, timeout=30).json()
    assert f"{mp3.stem}.flac" in listing["drums"]
