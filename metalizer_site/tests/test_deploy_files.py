"""The deployment files (Dockerfile, docker-compose.yml, fly.toml) start real entry points of this project.

No Docker engine runs here, so every command line in them is parsed by the real CLI it names (gunicorn's
argument parser, Celery's click commands, Django's command parsers), every variable they set is checked
against what settings.py reads and .env.example documents, and the settings are loaded in a subprocess
with exactly the environment each file gives the app. What the image itself holds (its user, its system
libraries, torch, the Spleeter weights, no compiler) is what ``make docker-smoke`` builds and checks inside a
running container; here only what the Dockerfile starts (its healthcheck, its command, its port) is run.
"""

from __future__ import annotations

import ast
import contextlib
import http.server
import io
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
FLY = REPO / "fly.toml"
DOCKERFILE = REPO / "Dockerfile"
APP_IMAGE = "metalizer:local"
# Variables a tool reads rather than settings.py (none are set today; listed here with the reader if added).
NON_SETTINGS_VARS: dict[str, str] = {}


# --- Helpers ---------------------------------------------------------------------------------------------


def _run_in_repo(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``argv`` run from the repository root with exactly ``env``, its output captured as text."""
    return subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False)


def compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())


def fly() -> dict[str, Any]:
    return tomllib.loads(FLY.read_text())


def app_services() -> dict[str, dict[str, Any]]:
    """Compose services running the Metalizer image (the others are Redis, PostgreSQL, S3)."""
    return {name: svc for name, svc in compose()["services"].items() if svc.get("image") == APP_IMAGE}


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs with line continuations joined and comments dropped."""
    lines: list[str] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        if raw.lstrip().startswith("#"):
            continue  # Docker drops comment lines, also inside a continued instruction
        if raw.rstrip().endswith("\\"):
            pending += raw.rstrip()[:-1]  # Docker removes the backslash-newline and nothing else
            continue
        lines.append(pending + raw)
        pending = ""
    out = []
    for line in lines:
        if line.strip():
            word, _, rest = line.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def exec_form(args: str) -> list[str]:
    """A Dockerfile CMD/ENTRYPOINT argument in exec (JSON) form or shell form, as a token list."""
    args = args.strip()
    return json.loads(args) if args.startswith("[") else shlex.split(args)


def tokens(command: str | list[str]) -> list[str]:
    return list(command) if isinstance(command, list) else shlex.split(command)


def settings_variables() -> set[str]:
    """Every environment variable name that settings.py (through env.py) reads."""
    source = (REPO / "metalizer_site" / "settings.py").read_text() + (
        REPO / "metalizer_site" / "env.py"
    ).read_text()
    return set(re.findall(r"""["']([A-Z][A-Z0-9_]{2,})["']""", source)) & documented_variables()


def documented_variables() -> set[str]:
    return {
        line.split("=", 1)[0].strip()
        for line in (REPO / ".env.example").read_text().splitlines()
        if re.match(r"^[A-Z][A-Z0-9_]*=", line)
    }


def real_queues() -> set[str]:
    from django.conf import settings

    queues = {settings.CELERY_TASK_DEFAULT_QUEUE}
    queues |= {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    queues |= {
        entry.get("options", {}).get("queue", "default") for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }
    return queues


class EntryPoint:
    """What a command line starts, after its real CLI parsed it."""

    def __init__(self, kind: str, params: dict[str, Any], argv: list[str]) -> None:
        self.kind = kind
        self.params = params
        self.argv = argv


def parse_entry_point(command: str | list[str]) -> EntryPoint:
    """Parse a command with the CLI it names; AssertionError when it is not one of the project's own."""
    argv = tokens(command)
    assert argv, "empty command"
    program = Path(argv[0]).name
    if program == "gunicorn":
        from gunicorn.config import Config

        namespace = Config().parser().parse_args(argv[1:])
        assert namespace.args == ["metalizer_site.wsgi"], f"gunicorn must serve metalizer_site.wsgi: {argv}"
        import importlib

        assert callable(importlib.import_module("metalizer_site.wsgi").application)
        return EntryPoint("gunicorn", vars(namespace), argv)
    if program == "celery":
        from celery.bin.base import CLIContext
        from celery.bin.beat import beat
        from celery.bin.control import inspect
        from celery.bin.worker import worker

        from metalizer_site.celery import app

        assert argv[1:3] == ["-A", "metalizer_site"], f"celery must run the metalizer_site app: {argv}"
        sub = {"worker": worker, "beat": beat, "inspect": inspect}.get(argv[3])
        assert sub is not None, f"unexpected celery sub-command {argv[3]!r}"
        obj = CLIContext(app=app, no_color=True, workdir=None, quiet=True)
        ctx = sub.make_context(argv[3], argv[4:], obj=obj)
        return EntryPoint(f"celery-{argv[3]}", dict(ctx.params), argv)
    if program.startswith("python") and argv[1:2] == ["manage.py"]:
        from django.core.management import get_commands, load_command_class

        name = argv[2]
        commands = get_commands()
        assert name in commands, f"manage.py has no command {name!r}"
        parser = load_command_class(commands[name], name).create_parser("manage.py", name)
        return EntryPoint(f"manage-{name}", vars(parser.parse_args(argv[3:])), argv)
    raise AssertionError(f"not an entry point of this project: {argv}")


class ComposeRefuses(Exception):
    """``docker compose`` would stop here: a ``${VAR:?message}`` variable is unset (the message names it)."""


# What a user's .env next to docker-compose.yml must hold: the file ships no secret of its own.
DOT_ENV = {
    "METALIZER_SECRET_KEY": "Jq3v" + "9xK2mZ7pLw4Rt8Ys1Nd6Hb0Fc5Gv" * 2,
    "POSTGRES_PASSWORD": "pg-Q8r2Lm5Xv7Nw1Kt4",
    "METALIZER_S3_ACCESS_KEY": "s3-access-7Hq2Wm",
    "METALIZER_S3_SECRET_KEY": "s3-secret-Z4k9Pq2Lx7Vn3Bt8",
}


def interpolate(value: str, environ: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default}, ${VAR:?error} and $$ substitution, with ``environ`` as the
    shell/.env; ComposeRefuses where compose would refuse to start."""

    def sub(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, default = match.group(1), match.group(2), match.group(3) or ""
        current = environ.get(name)
        if op == ":-":
            return current if current else default
        if op == "-":
            return current if current is not None else default
        if op in (":?", "?"):
            if (not current) if op == ":?" else current is None:
                raise ComposeRefuses(f"{name}: {default}")
            return current or ""
        return current or ""

    return re.sub(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}", sub, value)


def load_settings(environ: dict[str, str]) -> dict[str, Any]:
    """Import the settings in a fresh interpreter with exactly ``environ`` (plus PATH); a few values back."""
    probe = (
        "import json, django; django.setup(); from django.conf import settings as s; "
        "print(json.dumps({'DEBUG': s.DEBUG, 'QUEUE_BACKEND': s.QUEUE_BACKEND, "
        "'BROKER': s.CELERY_BROKER_URL, "
        "'DB_ENGINE': s.DATABASES['default']['ENGINE'], 'DB_HOST': s.DATABASES['default'].get('HOST'), "
        "'STORAGE': s.METALIZER_STORAGE, 'DATA_DIR': str(s.DATA_DIR), "
        "'S3': s.STORAGES['default'].get('OPTIONS', {}).get('endpoint_url'), "
        "'ALLOWED_HOSTS': s.ALLOWED_HOSTS, 'SSL_REDIRECT': getattr(s, 'SECURE_SSL_REDIRECT', False)}))"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "metalizer_site.settings",
        "HOME": "/tmp",
        **environ,
    }
    result = _run_in_repo([sys.executable, "-c", probe], env)
    assert result.returncode == 0, f"settings refused this environment:\n{result.stderr[-2000:]}"
    return json.loads(result.stdout.strip().splitlines()[-1])


# --- Dockerfile ------------------------------------------------------------------------------------------


def dockerfile_env() -> dict[str, str]:
    """The image's ENV values (``KEY=value`` pairs of every ENV instruction, later ones winning)."""
    env: dict[str, str] = {}
    for word, rest in dockerfile_instructions():
        if word == "ENV":
            for pair in shlex.split(rest):
                key, _, value = pair.partition("=")
                env[key] = value
    return env


def healthcheck_program() -> str:
    checks = [args for word, args in dockerfile_instructions() if word == "HEALTHCHECK"]
    assert len(checks) == 1
    argv = shlex.split(checks[0].split(" CMD ", 1)[1])
    assert argv[:2] == ["python", "-c"]
    return argv[2]


class _HealthzServer:
    """A loopback HTTP server answering /healthz with ``status``; it records the requests' headers."""

    def __init__(self, status: int) -> None:
        seen: list[dict[str, str]] = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - the http.server API
                seen.append({"path": self.path, **dict(self.headers)})
                self.send_response(status if self.path == "/healthz" else 404)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.seen = seen
        self.server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def run_healthcheck(port: int, allowed_hosts: str) -> int:
    env = {"PATH": "/usr/bin:/bin", "PORT": str(port), "METALIZER_ALLOWED_HOSTS": allowed_hosts}
    result = subprocess.run(
        [sys.executable, "-c", healthcheck_program()], env=env, capture_output=True, timeout=30, check=False
    )
    return result.returncode


@pytest.mark.parametrize(("status", "healthy"), [(200, True), (503, False)])
def test_dockerfile_healthcheck_asks_healthz_on_port_as_the_first_allowed_host_via_tls(
    status: int, healthy: bool
) -> None:
    server = _HealthzServer(status)
    try:
        code = run_healthcheck(server.port, "*.metalizer.example, localhost")
    finally:
        server.close()
    assert (code == 0) is healthy, f"exit {code} for a {status} answer"
    assert len(server.seen) == 1 and server.seen[0]["path"] == "/healthz"
    assert server.seen[0]["Host"] == "metalizer.example" and server.seen[0]["X-Forwarded-Proto"] == "https"


def test_dockerfile_healthcheck_fails_when_nothing_listens_on_port() -> None:
    with socket_bound_but_not_listening() as port:
        assert run_healthcheck(port, "localhost") != 0


@contextlib.contextmanager
def socket_bound_but_not_listening() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def gunicorn_resolved_bind(argv: list[str], environ: dict[str, str]) -> list[str]:
    """The addresses gunicorn binds for ``argv`` in ``environ``, as its own --print-config resolves them."""
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": "/tmp", **environ}
    env["DJANGO_SETTINGS_MODULE"] = "metalizer_site.settings"
    env["METALIZER_DATA_DIR"] = env.get("METALIZER_DATA_DIR", "/tmp/metalizer-print-config")
    result = _run_in_repo([str(Path(sys.executable).parent / argv[0]), "--print-config", *argv[1:]], env)
    assert result.returncode == 0, result.stderr[-2000:]
    line = next(line for line in result.stdout.splitlines() if re.match(r"^bind\s*=", line))
    return list(ast.literal_eval(line.split("=", 1)[1].strip()))


def test_dockerfile_default_command_is_gunicorn_serving_the_wsgi_app_on_port() -> None:
    cmd = next(args for word, args in reversed(dockerfile_instructions()) if word == "CMD")
    entry = parse_entry_point(exec_form(cmd))
    assert entry.kind == "gunicorn"
    assert not {"-b", "--bind"} & set(entry.argv), "no --bind: gunicorn binds 0.0.0.0:$PORT"
    assert entry.params["control_socket_disable"] is True
    port = dockerfile_env()["PORT"]
    expose = [args for word, args in dockerfile_instructions() if word == "EXPOSE"]
    assert expose == [port] == ["8000"]
    assert gunicorn_resolved_bind(exec_form(cmd), {"PORT": port}) == [f"0.0.0.0:{port}"]
    assert gunicorn_resolved_bind(exec_form(cmd), {"PORT": "18123"}) == ["0.0.0.0:18123"]


def test_image_port_is_the_one_compose_publishes_and_fly_routes_to() -> None:
    port = dockerfile_env()["PORT"]
    assert f"127.0.0.1:{port}:{port}" in compose()["services"]["web"]["ports"]
    assert str(fly()["http_service"]["internal_port"]) == port


def test_dockerignore_keeps_local_state_out_of_the_image() -> None:
    ignored = {line.strip() for line in (REPO / ".dockerignore").read_text().splitlines()}
    assert {".git", ".venv", "data", ".env"} <= ignored


# --- docker-compose.yml ----------------------------------------------------------------------------------


def test_compose_has_web_two_workers_beat_and_the_backing_services() -> None:
    services = compose()["services"]
    assert {"web", "worker-heavy", "worker-default", "beat", "redis", "postgres", "s3"} <= set(services)
    assert {"web", "worker-heavy", "worker-default", "beat"} <= set(app_services())


def test_compose_app_services_share_one_image_build() -> None:
    services = app_services()
    builds = {json.dumps(svc.get("build"), sort_keys=True) for svc in services.values()}
    assert len(builds) == 1 and json.loads(builds.pop())["context"] == ".", "one build of one Dockerfile"
    assert {svc["image"] for svc in services.values()} == {APP_IMAGE}


def test_compose_app_commands_are_real_entry_points_of_the_project() -> None:
    kinds = {}
    for name, svc in app_services().items():
        command = svc.get("command")
        assert command, f"{name}: set the command explicitly"
        entry = parse_entry_point(command)
        kinds[name] = entry
        if entry.kind == "celery-worker":
            assert set(entry.params["queues"]) <= real_queues(), f"{name}: unknown queue in {entry.params}"
    assert kinds["web"].kind == "gunicorn"
    assert kinds["beat"].kind == "celery-beat"
    heavy, default = kinds["worker-heavy"], kinds["worker-default"]
    assert heavy.kind == default.kind == "celery-worker"
    assert heavy.params["queues"] == ["heavy"] and heavy.params["concurrency"] == 1
    assert default.params["queues"] == ["default"]
    consumed = {q for e in kinds.values() if e.kind == "celery-worker" for q in e.params["queues"]}
    assert consumed == real_queues(), "every queue the app sends to has a worker"


def test_compose_web_command_is_the_images_default_command() -> None:
    cmd = next(args for word, args in reversed(dockerfile_instructions()) if word == "CMD")
    assert tokens(app_services()["web"]["command"]) == exec_form(cmd)


def test_compose_migrates_and_creates_the_bucket_before_the_app_starts() -> None:
    services = compose()["services"]
    assert parse_entry_point(services["migrate"]["command"]).kind == "manage-migrate"
    assert parse_entry_point(services["createbucket"]["command"]).kind == "manage-ensure_bucket"
    for name in ("web", "worker-heavy", "worker-default", "beat"):
        needs = services[name]["depends_on"]
        assert needs["migrate"]["condition"] == "service_completed_successfully", name
        assert needs["createbucket"]["condition"] == "service_completed_successfully", name
    assert services["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["createbucket"]["depends_on"]["s3"]["condition"] == "service_healthy"


def test_compose_worker_healthchecks_ping_the_node_their_command_names() -> None:
    for name in ("worker-heavy", "worker-default"):
        svc = app_services()[name]
        node = parse_entry_point(svc["command"]).argv
        node_name = node[node.index("-n") + 1].replace("%h", "$HOSTNAME")
        test = svc["healthcheck"]["test"]
        assert test[0] == "CMD-SHELL"
        ping = parse_entry_point(interpolate(test[1], {}))
        assert ping.kind == "celery-inspect" and ping.params["command"] == "ping"
        assert ping.params["destination"] == [node_name]


def test_compose_sets_only_variables_settings_reads_and_env_example_documents() -> None:
    known = settings_variables()
    documented = documented_variables()
    for name, svc in app_services().items():
        for var in svc["environment"]:
            assert var in documented, f"{name}: {var} is not in .env.example"
            assert var in known or var in NON_SETTINGS_VARS, f"{name}: settings.py never reads {var}"


def test_compose_environment_is_accepted_by_settings_as_production_mode() -> None:
    env = {k: interpolate(str(v), DOT_ENV) for k, v in app_services()["web"]["environment"].items()}
    loaded = load_settings(env)
    assert loaded["DEBUG"] is False
    assert loaded["QUEUE_BACKEND"] == "redis" and loaded["BROKER"] == "redis://redis:6379/0"
    assert loaded["DB_ENGINE"] == "django.db.backends.postgresql" and loaded["DB_HOST"] == "postgres"
    assert loaded["STORAGE"] == "s3" and loaded["DATA_DIR"] == "/data"
    assert "localhost" in loaded["ALLOWED_HOSTS"], "the image's HEALTHCHECK asks for the first allowed host"


def test_compose_s3_endpoint_resolves_inside_the_network_and_in_a_browser() -> None:
    services = compose()["services"]
    endpoint = interpolate(app_services()["web"]["environment"]["METALIZER_S3_ENDPOINT_URL"], {})
    host, port = re.fullmatch(r"http://([^:/]+):(\d+)", endpoint).groups()
    assert host.endswith(".localhost"), "browsers resolve *.localhost to 127.0.0.1"
    assert host in services["s3"]["networks"]["default"]["aliases"]
    assert f"127.0.0.1:{port}:{port}" in services["s3"]["ports"]
    entry = " ".join(services["s3"]["entrypoint"])
    assert f"-s3.port={port}" in entry


def test_docker_compose_config_validates_the_file() -> None:
    candidates = []
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, text=True, check=False)
        if probe.returncode == 0:
            candidates.append(["docker", "compose"])
    if shutil.which("docker-compose"):
        candidates.append(["docker-compose"])
    if not candidates:
        pytest.skip("no docker compose CLI on this machine (neither `docker compose` nor `docker-compose`)")

    def config(environ: dict[str, str]) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if k not in DOT_ENV}
        return subprocess.run(
            [*candidates[0], "-f", str(COMPOSE), "config", "-q"],
            cwd=REPO,
            env={**env, **environ},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    result = config(DOT_ENV)
    assert result.returncode == 0, result.stderr
    refused = config({})  # no .env: compose itself refuses to start the stack
    assert refused.returncode != 0 and "METALIZER_SECRET_KEY" in refused.stderr + refused.stdout


def test_compose_ships_no_usable_secret_or_credential() -> None:
    """Issue 25, finding 4: a default METALIZER_SECRET_KEY beside DEBUG=0, and SeaweedFS on 0.0.0.0:8333
    with default credentials: whoever reached it read every song and could rewrite bank files."""
    text = COMPOSE.read_text()
    for name in DOT_ENV:
        assert f"${{{name}:?" in text, f"{name} must be required, not defaulted"
        assert f"${{{name}:-" not in text and f"${{{name}-" not in text, name
        with pytest.raises(ComposeRefuses, match=name):
            for svc in compose()["services"].values():
                for value in (svc.get("environment") or {}).values():
                    interpolate(str(value), {k: v for k, v in DOT_ENV.items() if k != name})


def test_compose_publishes_only_on_loopback_and_keeps_the_databases_inside() -> None:
    services = compose()["services"]
    published = {name: svc.get("ports", []) for name, svc in services.items() if svc.get("ports")}
    assert set(published) == {"web", "s3"}, "PostgreSQL and Redis stay on the compose network"
    for name, ports in published.items():
        for mapping in ports:
            assert str(mapping).startswith("127.0.0.1:"), f"{name} publishes {mapping} beyond loopback"


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("METALIZER_SECRET_KEY", "compose-local-only-insecure-key-set-your-own-in-dot-env"),
        ("METALIZER_SECRET_KEY", "short-key"),
        ("METALIZER_S3_SECRET_KEY", "metalizer-local-secret"),
        ("METALIZER_S3_SECRET_KEY", "minioadmin"),
    ],
)
def test_production_settings_refuse_published_or_weak_secrets(name: str, value: str) -> None:
    env = {k: interpolate(str(v), DOT_ENV) for k, v in app_services()["web"]["environment"].items()}
    env[name] = value
    probe = "import django; django.setup()"
    result = _run_in_repo(
        [sys.executable, "-c", probe],
        {"PATH": "/usr/bin:/bin", "HOME": "/tmp", "DJANGO_SETTINGS_MODULE": "metalizer_site.settings", **env},
    )
    assert result.returncode != 0
    assert f"{name} is not a usable" in result.stderr


# --- fly.toml --------------------------------------------------------------------------------------------


def test_fly_process_groups_run_gunicorn_celery_worker_and_beat() -> None:
    processes = fly()["processes"]
    assert parse_entry_point(processes["app"]).kind == "gunicorn"
    worker = parse_entry_point(processes["worker"])
    assert worker.kind == "celery-worker"
    assert set(worker.params["queues"]) == real_queues() and worker.params["concurrency"] == 1
    assert parse_entry_point(processes["beat"]).kind == "celery-beat"
    cmd = next(args for word, args in reversed(dockerfile_instructions()) if word == "CMD")
    assert tokens(processes["app"]) == exec_form(cmd), "Fly's app runs the image's default command"


def test_fly_release_command_migrates() -> None:
    assert parse_entry_point(fly()["deploy"]["release_command"]).kind == "manage-migrate"


def test_fly_mounts_metalizer_data_at_data_for_app_and_worker() -> None:
    mounts = fly()["mounts"]
    mounts = mounts if isinstance(mounts, list) else [mounts]
    data = [m for m in mounts if m["source"] == "metalizer_data"]
    assert len(data) == 1 and data[0]["destination"] == "/data"
    assert set(data[0].get("processes", ["app", "worker"])) >= {"app", "worker"}


def test_fly_http_service_checks_healthz_on_the_app_port() -> None:
    config = fly()
    service = config["http_service"]
    assert service["processes"] == ["app"]
    assert service["internal_port"] == 8000
    checks = service["checks"]
    assert any(c["path"] == "/healthz" and c["method"].upper() == "GET" for c in checks)
    allowed = config["env"]["METALIZER_ALLOWED_HOSTS"].split(",")
    assert all(c["headers"]["Host"] in allowed for c in checks), "the check's Host must be allowed"


def test_fly_worker_vm_has_at_least_4_gb_for_separation() -> None:
    def megabytes(vm: dict[str, Any]) -> int:
        if "memory_mb" in vm:
            return int(vm["memory_mb"])
        amount, unit = re.fullmatch(r"(\d+)\s*(gb|mb)", str(vm["memory"]).lower()).groups()
        return int(amount) * (1024 if unit == "gb" else 1)

    vms = {p: vm for vm in fly()["vm"] for p in vm.get("processes", [])}
    assert megabytes(vms["worker"]) >= 4096


def test_fly_environment_maps_metalizer_redis_url_for_every_group() -> None:
    env = fly()["env"]
    assert "REDIS_URL" not in env, "REDIS_URL must come from the METALIZER_REDIS_URL secret"
    for var in env:
        assert var in documented_variables() and var in settings_variables(), var
    assert env["METALIZER_TRUSTED_PROXIES"] == "1", "behind Fly's proxy, and only it"
    secrets = {
        "METALIZER_SECRET_KEY": "fly-" + "Hq7Zr2Kp9Lx4Vm8Nt3Bw6Yc1" * 2,
        "METALIZER_JOBS_DB_URL": "postgres://metalizer:pw@metalizer-db.flycast:5432/metalizer",
        "METALIZER_REDIS_URL": "redis://default:pw@fly-metalizer-redis.upstash.io:6379",
        "METALIZER_S3_ENDPOINT_URL": "https://fly.storage.tigris.dev",
        "METALIZER_S3_BUCKET": "metalizer",
        "METALIZER_S3_ACCESS_KEY": "tid_key",
        "METALIZER_S3_SECRET_KEY": "tsec_Wq8Zr3Kp7Lx2Vm9Nt4",
    }
    loaded = load_settings({**{k: str(v) for k, v in env.items()}, **secrets})
    assert loaded["BROKER"] == secrets["METALIZER_REDIS_URL"]
    assert loaded["DEBUG"] is False and loaded["SSL_REDIRECT"] is False
    assert loaded["DB_ENGINE"] == "django.db.backends.postgresql" and loaded["STORAGE"] == "s3"


def test_ensure_bucket_with_local_storage_has_nothing_to_create() -> None:
    from django.core.management import call_command

    out = io.StringIO()
    call_command("ensure_bucket", stdout=out)
    assert "no bucket to create" in out.getvalue()
