"""The seed Metalizer API's job calls, answered unchanged beside the native API.

Which contract answers is decided by how the job was made, so neither kind of client has to change:

- ``POST /api/remix`` exists only in the seed contract; a job made there is stored with ``contract="seed"``.
- ``GET /api/jobs/{id}`` and ``DELETE /api/jobs/{id}`` answer a seed job in the seed shape and any other job
  in the native one. The header ``X-Metalizer-Contract: seed`` or ``native`` asks for one shape explicitly.
- ``GET /api/jobs?limit=N`` (``limit`` is the seed's parameter; the native list pages with ``page`` and
  ``page_size``) answers the seed's plain list.
- ``GET /api/jobs/{id}/result`` is one call in both: the WAV, 409 while unfinished, 404 when missing.

In the seed contract the job id is the caller's only handle (it had no accounts or sessions), so whoever
holds a seed job's id may delete it, as they may already read and download it; native jobs stay deletable by
their creator only.
"""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from jobs import services
from jobs.api.serializers import JobSerializer
from jobs.models import Job
from metalizer_site import api_params
from metalizer_site import error_codes as codes
from metalizer_site.api_errors import ApiError, ErrorSerializer, error_body
from metalizer_site.uploads import declared_too_large

SEED = "seed"
NATIVE = "native"
CONTRACT_HEADER = "X-Metalizer-Contract"
# The seed's four statuses; a cancelled job is an error to a seed client (it will never complete).
SEED_STATUS = {
    Job.Status.QUEUED: "queued",
    Job.Status.RUNNING: "processing",
    Job.Status.SUCCEEDED: "complete",
    Job.Status.FAILED: "error",
    Job.Status.CANCELLED: "error",
}
SEED_STATUSES = ["queued", "processing", "complete", "error"]
# The upload content types the seed accepted; any other is 415.
SEED_CONTENT_TYPES = ("audio/mpeg", "audio/wav", "audio/x-wav", "audio/x-m4a")
MAX_LIST_LIMIT = 200
POLL_INTERVAL_S = 0.5


class _SeedJobFields(serializers.Serializer):
    """What every seed answer about a job carries."""

    job_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=SEED_STATUSES)
    created_at = serializers.DateTimeField()


class SeedJobSerializer(_SeedJobFields):
    error = serializers.CharField(allow_null=True)
    download_url = serializers.CharField(required=False, help_text="Present once the job is complete.")


class SeedListItemSerializer(_SeedJobFields):
    updated_at = serializers.DateTimeField()


JOB_OR_SEED = PolymorphicProxySerializer(
    component_name="JobInEitherContract",
    serializers=[JobSerializer, SeedJobSerializer],
    resource_type_field_name=None,
)


def page_or_seed_list(page: type[serializers.Serializer]) -> PolymorphicProxySerializer:
    """GET /api/jobs answers the native page, or with ``limit`` the seed's plain list."""
    return PolymorphicProxySerializer(
        component_name="JobPageOrSeedList",
        serializers=[page, SeedListItemSerializer(many=True)],
        resource_type_field_name=None,
        many=False,
    )


SeedQueuedSerializer = inline_serializer(
    "SeedQueued", {"job_id": serializers.UUIDField(), "status": serializers.CharField()}
)
SeedDeletedSerializer = inline_serializer(
    "SeedDeleted", {"job_id": serializers.UUIDField(), "status": serializers.CharField()}
)
LIMIT_PARAMETER = OpenApiParameter(
    "limit",
    {"type": "integer", "minimum": 1, "maximum": MAX_LIST_LIMIT},
    description="The seed contract's list: the caller's newest `limit` jobs as a plain JSON array of "
    '`{"job_id", "status", "created_at", "updated_at"}` in place of the page (takes no other parameter).',
)
CONTRACT_PARAMETER = OpenApiParameter(
    CONTRACT_HEADER,
    str,
    location=OpenApiParameter.HEADER,
    enum=[SEED, NATIVE],
    description="The shape of the answer: seed (the original Metalizer API's) or native. Without it, a job "
    "made through POST /api/remix answers in the seed shape and every other job in the native one.",
)


def wants_seed(request: Request, job: Job) -> bool:
    """True when this request about ``job`` is answered in the seed contract's shape."""
    asked = request.headers.get(CONTRACT_HEADER)
    if asked is not None:
        if asked not in (SEED, NATIVE):
            raise ApiError(
                "invalid_parameter", f"{CONTRACT_HEADER} must be {SEED} or {NATIVE}, not {asked!r}."
            )
        return asked == SEED
    return job.contract == SEED


def result_path(job: Job) -> str:
    return reverse("job-result", args=[job.pk])


def job_body(job: Job) -> dict[str, Any]:
    body: dict[str, Any] = {
        "job_id": str(job.pk),
        "status": SEED_STATUS[job.status],
        "error": (job.error_message or "This remix was cancelled.")
        if SEED_STATUS[job.status] == "error"
        else None,
        "created_at": job.created_at.isoformat(),
    }
    if job.is_ready:
        body["download_url"] = result_path(job)
    return body


def list_item(job: Job) -> dict[str, Any]:
    return {
        "job_id": str(job.pk),
        "status": SEED_STATUS[job.status],
        "created_at": job.created_at.isoformat(),
        "updated_at": job.updated_at.isoformat(),
    }


def list_jobs(request: Request) -> Response:
    """``GET /api/jobs?limit=N``: the caller's newest N jobs as a plain list (``limit`` 1..200)."""
    api_params.only(request, {"limit"})
    limit = api_params.positive_int(request.query_params["limit"], "limit", maximum=MAX_LIST_LIMIT)
    caller = services.Caller.of(request)
    jobs = Job.objects.owned_by(user=caller.user, session_key=caller.session_key)[:limit]
    return Response([list_item(job) for job in jobs])


def deleted(job_id: str) -> Response:
    return Response({"job_id": job_id, "status": "deleted"})


class SeedRemixView(APIView):
    """``POST /api/remix``: the seed contract's upload."""

    parser_classes = [MultiPartParser]

    @extend_schema(
        operation_id="seed_remix",
        summary="Remix a song (the seed Metalizer API's call)",
        description=(
            "The original Metalizer API's upload, kept unchanged for its clients: multipart `file` of "
            f"type {', '.join(SEED_CONTENT_TYPES)} (others 415), with the default options. With "
            '`?background=true` it answers `{"job_id", "status": "queued"}` at once; poll '
            "`GET /api/jobs/{id}` (seed shape for this job) until `complete` or `error`, then "
            "`GET /api/jobs/{id}/result`. Without it the request waits for the remix and answers the WAV, "
            "for at most METALIZER_SEED_REMIX_WAIT_S seconds (100 by default, below the usual proxy and "
            'gunicorn timeouts): past that it answers 202 with `{"job_id", "status"}` and a `Location` to '
            "poll, and the remix goes on. A failed remix answers 500 with the reason. Jobs made here are "
            "the caller's (session cookie or token) like any other."
        ),
        parameters=[
            OpenApiParameter("background", bool, description="Answer at once with the job id (true).")
        ],
        request={
            "multipart/form-data": inline_serializer("SeedRemixUpload", {"file": serializers.FileField()})
        },
        responses={
            (200, "audio/wav"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The remix (blocking call)."
            ),
            (200, "application/json"): OpenApiResponse(
                SeedQueuedSerializer, description="background=true: the job is queued."
            ),
            202: OpenApiResponse(
                SeedQueuedSerializer, description="The remix outlasted the wait; poll the job instead."
            ),
            400: ErrorSerializer,
            413: ErrorSerializer,
            415: ErrorSerializer,
            429: ErrorSerializer,
            500: OpenApiResponse(ErrorSerializer, description="The remix failed; the message says why."),
            503: ErrorSerializer,
        },
    )
    def post(self, request: Request) -> Any:
        from jobs.api.views import serve_result, too_large_error

        api_params.only(request, {"background"})
        background = bool(api_params.flag(request, "background"))
        django_request = request._request
        if declared_too_large(django_request):
            raise too_large_error()
        request.data  # noqa: B018 -- parses the body through the size-capped upload handlers
        if getattr(django_request, "upload_too_large", False):
            raise too_large_error()
        uploaded = request.FILES.get("file")
        if uploaded is None:
            raise ApiError("no_file", "Attach the song as the multipart field 'file'.")
        content_type = (uploaded.content_type or "").split(";")[0].strip().lower()
        if content_type not in SEED_CONTENT_TYPES:
            raise ApiError(
                "unsupported_media_type",
                f"The file's type {content_type or '(none)'} is not accepted here; send "
                f"{', '.join(SEED_CONTENT_TYPES)}.",
            )
        caller = services.Caller.of(request, create_session=True)
        job = services.submit_upload(uploaded, {}, caller)  # its refusals: the API's handler answers them
        Job.objects.filter(pk=job.pk).update(contract=SEED)
        job.refresh_from_db()
        if background:
            return Response({"job_id": str(job.pk), "status": "queued"})
        job = wait_for(job, settings.METALIZER_SEED_REMIX_WAIT_S)
        if job.is_ready:
            return serve_result(request, job, "mix", "wav")
        if job.is_finished:
            # The seed answered a failed remix with 500 and the job's own error: not a refusal of the request,
            # so not a registry status.
            return Response(
                error_body(job.error_code or codes.JOB_FAILED, job_body(job)["error"]),
                status=status.HTTP_500_INTERNAL_SERVER_ERROR,
            )
        location = reverse("job-detail", args=[job.pk])
        body = {"job_id": str(job.pk), "status": SEED_STATUS[job.status]}
        return Response(body, status=status.HTTP_202_ACCEPTED, headers={"Location": location})


def wait_for(job: Job, seconds: float) -> Job:
    """The job once finished, or as it is after ``seconds``."""
    deadline = time.monotonic() + seconds
    while not job.is_finished and time.monotonic() < deadline:
        time.sleep(POLL_INTERVAL_S)
        job.refresh_from_db()
    return job
