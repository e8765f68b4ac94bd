"""The asset bank: packs of drum samples, guitar samples, MIDI seeds and cabinet impulse responses.

A ``Pack`` groups assets of one kind; at most one pack per kind is the default (a partial unique
constraint). Every change to a pack or to one of its assets bumps ``Pack.version``, so a job can record
exactly which state of a pack it played (see ``assets_bank.materialize``).
"""

from __future__ import annotations

import re
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.db.models import F, Q
from django.utils.text import slugify

from pipeline import asset_layout


class Kind(models.TextChoices):
    DRUMS = "drums", "Drum kit"
    GUITAR = "guitar", "Guitar samples"
    MIDI = "midi", "MIDI pack"
    IMPULSE_RESPONSE = "impulse-response", "Cabinet impulse responses"


# A pack of each kind in a sentence ("a MIDI pack takes ..."): the labels are column titles, not nouns.
PACK_NOUNS = {
    Kind.DRUMS: "drum kit",
    Kind.GUITAR: "guitar pack",
    Kind.MIDI: "MIDI pack",
    Kind.IMPULSE_RESPONSE: "cabinet IR pack",
}


# The drum roles are the pipeline's: a kit the bank accepts is a kit the pipeline can play.
MIDI_ROLES = ("riff", "motif", "groove", "tempo-template")
# The Asset columns validation fills from a MIDI file (the admin and the API show them together).
MIDI_FACT_FIELDS = ("tempo", "time_signature", "bars", "note_min", "note_max")
IR_ROLES = ("ir",)
GUITAR_ARTICULATIONS = (
    "open",
    "palm-mute",
    "power-chord",
    "chug",
    "tremolo",
    "pinch-harmonic",
    "slide",
    "bend",
    "lead",
    "noise",
)
# A guitar role is a note ("E2", "F#3"), an articulation, or both ("E2-palm-mute").
_NOTE = r"[A-G](?:#|b)?-?\d"
GUITAR_ROLE_RE = re.compile(rf"^(?:{_NOTE}|(?:{_NOTE}-)?(?:{'|'.join(GUITAR_ARTICULATIONS)}))$")
# Roles the pipeline cannot play without, per kind: the default pack must keep them.
REQUIRED_ROLES: dict[str, tuple[str, ...]] = {
    Kind.DRUMS: ("kick", "snare", "hihat-closed"),
    Kind.IMPULSE_RESPONSE: ("ir",),
}
ROLES_BY_KIND: dict[str, tuple[str, ...]] = {
    Kind.DRUMS: asset_layout.DRUM_ROLES,
    Kind.MIDI: MIDI_ROLES,
    Kind.IMPULSE_RESPONSE: IR_ROLES,
}


def role_suits_kind(role: str, kind: str) -> bool:
    if kind == Kind.GUITAR:
        return bool(GUITAR_ROLE_RE.match(role))
    return role in ROLES_BY_KIND.get(kind, ())


def describe_roles(kind: str) -> str:
    if kind == Kind.GUITAR:
        return (
            "a note such as E2, an articulation ("
            + ", ".join(GUITAR_ARTICULATIONS)
            + ") or both (E2-palm-mute)"
        )
    return ", ".join(ROLES_BY_KIND.get(kind, ()))


def asset_upload_to(asset: Asset, filename: str) -> str:
    """``assets/<pack slug>/<sha prefix>-<name>``: unique names even where storage overwrites (S3)."""
    prefix = (asset.sha256 or "")[:12]
    return f"assets/{asset.pack.slug}/{prefix + '-' if prefix else ''}{filename}"


class PackQuerySet(models.QuerySet):
    def active(self) -> PackQuerySet:
        return self.filter(active=True)

    def default_for(self, kind: str) -> Pack | None:
        return self.filter(kind=kind, is_default=True).first()


class Pack(models.Model):
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True)
    kind = models.CharField(max_length=24, choices=Kind.choices, db_index=True)
    style_tags = models.JSONField(
        default=list, blank=True, help_text='Styles this pack suits, e.g. ["thrash", "heavy"].'
    )
    licence = models.TextField(blank=True, default="", help_text="Licence and credit text.")
    active = models.BooleanField(default=True, db_index=True)
    is_default = models.BooleanField(default=False, help_text="The pack the pipeline plays for its kind.")
    version = models.PositiveIntegerField(default=1, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="asset_packs"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PackQuerySet.as_manager()

    class Meta:
        ordering = ["kind", "-is_default", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind"], condition=Q(is_default=True), name="one_default_pack_per_kind"
            ),
            models.CheckConstraint(
                condition=Q(is_default=False) | Q(active=True), name="default_pack_is_active"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()}, v{self.version})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.slug:
            self.slug = unique_slug(self.name)
        if self.pk is not None:
            self.version = (
                Pack.objects.filter(pk=self.pk).values_list("version", flat=True).first() or 0
            ) + 1
            if kwargs.get("update_fields") is not None:
                kwargs["update_fields"] = {*kwargs["update_fields"], "version", "updated_at"}
        super().save(*args, **kwargs)

    def make_default(self) -> None:
        """Make this the default pack of its kind (and active); the previous default stops being one."""
        with transaction.atomic():
            for other in (
                Pack.objects.select_for_update().filter(kind=self.kind, is_default=True).exclude(pk=self.pk)
            ):
                other.is_default = False
                other.save(update_fields=["is_default"])
            self.is_default = True
            self.active = True
            self.save(update_fields=["is_default", "active"])

    def bump_version(self) -> None:
        Pack.objects.filter(pk=self.pk).update(version=F("version") + 1)
        self.refresh_from_db(fields=["version"])

    def roles_present(self) -> set[str]:
        return set(self.assets.values_list("role", flat=True))


def unique_slug(name: str) -> str:
    base = slugify(name)[:120] or "pack"
    slug, n = base, 2
    while Pack.objects.filter(slug=slug).exists():
        slug, n = f"{base}-{n}", n + 1
    return slug


class Asset(models.Model):
    pack = models.ForeignKey(Pack, on_delete=models.CASCADE, related_name="assets")
    name = models.CharField(max_length=200, help_text="The file's name without its extension.")
    role = models.CharField(max_length=40, db_index=True)
    position = models.PositiveIntegerField(
        default=0, help_text="Order within the pack; the first IR of the default IR pack is the one played."
    )
    velocity_min = models.FloatField(default=0.0, help_text="Velocity layer: lowest velocity (0..1).")
    velocity_max = models.FloatField(default=1.0, help_text="Velocity layer: highest velocity (0..1).")
    gain = models.FloatField(default=1.0, help_text="Playback gain restoring the layer's recorded level.")
    file = models.FileField(upload_to=asset_upload_to, max_length=500)
    format = models.CharField(max_length=16)
    size_bytes = models.BigIntegerField(default=0)
    sample_rate = models.PositiveIntegerField(null=True, blank=True)
    channels = models.PositiveSmallIntegerField(null=True, blank=True)
    duration = models.FloatField(null=True, blank=True, help_text="Seconds.")
    sha256 = models.CharField(max_length=64, unique=True)
    original_format = models.CharField(
        max_length=40,
        blank=True,
        default="",
        help_text="What the uploaded file was when the bank converted it to the format it plays (MP3, ...).",
    )
    # MIDI facts (MIDI_FACT_FIELDS)
    tempo = models.FloatField(null=True, blank=True, help_text="BPM of the first tempo event.")
    time_signature = models.CharField(max_length=16, blank=True, default="")
    bars = models.FloatField(null=True, blank=True)
    note_min = models.PositiveSmallIntegerField(null=True, blank=True)
    note_max = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pack", "role", "position", "velocity_min", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    velocity_min__gte=0.0, velocity_max__lte=1.0, velocity_min__lte=F("velocity_max")
                ),
                name="asset_velocity_range",
            )
        ]

    def __str__(self) -> str:
        return f"{self.pack.name}: {self.role} ({self.name})"

    @property
    def is_midi(self) -> bool:
        return self.format == "midi"

    @property
    def extension(self) -> str:
        return ".mid" if self.is_midi else f".{self.format}"
