"""``docker build --network=host`` of the repository's Dockerfile, with the base and torch source for here."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from scripts.docker_smoke.base_image import RECIPE_LABEL as BASE_RECIPE_LABEL
from scripts.docker_smoke.engine import DockerError, docker

REPO = Path(__file__).resolve().parents[2]
# Labelled images only: the dangling ones a rebuild leaves are ours to prune, nobody else's.
IMAGE_LABEL = "org.opencontainers.image.title=metalizer"


def builder_env() -> dict[str, str]:
    """The environment for ``docker build``: BuildKit when the buildx plugin is there, else the classic
    builder (the Dockerfile needs nothing BuildKit-only; DOCKER_BUILDKIT=1 without buildx would fail)."""
    env = dict(os.environ)
    if docker(["buildx", "version"], timeout=30, check=False).returncode != 0:
        env["DOCKER_BUILDKIT"] = "0"
    return env


def build_image(tag: str, *, base_image: str, torch_index_url: str, log_path: Path) -> float:
    """Build ``tag``; the seconds it took. The full output goes to ``log_path`` (its tail into the error)."""
    args = [
        "docker",
        "build",
        "--network=host",
        "--pull=false",
        "--build-arg",
        f"BASE_IMAGE={base_image}",
        "--build-arg",
        f"TORCH_INDEX_URL={torch_index_url}",
        "-t",
        tag,
        str(REPO),
    ]
    start = time.monotonic()
    with log_path.open("w") as log:
        result = subprocess.run(
            args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, check=False
        )
    seconds = time.monotonic() - start
    if result.returncode != 0:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-40:])
        raise DockerError(
            f"docker build failed ({result.returncode}) after {seconds:.0f} s; {log_path}:\n{tail}"
        )
    return seconds


def prune_dangling() -> None:
    """Remove the untagged images that rebuilding ours left behind (no other image is touched): old builds of
    the app, then a base image replaced by a new recipe (dangling once no old build uses it)."""
    for label in (IMAGE_LABEL, BASE_RECIPE_LABEL):
        prune = ["image", "prune", "-f", "--filter", "dangling=true", "--filter", f"label={label}"]
        docker(prune, timeout=300, check=False)
