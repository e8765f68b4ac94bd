"""GET /api/jobs: the caller's jobs, paged like /api/assets (``page``, ``page_size``); any other parameter
is refused, never ignored. ``limit`` is the seed contract's list (jobs.api.seed_contract)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from jobs import services
from jobs.api.serializers import JobSerializer
from jobs.models import Job
from metalizer_site import api_params
from metalizer_site.api_params import StrictPageNumberPagination

LIST_PARAMETERS = {"page", "page_size", "include"}
PAGE_PARAMETERS = [
    OpenApiParameter("page", {"type": "integer", "minimum": 1}, description="The page number (from 1)."),
    OpenApiParameter(
        "page_size", {"type": "integer", "minimum": 1, "maximum": 200}, description="Jobs per page (50)."
    ),
]


class JobPagination(StrictPageNumberPagination):
    page_size = 50
    max_page_size = 200


class JobPageSerializer(serializers.Serializer):
    """The page's shape, for the schema."""

    count = serializers.IntegerField()
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
    results = JobSerializer(many=True)


def job_page(request: Request, view: object, include: set[str]) -> Response:
    api_params.only(request, LIST_PARAMETERS)
    caller = services.Caller.of(request)
    jobs = Job.objects.owned_by(user=caller.user, session_key=caller.session_key).order_by(
        "-created_at", "pk"
    )
    paginator = JobPagination()
    page = paginator.paginate_queryset(jobs, request, view=view)
    context = {"request": request, "include": include}
    return paginator.get_paginated_response(JobSerializer(page, many=True, context=context).data)
