from __future__ import annotations

from pathlib import Path
from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.fields import empty

from jobs import separators, time_left
from jobs.api import job_facts
from jobs.models import MAX_SEED, Job
from jobs.results import result_url
from metalizer_site.api_choices import ListedChoiceField
from pipeline import DEFAULT_OPTIONS, FEELS, OUTPUT_FORMATS, SEPARATOR_FACTS, SEPARATORS, STYLES

SEPARATOR_HELP = (
    "Who splits the song into vocals, drums, bass and other (the server's operator may offer fewer; a "
    "re-style keeps its source's). "
    + " ".join(
        f"{name}: {facts.summary} About {facts.seconds_per_minute:g} s per minute of song; weights: "
        f"{facts.licence}."
        for name, facts in SEPARATOR_FACTS.items()
    )
)


class RemixOptionsSerializer(serializers.Serializer):
    style = ListedChoiceField(choices=list(STYLES), default=DEFAULT_OPTIONS.style)
    intensity = serializers.FloatField(min_value=0.0, max_value=1.0, default=DEFAULT_OPTIONS.intensity)
    output_format = ListedChoiceField(choices=list(OUTPUT_FORMATS), default=DEFAULT_OPTIONS.output_format)
    keep_vocals = serializers.BooleanField(default=DEFAULT_OPTIONS.keep_vocals)
    seed = serializers.IntegerField(min_value=0, max_value=MAX_SEED, default=DEFAULT_OPTIONS.seed)
    feel = ListedChoiceField(
        choices=list(FEELS),
        default=DEFAULT_OPTIONS.feel,
        help_text="How the band feels the pulse. " + " ".join(f"{k}: {v}" for k, v in FEELS.items()),
    )
    separator = ListedChoiceField(
        choices=list(SEPARATORS), default=DEFAULT_OPTIONS.separator, help_text=SEPARATOR_HELP
    )

    def validate_separator(self, value: str) -> str:
        refused = separators.refusal(value)
        if refused:
            raise serializers.ValidationError(refused)
        return value

    @classmethod
    def from_form_data(cls, data: Any) -> RemixOptionsSerializer:
        """Only the fields present: a missing checkbox in form data must mean 'default', not False."""
        present = {name: data.get(name) for name in cls._declared_fields if name in data}
        return cls(data=present)


class JobUploadSerializer(RemixOptionsSerializer):
    """The documented request body of POST /api/jobs (multipart)."""

    file = serializers.FileField(help_text="The song: WAV, FLAC, Ogg/Opus, MP3, M4A/AAC, AIFF or WebM.")


class RemixRequestSerializer(RemixOptionsSerializer):
    """The body of POST /api/jobs/{id}/remix: every field is optional and keeps the source job's value."""

    def get_fields(self) -> dict[str, serializers.Field]:
        fields = super().get_fields()
        del fields["separator"]  # a re-style plays its source's stems: the source's separator stays
        for field in fields.values():
            field.required = False
            field.default = empty
        return fields


class JobCreatedSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.CharField()
    url = serializers.URLField()


def job_api_url(request: Any, job: Job) -> str:
    return request.build_absolute_uri(reverse("job-detail", args=[job.pk]))


class ReusedSerializer(serializers.Serializer):
    stems = serializers.BooleanField(help_text="The stems came from the stem cache: nothing was separated.")
    analysis = serializers.BooleanField(help_text="The analysis was reused: the song was not analysed again.")


class JobSerializer(serializers.ModelSerializer):
    """A job; ``analysis`` and ``assets_used`` are summaries unless the context's ``include`` names them."""

    options = serializers.SerializerMethodField()
    source = serializers.PrimaryKeyRelatedField(
        read_only=True,
        allow_null=True,
        help_text="The job this one plays again in another style (null for an upload or a deleted source).",
    )
    reused = serializers.SerializerMethodField()
    separator = serializers.SerializerMethodField()
    analysis = serializers.SerializerMethodField()
    assets_used = serializers.SerializerMethodField()
    links = serializers.SerializerMethodField()
    seconds_left = serializers.SerializerMethodField(
        help_text="While running: about how many seconds are left (the admission estimate for this server, "
        "then the job's own pace); null otherwise or when nothing says yet."
    )
    mix_ready = serializers.SerializerMethodField(
        help_text="The mix can be played and downloaded now (mix_url): true once the job has succeeded, and "
        "already while it runs once the mix is mastered and stored (stage finishing), before the stems, MIDI "
        "files and pictures. Those, and the mix's other formats, come when status is succeeded."
    )
    mix_ready_at = serializers.DateTimeField(
        read_only=True, allow_null=True, help_text="When the mix was stored and playable; null before."
    )
    mix_url = serializers.SerializerMethodField(
        help_text="Where to download (or stream, with Range requests) the mix in the job's output format "
        "while mix_ready is true; null otherwise."
    )

    class Meta:
        model = Job
        fields = [
            "id",
            "status",
            "stage",
            "progress",
            "seconds_left",
            "mix_ready",
            "mix_ready_at",
            "mix_url",
            "error_code",
            "error_message",
            "options",
            "original_name",
            "size_bytes",
            "duration",
            "analysis",
            "separator",
            "source",
            "reused",
            "assets_used",
            "created_at",
            "started_at",
            "finished_at",
            "expires_at",
            "links",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.IntegerField(allow_null=True))
    def get_seconds_left(self, job: Job) -> int | None:
        return time_left.seconds_left(job)

    @extend_schema_field(serializers.BooleanField())
    def get_mix_ready(self, job: Job) -> bool:
        return job.mix_ready

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_mix_url(self, job: Job) -> str | None:
        if not job.mix_ready:
            return None
        return self.context["request"].build_absolute_uri(result_url(job, "mix"))

    @extend_schema_field(RemixOptionsSerializer)
    def get_options(self, job: Job) -> dict[str, Any]:
        return job.options

    @extend_schema_field(ReusedSerializer)
    def get_reused(self, job: Job) -> dict[str, bool]:
        return job_facts.reused(job)

    @extend_schema_field(serializers.JSONField(allow_null=True))
    def get_separator(self, job: Job) -> dict[str, Any] | None:
        return job_facts.separator(job)

    @extend_schema_field(job_facts.ANALYSIS_FIELD)
    def get_analysis(self, job: Job) -> dict[str, Any] | None:
        if "analysis" in self.context.get("include", ()):
            return job.analysis
        return job_facts.analysis_summary(job.analysis)

    @extend_schema_field(job_facts.ASSETS_FIELD)
    def get_assets_used(self, job: Job) -> dict[str, Any] | None:
        if "assets" in self.context.get("include", ()) and job_facts.sees_the_bank(
            self.context.get("request")
        ):
            return job.assets_used
        return job_facts.assets_summary(job.assets_used)

    @extend_schema_field(serializers.DictField())
    def get_links(self, job: Job) -> dict[str, Any]:
        request = self.context["request"]

        def download(part: str, fmt: str | None = None) -> str:
            return request.build_absolute_uri(result_url(job, part, fmt))

        links: dict[str, Any] = {
            "self": job_api_url(request, job),
            "page": request.build_absolute_uri(reverse("jobs:detail", args=[job.pk])),
            "analysis": request.build_absolute_uri(reverse("job-analysis", args=[job.pk])),
            "result": {},
            "downloads": {},
        }
        if job.source_id:
            links["source"] = request.build_absolute_uri(reverse("job-detail", args=[job.source_id]))
        if job.input_file:
            original_format = Path(job.input_file.name).suffix.lstrip(".").lower()
            links["downloads"]["original"] = {original_format: download("original")}
        if job.is_ready:
            links["remix"] = request.build_absolute_uri(reverse("job-remix", args=[job.pk]))
            links["downloads"]["stems"] = {"zip": download("stems")}
            links["picture"] = {fmt: download("picture", fmt) for fmt in ("png", "svg")}
            for part in job.available_parts():
                links["result"][part] = download(part)
                formats = ["zip"] if part == "midi" else list(OUTPUT_FORMATS)
                links["downloads"][part] = {
                    fmt: download(part, None if part == "midi" else fmt) for fmt in formats
                }
        return links
