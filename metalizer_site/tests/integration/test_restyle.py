"""Try another style through the real stack: gunicorn -> Redis -> Celery worker -> S3, and the purge."""

from __future__ import annotations

import io
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
import requests
import soundfile as sf

from metalizer_site.tests.integration import services
from metalizer_site.tests.integration.apiclient import ApiClient
from metalizer_site.tests.integration.services import S3Server
from metalizer_site.tests.integration.songs import song_file

if TYPE_CHECKING:
    from metalizer_site.tests.integration.conftest import Worker

pytestmark = pytest.mark.integration

JOB_TIMEOUT_S = 300


def _mix(client: ApiClient, job_id: str) -> np.ndarray:
    redirect = client.result(job_id, part="mix", fmt="wav")
    assert redirect.status_code == 302, redirect.text[:500]
    audio, _rate = sf.read(io.BytesIO(requests.get(redirect.headers["Location"], timeout=60).content))
    return audio


def _finished(client: ApiClient, job_id: str) -> dict:
    final = client.watch(job_id, timeout=JOB_TIMEOUT_S).final
    assert final["status"] == "succeeded", f"job ended {final['status']}: {final.get('error_message')}"
    return final


def test_a_restyle_reuses_the_cached_stems_sounds_different_and_only_its_creator_may_ask(
    client: ApiClient, worker: Worker, s3: S3Server, songs_dir: Path, web: str
) -> None:
    bucket_before = s3.object_keys()
    source_id = client.create_job(song_file(songs_dir / "restyle.wav", seconds=6, seed=4), style="thrash")
    source = _finished(client, source_id)
    assert source["reused"] == {"stems": False, "analysis": False}
    stem_keys = s3.object_keys("stem-cache/")
    assert any(key.endswith("/manifest.json") for key in stem_keys), "the worker kept the stems in S3"

    stranger = ApiClient(web)
    refused = stranger.remix(source_id, style="doom")
    assert refused.status_code == 403, refused.text
    assert refused.json()["error"]["code"] == "forbidden"

    created = client.remix(source_id, style="doom", feel="half")
    assert created.status_code == 201, created.text
    restyle_id = created.json()["id"]
    assert created.headers["Location"] == created.json()["url"]
    restyle = _finished(client, restyle_id)
    assert restyle["source"] == source_id
    assert restyle["reused"] == {"stems": True, "analysis": True}
    assert (
        restyle["separator"]["cached"] is True and restyle["separator"]["name"] == source["separator"]["name"]
    )
    assert restyle["options"]["style"] == "doom" and restyle["options"]["feel"] == "half"
    assert restyle["analysis"] == source["analysis"]
    first, second = _mix(client, source_id), _mix(client, restyle_id)
    assert first.shape == second.shape
    assert np.abs(first - second).mean() > 0.01, "the doom version sounds like the thrash one"
    # (other tests share the bucket: only this song's two jobs count)
    inputs = [
        key for key in s3.object_keys("jobs/") if "/input/" in key and (source_id in key or restyle_id in key)
    ]
    assert len(inputs) == 1 and source_id in inputs[0], f"the song was stored again: {inputs}"

    assert client.delete(restyle_id).status_code == 204
    assert client.delete(source_id).status_code == 204
    assert s3.object_keys() == bucket_before, "files of the two versions were left in the bucket"


def test_purging_the_source_keeps_its_song_for_a_live_restyle_then_the_last_purge_empties_the_bucket(
    client: ApiClient,
    worker: Worker,
    s3: S3Server,
    postgres_db: str,
    migrated_env: dict[str, str],
    songs_dir: Path,
    it_dir: Path,
) -> None:
    bucket_before = s3.object_keys()
    env = {**migrated_env, "METALIZER_DATA_DIR": str(it_dir / "data-manage")}
    source_id = client.create_job(song_file(songs_dir / "purged.wav", seconds=4, seed=6))
    _finished(client, source_id)
    restyle_id = client.remix(source_id, style="black").json()["id"]
    _finished(client, restyle_id)

    services.expire_job(postgres_db, source_id)
    purged = services.run_manage(["purge_expired_jobs"], env)
    assert purged.returncode == 0, purged.stdout + purged.stderr
    assert services.job_row(postgres_db, source_id) is None
    assert not [key for key in s3.object_keys() if f"jobs/{source_id}/result" in key]
    assert client.job(restyle_id)["source"] is None
    original = client.result(restyle_id, part="original")
    assert original.status_code == 302, original.text[:300]
    assert requests.get(original.headers["Location"], timeout=60).status_code == 200
    assert _mix(client, restyle_id).shape[0] > 0

    services.expire_job(postgres_db, restyle_id)
    purged = services.run_manage(["purge_expired_jobs"], env)
    assert purged.returncode == 0, purged.stdout + purged.stderr
    assert s3.object_keys() == bucket_before, "the shared song, its stems or results outlived every job"
