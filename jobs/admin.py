"""Staff view of jobs: filters, search, read-only progress, and the actions operators need."""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from jobs import services
from jobs.models import OPTION_FIELDS, Job


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = (
        "original_name",
        "status",
        "stage",
        "progress_percent",
        "style",
        "feel",
        "source_link",
        "owner",
        "created_at",
        "expires_at",
    )
    list_filter = (
        "status",
        "style",
        "feel",
        "output_format",
        "keep_vocals",
        "analysis_reused",
        ("source", admin.EmptyFieldListFilter),
        "error_code",
        "created_at",
    )
    list_select_related = ("source", "owner")
    search_fields = (
        "id",
        "source__id",
        "original_name",
        "error_code",
        "error_message",
        "celery_task_id",
        "owner__username",
    )
    date_hierarchy = "created_at"
    ordering = ("-created_at",)
    actions = ["requeue_failed", "cancel_jobs", "purge_expired"]
    readonly_fields = (
        "id",
        "status",
        "stage",
        "progress_percent",
        *OPTION_FIELDS,
        "separator_choice",
        "source_link",
        "input_file",
        "original_name",
        "size_bytes",
        "duration",
        "analysis_summary",
        "analysis_reused",
        "separator",
        "stem_key",
        "assets_used",
        "timings",
        "outputs",
        "mix_ready_at",
        "error_code",
        "error_message",
        "celery_task_id",
        "worker",
        "attempts",
        "recoveries",
        "owner",
        "session_key",
        "created_at",
        "updated_at",
        "started_at",
        "heartbeat_at",
        "finished_at",
    )
    fields = readonly_fields + ("expires_at",)

    @admin.display(description="Source", ordering="source__created_at")
    def source_link(self, job: Job) -> str:
        """The job this one re-plays, linked to its admin page ("-" for an upload)."""
        if job.source_id is None:
            return "-"
        url = reverse("admin:jobs_job_change", args=[job.source_id])
        return format_html('<a href="{}">{}</a>', url, job.source.style if job.source else job.source_id)

    @admin.display(description="Analysis")
    def analysis_summary(self, job: Job) -> str:
        """What the analysis found, in lines staff can read; the stored JSON stays one click away."""
        data = job.analysis
        if not data:
            return "-"
        lines = []
        if data.get("tempo"):
            guess = " (a guess)" if data.get("tempo_is_guess") else ""
            lines.append(
                ("Tempo", f"{data['tempo']:.0f} BPM{guess}, {data.get('beats_per_bar', 4)} beats a bar")
            )
        if data.get("key"):
            strength = data.get("key_strength")
            shown = f" (strength {strength:.2f})" if isinstance(strength, int | float) else ""
            lines.append(("Key", f"{data['key']} {data.get('scale', '')}{shown}"))
        if data.get("loudness_lufs") is not None:
            lines.append(("Loudness", f"{data['loudness_lufs']:.1f} LUFS"))
        lines.append(("Vocals", "yes" if data.get("has_vocals") else "no"))
        chords = [c.get("label") for c in data.get("chords") or [] if c.get("label") not in (None, "N")]
        if chords:
            lines.append(
                ("Chords", f"{len(chords)}: " + " ".join(chords[:16]) + (" …" if len(chords) > 16 else ""))
            )
        sections = data.get("sections") or []
        if sections:
            lines.append(
                (
                    "Sections",
                    " ".join(
                        f"{s.get('label')} {s.get('start', 0):.0f}-{s.get('end', 0):.0f} s" for s in sections
                    ),
                )
            )
        rows = format_html_join("", "<li><strong>{}:</strong> {}</li>", lines)
        raw = json.dumps(data, indent=2, sort_keys=True)
        return format_html(
            '<ul class="analysis-summary" style="margin:0;padding-left:1em">{}</ul>'
            "<details><summary>Stored JSON</summary>"
            '<pre style="max-height:20em;overflow:auto">{}</pre></details>',
            rows,
            raw,
        )

    @admin.display(description="Progress")
    def progress_percent(self, job: Job) -> str:
        return f"{job.progress:.0f}%"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # jobs come from uploads, never from the admin

    def delete_model(self, request: HttpRequest, obj: Job) -> None:
        services.delete_job(obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        for job in queryset:
            services.delete_job(job)

    @admin.action(description="Requeue selected failed/cancelled jobs")
    def requeue_failed(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        done = sum(1 for job in queryset if services.requeue(job))
        skipped = queryset.count() - done
        self.message_user(request, f"Requeued {done} job(s).", messages.SUCCESS)
        if skipped:
            self.message_user(
                request, f"{skipped} job(s) were not failed/cancelled and were left alone.", messages.WARNING
            )

    @admin.action(description="Cancel selected queued/running jobs")
    def cancel_jobs(self, request: HttpRequest, queryset: QuerySet[Job]) -> None:
        done = sum(1 for job in queryset if services.cancel_job(job))
        self.message_user(request, f"Cancelled {done} job(s).", messages.SUCCESS)

    @admin.action(description="Purge all expired jobs (and their files)")
    def purge_expired(self, request: HttpRequest, queryset: Any) -> None:
        count = services.purge_expired()
        self.message_user(request, f"Purged {count} expired job(s) and their files.", messages.SUCCESS)
