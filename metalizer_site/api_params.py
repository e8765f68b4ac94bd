"""Query parameters read strictly: a value the schema does not allow is a 400 in the error shape, never
silently ignored (an ignored ``?kind=drmus`` looks like "no drum assets" to the caller)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rest_framework.exceptions import NotFound
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request

from metalizer_site.api_errors import ApiError

TRUE, FALSE = ("true", "1"), ("false", "0")
MAX_DB_INT = 2**31 - 1  # PostgreSQL integer: a larger id can name no row


def text(request: Request, name: str) -> str | None:
    """Free text; None when absent; 400 for a NUL character (no database can store one)."""
    value = request.query_params.get(name)
    if value is not None and "\x00" in value:
        raise ApiError("invalid_filter", f"{name} may not contain NUL characters.")
    return value


def choice(request: Request, name: str, choices: Iterable[str]) -> str | None:
    """The parameter when it is one of ``choices``; None when absent; 400 otherwise (empty included)."""
    value = request.query_params.get(name)
    allowed = list(choices)
    if value is None:
        return None
    if value not in allowed:
        raise ApiError("invalid_filter", f"{name} must be one of {', '.join(allowed)}, not {value!r}.")
    return value


def flag(request: Request, name: str) -> bool | None:
    """true/false (any case, or 1/0); None when absent; 400 otherwise."""
    value = request.query_params.get(name)
    if value is None:
        return None
    if value.lower() in TRUE:
        return True
    if value.lower() in FALSE:
        return False
    raise ApiError("invalid_filter", f"{name} must be true or false, not {value!r}.")


def listed(request: Request, name: str, choices: Iterable[str]) -> set[str]:
    """A comma-separated list of ``choices`` (``?include=a,b``, or the name repeated); 400 for others."""
    allowed = list(choices)
    values = {v for raw in request.query_params.getlist(name) for v in raw.split(",")}
    unknown = sorted(v for v in values if v not in allowed)
    if unknown:
        raise ApiError(
            "invalid_parameter", f"{name} takes {', '.join(allowed)} (comma-separated), not {unknown[0]!r}."
        )
    return values


def positive_int(value: str, name: str, *, maximum: int = MAX_DB_INT) -> int:
    if not value.isdigit() or not 1 <= int(value) <= maximum:
        raise ApiError(
            "invalid_parameter", f"{name} must be a whole number from 1 to {maximum}, not {value!r}."
        )
    return int(value)


class StrictPageNumberPagination(PageNumberPagination):
    """Pages as DRF numbers them, but a page or page size that is not a valid number, or a page past the
    last, is a 400 (DRF answers 404 for the first and silently uses the default size for the second)."""

    page_size_query_param = "page_size"

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        return positive_int(raw, self.page_size_query_param, maximum=self.max_page_size or MAX_DB_INT)

    def paginate_queryset(self, queryset: Any, request: Request, view: Any = None) -> list[Any] | None:
        raw = request.query_params.get(self.page_query_param)
        if raw is not None:
            positive_int(raw, self.page_query_param)
        try:
            return super().paginate_queryset(queryset, request, view)
        except NotFound:  # DRF's answer to a page past the last
            pages = self.django_paginator_class(queryset, self.get_page_size(request)).num_pages
            raise ApiError("invalid_page", f"Page {raw} does not exist: there are {pages}.") from None

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            parameter["schema"]["minimum"] = 1
            if parameter["name"] == self.page_size_query_param and self.max_page_size:
                parameter["schema"]["maximum"] = self.max_page_size
            else:
                parameter["schema"]["maximum"] = MAX_DB_INT
        return parameters


def only(request: Request, allowed: Iterable[str]) -> None:
    """400 for a query parameter this call does not take: an ignored one would look honoured."""
    known = set(allowed)
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        takes = ", ".join(sorted(known)) if known else "no query parameters"
        raise ApiError("invalid_parameter", f"This call does not take {unknown[0]!r}; it takes {takes}.")
