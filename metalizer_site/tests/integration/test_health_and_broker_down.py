"""/healthz tells the truth about each service; an upload while the broker is down leaves nothing behind."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from metalizer_site.tests.integration import services
from metalizer_site.tests.integration.apiclient import ApiClient
from metalizer_site.tests.integration.services import S3Server
from metalizer_site.tests.integration.songs import song_file

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def broker_down_web(migrated_env: dict[str, str], it_dir: Path) -> Iterator[str]:
    """A web server whose REDIS_URL points at a port nothing listens on."""
    env = {
        **migrated_env,
        "METALIZER_DATA_DIR": str(it_dir / "data-web-broker-down"),
        "REDIS_URL": f"redis://127.0.0.1:{services.free_port()}/0",
    }
    process, base = services.start_web(
        env, it_dir / "logs" / "web-broker-down.log", require_healthy=False, timeout=90
    )
    try:
        yield base
    finally:
        process.kill()


def test_healthz_reports_database_broker_and_storage_ok(web: str) -> None:
    response = requests.get(f"{web}/healthz", timeout=30)
    assert response.status_code == 200
    body = response.json()
    assert {part: body.get(part) for part in ("database", "broker", "storage")} == {
        "database": "ok",
        "broker": "ok",
        "storage": "ok",
    }


def test_healthz_is_503_and_names_the_broker_when_redis_is_unreachable(broker_down_web: str) -> None:
    response = requests.get(f"{broker_down_web}/healthz", timeout=30)
    assert response.status_code == 503
    body = response.json()
    assert body["broker"] != "ok"
    assert body["database"] == "ok" and body["storage"] == "ok"


def test_upload_while_the_broker_is_down_is_503_and_leaves_no_file_or_row(
    broker_down_web: str, s3: S3Server, postgres_db: str, songs_dir: Path
) -> None:
    song = song_file(songs_dir / "while-down.mp3", seconds=4)
    keys, rows = s3.object_keys(), services.job_count(postgres_db)

    started = time.monotonic()
    response = ApiClient(broker_down_web).upload(song)
    elapsed = time.monotonic() - started

    assert response.status_code == 503, response.text[:500]
    assert elapsed < 20, f"the listener waited {elapsed:.0f} s for the refusal"
    message = response.json()["error"]["message"]
    assert 10 <= len(message) <= 400 and "Traceback" not in message, message
    assert s3.object_keys() == keys, "the upload was left in storage"
    assert services.job_count(postgres_db) == rows, "a job row was left for an upload that was refused"
