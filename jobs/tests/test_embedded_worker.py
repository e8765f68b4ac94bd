"""The embedded default end to end, with real processes: runserver + a Celery worker on the filesystem broker.

No server of any kind is needed (SQLite file, local media, kombu filesystem transport). A worker killed
with SIGKILL mid-job leaves the job running; the restarted worker requeues it at start and it succeeds.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Processes:
    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = env
        self.logs = logs
        self.running: list[subprocess.Popen] = []

    def start(self, name: str, *args: str) -> subprocess.Popen:
        log = (self.logs / f"{name}.log").open("ab")
        proc = subprocess.Popen(
            args, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.running.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        proc.wait(timeout=30)

    def start_worker(self) -> subprocess.Popen:
        return self.start(
            "worker", str(BIN / "celery"), "-A", "metalizer_site", "worker", "-Q", "heavy,default", "-c", "1",
            "-n", "embedded@test", "--loglevel=INFO",
        )  # fmt: skip

    def stop_all(self) -> None:
        for proc in self.running:
            if proc.poll() is None:
                self.kill(proc)


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[tuple[Processes, str]]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("METALIZER_", "QUEUE_", "REDIS_", "DJANGO_"))
    }
    env.update(METALIZER_DATA_DIR=str(tmp_path / "data"), QUEUE_BACKEND="embedded")
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=REPO,
        env=env,
        check=True,
        timeout=120,
    )
    procs = Processes(env, tmp_path)
    port = free_port()
    procs.start("web", sys.executable, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload")
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{base}/healthz", timeout=5).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, (tmp_path / "web.log").read_text()[-2000:]
            time.sleep(0.3)
        yield procs, base
    finally:
        procs.stop_all()


def wait_for(session: requests.Session, url: str, predicate, timeout: float, log: Path) -> dict:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while True:
        body = session.get(url, timeout=10).json()
        if predicate(body):
            return body
        assert time.monotonic() < deadline, f"last state {body}\n{log.read_text()[-3000:]}"
        time.sleep(0.2)


def test_embedded_worker_survives_sigkill_mid_job_and_the_job_completes(embedded, make_song_file, tmp_path):
    procs, base = embedded
    song = make_song_file("long.wav", bars=24, tempo=140)  # ~41 s: long enough to be caught running
    worker = procs.start_worker()
    browser = requests.Session()
    with song.open("rb") as fh:
        created = browser.post(f"{base}/api/jobs", files={"file": ("long.wav", fh)}, data={"style": "black"})
    assert created.status_code == 201, created.text
    job_url = created.json()["url"]
    log = tmp_path / "worker.log"

    running = wait_for(browser, job_url, lambda j: j["status"] == "running" and j["progress"] > 3, 120, log)
    procs.kill(worker)  # the whole worker, pool child included, with no chance to clean up
    time.sleep(1)
    assert browser.get(job_url, timeout=10).json()["status"] == "running"

    procs.start_worker()
    final = wait_for(browser, job_url, lambda j: j["status"] in ("succeeded", "failed"), 240, log)
    assert final["status"] == "succeeded", final
    assert "requeued job" in log.read_text() and running["stage"]

    mix = browser.get(final["links"]["result"]["mix"], timeout=60)
    assert mix.status_code == 200 and mix.content[:4] == b"RIFF"
    assert browser.delete(job_url, timeout=30).status_code == 204
    media = tmp_path / "data" / "media" / "jobs"
    assert not media.exists() or [p for p in media.rglob("*") if p.is_file()] == []
