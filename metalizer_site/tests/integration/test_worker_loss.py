"""A worker that dies mid-job (SIGKILL: no chance to clean up) never leaves its job spinning."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from metalizer_site.tests.integration import services
from metalizer_site.tests.integration.apiclient import ApiClient
from metalizer_site.tests.integration.services import S3Server
from metalizer_site.tests.integration.songs import song_file

if TYPE_CHECKING:
    from metalizer_site.tests.integration.conftest import Worker

pytestmark = pytest.mark.integration

RECOVERY_TIMEOUT_S = 360


def test_job_of_a_sigkilled_worker_is_requeued_or_failed_clearly_after_a_new_worker_starts(
    client: ApiClient, worker: Worker, postgres_db: str, songs_dir: Path
) -> None:
    song = song_file(songs_dir / "long song.flac", seconds=60, seed=5, vocals=True)
    job_id = client.create_job(song)

    running = client.watch(job_id, until=("running", "succeeded", "failed"), timeout=120, interval=0.2).final
    assert running["status"] == "running", f"job should be mid-pipeline before the kill: {running}"
    time.sleep(1.0)  # let it get into its first heavy stage
    mid = client.job(job_id)
    assert mid["status"] == "running", f"the job finished before the worker could be killed: {mid}"

    worker.kill()
    killed_at = time.monotonic()
    assert not worker.process.alive()
    time.sleep(1.0)
    row = services.job_row(postgres_db, job_id)
    assert row is not None and row["status"] == "running", "nothing but the dead worker should touch the row"

    worker.start()
    watch = client.watch(job_id, timeout=RECOVERY_TIMEOUT_S, interval=1.0)
    final = watch.final
    elapsed = time.monotonic() - killed_at
    assert final["status"] in ("succeeded", "failed"), f"job left {final['status']} after {elapsed:.0f} s"
    if final["status"] == "failed":
        message = final["error_message"] or ""
        assert final["error_code"], final
        assert len(message) > 15 and "Traceback" not in message, f"unclear failure message: {message!r}"
    row = services.job_row(postgres_db, job_id)
    assert row["status"] == final["status"]
    if final["status"] == "succeeded":
        assert "mix" in final["links"]["result"]
        assert row["attempts"] >= 2, "a succeeded job must have been run again after the kill"
    assert client.delete(job_id).status_code == 204


def _wait_running_attempt(postgres_db: str, job_id: str, attempt: int, timeout: float = 120) -> None:
    def running() -> bool:
        row = services.job_row(postgres_db, job_id)
        assert row is not None and row["status"] not in ("succeeded", "failed", "cancelled"), row
        return row["status"] == "running" and row["attempts"] >= attempt

    services.wait_until(
        running, timeout=timeout, interval=0.2, what=f"attempt {attempt} of job {job_id} to run"
    )


def test_job_whose_worker_dies_twice_is_failed_with_a_clear_message_and_no_partial_results(
    client: ApiClient, worker: Worker, postgres_db: str, s3: S3Server, songs_dir: Path
) -> None:
    job_id = client.create_job(song_file(songs_dir / "cursed.wav", seconds=30, seed=6))
    for attempt in (1, 2):
        _wait_running_attempt(postgres_db, job_id, attempt)
        time.sleep(1.0)
        worker.kill()
        worker.start()

    final = client.watch(job_id, timeout=60, interval=0.5).final
    assert final["status"] == "failed", (
        f"a job whose worker died twice should fail, not run a third time: {final}"
    )
    assert final["error_code"]
    message = final["error_message"]
    assert 15 < len(message) <= 400 and "Traceback" not in message, message
    row = services.job_row(postgres_db, job_id)
    assert row["attempts"] == 2
    leftovers = [key for key in s3.object_keys(f"jobs/{job_id}/") if f"jobs/{job_id}/input/" not in key]
    assert leftovers == [], f"partial results left in S3 for a failed job: {leftovers}"
    assert client.delete(job_id).status_code == 204
    assert s3.object_keys(f"jobs/{job_id}/") == []
