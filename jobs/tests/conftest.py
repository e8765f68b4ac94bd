from __future__ import annotations

from collections.abc import Iterator

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
