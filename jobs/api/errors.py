"""Every API error has one shape: ``{"error": {"code": ..., "message": ...}}``."""

from __future__ import annotations

from typing import Any

from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class ApiError(exceptions.APIException):
    def __init__(self, code: str, message: str, status_code: int = status.HTTP_400_BAD_REQUEST) -> None:
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.error_code = code
        self.message = message


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
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    code, message = describe(exc)
    response.data = {"error": {"code": code, "message": message}}
    return response


def error_response(code: str, message: str, status_code: int) -> Response:
    return Response({"error": {"code": code, "message": message}}, status=status_code)
