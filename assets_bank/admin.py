"""Staff curate the bank here: packs with their assets inline, players, MIDI previews, ZIP import/export.

Every file goes through ``assets_bank.validators`` (via the forms in ``assets_bank.forms``); deletes go
through ``services.delete_asset`` so a kind's default pack never stops being playable. A pack that cannot be
played as it is (no samples, a role missing, a file lost or no longer decoding) carries a warning
(``assets_bank.playable``): jobs skip or fill what it lacks, and record that.
"""

from __future__ import annotations

import copy
import shutil
import tempfile
import zipfile
from typing import IO, Any

from django.contrib import admin, messages
from django.contrib.admin.actions import delete_selected
from django.core.exceptions import PermissionDenied
from django.db.models import Count, QuerySet
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import capfirst

from assets_bank import archives, playable, services
from assets_bank.downloads import serve_asset
from assets_bank.forms import AssetAdminForm, AssetInlineFormSet, PackAdminForm, PackImportForm
from assets_bank.midi_preview import piano_roll_svg, summary
from assets_bank.models import MIDI_FACT_FIELDS, Asset, Kind, Pack, describe_roles
from assets_bank.validators import AssetRejected
from pipeline import ACCEPTED_DESCRIPTION, SAMPLE_STORE_FORMAT


def file_url(asset: Asset) -> str:
    return reverse("admin:assets_bank_asset_file", args=[asset.pk])


@admin.display(description="Preview")
def preview(asset: Asset) -> str:
    """An audio player for samples; facts and a piano roll for MIDI files."""
    if not asset.pk or not asset.file:
        return "-"
    if asset.is_midi:
        try:
            with asset.file.open("rb") as fh:
                svg = piano_roll_svg(fh)
        except Exception:  # a damaged file (mido raises many types): the facts still show, without a picture
            svg = ""
        # The SVG is built from numbers only (assets_bank.midi_preview), never from file text.
        return format_html("<div>{}</div>{}", summary(asset), mark_safe(svg))  # noqa: S308
    return format_html(
        '<audio controls preload="none" src="{}" style="height:2em;max-width:260px"></audio>', file_url(asset)
    )


@admin.display(description="Preview")
def list_preview(asset: Asset) -> str:
    """The change list's lighter preview: a player, or the MIDI facts (no file read per row)."""
    if asset.is_midi:
        return summary(asset) or "-"
    return preview(asset)


@admin.display(description="Audio")
def audio_facts(asset: Asset) -> str:
    if asset.is_midi or asset.duration is None:
        return "-"
    converted = f" (converted from {asset.original_format})" if asset.original_format else ""
    return (
        f"{asset.format.upper()}{converted}, {asset.sample_rate} Hz, {asset.channels} ch, "
        f"{asset.duration:.2f} s"
    )


@admin.display(description="SHA256")
def short_sha256(asset: Asset) -> str:
    """The first 12 hex digits (the full hash in the tooltip): 64 digits made the pack page 2,600 px wide."""
    if not asset.sha256:
        return "-"
    return format_html('<code title="{}">{}…</code>', asset.sha256, asset.sha256[:12])


class AssetInline(admin.TabularInline):
    model = Asset
    form = AssetAdminForm
    formset = AssetInlineFormSet
    extra = 1
    fields = (
        "role",
        "file",
        "velocity_min",
        "velocity_max",
        "gain",
        "position",
        preview,
        audio_facts,
        short_sha256,
    )
    readonly_fields = (preview, audio_facts, short_sha256)
    show_change_link = True


def delete_costs(assets: list[Asset]) -> list[str]:
    """What deleting ``assets`` takes from each pack, role by role, in staff's words: a kit keeping 1 of its
    5 snare layers still plays, so nothing else would say it got thinner."""
    removing: dict[tuple[int, str], int] = {}
    packs: dict[int, Pack] = {}
    for asset in assets:
        removing[(asset.pack_id, asset.role)] = removing.get((asset.pack_id, asset.role), 0) + 1
        packs[asset.pack_id] = asset.pack
    costs = []
    for (pack_id, role), count in sorted(
        removing.items(), key=lambda item: (packs[item[0][0]].name, item[0][1])
    ):
        pack = packs[pack_id]
        before = pack.assets.filter(role=role).count()
        left = before - count
        where = f"'{pack.name}'" + (" (the default remixes play)" if pack.is_default else "")
        if left <= 0:
            costs.append(f"{where} loses every '{role}' sample ({before}).")
        else:
            costs.append(f"{where} keeps {left} of its {before} '{role}' samples (velocity layers or takes).")
    return costs


@admin.action(permissions=["delete"], description="Delete selected %(verbose_name_plural)s")
def delete_selected_counted(modeladmin: Any, request: HttpRequest, queryset: QuerySet) -> HttpResponse | None:
    """Django's delete action, whose message counts what was deleted rather than what was selected.

    The bank keeps what a default pack needs to play (``delete_queryset`` skips it and says why), so Django's
    own message ("Successfully deleted 6", counted before the delete) stood beside "1 asset(s) were kept".
    The confirmation page, permissions and protected objects are still Django's.
    """
    if not request.POST.get("post"):
        confirmation = delete_selected(modeladmin, request, queryset)
        if modeladmin.model is Asset and isinstance(confirmation, TemplateResponse):
            confirmation.context_data["delete_costs"] = delete_costs(list(queryset.select_related("pack")))
        return confirmation
    _objects, _counts, perms_needed, protected = modeladmin.get_deleted_objects(queryset, request)
    if perms_needed or protected:
        return delete_selected(modeladmin, request, queryset)
    deleted = modeladmin.delete_queryset(request, queryset)
    if deleted:
        modeladmin.log_deletions(request, deleted)
        opts = modeladmin.model._meta
        noun = opts.verbose_name if len(deleted) == 1 else opts.verbose_name_plural
        modeladmin.message_user(request, f"Deleted {len(deleted)} {noun}.", messages.SUCCESS)
    return None


class CountedDeleteAdmin(admin.ModelAdmin):
    """An admin whose ``delete_queryset`` may keep some rows: it returns copies of the rows it deleted."""

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        if "delete_selected" in actions:
            actions["delete_selected"] = (
                delete_selected_counted,
                "delete_selected",
                capfirst(
                    delete_selected_counted.short_description
                    % {"verbose_name_plural": self.model._meta.verbose_name_plural}
                ),
            )
        return actions


@admin.register(Pack)
class PackAdmin(CountedDeleteAdmin):
    form = PackAdminForm
    inlines = [AssetInline]
    list_display = (
        "name",
        "kind",
        "active",
        "is_default",
        "playable",
        "asset_count",
        "created_by",
        "updated_at",
    )
    list_filter = ("kind", "active", "is_default", "created_at")
    search_fields = ("name", "slug", "licence", "assets__name", "assets__sha256")
    readonly_fields = ("is_default", "playable_check", "revision", "created_by", "created_at", "updated_at")
    fields = (
        "name",
        "slug",
        "kind",
        "style_tags",
        "licence",
        "active",
        "is_default",
        "playable_check",
        "revision",
        "created_by",
        "created_at",
        "updated_at",
    )
    prepopulated_fields = {"slug": ("name",)}
    actions = ["activate", "deactivate", "make_default", "check_files", "export_zip"]
    change_list_template = "admin/assets_bank/pack/change_list.html"
    change_form_template = "admin/assets_bank/pack/change_form.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Pack]:
        return super().get_queryset(request).annotate(n_assets=Count("assets", distinct=True))

    @admin.display(description="Assets", ordering="n_assets")
    def asset_count(self, pack: Pack) -> int:
        return getattr(pack, "n_assets", 0)

    @admin.display(description="Playable")
    def playable(self, pack: Pack) -> SafeString:
        """The cheap check (roles held); the change page also reads and decodes every file."""
        problems = playable.rule_problems(pack)
        if not problems:
            return _ok()
        return format_html(
            '<span class="pack-warning" style="color:#b35900" title="{}">'
            "&#9888; Cannot be played as it is: {}</span>",
            playable.consequence(pack),
            "; ".join(problems),
        )

    @admin.display(description="Revision")
    def revision(self, pack: Pack) -> str:
        """``Pack.version`` in staff's words: it counts changes, it is not a release number anyone sets."""
        if pack.pk is None:
            return "-"
        return (
            f"{pack.version}: counts every change to this pack or its samples (each remix records the "
            "revision it played, so a remix can be traced to the exact samples)."
        )

    @admin.display(description="Can remixes play it?")
    def playable_check(self, pack: Pack) -> SafeString:
        if pack.pk is None:
            return mark_safe("-")
        problems = playable.rule_problems(pack) + playable.file_problems(pack)
        return _warning(problems, pack) if problems else _ok("Yes: every file is there and decodes.")

    def get_readonly_fields(self, request: HttpRequest, obj: Pack | None = None) -> tuple[str, ...]:
        fields = tuple(super().get_readonly_fields(request, obj))
        return fields + ("kind",) if obj is not None else fields  # assets were validated for this kind

    def save_model(self, request: HttpRequest, obj: Pack, form: Any, change: bool) -> None:
        if not change and obj.created_by_id is None:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        super().save_formset(request, form, formset, change)
        for note in (getattr(f, "conversion_note", "") for f in formset.forms):
            if note:
                self.message_user(request, note, messages.INFO)

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> HttpResponse:
        pack = Pack.objects.filter(pk=object_id).first() if str(object_id).isdigit() else None
        if pack is not None and pack.is_default:
            self.message_user(request, DEFAULT_PACK_KEPT.format(name=pack.name), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:assets_bank_pack_change", args=[pack.pk]))
        return super().delete_view(request, object_id, extra_context)

    def delete_model(self, request: HttpRequest, obj: Pack) -> None:
        if obj.is_default:
            raise PermissionDenied(DEFAULT_PACK_KEPT.format(name=obj.name))
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Pack]) -> list[Pack]:
        defaults = queryset.filter(is_default=True)
        if defaults.exists():
            self.message_user(
                request, "Default packs were kept; make another pack the default first.", messages.WARNING
            )
        deletable = queryset.filter(is_default=False)
        deleted = [copy.copy(pack) for pack in deletable]
        super().delete_queryset(request, deletable)
        return deleted

    # --- actions --------------------------------------------------------------------------------------

    @admin.action(description="Activate selected packs")
    def activate(self, request: HttpRequest, queryset: QuerySet[Pack]) -> None:
        for pack in queryset:
            services.set_active(pack, True)
        self.message_user(request, f"Activated {queryset.count()} pack(s).", messages.SUCCESS)

    @admin.action(description="Deactivate selected packs")
    def deactivate(self, request: HttpRequest, queryset: QuerySet[Pack]) -> None:
        done = 0
        for pack in queryset:
            try:
                services.set_active(pack, False)
                done += 1
            except AssetRejected as exc:
                self.message_user(request, exc.message, messages.ERROR)
        self.message_user(request, f"Deactivated {done} pack(s).", messages.SUCCESS)

    @admin.action(description="Make the selected pack the default for its kind")
    def make_default(self, request: HttpRequest, queryset: QuerySet[Pack]) -> None:
        if queryset.count() != 1:
            self.message_user(request, "Choose exactly one pack to make the default.", messages.ERROR)
            return
        pack = queryset.get()
        try:
            services.make_default(pack)
        except AssetRejected as exc:
            self.message_user(request, exc.message, messages.ERROR)
            return
        self.message_user(request, f"'{pack.name}' is now the default {pack.get_kind_display().lower()}.")

    @admin.action(description="Check that remixes can play the selected packs (reads every file)")
    def check_files(self, request: HttpRequest, queryset: QuerySet[Pack]) -> None:
        for pack in queryset:
            problems = playable.rule_problems(pack) + playable.file_problems(pack)
            if problems:
                listed = "; ".join(problems)
                text = f"'{pack.name}' cannot be played as it is: {listed}. {playable.consequence(pack)}"
                self.message_user(request, text, messages.WARNING)
            else:
                text = f"'{pack.name}': every file is there and decodes."
                self.message_user(request, text, messages.SUCCESS)

    @admin.action(description="Export selected packs as ZIP")
    def export_zip(self, request: HttpRequest, queryset: QuerySet[Pack]) -> HttpResponse:
        packs = list(queryset)
        if len(packs) == 1:
            return self._zip_response(packs[0])
        spool = tempfile.TemporaryFile()  # noqa: SIM115 - FileResponse closes it once sent
        with zipfile.ZipFile(spool, "w", compression=zipfile.ZIP_STORED) as outer:
            for pack in packs:
                with tempfile.TemporaryFile() as inner:
                    archives.export_pack_zip(pack, inner)
                    inner.seek(0)
                    with outer.open(f"{pack.slug}.zip", "w") as dst:
                        shutil.copyfileobj(inner, dst, 1 << 20)
        return _attachment(spool, "asset-packs.zip")

    # --- extra views ----------------------------------------------------------------------------------

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        return [
            path("import/", wrap(self.import_view), name="assets_bank_pack_import"),
            path("<int:pack_id>/export/", wrap(self.export_view), name="assets_bank_pack_export"),
            *super().get_urls(),
        ]

    def export_view(self, request: HttpRequest, pack_id: int) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return self._zip_response(get_object_or_404(Pack, pk=pack_id))

    def _zip_response(self, pack: Pack) -> HttpResponse:
        # A pack may be large: spooled to disk and streamed; FileResponse closes the file once sent.
        spool = tempfile.TemporaryFile()  # noqa: SIM115
        archives.export_pack_zip(pack, spool)
        return _attachment(spool, f"{pack.slug}-v{pack.version}.zip")

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = PackImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            try:
                pack = archives.import_pack_zip(
                    form.cleaned_data["archive"],
                    name=form.cleaned_data.get("name") or None,
                    kind=form.cleaned_data.get("kind") or None,
                    user=request.user,
                )
            except AssetRejected as exc:
                form.add_error("archive", exc.message)
            else:
                self.message_user(
                    request, f"Imported '{pack.name}' with {pack.assets.count()} asset(s).", messages.SUCCESS
                )
                converted = list(
                    pack.assets.exclude(original_format="").values_list("original_format", flat=True)
                )
                if converted:
                    self.message_user(
                        request,
                        f"{len(converted)} sample(s) converted to {SAMPLE_STORE_FORMAT.upper()} (what the "
                        f"band plays) from {', '.join(sorted(set(converted)))}; each keeps its file's name.",
                        messages.INFO,
                    )
                return HttpResponseRedirect(reverse("admin:assets_bank_pack_change", args=[pack.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "form": form,
            "title": "Import a pack from a ZIP archive",
            "roles_by_kind": [(label, describe_roles(kind)) for kind, label in Kind.choices],
            "sample_formats": ACCEPTED_DESCRIPTION,
            "sample_store_format": SAMPLE_STORE_FORMAT.upper(),
        }
        return TemplateResponse(request, "admin/assets_bank/pack/import.html", context)


@admin.register(Asset)
class AssetAdmin(CountedDeleteAdmin):
    delete_confirmation_template = "admin/assets_bank/asset/delete_confirmation.html"
    delete_selected_confirmation_template = "admin/assets_bank/asset/delete_selected_confirmation.html"
    form = AssetAdminForm
    list_display = (
        "name",
        "pack",
        "role",
        "format",
        "duration",
        "velocity_min",
        "velocity_max",
        list_preview,
    )
    list_filter = ("pack__kind", "role", "format", "pack__active", "pack")
    search_fields = ("name", "role", "sha256", "pack__name")
    list_select_related = ("pack",)
    readonly_fields = (
        preview,
        audio_facts,
        "format",
        "original_format",
        "size_bytes",
        "sha256",
        *MIDI_FACT_FIELDS,
        "created_at",
        "updated_at",
    )
    fields = (
        "pack",
        "name",
        "role",
        "file",
        "position",
        "velocity_min",
        "velocity_max",
        "gain",
        *readonly_fields,
    )

    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:asset_id>/file/",
                self.admin_site.admin_view(self.file_view),
                name="assets_bank_asset_file",
            ),
            *super().get_urls(),
        ]

    def save_model(self, request: HttpRequest, obj: Asset, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if getattr(form, "conversion_note", ""):
            self.message_user(request, form.conversion_note, messages.INFO)

    def file_view(self, request: HttpRequest, asset_id: int) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        asset = get_object_or_404(Asset, pk=asset_id)
        return serve_asset(asset, as_attachment=request.GET.get("download") == "1")

    def delete_view(self, request: HttpRequest, object_id: str, extra_context: Any = None) -> HttpResponse:
        """A delete that would leave a default pack unplayable is refused up front, with the reason."""
        asset = None
        if str(object_id).isdigit():
            asset = Asset.objects.select_related("pack").filter(pk=object_id).first()
        refusal = services.refusal_to_remove(asset) if asset is not None else None
        if refusal is not None:
            self.message_user(request, refusal, messages.ERROR)
            return HttpResponseRedirect(reverse("admin:assets_bank_asset_change", args=[asset.pk]))
        if asset is not None:
            extra_context = {**(extra_context or {}), "delete_costs": delete_costs([asset])}
        return super().delete_view(request, object_id, extra_context)

    def delete_model(self, request: HttpRequest, obj: Asset) -> None:
        try:
            services.delete_asset(obj)
        except AssetRejected as exc:
            raise PermissionDenied(exc.message) from None

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Asset]) -> list[Asset]:
        deleted, kept = [], 0
        for asset in queryset.select_related("pack"):
            record = copy.copy(asset)  # delete() clears the pk the admin log needs
            try:
                services.delete_asset(asset)
            except AssetRejected as exc:
                kept += 1
                self.message_user(request, exc.message, messages.WARNING)
            else:
                deleted.append(record)
        if kept:
            self.message_user(request, f"Kept {kept} {'asset' if kept == 1 else 'assets'}.", messages.WARNING)
        return deleted


DEFAULT_PACK_KEPT = (
    "'{name}' is the default pack of its kind and remixes play it, so it cannot be deleted. Make another "
    "pack the default first."
)


def _ok(text: str = "Yes") -> SafeString:
    return format_html('<span style="color:#1a7f37">&#10003; {}</span>', text)


def _warning(problems: list[str], pack: Pack) -> SafeString:
    items = format_html_join("", "<li>{}</li>", ((p,) for p in problems))
    return format_html(
        '<div class="pack-warning" style="color:#b35900"><strong>&#9888; Cannot be played as it is:</strong>'
        '<ul style="margin:0 0 0 1.2em;padding:0">{}</ul><em>{}</em></div>',
        items,
        playable.consequence(pack),
    )


def _attachment(spool: IO[bytes], filename: str) -> FileResponse:
    spool.seek(0)
    return FileResponse(spool, as_attachment=True, filename=filename, content_type="application/zip")
