"""Containers from the image, all with ``--network=host``: one-shot management commands and the long-running
web, worker and beat, started with the commands (and healthchecks) that docker-compose.yml gives them.
"""

from __future__ import annotations

import shlex
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from scripts.docker_smoke.engine import DockerError, docker

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
LABEL = "org.metalizer.docker-smoke"


def compose_service(name: str) -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text())["services"][name]


def compose_command(name: str) -> list[str]:
    command = compose_service(name)["command"]
    return list(command) if isinstance(command, list) else shlex.split(command)


def compose_healthcheck_flags(name: str) -> list[str]:
    """``docker run`` flags for the service's compose healthcheck (compose's ``$$`` is a literal ``$``)."""
    check = compose_service(name).get("healthcheck")
    if not check:
        return []
    if check.get("disable"):
        return ["--no-healthcheck"]
    test = check["test"]
    if test[0] != "CMD-SHELL":
        raise ValueError(f"{name}: only CMD-SHELL healthchecks are translated, not {test[0]}")
    flags = ["--health-cmd", test[1].replace("$$", "$")]
    for key in ("interval", "timeout", "start_period", "retries"):
        if key in check:
            flags += [f"--health-{key.replace('_', '-')}", str(check[key])]
    return flags


@dataclass
class Containers:
    """Every container started in one run, so that all of them are removed whatever happens."""

    image: str
    env_file: Path
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    names: list[str] = field(default_factory=list)

    def _base(self, role: str) -> list[str]:
        return [
            "--network=host",
            "--env-file",
            str(self.env_file),
            "--label",
            f"{LABEL}={self.run_id}",
            "--label",
            f"{LABEL}.role={role}",
        ]

    def one_shot(self, role: str, command: list[str], *, timeout: float = 300) -> str:
        """Run ``command`` in a throw-away container; its output, DockerError with it when it fails."""
        result = docker(
            ["run", "--rm", *self._base(role), self.image, *command], timeout=timeout, check=False
        )
        if result.returncode != 0:
            raise DockerError(
                f"{role}: {' '.join(command)} exited {result.returncode}:\n"
                f"{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
            )
        return result.stdout

    def start(self, role: str, command: list[str] | None = None, *, flags: list[str] | None = None) -> str:
        """Start a detached container (the image's default command when ``command`` is None)."""
        name = f"metalizer-smoke-{role}-{self.run_id}"
        docker(
            ["run", "-d", "--name", name, *self._base(role), *(flags or []), self.image, *(command or [])],
            timeout=120,
        )
        self.names.append(name)
        return name

    def inspect(self, name: str, template: str) -> str:
        return docker(["inspect", "--format", template, name], timeout=60).stdout.strip()

    def running(self, name: str) -> bool:
        return self.inspect(name, "{{.State.Running}}") == "true"

    def health(self, name: str) -> str:
        """The container's HEALTHCHECK state: starting, healthy or unhealthy ('none' without a check)."""
        return self.inspect(name, "{{if .State.Health}}{{.State.Health.Status}}{{else}}none{{end}}")

    def health_log(self, name: str) -> str:
        return self.inspect(name, "{{if .State.Health}}{{json .State.Health.Log}}{{end}}")

    def logs(self, name: str, tail: int = 80) -> str:
        result = docker(["logs", "--tail", str(tail), name], timeout=60, check=False)
        return result.stdout + result.stderr

    def wait_for_log(self, name: str, pattern: str, *, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while pattern not in self.logs(name, tail=400):
            if not self.running(name):
                raise DockerError(
                    f"{name} exited ({self.inspect(name, '{{.State.ExitCode}}')}):\n{self.logs(name)}"
                )
            if time.monotonic() > deadline:
                raise DockerError(
                    f"{name}: no {pattern!r} in its log after {timeout:.0f} s:\n{self.logs(name)}"
                )
            time.sleep(1)

    def wait_healthy(self, name: str, *, timeout: float) -> float:
        """Seconds until the container's own HEALTHCHECK says healthy; DockerError if unhealthy or late."""
        start = time.monotonic()
        while True:
            state = self.health(name)
            if state == "healthy":
                return time.monotonic() - start
            if state in ("unhealthy", "none") or not self.running(name):
                raise DockerError(
                    f"{name}: health {state}; checks: {self.health_log(name)}\n{self.logs(name)}"
                )
            if time.monotonic() - start > timeout:
                raise DockerError(f"{name}: still {state} after {timeout:.0f} s: {self.health_log(name)}")
            time.sleep(2)

    def save_logs(self, folder: Path) -> None:
        """Each container's whole log into ``folder`` (role.log), kept after the containers are gone."""
        folder.mkdir(parents=True, exist_ok=True)
        for name in self.names:
            role = name.removeprefix("metalizer-smoke-").removesuffix(f"-{self.run_id}")
            (folder / f"{role}.log").write_text(self.logs(name, tail=100000))

    def remove_all(self) -> None:
        """Remove every container of this run with its anonymous volumes (/data), running or not."""
        listed = docker(["ps", "-aq", "--filter", f"label={LABEL}={self.run_id}"], timeout=60, check=False)
        ids = listed.stdout.split()
        if ids:
            docker(["rm", "-f", "-v", *ids], timeout=120, check=False)
