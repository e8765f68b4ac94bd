from __future__ import annotations

from typing import Any

from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from assets_bank.models import MIDI_FACT_FIELDS, Asset, Kind, Pack
from metalizer_site.api_choices import ListedChoiceField
from pipeline import ACCEPTED_DESCRIPTION, SAMPLE_STORE_FORMAT


class PackSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Pack
        fields = ["id", "name", "slug", "kind", "version", "active", "is_default", "style_tags"]
        read_only_fields = fields


class AssetSerializer(serializers.ModelSerializer):
    pack = PackSummarySerializer(read_only=True)
    download = serializers.SerializerMethodField()

    class Meta:
        model = Asset
        fields = [
            "id",
            "pack",
            "name",
            "role",
            "position",
            "velocity_min",
            "velocity_max",
            "gain",
            "format",
            "original_format",
            "size_bytes",
            "sample_rate",
            "channels",
            "duration",
            "sha256",
            *MIDI_FACT_FIELDS,
            "created_at",
            "download",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.URLField())
    def get_download(self, asset: Asset) -> str:
        return self.context["request"].build_absolute_uri(reverse("asset-download", args=[asset.pk]))


class AssetUploadSerializer(serializers.Serializer):
    """The multipart body of POST /api/assets/upload."""

    file = serializers.FileField(
        help_text=f"Audio ({ACCEPTED_DESCRIPTION}; stored as {SAMPLE_STORE_FORMAT.upper()} when the band "
        "does not play its format as it is) or a standard MIDI file."
    )
    role = serializers.CharField(
        max_length=40, help_text="kick, snare, ..., ir, riff, groove, E2-palm-mute..."
    )
    pack = serializers.CharField(required=False, allow_blank=True, help_text="An existing pack's id or slug.")
    pack_name = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=120,
        help_text="Name of a new pack (reused when a pack of that name and kind exists).",
    )
    kind = ListedChoiceField(choices=Kind.choices, required=False, help_text="Needed with pack_name.")
    licence = serializers.CharField(required=False, allow_blank=True, help_text="Licence text of a new pack.")
    velocity_min = serializers.FloatField(min_value=0.0, max_value=1.0, default=0.0)
    velocity_max = serializers.FloatField(min_value=0.0, max_value=1.0, default=1.0)
    gain = serializers.FloatField(min_value=0.0, max_value=16.0, default=1.0)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs.get("pack") and not attrs.get("pack_name"):
            raise serializers.ValidationError(
                "Give an existing pack (pack) or a new pack's name (pack_name)."
            )
        if attrs.get("pack_name") and not attrs.get("pack") and not attrs.get("kind"):
            raise serializers.ValidationError("A new pack needs its kind.")
        if attrs["velocity_min"] > attrs["velocity_max"]:
            raise serializers.ValidationError("velocity_min must not exceed velocity_max.")
        return attrs
