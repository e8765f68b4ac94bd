"""Server-rendered pages: upload, a job's live progress and result, and 'my remixes'."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from jobs import services
from jobs.forms import UploadForm
from jobs.models import AUDIO_FORMATS, Job
from jobs.results import PART_LABELS
from jobs.uploads import declared_too_large
from jobs.validators import UploadRejected, duration_limit_text, human_bytes, too_large, validate_audio_upload


def page_caller(request: HttpRequest) -> services.Caller:
    if request.user.is_authenticated:
        return services.Caller(user=request.user)
    return services.Caller(session_key=request.session.session_key or "")


def _limits() -> dict[str, str]:
    return {
        "max_size": human_bytes(settings.METALIZER_UPLOAD_MAX_BYTES),
        "max_duration": duration_limit_text(),
        "ttl_hours": str(settings.METALIZER_JOB_TTL_HOURS),
    }


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    """An over-size upload is refused before its body (and so its CSRF token) is read: say 'too large'."""
    if getattr(request, "upload_too_large", False) or declared_too_large(request):
        context = {
            "form": UploadForm(),
            "error": too_large(settings.METALIZER_UPLOAD_MAX_BYTES),
            **_limits(),
        }
        return render(request, "jobs/upload.html", context, status=413)
    from django.views.csrf import csrf_failure as default_csrf_failure

    return default_csrf_failure(request, reason=reason)


@require_http_methods(["GET", "POST"])
def upload(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return render(request, "jobs/upload.html", {"form": UploadForm(), **_limits()})
    error: UploadRejected | None = None
    form = None
    if declared_too_large(request):
        error = too_large(settings.METALIZER_UPLOAD_MAX_BYTES)
    else:
        form = UploadForm(request.POST, request.FILES)
        if getattr(request, "upload_too_large", False):
            error = too_large(settings.METALIZER_UPLOAD_MAX_BYTES)
        elif form.is_valid():
            try:
                validated = validate_audio_upload(request.FILES.get("file"))
                if not request.user.is_authenticated and not request.session.session_key:
                    request.session.create()
                job = services.create_job(validated, form.options(), page_caller(request))
                return redirect("jobs:detail", job_id=job.pk)
            except UploadRejected as exc:
                error = exc
            except services.QueueUnavailable as exc:
                error = UploadRejected("queue_unavailable", str(exc), status=503)
            except services.StorageUnavailable as exc:
                error = UploadRejected("storage_unavailable", str(exc), status=503)
    context = {"form": form or UploadForm(), "error": error, **_limits()}
    status = error.status if error else 400
    return render(request, "jobs/upload.html", context, status=status)


def job_detail(request: HttpRequest, job_id: Any) -> HttpResponse:
    job = get_object_or_404(Job, pk=job_id)
    downloads = []
    if job.is_ready:
        for part in job.available_parts():
            formats = ["zip"] if part == "midi" else list(AUDIO_FORMATS)
            downloads.append({"part": part, "label": PART_LABELS.get(part, part), "formats": formats})
    context = {
        "job": job,
        "downloads": downloads,
        "is_owner": page_caller(request).owns(job),
        "refresh_seconds": 3,
        **_limits(),
    }
    return render(request, "jobs/detail.html", context)


def job_list(request: HttpRequest) -> HttpResponse:
    caller = page_caller(request)
    jobs = Job.objects.owned_by(user=caller.user, session_key=caller.session_key)
    return render(request, "jobs/list.html", {"jobs": jobs})


@require_POST
def job_delete(request: HttpRequest, job_id: Any) -> HttpResponse:
    job = get_object_or_404(Job, pk=job_id)
    if not page_caller(request).owns(job):
        return HttpResponseForbidden("Only the browser that created this remix can delete it.")
    try:
        services.delete_job(job)
    except services.StorageUnavailable as exc:
        messages.error(request, str(exc))
        return redirect("jobs:detail", job_id=job.pk)
    messages.success(request, f"Deleted “{job.original_name}” and all its files.")
    return redirect("jobs:list")
