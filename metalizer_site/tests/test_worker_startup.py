"""A worker whose broker is unset or unreachable exits non-zero within seconds, naming the variable."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
CELERY = str(Path(sys.executable).with_name("celery"))


def start_worker(tmp_path: Path, **env: str) -> tuple[subprocess.CompletedProcess, float]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("METALIZER_", "QUEUE_", "REDIS_"))}
    clean.update({"METALIZER_DATA_DIR": str(tmp_path / "data"), **env})
    started = time.monotonic()
    result = subprocess.run(
        [CELERY, "-A", "metalizer_site", "worker", "-Q", "heavy,default", "-c", "1", "--loglevel=INFO"],
        cwd=REPO,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return result, time.monotonic() - started


def test_worker_with_unreachable_redis_exits_fast_naming_redis_url(tmp_path):
    result, elapsed = start_worker(tmp_path, QUEUE_BACKEND="redis", REDIS_URL="redis://127.0.0.1:9/0")
    assert result.returncode == 2
    assert "Cannot reach the Celery broker" in result.stderr and "Check REDIS_URL" in result.stderr
    assert elapsed < 45


def test_worker_with_redis_backend_but_no_url_exits_naming_both_variables(tmp_path):
    result, elapsed = start_worker(tmp_path, QUEUE_BACKEND="redis")
    assert result.returncode != 0
    assert "REDIS_URL (or METALIZER_REDIS_URL)" in result.stderr
    assert elapsed < 45
