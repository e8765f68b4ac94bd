"""Build the image and remix one generated song with it: ``python -m scripts.docker_smoke``.

Exit status 0 only when every step passed; containers, the database, the Redis db, the S3 server and a dockerd
started here are gone afterwards, whatever happened. The image size and the round-trip time are printed last.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import sys
import tempfile
from pathlib import Path

import requests

from metalizer_site.tests.integration import services
from scripts.docker_smoke.backends import Backends, backends
from scripts.docker_smoke.base_image import ensure_base_image
from scripts.docker_smoke.build import build_image, prune_dangling
from scripts.docker_smoke.containers import Containers, compose_command, compose_healthcheck_flags
from scripts.docker_smoke.engine import docker_engine, image_size_bytes
from scripts.docker_smoke.roundtrip import generated_song, round_trip
from scripts.docker_smoke.torch_index import torch_index

DEFAULT_TAG = "metalizer:smoke"
WORKDIR = Path("/var/tmp/metalizer-docker-smoke")  # the debootstrap tree is large for a tmpfs /tmp
TOKEN_SCRIPT = (
    "from django.contrib.auth.models import User; from rest_framework.authtoken.models import Token; "
    "u = User.objects.create_user('docker-smoke'); print('TOKEN', Token.objects.create(user=u).key)"
)


def app_env(stack: Backends, web_port: int) -> dict[str, str]:
    """The production-mode environment every container gets (plain http on loopback stands for the proxy)."""
    return {
        "METALIZER_DEBUG": "0",
        "METALIZER_SECRET_KEY": secrets.token_urlsafe(50),
        "METALIZER_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "METALIZER_CSRF_TRUSTED_ORIGINS": f"http://127.0.0.1:{web_port}",
        "METALIZER_SECURE_SSL_REDIRECT": "0",
        "METALIZER_HSTS_SECONDS": "0",
        "METALIZER_LOG_LEVEL": "INFO",
        "PORT": str(web_port),
        **stack.app_env(),
    }


def write_env_file(path: Path, env: dict[str, str]) -> Path:
    """``docker run --env-file``: the secrets stay out of the process list; readable by root only."""
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as out:
        out.write("".join(f"{key}={value}\n" for key, value in env.items()))
    return path


def wait_healthz(base: str, containers: Containers, web: str, timeout: float = 180) -> dict:
    def answers() -> dict | None:
        if not containers.running(web):
            raise services.ServiceError(f"the web container exited:\n{containers.logs(web)}")
        response = requests.get(f"{base}/healthz", timeout=15)
        return response.json() if response.status_code == 200 else None

    return services.wait_until(answers, timeout=timeout, interval=1.0, what=f"{base}/healthz to be 200")


# What the image must be, checked inside it: the app user, no compiler, the Python and separator it ships.
IMAGE_FACTS = (
    'test "$(id -u)" != 0 || { echo "runs as root"; exit 1; }; '
    "for c in gcc cc g++ c++ clang; do ! command -v $c >/dev/null || { echo compiler $c; exit 1; }; done; "
    "test -w /data && ! test -w /app || { echo 'writes: /data only'; exit 1; }; "
    "test -f /app/models/spleeter_2stems.pt || { echo 'no Spleeter weights'; exit 1; }; "
    'echo "user $(id -un) ($(id -u)), $(python --version), no compiler, writes /data only, Spleeter weights"'
)


def image_facts(containers: Containers) -> str:
    return containers.one_shot("facts", ["sh", "-c", IMAGE_FACTS]).strip()


def run_stack(image: str, stack: Backends, workdir: Path) -> tuple[float, dict]:
    """Migrate, make the bucket and a token, start web + heavy worker + beat, remix a song; timings back."""
    web_port = services.free_port()
    env_file = write_env_file(workdir / "app.env", app_env(stack, web_port))
    containers = Containers(image, env_file)
    try:
        print(f"image: {image_facts(containers)}", flush=True)
        containers.one_shot("migrate", compose_command("migrate"))
        print("migrate: done (compose's migrate command, in the image)", flush=True)
        containers.one_shot("createbucket", compose_command("createbucket"))
        print(f"createbucket: {stack.app_bucket} made by ensure_bucket", flush=True)
        output = containers.one_shot("token", ["python", "manage.py", "shell", "-c", TOKEN_SCRIPT])
        token = next(line.split()[1] for line in output.splitlines() if line.startswith("TOKEN "))

        # The image's own CMD and HEALTHCHECK; gunicorn takes GUNICORN_CMD_ARGS under its command line, so
        # the host-networked web listens on loopback only, on PORT.
        web = containers.start("web", flags=["-e", f"GUNICORN_CMD_ARGS=--bind=127.0.0.1:{web_port}"])
        worker = containers.start(
            "worker-heavy", compose_command("worker-heavy"), flags=compose_healthcheck_flags("worker-heavy")
        )
        beat = containers.start("beat", compose_command("beat"), flags=compose_healthcheck_flags("beat"))
        base = f"http://127.0.0.1:{web_port}"
        health = wait_healthz(base, containers, web)
        print(f"web: /healthz 200 {health}", flush=True)
        containers.wait_for_log(worker, "ready.", timeout=180)
        containers.wait_for_log(beat, "beat: Starting", timeout=120)
        print("worker-heavy: ready; beat: started", flush=True)

        song, song_seconds = generated_song(workdir / "song.mp3")
        trip = round_trip(base, token, song, song_seconds, stack.s3.endpoint)
        job = trip.job
        print(
            f"remix: job {job['id']} {job['status']}, separator {(job.get('separator') or {}).get('name')}, "
            f"{trip.remix_seconds:.2f} s at {trip.sample_rate} Hz for a {trip.song_seconds:.2f} s song, "
            f"peak {trip.peak:.2f}, RMS {trip.rms_dbfs:.1f} dBFS, {trip.download_bytes} bytes (signed URL)",
            flush=True,
        )
        containers.wait_healthy(web, timeout=180)
        containers.wait_healthy(worker, timeout=240)
        print(
            f"HEALTHCHECK: web {containers.health(web)}, worker-heavy {containers.health(worker)}, "
            f"beat {containers.health(beat)} (disabled, as in compose)",
            flush=True,
        )
        for name in (web, worker, beat):
            if not containers.running(name):
                raise services.ServiceError(f"{name} is no longer running:\n{containers.logs(name)}")
        return trip.seconds, job
    except BaseException:
        for name in containers.names:
            print(f"----- log of {name} -----\n{containers.logs(name)}", file=sys.stderr)
        raise
    finally:
        containers.save_logs(WORKDIR / "logs")
        containers.remove_all()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tag", default=DEFAULT_TAG, help=f"image to build and run (default {DEFAULT_TAG})")
    parser.add_argument("--no-build", action="store_true", help="run an image built before")
    args = parser.parse_args(argv)
    WORKDIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="run-", dir=WORKDIR) as tmp, contextlib.ExitStack() as stack:
        workdir = Path(tmp)
        stack.enter_context(docker_engine(WORKDIR / "dockerd.log"))
        build_seconds = None
        if not args.no_build:
            base = ensure_base_image(workdir=WORKDIR)
            with torch_index(WORKDIR) as torch_url:
                build_seconds = build_image(
                    args.tag, base_image=base, torch_index_url=torch_url, log_path=WORKDIR / "build.log"
                )
            prune_dangling()
            print(f"build: {args.tag} from {base} in {build_seconds:.0f} s (log {WORKDIR / 'build.log'})")
        services_up = stack.enter_context(backends(workdir))
        trip_seconds, _job = run_stack(args.tag, services_up, workdir)
        size = image_size_bytes(args.tag)
    print("docker-smoke passed")
    if build_seconds is not None:
        print(f"build time: {build_seconds:.1f} s")
    print(f"image size: {size / 1e9:.2f} GB ({size} bytes, {args.tag})")
    print(f"round trip: {trip_seconds:.1f} s (upload -> remix -> signed download, decoded)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
