"""Admin forms: each file is judged by ``assets_bank.validators``, the same path as the API and imports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django import forms
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile

from assets_bank import playable
from assets_bank.models import Asset, Kind, Pack, describe_roles
from assets_bank.services import refusal_to_remove, uploaded_path
from assets_bank.validators import AssetRejected, check_duplicate, check_role, judged_asset_file
from pipeline import STYLES


class PackAdminForm(forms.ModelForm):
    # Chosen among the remix styles (and any tag the pack already has), not typed as raw JSON.
    style_tags = forms.MultipleChoiceField(
        choices=[(name, name) for name in STYLES],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="The remix styles this pack suits.",
    )

    class Meta:
        model = Pack
        fields = ["name", "slug", "kind", "style_tags", "licence", "active"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        extra = [t for t in (self.instance.style_tags or []) if t not in STYLES]
        self.fields["style_tags"].choices = [(t, t) for t in (*STYLES, *extra)]

    def clean_style_tags(self) -> list[str]:
        tags = self.cleaned_data.get("style_tags") or []
        if not isinstance(tags, list) or not all(isinstance(t, str) and t.strip() for t in tags):
            raise forms.ValidationError('Style tags are a JSON list of words, e.g. ["thrash", "heavy"].')
        return sorted({t.strip().lower() for t in tags})

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.instance.is_default and data.get("active") is False:
            raise forms.ValidationError(
                "This is the default pack of its kind and must stay active; make another pack the default "
                "first."
            )
        return data


class AssetAdminForm(forms.ModelForm):
    """An asset added or replaced by staff: the file is validated for the pack's kind and the role; a sample
    in a format the band does not play (MP3, ...) is stored converted (``conversion_note`` says so)."""

    conversion_note = ""

    class Meta:
        model = Asset
        fields = ["pack", "name", "role", "file", "position", "velocity_min", "velocity_max", "gain"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if "name" in self.fields:
            self.fields["name"].required = False
        self.fields["role"].help_text = "; ".join(f"{k.label}: {describe_roles(k.value)}" for k in Kind)

    def _pack(self, data: dict[str, Any]) -> Pack | None:
        pack = data.get("pack")
        if pack is not None:
            return pack
        try:
            return self.instance.pack
        except Pack.DoesNotExist:
            return None

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        pack, role, upload = self._pack(data), data.get("role"), data.get("file")
        if pack is None or not role:
            return data
        try:
            if isinstance(upload, UploadedFile):
                original_name = upload.name or "asset"
                with (
                    uploaded_path(upload) as path,
                    judged_asset_file(
                        path, name=original_name, kind=pack.kind, role=role, check_duplicates=False
                    ) as judged,
                ):
                    if judged.converted:  # what is stored is the converted sample, under the original's stem
                        upload = SimpleUploadedFile(judged.name, judged.path.read_bytes())
                        data["file"] = upload
                        self.conversion_note = judged.conversion_note(original_name)
                facts = judged.facts
                check_duplicate(facts.sha256, exclude_pk=self.instance.pk)
                if facts.sha256 != self.instance.sha256 or not self.instance.pk:
                    for field, value in facts.model_fields().items():
                        setattr(self.instance, field, value)
                upload.name = judged.name
                if not data.get("name"):
                    data["name"] = Path(upload.name).stem
                    self.instance.name = data["name"]  # the inline has no name field
            else:
                check_role(pack.kind, role)
                moved = self.instance.pk and self.instance.pack_id != pack.pk
                if moved and Pack.objects.get(pk=self.instance.pack_id).kind != pack.kind:
                    raise AssetRejected(
                        "wrong_file_type", "An asset can only move to a pack of the same kind."
                    )
        except AssetRejected as exc:
            raise forms.ValidationError(
                {"file" if exc.code != "invalid_role" else "role": exc.message}
            ) from None
        leaves = self.instance.pk and (role != self.instance.role or self.instance.pack_id != pack.pk)
        if leaves:  # another role or another pack: its old place may be what keeps a default playable
            refusal = refusal_to_remove(Asset.objects.select_related("pack").get(pk=self.instance.pk))
            if refusal:
                field = "role" if self.instance.pack_id == pack.pk else "pack"
                raise forms.ValidationError({field if field in self.fields else None: refusal})
        if not data.get("name") and self.instance.name:
            data["name"] = self.instance.name
        return data


class AssetInlineFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        """The default pack stays playable after the deletes and role changes of this save."""
        super().clean()
        pack = self.instance
        if not pack.pk or not pack.is_default:
            return
        before = playable.problems(pack.kind, pack.roles_present())
        roles = []
        for form in self.forms:
            if form in self.deleted_forms or not getattr(form, "cleaned_data", None):
                continue
            role = form.cleaned_data.get("role") or form.instance.role
            if role and (form.instance.pk or form.cleaned_data.get("file")):
                roles.append(role)
        after = playable.problems(pack.kind, roles)
        if after and after != before:
            raise forms.ValidationError(
                f"'{pack.name}' is the default {pack.get_kind_display().lower()} and remixes play it: after "
                f"this change {after[0]}. Keep or add that sample, or make another pack the default first."
            )


class PackImportForm(forms.Form):
    archive = forms.FileField(help_text="A ZIP with pack.json or kit.json, or files named after their role.")
    name = forms.CharField(
        required=False, max_length=120, help_text="Leave empty to use the manifest's name."
    )
    kind = forms.ChoiceField(
        required=False,
        choices=[("", "(from the manifest)"), *Kind.choices],
        help_text="Needed when the archive has no manifest.",
    )
