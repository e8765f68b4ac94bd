"""/healthz: can this instance take a song and give it back? (database, broker, storage)."""

from __future__ import annotations

import logging
import uuid

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from metalizer_site.celery import broker_problem

logger = logging.getLogger(__name__)


def check_database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


def check_storage() -> str | None:
    """Write, read back and delete a tiny object: the same operations a job needs."""
    key = f"healthz/{uuid.uuid4().hex}.txt"
    try:
        saved = default_storage.save(key, ContentFile(b"ok"))
        try:
            with default_storage.open(saved, "rb") as fh:
                if fh.read() != b"ok":
                    return "storage returned different bytes than were written"
        finally:
            default_storage.delete(saved)
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"
    return None


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    problems = {"database": check_database(), "broker": broker_problem(), "storage": check_storage()}
    body = {name: ("ok" if problem is None else f"error: {problem}") for name, problem in problems.items()}
    failing = [name for name, problem in problems.items() if problem]
    if failing:
        logger.warning("healthz failing: %s", body)
        return JsonResponse(body, status=503)
    return JsonResponse(body)
