from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from metalizer_site.celery import app as celery_app


class HeldQueue:
    """Celery's in-memory broker, not eager: queued jobs wait here instead of running inline."""

    def drain(self, queue: str = "heavy") -> list[dict]:
        """Take every waiting message off ``queue``; returns their Celery headers (id, task, argsrepr)."""
        taken = []
        with celery_app.connection_for_write() as conn:
            simple = conn.SimpleQueue(queue, no_ack=True)
            try:
                while True:
                    try:
                        message = simple.get_nowait()
                    except simple.Empty:
                        break
                    taken.append(message.headers)
            finally:
                simple.close()
        return taken


@pytest.fixture
def held_queue(settings) -> Iterator[HeldQueue]:  # type: ignore[no-untyped-def]
    assert celery_app.conf.broker_url == "memory://", "unit tests run with QUEUE_BACKEND=eager"
    settings.CELERY_TASK_ALWAYS_EAGER = False
    celery_app.conf.task_always_eager = False
    held = HeldQueue()
    held.drain()
    try:
        yield held
    finally:
        held.drain()
        celery_app.conf.task_always_eager = True


@pytest.fixture
def unreachable_broker(settings) -> Iterator[None]:  # type: ignore[no-untyped-def]
    """A Redis broker on a port where nothing listens."""
    settings.CELERY_TASK_ALWAYS_EAGER = False
    celery_app.conf.task_always_eager = False
    celery_app.conf.broker_url = "redis://127.0.0.1:9/0"
    celery_app.close()
    try:
        yield
    finally:
        celery_app.conf.broker_url = "memory://"
        celery_app.conf.task_always_eager = True
        celery_app.close()


@pytest.fixture
def filesystem_broker(settings, tmp_path) -> Iterator[Path]:  # type: ignore[no-untyped-def]
    """The embedded default's broker (kombu filesystem transport) in a folder that does not exist yet."""
    root = tmp_path / "broker"
    options = {
        "data_folder_in": str(root / "queue"),
        "data_folder_out": str(root / "queue"),
        "control_folder": str(root / "control"),
        "store_processed": False,
    }
    settings.QUEUE_BACKEND = "embedded"
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = "filesystem://"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = options
    celery_app.conf.update(
        task_always_eager=False, broker_url="filesystem://", broker_transport_options=options
    )
    celery_app.close()
    try:
        yield root / "queue"
    finally:
        celery_app.conf.update(task_always_eager=True, broker_url="memory://", broker_transport_options={})
        celery_app.close()
