"""A song through the real stack: gunicorn -> Redis -> Celery worker -> S3 -> signed download -> delete."""

from __future__ import annotations

import io
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlparse

import pytest
import requests
import soundfile as sf

from metalizer_site.tests.integration import services
from metalizer_site.tests.integration.apiclient import ApiClient
from metalizer_site.tests.integration.services import S3Server
from metalizer_site.tests.integration.songs import song_file, wav_duration

if TYPE_CHECKING:
    from metalizer_site.tests.integration.conftest import Worker

pytestmark = pytest.mark.integration

JOB_TIMEOUT_S = 300


def _job_keys(s3: S3Server, job_id: str) -> list[str]:
    return [key for key in s3.object_keys() if job_id in key]


def _signed_download(
    client: ApiClient, s3: S3Server, job_id: str, *, part: str, fmt: str | None = None
) -> bytes:
    """Follow /result's 302 to a short-lived signed S3 URL (checking it is one) and return the bytes."""
    redirect = client.result(job_id, part=part, fmt=fmt)
    assert redirect.status_code == 302, f"{part}/{fmt}: {redirect.status_code} {redirect.text[:500]}"
    location = redirect.headers["Location"]
    assert location.startswith(f"{s3.endpoint}/{s3.bucket}/jobs/{job_id}/"), location
    query = parse_qs(urlparse(location).query)
    assert "X-Amz-Signature" in query
    assert 0 < int(query["X-Amz-Expires"][0]) <= 300
    unsigned = requests.get(location.split("?", 1)[0], timeout=30)
    assert unsigned.status_code == 403, "objects must only be readable through a signed URL"
    download = requests.get(location, timeout=60)
    assert download.status_code == 200, download.text[:300]
    return download.content


def test_upload_is_remixed_into_s3_downloaded_through_a_signed_url_and_deleted_with_all_its_files(
    client: ApiClient, worker: Worker, s3: S3Server, songs_dir: Path
) -> None:
    bucket_before = s3.object_keys()
    song = song_file(songs_dir / "round trip.wav", seconds=4, seed=1)
    song_seconds = wav_duration(song)

    created = client.upload(song, style="heavy", output_format="wav", seed=7)
    assert created.status_code == 201, created.text
    body = created.json()
    job_id = body["id"]
    assert body["status"] == "queued"
    assert f"/api/jobs/{job_id}" in body["url"]
    assert any(job_id in key for key in s3.object_keys()), (
        "the upload should be stored in S3 under the job's id"
    )

    watch = client.watch(job_id, timeout=JOB_TIMEOUT_S)
    final = watch.final
    assert final["status"] == "succeeded", f"job ended {final['status']}: {final.get('error_message')}"
    assert final["progress"] == pytest.approx(100)
    observed = [p for _status, _stage, p in watch.seen if p is not None]
    assert observed == sorted(observed), f"progress went backwards: {watch.seen}"
    assert any(0 < p < 100 for p in watch.progress_while_running()), (
        f"no progress while running: {watch.seen}"
    )
    assert all(stage for status, stage, _p in watch.seen if status == "running"), watch.seen
    assert final["original_name"] == "round trip.wav"
    assert final["duration"] == pytest.approx(song_seconds, abs=0.1)
    assert {"mix", "drums", "midi"} <= set(final["links"]["result"]), final["links"]
    assert final["analysis"]["tempo"] > 0
    ttl = datetime.fromisoformat(final["expires_at"]) - datetime.fromisoformat(final["created_at"])
    assert abs(ttl - timedelta(hours=24)) < timedelta(minutes=5), "default retention is 24 h"
    assert final["error_code"] in ("", None)

    job_keys = _job_keys(s3, job_id)
    assert len(job_keys) >= 2, f"expected input and outputs under the job in S3, found {job_keys}"

    mix_wav = _signed_download(client, s3, job_id, part="mix")
    audio, rate = sf.read(io.BytesIO(mix_wav), always_2d=True)
    assert audio.shape[1] == 2
    assert song_seconds - 0.5 <= audio.shape[0] / rate <= song_seconds + 10
    assert float(abs(audio).max()) > 0.05, "the remix is silent"
    # Other formats and parts come through the same signed redirect (mp3 made on demand, stored with the job).
    mix_mp3, _rate = sf.read(io.BytesIO(_signed_download(client, s3, job_id, part="mix", fmt="mp3")))
    assert abs(len(mix_mp3) - len(audio)) / rate < 0.2
    drums, _rate = sf.read(io.BytesIO(_signed_download(client, s3, job_id, part="drums")), always_2d=True)
    assert float(abs(drums).max()) > 0.01, "the drum stem is silent"
    assert _signed_download(client, s3, job_id, part="midi")[:2] == b"PK", "MIDI should come as a zip"

    deleted = client.delete(job_id)
    assert deleted.status_code == 204, deleted.text
    assert _job_keys(s3, job_id) == []
    assert s3.object_keys() == bucket_before, "the job's input or outputs were left behind in the bucket"
    assert client.session.get(client.url(f"/api/jobs/{job_id}"), timeout=30).status_code == 404
    assert client.result(job_id).status_code == 404


def test_result_is_409_while_the_job_is_not_finished_and_404_for_an_unknown_id(
    queue_only_web, songs_dir: Path
) -> None:
    client = ApiClient(queue_only_web.base)
    job_id = client.create_job(song_file(songs_dir / "waiting.mp3", seconds=4))
    try:
        pending = client.result(job_id, part="mix")
        assert pending.status_code == 409, pending.text[:500]
        unknown = client.result("00000000-0000-4000-8000-000000000000", part="mix")
        assert unknown.status_code == 404
    finally:
        assert client.delete(job_id).status_code == 204


def test_purge_expired_jobs_removes_the_expired_row_and_every_object_it_owned(
    client: ApiClient,
    worker: Worker,
    s3: S3Server,
    postgres_db: str,
    migrated_env: dict[str, str],
    songs_dir: Path,
    it_dir: Path,
) -> None:
    expired_id = client.create_job(song_file(songs_dir / "old.wav", seconds=3, seed=2))
    kept_id = client.create_job(song_file(songs_dir / "new.wav", seconds=3, seed=3))
    for job_id in (expired_id, kept_id):
        final = client.watch(job_id, timeout=JOB_TIMEOUT_S).final
        assert final["status"] == "succeeded", final
    expired_keys_before = _job_keys(s3, expired_id)
    kept_keys_before = _job_keys(s3, kept_id)
    assert len(expired_keys_before) >= 2 and len(kept_keys_before) >= 2

    services.expire_job(postgres_db, expired_id)
    env = {**migrated_env, "METALIZER_DATA_DIR": str(it_dir / "data-manage")}
    result = services.run_manage(["purge_expired_jobs"], env)
    assert result.returncode == 0, result.stdout + result.stderr

    assert services.job_row(postgres_db, expired_id) is None
    assert _job_keys(s3, expired_id) == [], "objects of the purged job are still in S3"
    assert services.job_row(postgres_db, kept_id) is not None
    assert _job_keys(s3, kept_id) == kept_keys_before, "purge touched a job that has not expired"
    assert client.delete(kept_id).status_code == 204
