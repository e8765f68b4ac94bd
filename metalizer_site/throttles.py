"""The API's request throttles (DRF's anon and user rates), counted where every web process sees the count.

DRF's own classes count in the default cache, which is each process's memory: two gunicorn workers let twice
the rate through. These count in the ``throttles`` cache (Redis in production). The client's address is
DRF's ``get_ident`` with ``NUM_PROXIES`` set from ``METALIZER_TRUSTED_PROXIES`` (see
``metalizer_site.rate_limits.client_ip``, which reads it the same way). Uploads and re-styles are not
throttled here but admitted by ``jobs.admission``.

A throttle store that cannot be reached lets the request through (logged): the general rates protect
capacity, and an unreachable Redis already refuses what needs it (uploads get 503 from the queue).
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.cache import caches
from rest_framework.throttling import AnonRateThrottle, UserRateThrottle

logger = logging.getLogger(__name__)


class _SharedCount:
    """A SimpleRateThrottle counting in the ``throttles`` cache, open when that cache cannot be reached."""

    @property
    def cache(self) -> Any:
        return caches["throttles"]

    def allow_request(self, request: Any, view: Any) -> bool:
        try:
            return super().allow_request(request, view)  # type: ignore[misc]
        except Exception as exc:  # noqa: BLE001 - Redis down: its errors are several types
            logger.warning("request throttle store unreachable, request let through: %r", exc)
            return True


class SharedAnonRateThrottle(_SharedCount, AnonRateThrottle):
    pass


class SharedUserRateThrottle(_SharedCount, UserRateThrottle):
    pass
