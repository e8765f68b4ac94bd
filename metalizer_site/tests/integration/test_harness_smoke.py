"""The harness itself works: S3 with signed URLs, a throwaway PostgreSQL database, a private Redis db."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import requests

from metalizer_site.tests.integration import services
from metalizer_site.tests.integration.services import S3Server

pytestmark = pytest.mark.integration


def test_seaweedfs_serves_presigned_get_and_refuses_unsigned_reads(s3: S3Server) -> None:
    client = s3.client()
    client.put_object(Bucket=s3.bucket, Key="smoke/hello.txt", Body=b"metal")
    try:
        url = client.generate_presigned_url(
            "get_object", Params={"Bucket": s3.bucket, "Key": "smoke/hello.txt"}, ExpiresIn=60
        )
        assert url.startswith(s3.endpoint)
        signed = requests.get(url, timeout=10)
        assert signed.status_code == 200
        assert signed.content == b"metal"
        unsigned = requests.get(f"{s3.endpoint}/{s3.bucket}/smoke/hello.txt", timeout=10)
        assert unsigned.status_code == 403
        assert s3.object_keys("smoke/") == ["smoke/hello.txt"]
    finally:
        client.delete_object(Bucket=s3.bucket, Key="smoke/hello.txt")
    assert s3.object_keys("smoke/") == []


def test_seaweedfs_rejects_wrong_secret(s3: S3Server) -> None:
    wrong = S3Server(**{**s3.__dict__, "secret_key": "not-the-secret"})
    with pytest.raises(Exception, match="SignatureDoesNotMatch|AccessDenied|InvalidAccessKeyId"):
        wrong.client().list_objects_v2(Bucket=s3.bucket)


def test_fresh_postgres_database_is_created_and_dropped() -> None:
    name = services.create_database("metalizer_smoke")
    try:
        with services.pg_connect(name) as conn:
            conn.execute("CREATE TABLE t (x int)")
            conn.execute("INSERT INTO t VALUES (42)")
            assert conn.execute("SELECT x FROM t").fetchone() == (42,)
    finally:
        services.drop_database(name)
    with services.pg_connect("postgres") as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
    assert exists is None


def test_redis_db_claim_is_private_and_flushed() -> None:
    """On a db of its own: the session's db (the ``redis_db`` fixture) serves the session's Celery worker,
    which would take the messages this test queues."""
    redis_db = services.claim_redis_db("smoke-first-claim")
    try:
        _check_private_and_flushed(redis_db)
    finally:
        services.release_redis_db(redis_db)


def _check_private_and_flushed(redis_db: int) -> None:
    client = services.redis_client(redis_db)
    client.rpush("heavy", b"message-1", b"message-2")
    client.rpush("unrelated", b"x")
    assert services.queued_messages(redis_db) == 2
    other = services.claim_redis_db("smoke-second-claim")
    try:
        assert other != redis_db
    finally:
        services.release_redis_db(other)
    client.delete("heavy", "unrelated")
    assert services.queued_messages(redis_db) == 0


def test_managed_process_group_is_killed_with_its_children(tmp_path: Path) -> None:
    script = (
        "import subprocess, time; subprocess.Popen(['sleep', '300']); "
        "print('ready', flush=True); time.sleep(300)"
    )
    process = services.ManagedProcess(
        "sleeper", [services.PYTHON, "-c", script], services.clean_env({}), tmp_path / "sleeper.log"
    ).start()
    process.wait_for_log("ready", timeout=20)
    pgid = process.pid
    process.kill()
    assert not process.alive()
    with pytest.raises(ProcessLookupError):
        os.killpg(pgid, 0)
