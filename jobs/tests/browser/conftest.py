"""A real browser against the live dev server with a real worker.

One site for all browser tests: ``manage.py runserver`` and a Celery worker on the embedded default
(SQLite file, local media, kombu filesystem broker) sharing one data dir, with small upload limits so the
"too big" and "too long" checks can be shown with small files. The browser is Debian's chromium driven by
Playwright (``executable_path=/usr/bin/chromium``; Playwright's own browser download is never used).
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from metalizer_site.tests.integration import services

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]
MAX_BYTES = 2_000_000
MAX_DURATION_S = 12
DOCS = services.REPO / "docs"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives a real browser (Debian's chromium via Playwright)")


@dataclass
class Site:
    base: str
    data_dir: Path
    web: services.ManagedProcess
    worker: services.ManagedProcess

    def url(self, path: str) -> str:
        return self.base + path

    def logs(self) -> str:
        return f"--- web ---\n{self.web.log_tail(40)}\n--- worker ---\n{self.worker.log_tail(40)}"


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("browser-site")
    env = services.clean_env(
        {
            "METALIZER_DEBUG": "1",
            "METALIZER_DATA_DIR": str(root / "data"),
            "QUEUE_BACKEND": "embedded",
            "METALIZER_UPLOAD_MAX_BYTES": str(MAX_BYTES),
            "METALIZER_MAX_DURATION_S": str(MAX_DURATION_S),
            **services.UNLIMITED_ADMISSION,
        }
    )
    try:
        services.migrate(env)
    except services.ServiceError as exc:
        pytest.fail(str(exc), pytrace=False)
    port = services.free_port()
    args = [services.PYTHON, "manage.py", "runserver", f"{services.HOST}:{port}", "--noreload"]
    web = services.ManagedProcess("runserver", args, env, root / "web.log").start()
    worker = None
    try:
        base = f"http://{services.HOST}:{port}"
        services.wait_until(
            lambda: requests.get(f"{base}/healthz", timeout=5).status_code == 200,
            timeout=60,
            what=f"runserver on {base}",
        )
        worker = services.start_ready_worker(env, root / "worker.log", node="browser-tests@%h")
        yield Site(base=base, data_dir=root / "data", web=web, worker=worker)
    finally:
        if worker is not None:
            worker.kill()
        web.kill()


@pytest.fixture(scope="package")
def chromium() -> Iterator[Any]:
    """One browser for the browser tests, closed when they are done: Playwright's sync API runs an event loop
    in this thread while it is open, and Django refuses database calls from a thread with a running loop."""
    if not CHROMIUM.exists():
        pytest.fail("Debian's chromium is missing: apt-get install -y chromium", pytrace=False)
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def new_page(chromium: Any, tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """Open a page in a fresh browser context (its own cookies); closed at the end of the test."""
    contexts: list[Any] = []
    errors: list[str] = []

    def _open(*, width: int = 1280, height: int = 900, javascript: bool = True) -> Any:
        context = chromium.new_context(
            viewport={"width": width, "height": height},
            java_script_enabled=javascript,
            accept_downloads=True,
        )
        context.set_default_timeout(20_000)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        return page

    yield _open
    for context in contexts:
        context.close()
    assert errors == [], f"JavaScript errors on the page: {errors}"


@pytest.fixture
def song(tmp_path: Path) -> Callable[..., Path]:
    """A generated song file (synthetic band) of about ``seconds`` in the suffix's format."""
    from metalizer_site.tests.integration.songs import song_file

    def _make(name: str = "Beat Song.wav", seconds: float = 4.5, seed: int = 0) -> Path:
        path = tmp_path / "songs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return song_file(path, seconds=seconds, seed=seed)

    return _make


@pytest.fixture
def shots(tmp_path: Path) -> Callable[..., Path]:
    """Save a screenshot under the test's tmp dir (and, with ``docs=``, copy it to docs/)."""

    def _shot(page: Any, name: str, *, docs: str | None = None, full_page: bool = True) -> Path:
        path = tmp_path / "screenshots" / f"{name}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(path), full_page=full_page)
        if docs:
            DOCS.mkdir(exist_ok=True)
            shutil.copyfile(path, DOCS / docs)
        return path

    return _shot


def wait_for_job(site: Site, session: requests.Session, api_url: str, timeout: float = 180) -> dict[str, Any]:
    """Poll the API until the job is finished; the last body."""
    deadline = time.monotonic() + timeout
    while True:
        body = session.get(api_url, timeout=10).json()
        if body["status"] in ("succeeded", "failed", "cancelled"):
            return body
        assert time.monotonic() < deadline, f"job still {body['status']} after {timeout} s\n{site.logs()}"
        time.sleep(0.5)


@pytest.fixture(scope="session")
def finished_remix(site: Site, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A thrash remix of a 4-5 s generated song, made through the API; its API body (links.page: its page)."""
    from metalizer_site.tests.integration.songs import song_file

    path = song_file(tmp_path_factory.mktemp("remix-song") / "Beat Song.wav", seconds=4.0, seed=3)
    session = requests.Session()
    with path.open("rb") as fh:
        created = session.post(
            site.url("/api/jobs"),
            files={"file": (path.name, fh, "audio/wav")},
            data={"style": "thrash", "output_format": "mp3"},
            timeout=60,
        )
    assert created.status_code == 201, created.text
    body = wait_for_job(site, session, created.json()["url"])
    assert body["status"] == "succeeded", f"{body}\n{site.logs()}"
    return body
