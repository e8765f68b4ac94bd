"""Server-rendered pages: upload, a job's live progress and result, and 'my remixes'.

Every page works without JavaScript (plain form posts, a meta refresh while a job runs, plain download
links); static/js adds the upload progress bar, live polling, the A/B player and the stem mixer on top.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseForbidden
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.timesince import timesince
from django.views.decorators.http import require_http_methods, require_POST

from jobs import services, time_left
from jobs.api import job_facts
from jobs.forms import FEEL_LABELS, RemixForm, UploadForm
from jobs.models import Job
from jobs.results import (
    PART_LABELS,
    PartUnavailable,
    default_format,
    download_name,
    original_key,
    result_url,
    stem_parts,
)
from jobs.validators import duration_limit_text
from metalizer_site import error_codes
from metalizer_site.error_codes import CodedError
from metalizer_site.uploads import declared_too_large, human_bytes, too_large
from pipeline import (
    ACCEPTED_DESCRIPTION,
    ACCEPTED_EXTENSIONS,
    OUTPUT_FORMATS,
    PLAY_STAGES,
    SEPARATOR_FACTS,
    STAGES,
    licence_of,
)

# The steps a listener sees, in order: the transfer itself, then the pipeline's own stages.
STEP_LABELS = {
    "reusing": "Reusing",
    "uploading": "Uploading",
    "decoding": "Decoding",
    "separating": "Separating",
    "analysing": "Analysing",
    "arranging": "Arranging",
    "rendering": "Rendering",
    "mastering": "Mastering",
    "finishing": "Finishing",
}
STEP_HINTS = {
    "reusing": "the stems and analysis of the first version",
    "uploading": "the song reaches the server",
    "decoding": "reading the audio",
    "separating": "splitting vocals, drums, bass and the rest",
    "analysing": "tempo, key, chords and sections",
    "arranging": "writing the metal parts",
    "rendering": "playing drums, guitars and bass",
    "mastering": "mixing and loudness",
    "finishing": "the mix is made; storing it with the stems, MIDI files and pictures",
}
STEPS = ("uploading", *(name for name, _share in STAGES))
# A re-style plays the stems and analysis its source already has: no upload, separation or analysis.
REPLAY_STEPS = ("reusing", *(name for name, _share in PLAY_STAGES))


def _limits() -> dict[str, Any]:
    return {
        "max_size": human_bytes(settings.METALIZER_UPLOAD_MAX_BYTES),
        "max_bytes": settings.METALIZER_UPLOAD_MAX_BYTES,
        "max_duration": duration_limit_text(),
        "max_duration_s": settings.METALIZER_MAX_DURATION_S,
        "min_duration_s": settings.METALIZER_UPLOAD_MIN_DURATION_S,
        "accepted_extensions": ",".join(ACCEPTED_EXTENSIONS),
        "accepted_description": ACCEPTED_DESCRIPTION,
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
    error: CodedError | None = None
    form = None
    if declared_too_large(request):
        error = too_large(settings.METALIZER_UPLOAD_MAX_BYTES)
    else:
        form = UploadForm(request.POST, request.FILES)
        if getattr(request, "upload_too_large", False):
            error = too_large(settings.METALIZER_UPLOAD_MAX_BYTES)
        elif form.is_valid():
            try:
                caller = services.Caller.of(request, create_session=True)
                job = services.submit_upload(request.FILES.get("file"), form.options(), caller)
                return redirect("jobs:detail", job_id=job.pk)
            except CodedError as exc:  # refused (too much lately, a bad file), or the queue or store is down
                error = exc
    context = {"form": form or UploadForm(), "error": error, **_limits()}
    return with_retry_after(
        render(request, "jobs/upload.html", context, status=error.status if error else 400), error
    )


def refused_on_job_page(request: HttpRequest, job: Job, error: CodedError) -> HttpResponse:
    """The job page's one answer to a refusal of what its forms asked (another style, delete): the job's
    page again with the refusal's sentence on top, its status from the error registry (429 with
    ``Retry-After``, 409, 503 ...) and the forms still in view."""
    messages.error(request, error.message)
    return with_retry_after(render_detail(request, job, status=error.status), error)


def with_retry_after(response: HttpResponse, error: Exception | None) -> HttpResponse:
    """A page answering a refusal for now (``TooMany``, 429) says when to try again, as the API does."""
    retry_after = getattr(error, "retry_after", None)
    if retry_after:
        response["Retry-After"] = str(retry_after)
    return response


def job_steps(job: Job) -> list[dict[str, str]]:
    """Each step with its state: done, current, failed or pending."""
    names = REPLAY_STEPS if job.source_id else STEPS
    first = 0 if job.source_id else 1  # an upload's transfer is over once there is a job to show
    if job.status == Job.Status.SUCCEEDED:
        current = len(names)
    elif job.stage in names:
        current = names.index(job.stage)
    elif job.status == Job.Status.RUNNING:
        current = first  # "starting" (or a re-style separating again): the first step of the worker's
    else:
        current = 0 if job.status == Job.Status.QUEUED and not job.started_at else first
    if job.status == Job.Status.QUEUED:
        current = max(current, first)
    stopped = job.status in (Job.Status.FAILED, Job.Status.CANCELLED)
    steps = []
    for index, name in enumerate(names):
        if index < current:
            state = "done"
        elif index == current:
            state = "failed" if stopped else "current"
        else:
            state = "pending"
        steps.append({"name": name, "label": STEP_LABELS[name], "hint": STEP_HINTS[name], "state": state})
    return steps


def hours_left(job: Job, now: Any = None) -> int:
    """Whole hours until the job and its files are deleted (0 once expired)."""
    remaining = (job.expires_at - (now or timezone.now())).total_seconds()
    return max(0, math.ceil(remaining / 3600))


def job_downloads(job: Job) -> list[dict[str, Any]]:
    """The result's download links, each with the file name the browser will save it under."""
    rows: list[dict[str, Any]] = []
    if not job.is_ready:
        return rows
    mix_formats = [{"fmt": f, "url": result_url(job, "mix", f), "name": download_name(job, "mix", f)}
                   for f in OUTPUT_FORMATS]  # fmt: skip
    rows.append({"part": "mix", "label": "Remix", "links": mix_formats})
    if stem_parts(job):
        name = download_name(job, "stems", "zip")
        rows.append(
            {
                "part": "stems",
                "label": "Stems (drums, guitars, bass, vocals, other)",
                "links": [{"fmt": "zip", "url": result_url(job, "stems"), "name": name}],
            }
        )
    if job.outputs.get("midi"):
        name = download_name(job, "midi", "zip")
        rows.append(
            {
                "part": "midi",
                "label": "MIDI parts",
                "links": [{"fmt": "zip", "url": result_url(job, "midi"), "name": name}],
            }
        )
    return rows


def separator_in_words(job: Job) -> dict[str, str | None]:
    """The separator that ran and why, as a listener reads them (the recorded name and reason, such as
    ``spleeter:2stems`` and the model files looked for, are for the API and staff)."""
    separator = job.separator or {}
    facts = SEPARATOR_FACTS.get(str(separator.get("name") or "").split(":", 1)[0])
    if facts is None:
        return {"separator": None, "separator_reason": None}
    if separator.get("cached") or job.source_id:
        why = "The voice and the band were separated once, for this song's first remix, and used again."
    elif job.separator_choice == "auto":
        why = f"Chosen automatically, the fast choice on this server. {facts.summary}"
    else:
        why = f"You chose it. {facts.summary}"
    return {"separator": facts.label, "separator_reason": why}


def early_mix(job: Job) -> dict[str, Any] | None:
    """The player of a running job's mix, stored as soon as it was mastered while the stems, MIDI files and
    pictures are still being stored (None for a finished job: its page shows the whole result, or why not).

    ``ready`` False: the page holds the player hidden, for job.js to show once the API says ``mix_ready``.
    """
    if job.status not in (Job.Status.QUEUED, Job.Status.RUNNING):
        return None
    ready = job.mix_ready
    formats = (job.outputs.get("mix") or {}) if ready else {}
    fmt = job.output_format if job.output_format in formats or not formats else next(iter(formats))
    return {
        "ready": ready,
        "url": result_url(job, "mix") if ready else "",
        "fmt": fmt,
        "name": download_name(job, "mix", fmt),
    }


def job_result(job: Job) -> dict[str, Any] | None:
    """What the result section shows: A/B sources, picture, facts and mixer stems."""
    if not job.is_ready:
        return None
    try:
        _key, original_fmt = original_key(job)
        original = {"url": result_url(job, "original"), "name": download_name(job, "original", original_fmt)}
    except PartUnavailable:
        original = None
    pictures = job.outputs.get("pictures") or {}
    analysis = job.analysis or {}
    separator = job.separator or {}
    tempo = analysis.get("tempo")
    return {
        "original": original,
        "remix_url": result_url(job, "mix"),  # the format the listener asked for
        "picture_url": result_url(job, "picture", "png") if pictures.get("song") else None,
        "picture_svg_url": result_url(job, "picture", "svg") if pictures.get("song_svg") else None,
        "picture_phone_url": result_url(job, "picture", "phone") if pictures.get("song_phone") else None,
        "tempo": round(float(tempo)) if isinstance(tempo, int | float) else None,
        "tempo_is_guess": bool(analysis.get("tempo_is_guess")),
        "key": f"{analysis['key']} {analysis.get('scale', '')}".strip() if analysis.get("key") else None,
        **separator_in_words(job),
        "separator_licence": licence_of(separator.get("name") or ""),
        "reused": reused_text(job),
        "stems": [
            {"part": part, "label": PART_LABELS.get(part, part).capitalize(), "url": result_url(job, part)}
            for part in stem_parts(job)
        ],
    }


def reused_text(job: Job) -> str:
    """What this run did not have to do again, in plain words ("" when it did everything), as far as its
    caller may be told (``job_facts.reused``: never that someone else uploaded the song first)."""
    reused = job_facts.reused(job)
    if reused["stems"] and reused["analysis"]:
        return "stems and analysis from the first version: nothing was separated or analysed again"
    if reused["stems"]:
        return "stems from the stem cache: nothing was separated again"
    if reused["analysis"]:
        return "the analysis of the first version: the song was not analysed again"
    return ""


def song_versions(job: Job, caller: services.Caller) -> list[Job]:
    """The caller's remixes of the same stored song (this one included), oldest first."""
    if not job.input_file:
        return [job]
    mine = Job.objects.owned_by(user=caller.user, session_key=caller.session_key)
    return list(mine.filter(input_file=job.input_file.name).order_by("created_at"))


def describe_options(job: Job) -> str:
    """'Doom · half time · take 3' for a version in a list (the feel only when not left to the style)."""
    parts = [job.style.capitalize()]
    if job.feel != "auto":
        parts.append(FEEL_LABELS.get(job.feel, job.feel).lower())
    parts.append(f"take {job.seed}")
    return " · ".join(parts)


def job_detail(request: HttpRequest, job_id: Any) -> HttpResponse:
    job = get_object_or_404(Job.objects.select_related("source"), pk=job_id)
    return render_detail(request, job)


def render_detail(request: HttpRequest, job: Job, *, status: int = 200) -> HttpResponse:
    now = timezone.now()
    caller = services.Caller.of(request)
    is_owner = caller.owns(job)
    versions = song_versions(job, caller) if is_owner else []
    context = {
        "job": job,
        "steps": job_steps(job),
        "seconds_left": time_left.seconds_left(job, now),
        "hours_left": hours_left(job, now),
        "advice": error_codes.advice(job.error_code) if job.status == Job.Status.FAILED else "",
        "result": job_result(job),
        "early_mix": early_mix(job),
        "downloads": job_downloads(job),
        "is_owner": is_owner,
        "can_cancel": job.status in (Job.Status.QUEUED, Job.Status.RUNNING),
        "remix_form": RemixForm.for_job(job) if is_owner and job.is_ready and job.input_file else None,
        "versions": [{"job": v, "label": describe_options(v)} for v in versions] if len(versions) > 1 else [],
        "feel_label": FEEL_LABELS.get(job.feel, job.feel).lower() if job.feel != "auto" else "",
        "refresh_seconds": 3,
        **_limits(),
    }
    return render(request, "jobs/detail.html", context, status=status)


def job_list(request: HttpRequest) -> HttpResponse:
    caller = services.Caller.of(request)
    jobs = Job.objects.owned_by(user=caller.user, session_key=caller.session_key).order_by("-created_at")
    now = timezone.now()
    rows = [
        {
            "job": job,
            "label": describe_options(job),
            "hours_left": hours_left(job, now),
            "uploaded": "just now"
            if now - job.created_at < timedelta(minutes=1)
            else f"{timesince(job.created_at, now)} ago",
            # a running job's mix too, once it is stored (before its stems, MIDI files and pictures)
            "mix_url": result_url(job, "mix") if job.mix_ready else "",
            "mix_name": download_name(job, "mix", default_format(job, "mix")) if job.mix_ready else "",
        }
        for job in jobs
    ]
    # The versions of one song (an upload and its re-styles share the stored song) go together, newest
    # song first.
    groups: dict[str, dict[str, Any]] = {}
    for row in rows:
        song = row["job"].input_file.name or str(row["job"].pk)
        groups.setdefault(song, {"name": row["job"].original_name, "rows": []})["rows"].append(row)
    return render(request, "jobs/list.html", {"rows": rows, "groups": list(groups.values())})


def owner_only(action: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """A POST about one job, for its creator only: the view gets the job; anyone else gets a 403 that says
    who may ``action`` (a phrase: "delete it")."""

    def decorate(view: Callable[[HttpRequest, Job], HttpResponse]) -> Callable[..., HttpResponse]:
        @require_POST
        @functools.wraps(view)
        def checked(request: HttpRequest, job_id: Any) -> HttpResponse:
            job = get_object_or_404(Job, pk=job_id)
            if not services.Caller.of(request).owns(job):
                return HttpResponseForbidden(f"Only the browser that created this remix can {action}.")
            return view(request, job)

        return checked

    return decorate


@owner_only("play it in another style")
def job_remix(request: HttpRequest, source: Job) -> HttpResponse:
    """Try another style: a new job plays this one's song with the options chosen (or another take)."""
    back = reverse("jobs:detail", args=[source.pk]) + "#remix"
    form = RemixForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Pick a style, an intensity between 0 and 1 and a tempo feel.")
        return redirect(back)
    options = {**source.options, **form.playing_options()}
    if request.POST.get("take") == "another":
        options["seed"] = services.next_take_seed(source)
    elif options == source.options:
        messages.info(
            request, "That is this remix already: pick another style or feel, or press Another take."
        )
        return redirect(back)
    try:
        job = services.create_remix(source, options, services.Caller.of(request))
    except CodedError as exc:
        return refused_on_job_page(request, source, exc)
    return redirect("jobs:detail", job_id=job.pk)


@owner_only("cancel it")
def job_cancel(request: HttpRequest, job: Job) -> HttpResponse:
    if services.cancel_job(job):
        messages.success(request, f"Cancelled the remix of “{job.original_name}”.")
    else:
        messages.info(request, "This remix had already finished, so there was nothing to cancel.")
    return redirect("jobs:detail", job_id=job.pk)


@owner_only("delete it")
def job_delete(request: HttpRequest, job: Job) -> HttpResponse:
    try:
        services.delete_job(job)
    except CodedError as exc:
        return refused_on_job_page(request, job, exc)
    song = job.input_file.name if job.input_file else ""
    if song and Job.objects.filter(input_file=song).exists():  # the song stays for its other versions
        messages.success(request, f"Deleted this version of “{job.original_name}”; its other versions stay.")
    else:
        messages.success(request, f"Deleted “{job.original_name}” and all its files.")
    return redirect("jobs:list")
