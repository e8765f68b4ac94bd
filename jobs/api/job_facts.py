"""A job's analysis and asset record: in full, or as the summary the status poll carries.

A finished 30 s job's analysis (every beat and chord) and asset record (every sample's sha256) are ~25 KB,
and pages and clients poll ``GET /api/jobs/{id}`` every second or two. So by default that answer carries a
summary of each (a few hundred bytes); ``?include=analysis,assets`` puts the full ones in their place, and
``GET /api/jobs/{id}/analysis`` answers the full analysis alone. The serializers here document both shapes;
they never write.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from drf_spectacular.utils import PolymorphicProxySerializer
from rest_framework import serializers

if TYPE_CHECKING:
    from jobs.models import Job

INCLUDES = ("analysis", "assets")  # assets: the full record for staff only (``sees_the_bank``)
SUMMARY_KEYS = (
    "duration",
    "tempo",
    "tempo_confidence",
    "tempo_is_guess",
    "beats_per_bar",
    "key",
    "scale",
    "key_strength",
    "loudness_lufs",
    "has_vocals",
)


def analysis_summary(analysis: dict[str, Any] | None) -> dict[str, Any] | None:
    """Tempo, key, loudness, the sections, and how many beats, bars and chords were found."""
    if not analysis:
        return None
    summary = {key: analysis.get(key) for key in SUMMARY_KEYS}
    summary["sections"] = [
        {"start": s.get("start"), "end": s.get("end"), "label": s.get("label")}
        for s in analysis.get("sections", [])
    ]
    summary["counts"] = {
        "beats": len(analysis.get("beats") or []),
        "bars": len(analysis.get("downbeats") or []),
        "chords": len(analysis.get("chords") or []),
        "sections": len(analysis.get("sections") or []),
    }
    return summary


def sees_the_bank(request: Any) -> bool:
    """Whether this caller may read the full asset record (file names, hashes, why each was skipped): staff,
    as ``/api/assets`` is theirs; to everyone else the job shows the summary."""
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated and user.is_staff)


def reuse_is_own(job: Job) -> bool:
    """Whether what ``job`` reused (stems from the stem cache, an analysis) came from its own caller's work:
    a re-style of its own song, or the same caller's earlier upload of the same file. Saying "cached" to
    anyone else would tell them that someone else uploaded this song before."""
    from jobs.models import Job

    if job.source_id or not (job.stems_reused or job.analysis_reused):
        return True
    if not job.stem_key:
        return False
    mine = Job.objects.owned_by(user=job.owner, session_key=job.session_key)
    return mine.filter(stem_key=job.stem_key, created_at__lt=job.created_at).exclude(pk=job.pk).exists()


def reused(job: Job) -> dict[str, bool]:
    """What the job did not have to do again, as its caller may be told (``reuse_is_own``)."""
    own = reuse_is_own(job)
    return {"stems": job.stems_reused and own, "analysis": job.analysis_reused and own}


def separator(job: Job) -> dict[str, Any] | None:
    """The separator that made the stems; ``cached`` only when the cache entry is the caller's own."""
    if job.separator is None:
        return None
    return {**job.separator, "cached": reused(job)["stems"]} if "cached" in job.separator else job.separator


def assets_summary(assets_used: dict[str, Any] | None) -> dict[str, Any] | None:
    """Which packs played, were available or were skipped (without their files), and what was filled in."""
    if not assets_used:
        return None
    return {
        "played": assets_used.get("played") or {},
        "packs": [
            {
                "id": pack.get("id"),
                "name": pack.get("name"),
                "kind": pack.get("kind"),
                "version": pack.get("version"),
                "state": pack.get("state", "played" if pack.get("folder") else "skipped"),
                "assets": len(pack.get("assets") or []),
                "problems": len(pack.get("problems") or []),
            }
            for pack in assets_used.get("packs", [])
        ],
        "fallback": assets_used.get("fallback") or [],
        "filled_roles": sorted(assets_used.get("filled_roles") or {}),
        "skipped_count": len(assets_used.get("skipped") or []),
    }


# --- Documented shapes -----------------------------------------------------------------------------------


class SectionSummarySerializer(serializers.Serializer):
    start = serializers.FloatField()
    end = serializers.FloatField()
    label = serializers.CharField()


class CountsSerializer(serializers.Serializer):
    beats = serializers.IntegerField()
    bars = serializers.IntegerField()
    chords = serializers.IntegerField()
    sections = serializers.IntegerField()


class AnalysisSummarySerializer(serializers.Serializer):
    duration = serializers.FloatField(allow_null=True)
    tempo = serializers.FloatField(allow_null=True)
    tempo_confidence = serializers.FloatField(allow_null=True)
    tempo_is_guess = serializers.BooleanField(allow_null=True)
    beats_per_bar = serializers.IntegerField(allow_null=True)
    key = serializers.CharField(allow_null=True)
    scale = serializers.CharField(allow_null=True)
    key_strength = serializers.FloatField(allow_null=True)
    loudness_lufs = serializers.FloatField(allow_null=True)
    has_vocals = serializers.BooleanField(allow_null=True)
    sections = SectionSummarySerializer(many=True)
    counts = CountsSerializer()


class ChordSerializer(serializers.Serializer):
    start = serializers.FloatField()
    end = serializers.FloatField()
    label = serializers.CharField()
    root = serializers.IntegerField(allow_null=True)
    quality = serializers.CharField(allow_blank=True)


class SectionSerializer(SectionSummarySerializer):
    energy = serializers.FloatField(allow_null=True)


class AnalysisSerializer(serializers.Serializer):
    """The full analysis (``pipeline.types.Analysis``): every beat, bar line and chord."""

    duration = serializers.FloatField(allow_null=True)
    tempo = serializers.FloatField(allow_null=True)
    tempo_confidence = serializers.FloatField(allow_null=True)
    tempo_is_guess = serializers.BooleanField()
    beats = serializers.ListField(child=serializers.FloatField())
    downbeats = serializers.ListField(child=serializers.FloatField())
    beats_per_bar = serializers.IntegerField()
    key = serializers.CharField()
    scale = serializers.CharField()
    key_strength = serializers.FloatField(allow_null=True)
    chords = ChordSerializer(many=True)
    sections = SectionSerializer(many=True)
    loudness_lufs = serializers.FloatField(allow_null=True)
    has_vocals = serializers.BooleanField()
    extra = serializers.DictField(required=False)


class PackUsedSummarySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    kind = serializers.CharField()
    version = serializers.IntegerField()
    state = serializers.ChoiceField(choices=["played", "available", "skipped"])
    assets = serializers.IntegerField(help_text="How many files the pack held.")
    problems = serializers.IntegerField(help_text="How many problems kept part or all of it from playing.")


class AssetsUsedSummarySerializer(serializers.Serializer):
    played = serializers.DictField(
        help_text="Per kind, the pack (drums, guitar) or IR asset id played; null: shipped."
    )
    packs = PackUsedSummarySerializer(many=True)
    fallback = serializers.ListField(child=serializers.CharField(), help_text="Taken from the shipped packs.")
    filled_roles = serializers.ListField(child=serializers.CharField(), help_text="Drum roles filled in.")
    skipped_count = serializers.IntegerField(help_text="Packs and files skipped (see ?include=assets).")


class SkippedSerializer(serializers.Serializer):
    pack = serializers.IntegerField()
    pack_name = serializers.CharField()
    asset = serializers.IntegerField(allow_null=True)
    role = serializers.CharField(allow_null=True)
    reason = serializers.CharField()


class AssetsUsedSerializer(serializers.Serializer):
    """The full record (``assets_bank.materialize``): every pack with its files' sha256, what was skipped."""

    fingerprint = serializers.CharField()
    packs = serializers.ListField(child=serializers.DictField())
    played = serializers.DictField(required=False)
    filled_roles = serializers.DictField(required=False)
    fallback = serializers.ListField(child=serializers.CharField(), required=False)
    fallback_dir = serializers.CharField(allow_null=True, required=False)
    skipped = SkippedSerializer(many=True, required=False)
    storage_errors = serializers.BooleanField(required=False)


def summary_or_full(name: str, summary: type, full: type) -> PolymorphicProxySerializer:
    """The schema of a field that is ``summary`` by default and ``full`` when included (or null)."""
    return PolymorphicProxySerializer(
        component_name=name,
        serializers=[summary, full],
        resource_type_field_name=None,
        many=False,
        allow_null=True,
    )


ANALYSIS_FIELD = summary_or_full("JobAnalysis", AnalysisSummarySerializer, AnalysisSerializer)
ASSETS_FIELD = summary_or_full("JobAssetsUsed", AssetsUsedSummarySerializer, AssetsUsedSerializer)
