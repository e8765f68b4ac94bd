"""Every error answered under ``/api/`` is JSON in the one error shape, whoever produced it:
``{"error": {"code": ..., "message": ...}}``.

DRF views (both apps') raise ``ApiError``, let the services' refusals through (any ``CodedError``: an upload
refused, the queue or the store down, a source job gone; the status is the code's, from
``metalizer_site.error_codes``), or raise DRF's own exceptions, and ``exception_handler`` (DRF's
``EXCEPTION_HANDLER``, the API's one mapping of errors) answers them in the shape; ``ErrorSerializer``
documents it in the schema.
Everything else that can answer under ``/api/`` does not go through DRF: Django's 404 page for a path no
route matches (a malformed id, a typo), its 400/413 pages for a request it refuses before any view runs, the
500 page of an unhandled error (the technical pages in DEBUG). ``ApiErrorShapeMiddleware`` turns each of
those into the error shape, so an API client never has to parse HTML, and a new endpoint gets the same for
free.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

from django.core.exceptions import BadRequest, PermissionDenied, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from rest_framework import exceptions, serializers
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from metalizer_site.error_codes import CodedError

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"
DOCS_PATHS = ("/api/docs/",)  # HTML on purpose (Swagger UI)
HTTP_ANSWERS = (Http404, PermissionDenied, SuspiciousOperation, BadRequest)
INTERNAL_ERROR = "Something went wrong on our side. Please try again later."

# (code, message) for statuses answered outside a DRF view.
GENERIC_ERRORS: dict[int, tuple[str, str]] = {
    400: ("bad_request", "The request could not be understood (malformed headers, body or query)."),
    401: ("not_authenticated", "Authentication is needed for this call."),
    403: ("forbidden", "This call is not allowed for this caller."),
    404: ("not_found", "There is no such API endpoint or object: {path}"),
    405: ("method_not_allowed", "{method} is not allowed on {path}."),
    413: ("file_too_large", "The request body is larger than this server accepts."),
    416: ("range_not_satisfiable", "The requested byte range lies outside the file."),
    429: ("throttled", "Too many requests. Try again later."),
    500: ("internal_error", INTERNAL_ERROR),
    502: ("bad_gateway", "An upstream service did not answer properly. Please try again later."),
    503: ("unavailable", "The service is unavailable right now. Please try again in a minute."),
}


def error_body(code: str, message: str) -> dict[str, dict[str, str]]:
    return {"error": {"code": code, "message": message}}


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable and machine-readable, e.g. not_found, invalid_filter.")
    message = serializers.CharField(help_text="What went wrong and what to do, in plain words.")


class ErrorSerializer(serializers.Serializer):
    """The one shape of every error the API answers."""

    error = ErrorDetailSerializer()


# --- Errors raised in DRF views ----------------------------------------------------------------------------


class ApiError(CodedError, exceptions.APIException):
    """A ``CodedError`` as DRF answers it: the code's status, ``retry_after`` (seconds) as ``Retry-After``.

    ``status_code``, when given, must be the code's own (the registry decides; callers written before it may
    still say it).
    """

    def __init__(
        self,
        code: str,
        message: str = "",
        status_code: int | None = None,
        *,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(code, message, retry_after=retry_after)
        if status_code is not None and status_code != self.status:
            raise ValueError(f"{code} answers {self.status} (metalizer_site.error_codes), not {status_code}")
        self.status_code = self.status
        self.detail = self.message
        self.error_code = self.code
        self.wait = retry_after  # DRF's handler answers an exception's ``wait`` with Retry-After

    @classmethod
    def refused(cls, exc: CodedError) -> ApiError:
        """Any ``CodedError`` (an upload refused, a service unavailable) as the API answers it."""
        return cls(exc.code, exc.message, retry_after=exc.retry_after)


def _flatten(detail: Any, prefix: str = "") -> list[str]:
    if isinstance(detail, dict):
        parts: list[str] = []
        for key, value in detail.items():
            label = "" if key == "non_field_errors" else f"{key}: "
            parts.extend(_flatten(value, label))
        return parts
    if isinstance(detail, list):
        return [p for item in detail for p in _flatten(item, prefix)]
    return [f"{prefix}{detail}"]


def describe(exc: Exception) -> tuple[str, str]:
    if isinstance(exc, ApiError):
        return exc.error_code, exc.message
    if isinstance(exc, exceptions.ValidationError):
        return "invalid_options", " ".join(_flatten(exc.detail))
    if isinstance(exc, exceptions.Throttled):
        wait = f" Try again in {int(exc.wait)} s." if exc.wait else ""
        return "throttled", f"Too many requests.{wait}"
    if isinstance(exc, exceptions.APIException):
        return exc.default_code, " ".join(_flatten(exc.detail))
    return "error", str(exc)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, CodedError) and not isinstance(exc, ApiError):
        exc = ApiError.refused(exc)
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    code, message = describe(exc)
    response.data = error_body(code, message)
    return response


# --- Everything else under /api/ ---------------------------------------------------------------------------


def is_api_request(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX) and not request.path.startswith(DOCS_PATHS)


def in_error_shape(response: HttpResponse) -> bool:
    """True for a JSON body that already is ``{"error": {"code", "message"}}``."""
    if getattr(response, "streaming", False) or "json" not in response.get("Content-Type", ""):
        return False
    try:
        body = json.loads(response.content)
    except ValueError:
        return False
    error = body.get("error") if isinstance(body, dict) else None
    return isinstance(error, dict) and {"code", "message"} <= set(error)


def error_response(request: HttpRequest, status: int) -> JsonResponse:
    code, template = GENERIC_ERRORS.get(
        status, ("error" if status < 500 else "internal_error", "Request failed.")
    )
    message = template.format(path=request.path, method=request.method)
    return JsonResponse(error_body(code, message), status=status)


class ApiErrorShapeMiddleware:
    """Rewrites non-JSON error responses under ``/api/`` into the error shape (keeping headers such as
    ``Retry-After``, ``Allow`` and ``WWW-Authenticate``) and answers unhandled errors with a JSON 500, in
    DEBUG too."""

    KEPT_HEADERS = ("Retry-After", "Allow", "WWW-Authenticate", "Vary", "Content-Range")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not is_api_request(request) or response.status_code < 400 or in_error_shape(response):
            return response
        shaped = error_response(request, response.status_code)
        for header in self.KEPT_HEADERS:
            if header in response:
                shaped[header] = response[header]
        return shaped

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_api_request(request) or isinstance(exception, HTTP_ANSWERS):
            return None  # Django answers these with their own status; __call__ then shapes the body
        logger.exception("unhandled error answering %s %s", request.method, request.path)
        return error_response(request, 500)
