"""The early mix on the real S3 server (SeaweedFS): a signed download while the job is finishing, gone from
the bucket when the job is then cancelled."""

from __future__ import annotations

import io
from typing import Any

import pytest
import requests
import soundfile as sf

# The same SeaweedFS server and S3 storage settings as the asset bank's S3 tests (pytest fixtures).
from assets_bank.tests.test_s3_storage import s3_storage, seaweed  # noqa: F401
from jobs import services
from jobs.models import Job
from jobs.tests.test_early_mix import queued_job, run_acting_on_mix

pytestmark = [pytest.mark.integration, pytest.mark.django_db]


def test_the_early_mix_is_a_signed_download_and_leaves_the_bucket_with_a_cancel(
    monkeypatch,
    held_queue,
    client,
    song_upload,
    s3_storage,  # noqa: F811
):
    job = queued_job(client, song_upload)
    prefix = f"jobs/{job.pk}/result/"
    seen: dict[str, Any] = {}

    def listen_then_cancel(job_id: Any) -> None:
        seen["keys"] = s3_storage.object_keys(prefix)
        mix = client.get(f"/api/jobs/{job_id}/result?part=mix")
        seen["mix"] = (mix.status_code, mix.get("Location", ""))
        seen["bytes"] = requests.get(mix["Location"], timeout=30).content
        assert services.cancel_job(Job.objects.get(pk=job_id))

    assert run_acting_on_mix(monkeypatch, job, after=listen_then_cancel) == "cancelled"
    assert seen["keys"] == [f"{prefix}mix.wav"]  # the mix alone, while the rest is being made
    status, location = seen["mix"]
    bucket = f"{s3_storage.endpoint}/{s3_storage.bucket}"
    assert status == 302 and location.startswith(f"{bucket}/{prefix}mix.wav?")
    audio, rate = sf.read(io.BytesIO(seen["bytes"]))
    assert rate == 44100 and abs(len(audio) / rate - job.duration) < 1.0
    assert s3_storage.object_keys(prefix) == []
    job.refresh_from_db()
    assert (job.status, job.outputs, job.mix_ready_at) == ("cancelled", {}, None)
