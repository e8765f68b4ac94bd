"""The parts of `make docker-smoke` that need no Docker engine: what it reads from the deploy files and the
loopback torch index it builds with (pip itself must accept it). The smoke run is not part of the suite.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from metalizer_site.tests.test_deploy_files import parse_entry_point
from scripts.docker_smoke.base_image import sources
from scripts.docker_smoke.containers import compose_command, compose_healthcheck_flags
from scripts.docker_smoke.torch_index import local_cpu_wheel, torch_index, torch_pin


def test_worker_healthcheck_becomes_docker_run_flags_with_a_single_dollar() -> None:
    flags = compose_healthcheck_flags("worker-heavy")
    command = flags[flags.index("--health-cmd") + 1]
    assert "$$" not in command and "$HOSTNAME" in command
    ping = parse_entry_point(command.replace("$HOSTNAME", "vm"))
    assert ping.kind == "celery-inspect" and ping.params["destination"] == ["heavy@vm"]
    node = compose_command("worker-heavy")
    assert node[node.index("-n") + 1] == "heavy@%h", "the pinged name is the one the worker takes"
    assert flags[flags.index("--health-interval") + 1] == "60s"


def test_beat_runs_without_the_web_healthcheck() -> None:
    assert compose_healthcheck_flags("beat") == ["--no-healthcheck"]
    assert parse_entry_point(compose_command("beat")).kind == "celery-beat"


def test_base_image_sources_are_the_official_images_release_updates_and_security() -> None:
    text = sources("http://deb.debian.org/debian")
    assert "URIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\n" in text
    assert "URIs: http://deb.debian.org/debian-security\nSuites: bookworm-security\n" in text


def test_loopback_torch_index_offers_the_pinned_cpu_wheel_to_pip(tmp_path: Path) -> None:
    version = torch_pin()
    if local_cpu_wheel(version) is None:
        pytest.skip(f"no torch-{version}+cpu wheel in pip's find-links folders on this machine")
    with torch_index(tmp_path) as url:
        assert url.startswith("http://127.0.0.1:")
        result = subprocess.run(
            [sys.executable, "-m", "pip", "index", "versions", "torch", "--isolated", "--index-url", url],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 0, result.stderr
    assert f"torch ({version}+cpu)" in result.stdout
