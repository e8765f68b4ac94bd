"""A production-mode Metalizer stack of our own on loopback, run with the commands docker-compose.yml gives.

gunicorn (DEBUG=0, gthread), a heavy-queue and a default-queue Celery worker, Celery beat, a private Redis,
a private PostgreSQL cluster and SeaweedFS S3 behind a cuttable relay. Private servers only: the fault tests
stop and restart them, which must never touch the machine's shared PostgreSQL and Redis. No pytest in here:
the load bench (bench/api_load.py) starts the same stack.
"""

from __future__ import annotations

import contextlib
import shlex
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import requests
import yaml

from metalizer_site.tests.integration import services
from metalizer_site.tests.integration.apiclient import ApiClient
from metalizer_site.tests.integration.services import HOST, ManagedProcess, S3Server
from metalizer_site.tests.production.private import PrivatePostgres, PrivateRedis, S3Cut

COMPOSE = services.REPO / "docker-compose.yml"


def compose_command(service: str) -> list[str]:
    """The service's command from docker-compose.yml, with executables from the project's venv."""
    command = yaml.safe_load(COMPOSE.read_text())["services"][service]["command"]
    argv = list(command) if isinstance(command, list) else shlex.split(command)
    if argv[0] in ("gunicorn", "celery"):
        argv[0] = str(services.VENV_BIN / argv[0])
    elif argv[0] == "python":
        argv[0] = services.PYTHON
    return argv


@dataclass
class Service:
    """One app process of the stack, restartable the way compose's ``restart: unless-stopped`` would."""

    name: str
    argv: list[str]
    env: dict[str, str]
    log_path: Path
    ready_pattern: str | None = None
    process: ManagedProcess | None = None
    restarts: int = 0
    exit_codes: list[int] = field(default_factory=list)

    def start(self, timeout: float = 90) -> ManagedProcess:
        # The image creates /data (METALIZER_DATA_DIR) owned by the app user; so do we.
        Path(self.env["METALIZER_DATA_DIR"]).mkdir(parents=True, exist_ok=True)
        self.process = ManagedProcess(self.name, self.argv, self.env, self.log_path).start()
        if self.ready_pattern:
            self.process.wait_for_log(self.ready_pattern, timeout=timeout)
        return self.process

    def alive(self) -> bool:
        return self.process is not None and self.process.alive()

    def supervise(self) -> bool:
        """Restart the process if it exited (recording its exit code); True when it had to."""
        if self.alive():
            return False
        if self.process is not None and self.process.proc is not None:
            self.exit_codes.append(self.process.proc.returncode)
            self.process.kill()
        self.restarts += 1
        self.start()
        return True

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop(grace=5)


@dataclass
class Stack:
    base: str
    env: dict[str, str]
    token: str
    s3: S3Server
    s3cut: S3Cut | None  # None: the app talks to S3 directly (``production_stack(s3_relay=False)``)
    redis: PrivateRedis
    postgres: PrivatePostgres
    web: Service
    workers: list[Service]
    workdir: Path

    def client(self) -> ApiClient:
        """An API client authenticated with a DRF token (DEBUG=0 session cookies are Secure-only)."""
        return ApiClient(self.base, token=self.token)

    def service(self, name: str) -> Service:
        return next(svc for svc in self.app_services() if svc.name == name)

    def app_services(self) -> list[Service]:
        return [self.web, *self.workers]

    def supervise(self) -> list[str]:
        """What compose's restart policy would do now: restart every exited app process."""
        return [svc.name for svc in self.app_services() if svc.supervise()]

    def healthz(self) -> requests.Response:
        return requests.get(f"{self.base}/healthz", timeout=30)


def child_pids(parent: int) -> list[int]:
    """Processes whose parent is ``parent`` (gunicorn's workers, for its master's pid)."""
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == parent:
                children.append(int(entry.name))
    return sorted(children)


def status_mb(pid: int, field: str = "VmHWM") -> int:
    """A memory figure of /proc/<pid>/status in MB (VmHWM: peak resident set; VmRSS: current)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) // 1024
    return 0


def web_peaks_mb(master_pid: int) -> dict[int, int]:
    """Peak resident memory (VmHWM, MB) of the gunicorn master and each of its workers."""
    return {pid: status_mb(pid) for pid in [master_pid, *child_pids(master_pid)]}


def _wait_healthy(base: str, web: Service, timeout: float = 60) -> None:
    def healthy() -> bool:
        if not web.alive():
            raise services.ServiceError(f"gunicorn exited; its log:\n{web.process.log_tail()}")
        return requests.get(f"{base}/healthz", timeout=15).status_code == 200

    services.wait_until(healthy, timeout=timeout, interval=0.5, what=f"{base}/healthz to be 200")


def app_environment(
    postgres: PrivatePostgres, redis_server: PrivateRedis, s3: S3Server, s3_endpoint: str
) -> dict:
    return services.clean_env(
        {
            "METALIZER_DEBUG": "0",
            "METALIZER_SECRET_KEY": uuid.uuid4().hex * 2,
            "METALIZER_ALLOWED_HOSTS": f"{HOST},localhost",
            # Plain http on loopback stands for the TLS proxy: no redirect, no HSTS.
            "METALIZER_SECURE_SSL_REDIRECT": "0",
            "METALIZER_HSTS_SECONDS": "0",
            "METALIZER_JOBS_DB_URL": postgres.url,
            "QUEUE_BACKEND": "redis",
            # The name Fly secrets use: settings maps it onto REDIS_URL.
            "METALIZER_REDIS_URL": redis_server.url,
            **s3.env(),
            "METALIZER_S3_ENDPOINT_URL": s3_endpoint,
            # Many requests from one loopback address: throttles are tested elsewhere.
            "METALIZER_THROTTLE_ANON": "1000000/hour",
            "METALIZER_THROTTLE_USER": "1000000/hour",
            "METALIZER_THROTTLE_UPLOADS": "100000/hour",
            # Every test client calls from 127.0.0.1: one caller to the admission caps (jobs.admission).
            "METALIZER_MAX_UNFINISHED_JOBS": "100000",
            "METALIZER_MAX_QUEUED_AUDIO_MINUTES": "100000",
            "METALIZER_LOG_LEVEL": "INFO",
        }
    )


def create_token(env: dict[str, str]) -> str:
    made = services.run_manage(
        [
            "shell",
            "-c",
            "from django.contrib.auth.models import User; "
            "from rest_framework.authtoken.models import Token; "
            f"u = User.objects.create_user('prod-{uuid.uuid4().hex[:8]}'); "
            "print('TOKEN', Token.objects.create(user=u).key)",
        ],
        env,
    )
    if made.returncode != 0:
        raise services.ServiceError(f"could not create an API token: {made.stderr}")
    return next(line.split()[1] for line in made.stdout.splitlines() if line.startswith("TOKEN "))


@contextlib.contextmanager
def production_stack(workdir: Path, *, workers: bool = True, s3_relay: bool = True) -> Iterator[Stack]:
    """Start the whole stack (``workers=False``: web only, jobs stay queued); tear everything down after.

    ``s3_relay`` puts the cuttable relay (``S3Cut``) between the app and S3, for the tests that cut it; a
    bench leaves it out: the relay copies every byte stored through this process's Python threads, a cost
    (about 0.02-0.05 s a stem on 2 cores) and a load the product does not have."""
    postgres = PrivatePostgres()
    redis_server = PrivateRedis(workdir / "redis")
    s3: S3Server | None = None
    started: list[Service] = []
    try:
        postgres.init().start()
        postgres.create_database()
        redis_server.start()
        s3 = services.start_seaweedfs(workdir / "weed", bucket="metalizer-prod")
        s3cut = S3Cut(int(s3.endpoint.rsplit(":", 1)[1])) if s3_relay else None
        if s3cut is not None:
            s3cut.restore()
        env = app_environment(postgres, redis_server, s3, s3cut.endpoint if s3cut else s3.endpoint)
        manage_env = {**env, "METALIZER_DATA_DIR": str(workdir / "data-manage")}
        services.migrate(manage_env)
        token = create_token(manage_env)

        logs = workdir / "logs"
        port = services.free_port()

        def service(name: str, ready: str | None, argv: list[str] | None = None) -> Service:
            data = {**env, "METALIZER_DATA_DIR": str(workdir / f"data-{name}")}
            return Service(
                name, argv or compose_command(name), data, logs / f"{name}.log", ready_pattern=ready
            )

        # compose's web command binds 0.0.0.0:$PORT; here loopback only, on a free port.
        web = service("web", None, [*compose_command("web"), "--bind", f"{HOST}:{port}"])
        app_workers = (
            [
                service("worker-heavy", r"\bready\."),
                service("worker-default", r"\bready\."),
                service("beat", r"beat: Starting"),
            ]
            if workers
            else []
        )
        for svc in (web, *app_workers):
            svc.start()
            started.append(svc)
        base = f"http://{HOST}:{port}"
        _wait_healthy(base, web)
        yield Stack(
            base=base,
            env=env,
            token=token,
            s3=s3,
            s3cut=s3cut,
            redis=redis_server,
            postgres=postgres,
            web=web,
            workers=app_workers,
            workdir=workdir,
        )
    finally:
        for svc in started:
            svc.stop()
        if s3 is not None:
            services.stop_seaweedfs(s3)
        redis_server.stop()
        postgres.destroy()
