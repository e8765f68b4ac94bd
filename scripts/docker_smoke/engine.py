"""The Docker engine: use a running dockerd, or start one in the background (as root) and stop it after.

A dockerd started here runs with host networking in mind: no default bridge and no iptables rules, so no
network is created on the machine (every build and container uses ``--network=host``).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

DOCKERD_FLAGS = ("--bridge=none", "--iptables=false", "--ip-masq=false", "--ip-forward=false")


class DockerError(RuntimeError):
    """A docker command failed, or the engine could not be reached or started."""


def docker(
    args: Sequence[str], *, timeout: float = 600, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """``docker <args>``, output captured as text; DockerError with stderr when ``check`` and it fails."""
    try:
        result = subprocess.run(
            ["docker", *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise DockerError(f"docker {' '.join(args[:3])} did not finish in {timeout:.0f} s") from exc
    if check and result.returncode != 0:
        raise DockerError(f"docker {' '.join(args)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return result


def engine_answers() -> bool:
    """True when the docker CLI reaches a daemon."""
    if shutil.which("docker") is None:
        return False
    return docker(["info", "--format", "{{.ServerVersion}}"], timeout=30, check=False).returncode == 0


@contextlib.contextmanager
def docker_engine(log_path: Path, *, timeout: float = 60) -> Iterator[bool]:
    """Yield once dockerd answers (True when it was started here); a dockerd started here is stopped after."""
    if engine_answers():
        yield False
        return
    dockerd = shutil.which("dockerd")
    if dockerd is None or shutil.which("docker") is None:
        raise DockerError("no Docker engine here: install Debian's docker.io (apt-get install docker.io)")
    if os.geteuid() != 0:
        raise DockerError("dockerd is not running and only root can start it: run this as root")
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [dockerd, *DOCKERD_FLAGS], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + timeout
        while not engine_answers():
            if process.poll() is not None:
                raise DockerError(f"dockerd exited with {process.returncode}; see {log_path}")
            if time.monotonic() > deadline:
                raise DockerError(f"dockerd did not answer within {timeout:.0f} s; see {log_path}")
            time.sleep(0.5)
        print(f"started dockerd (pid {process.pid}, log {log_path})", flush=True)
        yield True
    finally:
        stop_dockerd(process)


def stop_dockerd(process: subprocess.Popen[bytes], *, grace: float = 30) -> None:
    """SIGTERM the dockerd started here (it stops its containerd too); SIGKILL if it lingers."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    print(f"stopped dockerd (pid {process.pid})", flush=True)


def image_exists(name: str) -> bool:
    return docker(["image", "inspect", name], timeout=60, check=False).returncode == 0


def image_label(name: str, label: str) -> str | None:
    """The value of one label of a local image (None when the image or the label is missing)."""
    result = docker(
        ["image", "inspect", "--format", f'{{{{index .Config.Labels "{label}"}}}}', name],
        timeout=60,
        check=False,
    )
    value = result.stdout.strip()
    return value if result.returncode == 0 and value not in ("", "<no value>") else None


def image_size_bytes(name: str) -> int:
    return int(docker(["image", "inspect", "--format", "{{.Size}}", name], timeout=60).stdout.strip())
