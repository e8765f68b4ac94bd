"""Fixtures for the integration tests: real PostgreSQL, Redis, SeaweedFS S3, Celery worker and gunicorn.

The services are session-scoped (started once, torn down at the end even when tests fail); every process is
started in its own process group and killed with it. A failing test gets the tail of every live service's log
attached to its report.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from metalizer_site.tests.integration import services
from metalizer_site.tests.integration.apiclient import ApiClient
from metalizer_site.tests.integration.services import ManagedProcess, S3Server


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    outcome = yield
    services.attach_logs_on_failure(outcome.get_result(), call.when, tail=60)


def _require(what: str, check: Any) -> Any:
    try:
        return check()
    except services.ServiceError as exc:
        pytest.fail(f"{what}: {exc}", pytrace=False)


@pytest.fixture(scope="session")
def it_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("integration")


@pytest.fixture(scope="session")
def postgres_db() -> Iterator[str]:
    """The name of a fresh PostgreSQL database on 127.0.0.1:5432, dropped at the end."""
    name = _require("PostgreSQL", services.create_database)
    try:
        yield name
    finally:
        services.kill_all()  # nothing may hold the database open while it is dropped
        services.drop_database(name)


@pytest.fixture(scope="session")
def redis_db() -> Iterator[int]:
    """An empty Redis db index on 127.0.0.1:6379 reserved for this run, flushed at the end."""
    index = _require("Redis", lambda: services.claim_redis_db(f"pytest-{uuid.uuid4().hex[:8]}"))
    try:
        yield index
    finally:
        services.release_redis_db(index)


@pytest.fixture(scope="session")
def s3(it_dir: Path) -> Iterator[S3Server]:
    """SeaweedFS (master + volume + filer + S3 gateway) on free loopback ports, with an empty bucket."""
    server = _require("SeaweedFS", lambda: services.start_seaweedfs(it_dir / "weed"))
    try:
        yield server
    finally:
        services.stop_seaweedfs(server)


def _require_app() -> None:
    if not (services.REPO / "manage.py").exists() or not (services.REPO / "jobs" / "models.py").exists():
        pytest.fail("the Django app (manage.py, jobs/models.py) is not there yet", pytrace=False)


@pytest.fixture(scope="session")
def app_env(postgres_db: str, redis_db: int, s3: S3Server) -> dict[str, str]:
    """Production-mode settings shared by the web server and the worker (each gets its own data dir)."""
    _require_app()
    return services.clean_env(
        {
            # Plain http on loopback: secure cookies and the SSL redirect of DEBUG=0 would need a proxy.
            "METALIZER_DEBUG": "1",
            "METALIZER_SECRET_KEY": uuid.uuid4().hex * 2,
            "METALIZER_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "METALIZER_JOBS_DB_URL": services.database_url(postgres_db),
            "QUEUE_BACKEND": "redis",
            "REDIS_URL": services.redis_url(redis_db),
            **services.UNLIMITED_ADMISSION,
            **s3.env(),
        }
    )


@pytest.fixture(scope="session")
def migrated_env(app_env: dict[str, str], it_dir: Path) -> dict[str, str]:
    env = {**app_env, "METALIZER_DATA_DIR": str(it_dir / "data-manage")}
    _require("manage.py migrate", lambda: services.migrate(env))
    return app_env


class Worker:
    """The Celery worker of this run: one process at a time, same node name across restarts."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.log_path = log_path
        self.process: ManagedProcess | None = None
        # A restarted worker keeps its node name, as it would on the same machine: that is how it knows
        # which running jobs its previous life left behind.
        self.node = f"metalizer-it-{uuid.uuid4().hex[:6]}@%h"

    def start(self) -> ManagedProcess:
        self.process = _require(
            "Celery worker", lambda: services.start_ready_worker(self.env, self.log_path, node=self.node)
        )
        return self.process

    def ensure_running(self) -> ManagedProcess:
        if self.process is None or not self.process.alive():
            return self.start()
        return self.process

    def kill(self) -> None:
        """SIGKILL the worker and its pool children at once, as an OOM killer or a lost machine would."""
        if self.process is not None:
            self.process.kill()


@pytest.fixture(scope="session")
def _worker_session(migrated_env: dict[str, str], it_dir: Path) -> Iterator[Worker]:
    env = {**migrated_env, "METALIZER_DATA_DIR": str(it_dir / "data-worker")}
    worker = Worker(env, it_dir / "logs" / "worker.log")
    try:
        yield worker
    finally:
        worker.kill()


@pytest.fixture
def worker(_worker_session: Worker) -> Worker:
    """A running worker (restarted if an earlier test killed it)."""
    _worker_session.ensure_running()
    return _worker_session


@pytest.fixture(scope="session")
def web(migrated_env: dict[str, str], it_dir: Path) -> Iterator[str]:
    """Base URL of gunicorn serving the app with the run's settings."""
    env = {**migrated_env, "METALIZER_DATA_DIR": str(it_dir / "data-web")}
    process, base = _require("gunicorn", lambda: services.start_web(env, it_dir / "logs" / "web.log"))
    try:
        yield base
    finally:
        process.kill()


@pytest.fixture
def client(web: str) -> ApiClient:
    """A fresh anonymous API caller (its own cookie jar)."""
    return ApiClient(web)


@pytest.fixture
def songs_dir(tmp_path: Path) -> Path:
    return tmp_path


@dataclass
class QueueOnlyWeb:
    """A second web server with small upload limits whose Redis queue no worker consumes (counts stay put)."""

    base: str
    redis_db: int
    max_bytes: int
    max_duration_s: int


@pytest.fixture(scope="session")
def queue_only_web(migrated_env: dict[str, str], it_dir: Path) -> Iterator[QueueOnlyWeb]:
    index = _require("Redis", lambda: services.claim_redis_db(f"pytest-queue-only-{uuid.uuid4().hex[:8]}"))
    limits = QueueOnlyWeb(base="", redis_db=index, max_bytes=600_000, max_duration_s=6)
    env = {
        **migrated_env,
        "METALIZER_DATA_DIR": str(it_dir / "data-web-queue-only"),
        "REDIS_URL": services.redis_url(index),
        "METALIZER_UPLOAD_MAX_BYTES": str(limits.max_bytes),
        "METALIZER_MAX_DURATION_S": str(limits.max_duration_s),
    }
    try:
        process, limits.base = _require(
            "gunicorn (queue-only)", lambda: services.start_web(env, it_dir / "logs" / "web-queue-only.log")
        )
        try:
            yield limits
        finally:
            process.kill()
    finally:
        services.release_redis_db(index)
