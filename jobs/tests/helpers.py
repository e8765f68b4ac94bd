"""Small helpers shared by the jobs tests."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings


def stored_files() -> list[Path]:
    """Every file in the (per-test, local) media storage."""
    root = Path(settings.STORAGES["default"]["OPTIONS"]["location"])
    return sorted(p for p in root.rglob("*") if p.is_file())


def error_of(response) -> dict:  # type: ignore[no-untyped-def]
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message"}, body
    assert body["error"]["message"], body
    return body["error"]
