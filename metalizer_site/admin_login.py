"""The admin's login, throttled: a client address gets ``METALIZER_THROTTLE_ADMIN_LOGIN`` failed attempts per
window (counted where every web process sees them, ``metalizer_site.rate_limits``), then a 429 page with
``Retry-After`` until the window resets, whatever password it tries. Successful logins are not counted.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from metalizer_site import rate_limits
from pipeline import format_duration

logger = logging.getLogger(__name__)
SCOPE = "admin-login"


def throttled_login(request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
    if request.method != "POST":
        return admin.site.login(request, extra_context)
    address = rate_limits.caller_identity(ip=rate_limits.client_ip(request))
    rate = settings.METALIZER_ADMIN_LOGIN_RATE
    try:
        wait = rate_limits.peek(SCOPE, address, rate)
    except rate_limits.RateStoreUnavailable as exc:
        logger.warning("admin login count unavailable, attempt let through: %s", exc)
        return admin.site.login(request, extra_context)
    if wait is not None:
        return _refused(request, wait)
    response = admin.site.login(request, extra_context)
    if response.status_code == 200:  # the form again: the credentials were refused
        try:
            rate_limits.hit(SCOPE, address, rate)
        except rate_limits.RateStoreUnavailable as exc:
            logger.warning("admin login count unavailable: %s", exc)
    return response


def _refused(request: HttpRequest, wait: int) -> HttpResponse:
    context = {
        **admin.site.each_context(request),
        "title": "Too many login attempts",
        "wait": format_duration(wait),
    }
    response = render(request, "admin/login_throttled.html", context, status=429)
    response["Retry-After"] = str(wait)
    return response
