"""Two web processes share one admission count, in production (Redis) and on the embedded default (the
database): a caller gets the rate once, not once per process.

Issue 25, finding 2: the upload throttle counted in each gunicorn worker's memory, so two workers let the
first 429 come at request 204 instead of 120.
"""

from __future__ import annotations

import contextlib
import itertools
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from metalizer_site.tests.integration import services

pytestmark = pytest.mark.integration

RATE = 5
ATTEMPTS = 12


@contextlib.contextmanager
def two_webs(env: dict[str, str], root: Path, name: str) -> Iterator[list[str]]:
    """Two gunicorn servers (two workers each: four processes) with ``env``; their base URLs."""
    started = []
    try:
        for i in (1, 2):
            process, base = services.start_web(
                {**env, "METALIZER_DATA_DIR": str(root / f"data-{name}-{i}")},
                root / "logs" / f"web-{name}-{i}.log",
            )
            started.append((process, base))
        yield [base for _process, base in started]
    finally:
        for process, _base in started:
            process.kill()


def attempts_answered(bases: list[str]) -> list[int]:
    """Upload something that is not audio, alternating between the servers: each attempt is counted before
    the file is judged (400 while within the rate, 429 after), and no job is ever made."""
    statuses = []
    for base in itertools.islice(itertools.cycle(bases), ATTEMPTS):
        files = {"file": ("song.wav", b"plain text, not a song\n" * 40, "application/octet-stream")}
        statuses.append(requests.post(f"{base}/api/jobs", files=files, timeout=30).status_code)
    return statuses


def limited(env: dict[str, str]) -> dict[str, str]:
    return {**env, "METALIZER_THROTTLE_UPLOADS": f"{RATE}/hour"}


def test_two_web_processes_on_redis_share_one_upload_count(migrated_env, it_dir):
    index = services.claim_redis_db(f"pytest-admission-{uuid.uuid4().hex[:8]}")
    try:
        env = limited({**migrated_env, "REDIS_URL": services.redis_url(index)})
        with two_webs(env, it_dir, "admission-redis") as bases:
            statuses = attempts_answered(bases)
            assert statuses == [400] * RATE + [429] * (ATTEMPTS - RATE), statuses
            again = requests.post(
                f"{bases[0]}/api/jobs",
                files={"file": ("song.wav", b"x" * 100, "application/octet-stream")},
                headers={"X-Forwarded-For": "203.0.113.50"},
                timeout=30,
            )
            assert again.status_code == 429 and int(again.headers["Retry-After"]) > 0
            assert again.json()["error"]["code"] == "throttled"
    finally:
        services.release_redis_db(index)


def test_two_web_processes_on_the_embedded_default_share_one_upload_count(tmp_path):
    env = services.clean_env(
        {
            "METALIZER_DEBUG": "1",
            "QUEUE_BACKEND": "embedded",
            "METALIZER_JOBS_DB_URL": f"sqlite:///{tmp_path / 'jobs.sqlite3'}",
            "METALIZER_DATA_DIR": str(tmp_path / "data-manage"),
        }
    )
    services.migrate(env)
    with two_webs(limited(env), tmp_path, "admission-embedded") as bases:
        statuses = attempts_answered(bases)
        assert statuses == [400] * RATE + [429] * (ATTEMPTS - RATE), statuses
