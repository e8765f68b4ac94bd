"""The production stack under load and under the faults a real deployment meets.

Runs in file order on one stack (see conftest.py). A worker SIGKILLed mid-job is proven by
metalizer_site/tests/integration/test_worker_loss.py and purge-by-command by test_job_lifecycle.py; here
purge runs the way production runs it, as a task on the default queue.
"""

from __future__ import annotations

import io
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import numpy as np
import psycopg
import pytest
import requests
import soundfile as sf
from celery import Celery

from metalizer_site.tests.integration import services
from metalizer_site.tests.integration.apiclient import TERMINAL, ApiClient
from metalizer_site.tests.integration.songs import song_file, wav_duration
from metalizer_site.tests.production.stack import Service, Stack, web_peaks_mb

pytestmark = pytest.mark.integration

CONCURRENT_UPLOADS = 20
SONG_SECONDS = 3.0
BATCH_TIMEOUT_S = 900  # correctness, not speed (bench/api_load.py measures that); room for a slow machine
REDIS_OUTAGE_S = 12.0
GAVE_UP = "Unrecoverable error"  # what a Celery worker logs when it stops retrying the broker and exits
GIVE_UP_EXIT_S = 60.0


def job_keys(stack: Stack, job_id: str) -> list[str]:
    return stack.s3.object_keys(f"jobs/{job_id}/")


def rows(stack: Stack, sql: str, *params: object) -> list[tuple]:
    with psycopg.connect(stack.postgres.admin_dsn(), autocommit=True) as conn:
        cursor = conn.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def wait_all(client: ApiClient, ids: list[str], *, timeout: float) -> dict[str, dict]:
    """Poll every job until all are terminal; AssertionError naming the stragglers on timeout."""
    finals: dict[str, dict] = {}
    deadline = time.monotonic() + timeout
    while len(finals) < len(ids):
        for job_id in ids:
            if job_id not in finals:
                body = client.job(job_id)
                if body["status"] in TERMINAL:
                    finals[job_id] = body
        if time.monotonic() > deadline:
            pending = {j: client.job(j)["status"] for j in ids if j not in finals}
            raise AssertionError(f"{len(pending)} job(s) not finished after {timeout:.0f} s: {pending}")
        time.sleep(1.0)
    return finals


def signed_download(client: ApiClient, stack: Stack, job_id: str) -> bytes:
    redirect = client.result(job_id, part="mix")
    assert redirect.status_code == 302, f"{redirect.status_code} {redirect.text[:300]}"
    location = redirect.headers["Location"]
    assert location.startswith(f"{stack.s3cut.endpoint}/{stack.s3.bucket}/jobs/{job_id}/"), location
    assert "X-Amz-Signature" in parse_qs(urlparse(location).query)
    download = requests.get(location, timeout=60)
    assert download.status_code == 200, download.text[:300]
    return download.content


def run_one_job(stack: Stack, song: Path, *, timeout: float = 360) -> dict:
    client = stack.client()
    job_id = client.create_job(song)
    return client.watch(job_id, timeout=timeout, interval=0.5).final


def test_twenty_concurrent_uploads_all_finish_and_download_through_signed_urls(
    stack: Stack, tmp_path: Path
) -> None:
    songs = [
        song_file(tmp_path / f"song {i:02d}.wav", seconds=SONG_SECONDS, seed=100 + i)
        for i in range(CONCURRENT_UPLOADS)
    ]
    client = stack.client()
    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=CONCURRENT_UPLOADS) as pool:
        responses = list(pool.map(lambda song: stack.client().upload(song), songs))
    assert [r.status_code for r in responses] == [201] * CONCURRENT_UPLOADS, [
        r.text[:200] for r in responses if r.status_code != 201
    ]
    ids = [r.json()["id"] for r in responses]
    assert len(set(ids)) == CONCURRENT_UPLOADS
    assert client.list_ids() >= set(ids), "the token's job list misses some of its uploads"

    finals = wait_all(client, ids, timeout=BATCH_TIMEOUT_S)
    elapsed = time.monotonic() - started
    failed = {
        j: (b["error_code"], b["error_message"]) for j, b in finals.items() if b["status"] != "succeeded"
    }
    assert not failed, f"jobs did not succeed: {failed}"

    for job_id, song in zip(ids, songs, strict=True):
        audio, rate = sf.read(io.BytesIO(signed_download(client, stack, job_id)), always_2d=True)
        assert abs(audio.shape[0] / rate - wav_duration(song)) < 10 and float(abs(audio).max()) > 0.05
        keys = job_keys(stack, job_id)
        assert any("/input/" in k for k in keys) and any("/result/" in k for k in keys), keys
    (count,) = rows(stack, "SELECT count(*) FROM jobs_job WHERE id = ANY(%s::uuid[])", ids)[0]
    assert count == CONCURRENT_UPLOADS, "a job row was lost"
    print(f"\n{CONCURRENT_UPLOADS} concurrent {SONG_SECONDS:.0f} s songs remixed in {elapsed:.0f} s")


def test_beat_and_default_worker_purge_expired_jobs_with_every_object(stack: Stack, tmp_path: Path) -> None:
    """purge_expired_jobs sent to the default queue (as beat sends it) removes expired jobs and objects."""
    assert stack.service("beat").alive(), f"celery beat exited:\n{stack.service('beat').process.log_tail()}"
    client = stack.client()
    ids = [
        run_one_job(stack, song_file(tmp_path / f"old{i}.wav", seconds=SONG_SECONDS, seed=i))["id"]
        for i in (1, 2)
    ]
    kept = run_one_job(stack, song_file(tmp_path / "kept.wav", seconds=SONG_SECONDS, seed=3))["id"]
    before = stack.s3.object_keys()
    # Each expired job's own objects, and its song's stem cache entry (no other job uses it).
    stem_keys = [
        key for (key,) in rows(stack, "SELECT stem_key FROM jobs_job WHERE id = ANY(%s::uuid[])", ids)
    ]
    owned = [f"jobs/{j}/" for j in ids] + [f"stem-cache/{key}/" for key in stem_keys if key]
    expired_objects = [k for k in before if any(prefix in k for prefix in owned)]
    assert len(expired_objects) >= 4 and len(owned) == 4
    rows(stack, "UPDATE jobs_job SET expires_at = now() - interval '1 hour' WHERE id = ANY(%s::uuid[])", ids)

    # not the current app: shared tasks of later tests in this process must keep the project's (eager) app
    with Celery(broker=stack.redis.url, set_as_current=False) as sender:
        sender.send_task("jobs.tasks.purge_expired_jobs", queue="default")

    def purged() -> bool:
        return not rows(stack, "SELECT id FROM jobs_job WHERE id = ANY(%s::uuid[])", ids)

    deadline = time.monotonic() + 60
    while not purged():
        assert time.monotonic() < deadline, "the default-queue worker did not purge the expired jobs"
        time.sleep(0.5)
    after = stack.s3.object_keys()
    assert len(after) == len(before) - len(expired_objects), (len(before), len(expired_objects), len(after))
    assert not [k for k in after if any(prefix in k for prefix in owned)]
    assert job_keys(stack, kept), "purge removed a job that has not expired"
    assert client.job(kept)["status"] == "succeeded"
    assert "purge_expired_jobs" in stack.service("worker-default").process.log_text()


def _giving_up(svc: Service) -> bool:
    """Alive, but has said it gives up on the broker: a Celery worker stops its pool before it exits, which
    took more than 6 s on a loaded machine (the outage was over by then: counted alive, it died after the
    check, and no worker was left for the jobs that followed)."""
    return svc.alive() and GAVE_UP in svc.process.log_text()


def test_upload_while_redis_is_down_is_503_leaves_nothing_and_resubmission_works_once_redis_is_back(
    stack: Stack, tmp_path: Path
) -> None:
    song = song_file(tmp_path / "while redis is down.wav", seconds=SONG_SECONDS, seed=7)
    client = stack.client()
    keys_before = stack.s3.object_keys()
    (rows_before,) = rows(stack, "SELECT count(*) FROM jobs_job")[0]

    stack.redis.stop()
    down_since = time.monotonic()
    try:
        health = stack.healthz()
        assert health.status_code == 503 and health.json()["broker"] != "ok", health.text
        started = time.monotonic()
        refused = client.upload(song)
        waited = time.monotonic() - started
        assert refused.status_code == 503, refused.text[:500]
        error = refused.json()["error"]
        assert error["code"] == "queue_unavailable"
        assert 10 <= len(error["message"]) <= 300 and "Traceback" not in error["message"], error
        assert waited < 20, f"the listener waited {waited:.0f} s for the refusal"
        assert stack.s3.object_keys() == keys_before, "the refused upload left a file in storage"
        assert rows(stack, "SELECT count(*) FROM jobs_job")[0][0] == rows_before, "a row was left"
        # A real outage lasts longer than the workers' few reconnection attempts.
        time.sleep(max(0.0, REDIS_OUTAGE_S - (time.monotonic() - down_since)))
    finally:
        stack.redis.start()

    # A worker or beat may give up on the broker and exit non-zero, saying so: compose's restart policy
    # (and Fly's supervisor) start it again. None may hang on, alive but deaf to the queue.
    leaving_by = time.monotonic() + GIVE_UP_EXIT_S
    while any(_giving_up(svc) for svc in stack.app_services()) and time.monotonic() < leaving_by:
        time.sleep(0.5)
    assert not [svc.name for svc in stack.app_services() if _giving_up(svc)], "gave up but did not exit"
    crashed = [svc for svc in stack.app_services() if not svc.alive()]
    for svc in crashed:
        assert svc.process.proc.returncode != 0, f"{svc.name} exited 0 during the outage"
    restarted = stack.supervise()
    job = run_one_job(stack, song, timeout=360)
    assert job["status"] == "succeeded", job
    assert job["original_name"] == song.name
    assert stack.healthz().status_code == 200
    print(f"\nrestarted after the Redis outage: {restarted or 'none'}")


def test_s3_unreachable_during_a_job_fails_or_retries_clearly_and_leaves_no_partial_objects(
    stack: Stack, tmp_path: Path
) -> None:
    client = stack.client()
    # long enough that the worker is still at it when S3 goes away, even on a fast machine
    song = song_file(tmp_path / "storage outage.wav", seconds=45, seed=11)  # ~5 s of work at 0.11x
    job_id = client.create_job(song)

    def past_download() -> dict:
        body = client.job(job_id)
        assert body["status"] not in TERMINAL, f"finished before S3 could be cut: {body}"
        return body if body["status"] == "running" and (body["progress"] or 0) > 0 else {}

    deadline = time.monotonic() + 60
    while not past_download():
        assert time.monotonic() < deadline, "the job never started running"
        time.sleep(0.1)
    stack.s3cut.cut()
    try:
        # While S3 is away the job must leave `running` and say why, within a bounded time.
        deadline = time.monotonic() + 90
        while (body := client.job(job_id))["status"] == "running":
            assert time.monotonic() < deadline, f"job still running 90 s into the S3 outage: {body}"
            time.sleep(0.5)
        assert body["status"] in ("queued", "failed"), body
        message = body["error_message"] or ""
        assert 10 <= len(message) <= 300 and "Traceback" not in message, body
        if body["status"] == "queued":
            assert body["stage"] == "retrying", body
        health = stack.healthz()
        assert health.status_code == 503 and health.json()["storage"] != "ok", health.text
    finally:
        stack.s3cut.restore()

    final = client.watch(job_id, timeout=180, interval=1.0).final
    keys = job_keys(stack, job_id)
    if final["status"] == "succeeded":
        # Retried automatically once storage came back: a whole result, nothing half-written from attempt one.
        row = rows(stack, "SELECT attempts FROM jobs_job WHERE id = %s", job_id)[0]
        assert row[0] >= 2, "a job that hit the outage must have been attempted again"
        assert signed_download(client, stack, job_id)
        result_keys = {k.rsplit("/result/", 1)[1] for k in keys if "/result/" in k}
        assert {"mix.wav", "midi.zip"} <= result_keys, result_keys
    else:
        assert final["status"] == "failed", final
        assert final["error_code"] and 10 <= len(final["error_message"]) <= 300, final
        assert [k for k in keys if "/result/" in k] == [], f"partial results left: {keys}"
    assert client.delete(job_id).status_code == 204
    assert job_keys(stack, job_id) == []


def test_postgres_restart_between_jobs_does_not_break_the_next_job(stack: Stack, tmp_path: Path) -> None:
    first = run_one_job(stack, song_file(tmp_path / "before restart.wav", seconds=SONG_SECONDS, seed=21))
    assert first["status"] == "succeeded", first

    stack.postgres.restart()

    # Pooled connections in gunicorn and the workers died with the server; the next request and job work.
    second = run_one_job(stack, song_file(tmp_path / "after restart.wav", seconds=SONG_SECONDS, seed=22))
    assert second["status"] == "succeeded", second
    assert stack.client().job(first["id"])["status"] == "succeeded"
    assert stack.healthz().status_code == 200
    assert stack.supervise() == [], "an app process died when PostgreSQL restarted"


def test_upload_while_s3_is_unreachable_is_refused_clearly_and_leaves_no_row(
    stack: Stack, tmp_path: Path
) -> None:
    song = song_file(tmp_path / "while storage is down.wav", seconds=SONG_SECONDS, seed=31)
    client = stack.client()
    (rows_before,) = rows(stack, "SELECT count(*) FROM jobs_job")[0]
    stack.s3cut.cut()
    try:
        started = time.monotonic()
        refused = client.upload(song)
        waited = time.monotonic() - started
    finally:
        stack.s3cut.restore()
    assert refused.status_code == 503, f"{refused.status_code}: {refused.text[:500]}"
    error = refused.json()["error"]
    assert 10 <= len(error["message"]) <= 300 and "Traceback" not in error["message"], error
    assert waited < 30, f"the listener waited {waited:.0f} s for the refusal"
    assert rows(stack, "SELECT count(*) FROM jobs_job")[0][0] == rows_before, "a row was left"
    job = run_one_job(stack, song)
    assert job["status"] == "succeeded", job


def test_ensure_bucket_creates_the_configured_bucket_once_and_is_safe_to_rerun(stack: Stack) -> None:
    """The createbucket one-shot of docker-compose.yml, against the real S3 server."""
    bucket = f"metalizer-new-{int(time.time())}"
    env = {
        **stack.env,
        "METALIZER_S3_BUCKET": bucket,
        "METALIZER_DATA_DIR": str(stack.workdir / "data-manage"),
    }
    names = lambda: {b["Name"] for b in stack.s3.client().list_buckets()["Buckets"]}  # noqa: E731
    assert bucket not in names()
    first = services.run_manage(["ensure_bucket", "--wait", "30"], env)
    assert first.returncode == 0 and "Created bucket" in first.stdout, first.stdout + first.stderr
    assert bucket in names()
    again = services.run_manage(["ensure_bucket", "--wait", "30"], env)
    assert again.returncode == 0 and "already exists" in again.stdout, again.stdout + again.stderr
    stack.s3.client().delete_bucket(Bucket=bucket)


def test_ensure_bucket_fails_clearly_when_s3_is_unreachable(stack: Stack) -> None:
    env = {**stack.env, "METALIZER_DATA_DIR": str(stack.workdir / "data-manage")}
    env["METALIZER_S3_ENDPOINT_URL"] = f"http://127.0.0.1:{services.free_port()}"
    result = services.run_manage(["ensure_bucket", "--wait", "2"], env)
    assert result.returncode != 0
    assert "METALIZER_S3_ENDPOINT_URL" in result.stderr and "Traceback" not in result.stderr, result.stderr


UPLOAD_MB = 50
# What a web worker's peak memory may grow by while a 50 MB upload goes through it: well under the file.
UPLOAD_PEAK_GROWTH_LIMIT_MB = 40


def test_a_50_mb_upload_is_streamed_to_storage_not_held_in_web_memory(stack: Stack, tmp_path: Path) -> None:
    """Each gunicorn worker's peak RSS (VmHWM) grows far less than the upload's size while it streams through.

    The workers are warmed first (the first upload a worker serves imports the audio and S3 code), so
    what is measured is the memory the upload itself needs.
    """
    master = stack.web.process.pid
    small = song_file(tmp_path / "warm-up.wav", seconds=SONG_SECONDS, seed=41)
    big = write_wav(tmp_path / "fifty megabytes.wav", UPLOAD_MB)
    client = stack.client()
    created: list[str] = []
    initial = web_peaks_mb(master)
    workers = [pid for pid in initial if pid != master]
    for _round in range(6):
        with ThreadPoolExecutor(max_workers=8) as pool:
            created += [r.json()["id"] for r in pool.map(lambda _i: stack.client().upload(small), range(8))]
        warmed = web_peaks_mb(master)
        if all(warmed[pid] - initial[pid] > 15 for pid in workers):
            break
    before = web_peaks_mb(master)
    for _upload in range(2):
        response = client.upload(big)
        assert response.status_code == 201, response.text[:300]
        created.append(response.json()["id"])
    after = web_peaks_mb(master)
    growth = {pid: after[pid] - before[pid] for pid in workers}
    for job_id in created:
        client.delete(job_id)
    print(f"\nweb workers' peak RSS growth over two {UPLOAD_MB} MB uploads: {growth} MB")
    assert max(growth.values()) < UPLOAD_PEAK_GROWTH_LIMIT_MB, (
        f"a {UPLOAD_MB} MB upload raised a web worker's peak memory by {max(growth.values())} MB "
        f"(per worker: {growth}; peaks before {before}, after {after})"
    )


def write_wav(path: Path, megabytes: float, *, rate: int = 44100) -> Path:
    """A stereo 16-bit WAV of about ``megabytes`` MB (a chord plus a little noise), written in chunks."""
    frames = int(megabytes * 1_000_000 / 4)
    rng = np.random.default_rng(0)
    with sf.SoundFile(path, "w", samplerate=rate, channels=2, subtype="PCM_16", format="WAV") as out:
        for start in range(0, frames, rate * 10):
            n = min(rate * 10, frames - start)
            t = (np.arange(start, start + n) / rate)[:, None]
            out.write(
                0.2 * np.sin(2 * np.pi * np.array([110.0, 165.0]) * t) + 0.02 * rng.standard_normal((n, 2))
            )
    return path
