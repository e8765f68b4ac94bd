"""Shared pytest fixtures for the Django apps.

In-process tests run on the embedded default (SQLite, local storage in a tmp dir) with Celery eager,
whatever QUEUE_BACKEND the environment names; tests of real brokers and workers start their own
processes with their own environment (see metalizer_site/tests/integration and test_embedded_worker).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


def pytest_configure(config: pytest.Config) -> None:
    """Run tasks inline (eager, in-memory broker) in the test process.

    Settings are already loaded by pytest-django at this point, so the switch is made on the live
    settings and the Celery app rather than through the environment.
    """
    # WhiteNoise notes that STATIC_ROOT is not collected yet; in development and tests it needn't be.
    config.addinivalue_line("filterwarnings", "ignore:No directory at:UserWarning")
    from django.conf import settings

    settings.QUEUE_BACKEND = "eager"
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.CELERY_BROKER_URL = "memory://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}
    settings.METALIZER_BROKER_VARIABLE = "QUEUE_BACKEND"
    from metalizer_site.celery import app

    app.conf.update(task_always_eager=True, broker_url="memory://", broker_transport_options={})


@pytest.fixture(autouse=True)
def _parts_rendered_anew() -> Iterator[None]:
    """Every play in a test renders every part (the process's part memo holds nothing), so a test comparing
    two plays compares two renders; the memo's own tests turn it on (``part_memo_on``)."""
    from pipeline.part_memo import MEMO

    room = MEMO.max_bytes
    MEMO.max_bytes = 0
    MEMO.clear()
    yield
    MEMO.max_bytes = room
    MEMO.clear()


@pytest.fixture
def part_memo_on() -> Iterator[None]:
    """The part memo with its production budget, empty at the start of the test."""
    from pipeline.part_memo import MEMO, MEMO_BYTES

    MEMO.max_bytes = MEMO_BYTES
    MEMO.clear()
    yield


@pytest.fixture(autouse=True)
def media_in_tmp(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path | None]:
    """Point local storage and the worker's scratch folder at this test's tmp dir (every test)."""
    settings = request.getfixturevalue("settings")
    if settings.METALIZER_STORAGE != "local":
        yield None
        return
    media = tmp_path / "media"
    media.mkdir()
    settings.MEDIA_ROOT = media
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(media), "base_url": "/media/"},
        },
    }
    settings.METALIZER_WORK_DIR = tmp_path / "work"
    settings.METALIZER_STEM_CACHE_DIR = tmp_path / "stem-cache"
    settings.METALIZER_ASSET_CACHE_DIR = tmp_path / "asset-cache"
    yield media


@pytest.fixture(autouse=True)
def _clear_throttle_cache(request: pytest.FixtureRequest) -> None:
    """The API's request throttles count in a cache; each test starts with a clean count (the admission
    counts of the embedded default live in the test's database)."""
    from django.core.cache import caches

    caches["default"].clear()
    caches["throttles"].clear()


@pytest.fixture
def make_song_file(tmp_path: Path) -> Callable[..., Path]:
    """Write a short generated song (default 2 bars at 140 BPM, about 3.5 s, WAV) and return its path."""
    from pipeline.testing import make_song, write_song

    def _make(name: str = "song.wav", *, bars: int = 2, tempo: float = 140.0, seed: int = 0) -> Path:
        song = make_song(bars=bars, tempo=tempo, seed=seed)
        path = tmp_path / "songs" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return write_song(path, song)

    return _make


@pytest.fixture
def song_upload(make_song_file: Callable[..., Path]) -> Callable[..., object]:
    """A Django SimpleUploadedFile holding a generated song, ready for the test client."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    def _upload(name: str = "song.wav", **kwargs: object) -> SimpleUploadedFile:
        path = make_song_file(name, **kwargs)
        return SimpleUploadedFile(path.name, path.read_bytes(), content_type="application/octet-stream")

    return _upload
