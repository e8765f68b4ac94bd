"""The Job row: the single source of truth about one remix, from upload to expiry."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone

from pipeline import DEFAULT_OPTIONS, RemixOptions

MAX_SEED = 2**31 - 1  # the largest seed the database's integer column holds
# Parts a finished job can hand out, in the order pages list them.
RESULT_PARTS = ("mix", "vocals", "drums", "guitars", "bass", "other", "midi")
# The columns holding the remix options: RemixOptions' fields, the separator asked for in ``separator_choice``
# (``separator`` holds the one that ran, as recorded in the result).
OPTION_FIELDS = ("style", "intensity", "output_format", "keep_vocals", "seed", "feel")


def default_expiry() -> Any:
    return timezone.now() + timedelta(hours=settings.METALIZER_JOB_TTL_HOURS)


def input_upload_to(job: Job, filename: str) -> str:
    return f"jobs/{job.pk}/input/{filename}"


class JobQuerySet(models.QuerySet):
    def expired(self, now: Any = None) -> JobQuerySet:
        return self.filter(expires_at__lte=now or timezone.now())

    def stuck(self, older_than_s: int | None = None, now: Any = None) -> JobQuerySet:
        """Running jobs whose worker has not sent a heartbeat for ``older_than_s`` seconds."""
        now = now or timezone.now()
        limit = older_than_s if older_than_s is not None else settings.METALIZER_STUCK_AFTER_S
        cutoff = now - timedelta(seconds=limit)
        return self.filter(status=Job.Status.RUNNING).filter(
            models.Q(heartbeat_at__lt=cutoff) | models.Q(heartbeat_at__isnull=True, started_at__lt=cutoff)
        )

    def running_on(self, worker: str) -> JobQuerySet:
        """Jobs the worker node ``worker`` is running (or was, when it has just restarted)."""
        return self.filter(status=Job.Status.RUNNING, worker=worker)

    def lost_in_queue(self, older_than_s: int | None = None, now: Any = None) -> JobQuerySet:
        """Queued jobs no worker has taken for ``older_than_s`` seconds: their message was probably lost."""
        now = now or timezone.now()
        limit = older_than_s if older_than_s is not None else settings.METALIZER_QUEUED_STALE_S
        return self.filter(status=Job.Status.QUEUED, queued_at__lt=now - timedelta(seconds=limit))

    def unfinished(self) -> JobQuerySet:
        return self.filter(status__in=(Job.Status.QUEUED, Job.Status.RUNNING))

    def owned_by(self, *, user: Any = None, session_key: str | None = None) -> JobQuerySet:
        """The jobs a caller may list: their account's, else their browser session's."""
        if user is not None and getattr(user, "is_authenticated", False):
            return self.filter(owner=user)
        if session_key:
            return self.filter(owner__isnull=True, session_key=session_key)
        return self.none()


class Job(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    FINISHED = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED, db_index=True)
    stage = models.CharField(max_length=32, blank=True, default="queued")
    progress = models.FloatField(default=0.0)

    # Validated remix options, with RemixOptions' defaults (remix_options() turns them into one).
    style = models.CharField(max_length=16, default=DEFAULT_OPTIONS.style)
    intensity = models.FloatField(default=DEFAULT_OPTIONS.intensity)
    output_format = models.CharField(max_length=8, default=DEFAULT_OPTIONS.output_format)
    keep_vocals = models.BooleanField(default=DEFAULT_OPTIONS.keep_vocals)
    seed = models.IntegerField(default=DEFAULT_OPTIONS.seed)
    feel = models.CharField(max_length=8, default=DEFAULT_OPTIONS.feel)
    separator_choice = models.CharField(
        max_length=16,
        default=DEFAULT_OPTIONS.separator,
        help_text="The separator asked for (auto, demucs, spleeter, dsp); a re-style keeps its source's.",
    )

    # A re-style shares its source's stored song (the same key: jobs.services deletes it only when no job
    # refers to it any more), its stem cache entry and its analysis.
    source = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="remixes",
        help_text="The finished job this one plays again with other options.",
    )
    input_file = models.FileField(upload_to=input_upload_to, max_length=500, blank=True, db_index=True)
    original_name = models.CharField(max_length=255)
    size_bytes = models.BigIntegerField(default=0)
    duration = models.FloatField(null=True, blank=True, help_text="Input duration in seconds.")

    analysis = models.JSONField(null=True, blank=True)
    analysis_reused = models.BooleanField(
        default=False,
        help_text="The analysis came from the source job (or the stem cache), not analysed again.",
    )
    separator = models.JSONField(null=True, blank=True)
    stem_key = models.CharField(
        max_length=64, blank=True, default="", db_index=True, help_text="The song's entry in the stem cache."
    )
    timings = models.JSONField(null=True, blank=True)
    # part -> {format -> storage key}, e.g. {"mix": {"wav": "jobs/<id>/result/mix.wav"}, "midi": {"zip": ...}}
    # While the job runs it may hold the mix alone: stored as soon as it was mastered (``mix_ready_at``).
    outputs = models.JSONField(default=dict, blank=True)
    mix_ready_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the mix was stored and playable (before the stems, MIDI files and pictures).",
    )
    # Which asset bank packs (ids, versions, file sha256s) played this job: assets_bank.materialize.
    assets_used = models.JSONField(null=True, blank=True)

    error_code = models.CharField(max_length=64, blank=True, default="")
    error_message = models.TextField(blank=True, default="")

    celery_task_id = models.CharField(max_length=255, blank=True, default="")
    worker = models.CharField(max_length=255, blank=True, default="", help_text="Celery node running it.")
    attempts = models.PositiveSmallIntegerField(default=0, help_text="Times a worker started this job.")
    recoveries = models.PositiveSmallIntegerField(
        default=0, help_text="Times it was requeued after a lost worker."
    )

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="jobs"
    )
    session_key = models.CharField(max_length=64, blank=True, default="", db_index=True)
    admitted_as = models.CharField(
        max_length=64,
        blank=True,
        default="",
        db_index=True,
        help_text="Who the admission limits counted this job for: an account, or a keyed hash of an address.",
    )

    contract = models.CharField(
        max_length=8,
        choices=[("native", "Native API"), ("seed", "Seed API contract")],
        default="native",
        help_text="The API contract the job was made through (jobs/api/seed_contract.py answers 'seed').",
    )

    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    queued_at = models.DateTimeField(null=True, blank=True, help_text="When the current message was sent.")
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(default=default_expiry, db_index=True)

    objects = JobQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.status})"

    @property
    def options(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in OPTION_FIELDS} | {"separator": self.separator_choice}

    @staticmethod
    def option_columns(options: dict[str, Any]) -> dict[str, Any]:
        """Remix options (``RemixOptions``' names) as this model's column values."""
        columns = {name: value for name, value in options.items() if name != "separator"}
        if "separator" in options:
            columns["separator_choice"] = options["separator"]
        return columns

    def remix_options(self) -> RemixOptions:
        """The pipeline's options for this row."""
        return RemixOptions.from_dict(self.options)

    @property
    def is_finished(self) -> bool:
        return self.status in self.FINISHED

    @property
    def is_ready(self) -> bool:
        return self.status == self.Status.SUCCEEDED and bool(self.outputs.get("mix"))

    @property
    def mix_ready(self) -> bool:
        """The mix can be played: the job is done, or still storing the rest after its mix."""
        if self.status == self.Status.RUNNING:
            return self.mix_ready_at is not None and bool(self.outputs.get("mix"))
        return self.is_ready

    def available_parts(self) -> list[str]:
        return [part for part in RESULT_PARTS if self.outputs.get(part)]

    @property
    def stems_reused(self) -> bool:
        return bool((self.separator or {}).get("cached"))
