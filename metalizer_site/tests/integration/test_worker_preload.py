"""A fresh Celery worker has the pipeline's heavy libraries loaded in its pool process before any job."""

from __future__ import annotations

from pathlib import Path

import pytest

from metalizer_site.tests.integration import services

pytestmark = pytest.mark.integration

# Native libraries the playing and separating stages load: mapped into a process once it imported them.
HEAVY_LIBRARIES = ("libtorch", "pedalboard_native", "_essentia")


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(x) for x in (task / "children").read_text().split()]
    return found


def test_a_fresh_worker_pool_process_has_the_pipeline_loaded_before_any_job(
    migrated_env: dict[str, str], it_dir: Path
) -> None:
    env = {**migrated_env, "METALIZER_DATA_DIR": str(it_dir / "data-preload-worker")}
    worker = services.start_ready_worker(env, it_dir / "logs" / "preload-worker.log", timeout=180)
    try:
        log = worker.log_text()
        assert "metalizer worker: pipeline loaded in" in log
        assert log.index("pipeline loaded in") < log.index(" ready."), "loaded before the worker took jobs"
        pool = _children(worker.pid)
        assert pool, "a prefork worker has a pool process"
        for child in pool:
            maps = Path(f"/proc/{child}/maps").read_text()
            missing = [lib for lib in HEAVY_LIBRARIES if lib not in maps]
            assert not missing, f"pool process {child} has not loaded {missing}"
    finally:
        worker.kill()
