"""/healthz names the part that is failing."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_healthz_reports_ok_for_database_broker_and_storage(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "ok", "storage": "ok"}


def test_healthz_names_a_broken_storage(client, settings, tmp_path):
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the media folder should be")
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(blocker)},
        },
    }
    response = client.get("/healthz/")
    assert response.status_code == 503
    body = response.json()
    assert body["database"] == "ok" and body["broker"] == "ok"
    assert body["storage"].startswith("error:")


def test_healthz_names_an_unreachable_broker_and_the_variable(client, settings):
    settings.QUEUE_BACKEND = "redis"
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:9/0"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 1}
    settings.METALIZER_BROKER_VARIABLE = "REDIS_URL"
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["storage"] == "ok"
    assert body["broker"].startswith("error:") and "Check REDIS_URL" in body["broker"]
