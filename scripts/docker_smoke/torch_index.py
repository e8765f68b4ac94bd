"""Where torch comes from in the build: the PyTorch CPU index, or this machine's CPU wheel on loopback.

The PyTorch CPU index cannot be reached here, but the CPU wheel of the pinned release lies on disk (pip's
``find-links`` folder, ``pip config list``). It is served as a one-package PEP 503 index on 127.0.0.1, which a
``docker build --network=host`` reaches as ``TORCH_INDEX_URL`` (pip treats loopback as a secure origin).
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import requests

PYTORCH_CPU_INDEX = "https://download.pytorch.org/whl/cpu"
REPO = Path(__file__).resolve().parents[2]


def torch_pin() -> str:
    """The torch version requirements.txt pins (``torch==X.Y.Z``)."""
    for line in (REPO / "requirements.txt").read_text().splitlines():
        match = re.fullmatch(r"torch==([\w.]+)", line.strip())
        if match:
            return match.group(1)
    raise RuntimeError("requirements.txt has no exact torch pin")


def pip_find_links() -> list[Path]:
    """The folders pip's configuration (files and PIP_* variables) names as ``find-links``."""
    result = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True, check=False
    )
    folders: list[Path] = []
    for line in result.stdout.splitlines():
        key, _, value = line.partition("=")
        if key.endswith(".find-links"):
            folders += [Path(v) for v in value.strip("'\"").split() if not v.startswith(("http:", "https:"))]
    return folders


def local_cpu_wheel(version: str) -> Path | None:
    """The on-disk CPU wheel of torch ``version`` for this Python (cp311) on this machine, if any."""
    tag = f"cp{sys.version_info.major}{sys.version_info.minor}"
    for folder in pip_find_links():
        for wheel in sorted(folder.glob(f"torch-{version}+cpu-{tag}-{tag}-*linux*_x86_64.whl")):
            return wheel
    return None


def index_port(wheel_name: str) -> int:
    """A port that stays the same from run to run (TORCH_INDEX_URL is part of the build cache's key, so a new
    port would reinstall every requirement); a free one when that port is taken."""
    preferred = 40000 + int(hashlib.sha256(wheel_name.encode()).hexdigest(), 16) % 10000
    for port in (preferred, 0):
        with socket.socket() as probe, contextlib.suppress(OSError):
            probe.bind(("127.0.0.1", port))
            return int(probe.getsockname()[1])
    raise RuntimeError("no free port on 127.0.0.1 for the torch index")


def index_reachable(url: str, timeout: float = 10) -> bool:
    with contextlib.suppress(requests.RequestException):
        return requests.get(f"{url}/torch/", timeout=timeout).status_code == 200
    return False


@contextlib.contextmanager
def torch_index(workdir: Path) -> Iterator[str]:
    """Yield the TORCH_INDEX_URL for the build: the PyTorch CPU index if it answers, else a loopback one."""
    version = torch_pin()
    wheel = local_cpu_wheel(version)
    if wheel is None:
        if not index_reachable(PYTORCH_CPU_INDEX):
            raise RuntimeError(
                f"neither the PyTorch CPU index nor a torch-{version}+cpu wheel in pip's find-links folders"
            )
        print(f"torch: {PYTORCH_CPU_INDEX}", flush=True)
        yield PYTORCH_CPU_INDEX
        return
    package = workdir / "torch-index" / "torch"
    package.mkdir(parents=True, exist_ok=True)
    link = package / wheel.name
    link.unlink(missing_ok=True)
    link.symlink_to(wheel)
    port = index_port(wheel.name)
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "http.server",
            str(port),
            "--bind",
            "127.0.0.1",
            "--directory",
            str(package.parent),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while not index_reachable(url, timeout=2):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the loopback torch index on {url} did not start")
            time.sleep(0.2)
        print(f"torch: {wheel} served on {url}/", flush=True)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)
