"""/api/jobs: upload a song, follow its progress, download the remix, delete it."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from jobs import services
from jobs.api import job_facts, listing, result_params, seed_contract
from jobs.api.serializers import (
    JobCreatedSerializer,
    JobSerializer,
    JobUploadSerializer,
    RemixOptionsSerializer,
    RemixRequestSerializer,
    job_api_url,
)
from jobs.models import RESULT_PARTS, Job
from jobs.results import (
    CONTENT_TYPES,
    EXTRA_PARTS,
    PICTURE_FILE_TYPES,
    PICTURE_FORMATS,
    PartDamaged,
    PartUnavailable,
    default_format,
    download_name,
    original_key,
    picture_key,
    result_key,
    served_early,
    stems_zip_key,
)
from jobs.transcode import TranscodeError
from metalizer_site import api_params
from metalizer_site import error_codes as codes
from metalizer_site.api_errors import ApiError, ErrorSerializer
from metalizer_site.downloads import serve_stored
from metalizer_site.uploads import declared_too_large, too_large, upload_cap
from pipeline import FORMAT_CHOICES, INVALID_OPTIONS, OUTPUT_FORMATS, spelled


def get_job_or_404(pk: Any) -> Job:
    try:
        job_id = uuid.UUID(str(pk))
    except ValueError:
        raise ApiError(codes.NOT_FOUND, "No such job.") from None
    job = Job.objects.filter(pk=job_id).first()
    if job is None:
        raise ApiError(codes.NOT_FOUND, "No such job (it may have expired).")
    return job


# POST /api/jobs/{id}/remix answers with these statuses; the error codes of each, for the schema.
REMIX_ERRORS = {
    400: "invalid_options: an option is not valid.",
    403: "forbidden: only the browser session or API token that created the source job may re-style it "
    "(authentication_failed: the token is not valid).",
    404: "not_found: no such job (it may have expired).",
    409: "not_ready / job_failed / job_cancelled: the source is not a finished remix; "
    "source_unavailable: its song is no longer stored.",
    415: "unsupported_media_type: send JSON, multipart or URL-encoded form data.",
    429: "throttled: too many uploads and re-styles in a short time (they share one limit); "
    "too_many_unfinished_jobs / queued_audio_limit: the caller's remixes waiting or in progress are at a "
    "cap. Retry-After says when to try again.",
    503: "queue_unavailable: the remix queue is not reachable; nothing was created.",
}


INCLUDE_PARAMETER = OpenApiParameter(
    "include",
    {"type": "array", "items": {"type": "string", "enum": list(job_facts.INCLUDES)}},
    style="form",
    explode=False,
    description="Full records in place of the summaries: analysis (every beat, bar and chord), assets (every "
    "pack and file played or skipped, with their hashes: for staff only, like /api/assets; other callers get "
    "the summary). Comma-separated.",
)
DOWNLOAD_TYPES = sorted({*CONTENT_TYPES.values(), "application/zip", "image/png", "image/svg+xml"})


def included(request: Request) -> set[str]:
    return api_params.listed(request, "include", job_facts.INCLUDES)


class JobViewSet(viewsets.ViewSet):
    """Remix jobs. Anyone holding a job id may read it; only its creator may list, re-style or delete it."""

    parser_classes = [MultiPartParser, FormParser]
    lookup_value_regex = "[^/]+"
    lookup_openapi_type = OpenApiTypes.UUID

    @extend_schema(
        parameters=[INCLUDE_PARAMETER, *listing.PAGE_PARAMETERS, seed_contract.LIMIT_PARAMETER],
        responses={200: seed_contract.page_or_seed_list(listing.JobPageSerializer)},
    )
    def list(self, request: Request) -> Response:
        if "limit" in request.query_params:
            return seed_contract.list_jobs(request)
        return listing.job_page(request, self, included(request))

    @extend_schema(
        request={"multipart/form-data": JobUploadSerializer},
        responses={
            201: JobCreatedSerializer,
            400: ErrorSerializer,
            413: ErrorSerializer,
            429: OpenApiResponse(ErrorSerializer, description=REMIX_ERRORS[429]),
            503: ErrorSerializer,
        },
    )
    def create(self, request: Request) -> Response:
        django_request = request._request
        if declared_too_large(django_request):
            raise too_large_error()
        data = request.data  # parses the body through the size-capped upload handlers
        if getattr(django_request, "upload_too_large", False):
            raise too_large_error()
        options = RemixOptionsSerializer.from_form_data(data)
        options.is_valid(raise_exception=True)
        caller = services.Caller.of(request, create_session=True)
        # A refusal (UploadRejected, QueueUnavailable...) is a CodedError: the API's handler answers it.
        job = services.submit_upload(request.FILES.get("file"), dict(options.validated_data), caller)
        job.refresh_from_db()
        body = {"id": str(job.pk), "status": job.status, "url": job_api_url(request, job)}
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": body["url"]})

    @extend_schema(
        parameters=[INCLUDE_PARAMETER, seed_contract.CONTRACT_PARAMETER],
        responses={200: seed_contract.JOB_OR_SEED, 404: ErrorSerializer},
    )
    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        """The job's status and facts. What the job page polls: analysis and assets_used are summaries
        unless ``include`` asks for the full records."""
        context = {"request": request, "include": included(request)}
        job = get_job_or_404(pk)
        if seed_contract.wants_seed(request, job):
            return Response(seed_contract.job_body(job))
        return Response(JobSerializer(job, context=context).data)

    @extend_schema(responses={200: job_facts.AnalysisSerializer, 404: ErrorSerializer, 409: ErrorSerializer})
    @action(detail=True, methods=["get"], url_path="analysis")
    def analysis(self, request: Request, pk: str | None = None) -> Response:
        """The full analysis of a finished job: tempo, key, every beat, bar line, chord and section."""
        job = get_job_or_404(pk)
        if not job.analysis:
            if job.is_finished and job.status != Job.Status.SUCCEEDED:
                raise not_ready_error(job)
            raise ApiError(
                codes.NOT_READY,
                f"The song is not analysed yet ({job.status}, {job.stage}).",
            )
        return Response(job.analysis)

    @extend_schema(
        parameters=[seed_contract.CONTRACT_PARAMETER],
        responses={
            200: OpenApiResponse(seed_contract.SeedDeletedSerializer, description="A seed job, deleted."),
            204: None,
            403: ErrorSerializer,
            404: ErrorSerializer,
        },
    )
    def destroy(self, request: Request, pk: str | None = None) -> Response:
        job = get_job_or_404(pk)
        seed, job_id = seed_contract.wants_seed(request, job), str(job.pk)
        if job.contract != seed_contract.SEED and not services.Caller.of(request).owns(job):
            raise ApiError(
                codes.FORBIDDEN,
                "Only the browser session or API token that created this job can delete it.",
            )
        services.delete_job(job)  # StorageUnavailable: answered by the API's handler (503)
        if seed:
            return seed_contract.deleted(job_id)
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(
        summary="Play a finished remix's song again with other options",
        description=(
            "Creates a new job, owned by the caller and linked to this one (`source`), that plays the same "
            "stored song with the options given; any option left out keeps the source job's value. The new "
            "job reuses the source's separated stems (stem cache) and analysis, so it only arranges, "
            "renders and masters; its `reused` field says so. Only the creator of the source job may do "
            "this. It is admitted like an upload (the same rate and caps, 429 with Retry-After)."
        ),
        request={
            "application/json": RemixRequestSerializer,
            "multipart/form-data": RemixRequestSerializer,
            "application/x-www-form-urlencoded": RemixRequestSerializer,
        },
        responses={
            201: JobCreatedSerializer,
            **{
                code: OpenApiResponse(response=ErrorSerializer, description=text)
                for code, text in REMIX_ERRORS.items()
            },
        },
    )
    @action(
        detail=True,
        methods=["post"],
        url_path="remix",
        parser_classes=[JSONParser, MultiPartParser, FormParser],
    )
    def remix(self, request: Request, pk: str | None = None) -> Response:
        source = get_job_or_404(pk)
        caller = services.Caller.of(request)
        if not caller.owns(source):
            raise ApiError(
                codes.FORBIDDEN,
                "Only the browser session or API token that created this job can play it in another style.",
            )
        if not source.is_ready:
            raise not_ready_error(source)
        if not isinstance(request.data, Mapping):
            raise ApiError(INVALID_OPTIONS, 'The body must be an object of options, e.g. {"style": "doom"}.')
        requested = RemixRequestSerializer.from_form_data(request.data)
        requested.is_valid(raise_exception=True)
        options = {**source.options, **requested.validated_data}
        job = services.create_remix(source, options, caller)  # its refusals: the API's handler answers them
        job.refresh_from_db()
        body = {"id": str(job.pk), "status": job.status, "url": job_api_url(request, job)}
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": body["url"]})

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "part",
                str,
                enum=[*RESULT_PARTS, *EXTRA_PARTS],
                default="mix",
                description="mix: the remix (while the job still runs: once `mix_ready` is true, in its "
                "output format only; other parts and formats answer 409 not_ready until it has succeeded); "
                "original: the uploaded song (available as soon as the job exists); "
                "stems: every stem in one ZIP; picture: the song picture (format png or svg; phone: a PNG "
                "drawn for a phone's width).",
            ),
            OpenApiParameter("format", str, enum=[*OUTPUT_FORMATS, *PICTURE_FORMATS]),
        ],
        responses={
            **{
                (200, media): OpenApiResponse(OpenApiTypes.BINARY, description="The file, as an attachment.")
                for media in DOWNLOAD_TYPES
            },
            **{
                (206, media): OpenApiResponse(OpenApiTypes.BINARY, description="The byte range asked for.")
                for media in DOWNLOAD_TYPES
            },
            302: OpenApiResponse(description="Redirect to a short-lived signed URL (S3 storage)."),
            400: ErrorSerializer,
            404: ErrorSerializer,
            409: ErrorSerializer,
            416: OpenApiResponse(ErrorSerializer, description="The Range header lies outside the file."),
            500: OpenApiResponse(
                ErrorSerializer, description="The part could not be converted to that format."
            ),
        },
    )
    @action(detail=True, methods=["get"], url_path="result")
    def result(self, request: Request, pk: str | None = None) -> Any:
        part = request.query_params.get("part", "mix")
        requested_format = request.query_params.get("format")
        check_part_and_format(part, requested_format)  # refused before the lookup: a bad query is a 400
        result_params.refuse_unhonourable(request, part, requested_format)
        job = get_job_or_404(pk)
        if part == "original":
            result_params.refuse_original_format(job, requested_format)
        return serve_result(request, job, part, requested_format)


def serve_result(request: Any, job: Job, part: str, requested_format: str | None) -> Any:
    """One part of a job as a file response; ApiError (400/404/409/500) when it cannot be served."""
    try:
        return _serve_result(request, job, part, requested_format)
    except FileNotFoundError:  # listed in the job's outputs, gone from storage
        raise ApiError(
            codes.PART_UNAVAILABLE,
            f"The {part} of this remix is no longer stored.",
        ) from None


def check_part_and_format(part: str, requested_format: str | None) -> None:
    if part not in RESULT_PARTS and part not in EXTRA_PARTS:
        choices = ", ".join((*RESULT_PARTS, *EXTRA_PARTS))
        raise ApiError(codes.INVALID_PART, f"Unknown part '{part}'. Choose one of: {choices}.")
    if requested_format is not None and requested_format not in (*OUTPUT_FORMATS, *PICTURE_FORMATS):
        choices = ", ".join((*OUTPUT_FORMATS, *PICTURE_FORMATS))
        raise ApiError(
            codes.INVALID_FORMAT, f"Unknown format '{requested_format}'. Choose one of: {choices}."
        )


def _serve_result(request: Any, job: Job, part: str, requested_format: str | None) -> Any:
    check_part_and_format(part, requested_format)
    if part == "original":
        try:
            key, fmt = original_key(job)
        except PartUnavailable:
            raise ApiError(codes.PART_UNAVAILABLE, "The uploaded song is no longer stored.") from None
        return serve_part(request, job, part, key, fmt)
    if part == "picture":
        fmt = requested_format or "png"
        if fmt not in PICTURE_FORMATS:
            raise ApiError(
                codes.INVALID_FORMAT, f"Unknown picture format '{fmt}'. Choose {spelled(PICTURE_FORMATS)}."
            )
    elif requested_format and part not in ("midi", "stems") and requested_format not in OUTPUT_FORMATS:
        raise ApiError(codes.INVALID_FORMAT, f"Unknown format '{requested_format}'. Choose {FORMAT_CHOICES}.")
    # the seed contract answered 409 until a job was complete, its clients rely on it: early mixes are native
    early = job.contract != seed_contract.SEED and served_early(job, part, requested_format)
    if not job.is_ready and not early:
        raise not_ready_error(job, part)
    try:
        if part == "picture":
            key = picture_key(job, fmt)
            response = serve_part(request, job, part, key, PICTURE_FILE_TYPES[fmt], attachment=False)
            # Shown inline from our own origin: an SVG must never run script.
            response["Content-Security-Policy"] = "default-src 'none'; style-src 'unsafe-inline'"
            return response
        if part == "stems":
            return serve_part(request, job, part, stems_zip_key(job), "zip")
        fmt = "zip" if part == "midi" else (requested_format or default_format(job, part))
        key = result_key(job, part, fmt)
    except PartDamaged as exc:
        raise ApiError(codes.PART_UNAVAILABLE, exc.message) from None
    except PartUnavailable:
        raise ApiError(codes.PART_UNAVAILABLE, f"This remix has no '{part}' part.") from None
    except TranscodeError:
        raise ApiError(
            codes.FORMAT_UNAVAILABLE,
            f"The {part} could not be converted to {fmt}.",
        ) from None
    return serve_part(request, job, part, key, fmt)


def serve_part(request: Any, job: Job, part: str, key: str, fmt: str, *, attachment: bool = True) -> Any:
    """The stored file ``key`` as the job's ``part`` in ``fmt``, named for the listener's downloads folder."""
    name = download_name(job, part, fmt)
    return serve_stored(key, name, CONTENT_TYPES[fmt], request=request, attachment=attachment)


def too_large_error() -> ApiError:
    return ApiError.refused(too_large(upload_cap(None)))


def not_ready_error(job: Job, part: str = "") -> ApiError:
    if job.status == Job.Status.FAILED:
        return ApiError(codes.JOB_FAILED, f"This remix failed: {job.error_message}")
    if job.status == Job.Status.CANCELLED:
        return ApiError(codes.JOB_CANCELLED, "This remix was cancelled.")
    if part == "mix" and job.mix_ready:
        stored = spelled(job.outputs["mix"])
        return ApiError(
            codes.NOT_READY,
            f"The mix can be played now as {stored} (leave format out); its other formats come once the "
            f"remix is done ({job.stage}, {job.progress:.0f}%).",
        )
    return ApiError(
        codes.NOT_READY,
        f"The remix is not ready yet ({job.status}, {job.stage}, {job.progress:.0f}%).",
    )
