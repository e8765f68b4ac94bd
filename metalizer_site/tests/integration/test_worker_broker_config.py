"""A worker without a usable broker stops at once, naming the variable to fix; it never loops retrying."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from metalizer_site.tests.integration import services

pytestmark = pytest.mark.integration

# A healthy machine gives up in 2-4 s (most of it Django and Celery start-up); the bound leaves room for a
# loaded 2-core machine, where start-up alone was seen to take over 10 s. "Never loops retrying" is checked
# on the log itself: Celery's retry loop prints "Trying again" on every attempt.
EXIT_WITHIN_S = 30.0


def _run_worker_to_exit(env: dict[str, str], log_path: Path) -> tuple[int, float, str]:
    started = time.monotonic()
    worker = services.start_worker(env, log_path, name="misconfigured-worker")
    try:
        code = worker.proc.wait(timeout=EXIT_WITHIN_S + 30)
    except Exception:
        worker.kill()
        raise AssertionError(
            f"worker still running after {EXIT_WITHIN_S + 30:.0f} s:\n{worker.log_tail()}"
        ) from None
    elapsed = time.monotonic() - started
    worker.kill()
    return code, elapsed, worker.log_text()


def _env(tmp_path: Path, **extra: str) -> dict[str, str]:
    return services.clean_env({"METALIZER_DATA_DIR": str(tmp_path / "data"), **extra})


def test_worker_with_unreachable_redis_exits_nonzero_within_seconds_naming_redis_url(tmp_path: Path) -> None:
    closed = services.free_port()
    env = _env(tmp_path, QUEUE_BACKEND="redis", REDIS_URL=f"redis://127.0.0.1:{closed}/0")
    code, elapsed, log = _run_worker_to_exit(env, tmp_path / "worker.log")
    assert code != 0, log
    assert elapsed < EXIT_WITHIN_S, f"took {elapsed:.1f} s to give up:\n{log}"
    assert "Trying again" not in log, log
    assert "REDIS_URL" in log, log


def test_worker_with_redis_backend_and_no_redis_url_exits_naming_the_variable(tmp_path: Path) -> None:
    env = _env(tmp_path, QUEUE_BACKEND="redis")
    code, elapsed, log = _run_worker_to_exit(env, tmp_path / "worker.log")
    assert code != 0, log
    assert elapsed < EXIT_WITHIN_S, f"took {elapsed:.1f} s to give up:\n{log}"
    assert "REDIS_URL" in log and "QUEUE_BACKEND" in log, log
