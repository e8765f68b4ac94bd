"""Adding and removing assets, packs and defaults: the one place that writes the bank.

A pack as a ZIP (import and export) is ``assets_bank.archives``, which builds on this module (never the
reverse); the pipeline's view of the bank is ``assets_bank.materialize``, which only ``assets_bank.for_jobs``
calls.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File
from django.core.files.uploadedfile import UploadedFile
from django.db import IntegrityError, transaction

from assets_bank import playable
from assets_bank.models import Asset, Kind, Pack
from assets_bank.validators import AssetFacts, AssetRejected, check_duplicate, check_size, judged_asset_file
from metalizer_site import rate_limits
from metalizer_site.uploads import TooMany, clean_name, local_copy

logger = logging.getLogger(__name__)
UPLOAD_SCOPE = "assets"  # counted apart from song uploads (jobs.admission)


def admit_upload(identity: str) -> None:
    """Count one asset upload of ``identity`` (``rate_limits.caller_identity``) before its file is judged;
    TooMany (429) past ``METALIZER_THROTTLE_ASSET_UPLOADS``. An unreachable count lets it through (logged):
    only staff and key holders upload here."""
    try:
        wait = rate_limits.hit(UPLOAD_SCOPE, identity, settings.METALIZER_ASSET_UPLOAD_RATE)
    except rate_limits.RateStoreUnavailable as exc:
        logger.warning("asset upload count unavailable, upload let through: %s", exc)
        return
    if wait is not None:
        count, _seconds = settings.METALIZER_ASSET_UPLOAD_RATE
        raise TooMany(
            "throttled", f"Too many asset uploads ({count}) in a short time. Try again in {wait} s.", wait
        )


@contextmanager
def uploaded_path(uploaded: UploadedFile) -> Iterator[Path]:
    """A path on disk holding an upload's bytes, once its declared size is within the asset limit."""
    check_size(int(uploaded.size or 0))
    with local_copy(uploaded, default_name="asset") as path:
        yield path


def create_pack(
    name: str,
    kind: str,
    *,
    user: Any = None,
    style_tags: list[str] | None = None,
    licence: str = "",
    slug: str | None = None,
) -> Pack:
    if kind not in Kind.values:
        raise AssetRejected(
            "invalid_kind", f"Unknown pack kind '{kind}'. Choose one of: {', '.join(Kind.values)}."
        )
    name = (name or "").strip()
    if not name:
        raise AssetRejected("invalid_pack", "A new pack needs a name.")
    owner = user if getattr(user, "is_authenticated", False) else None
    return Pack.objects.create(
        name=name[:120],
        kind=kind,
        slug=slug or "",
        style_tags=list(style_tags or []),
        licence=licence,
        created_by=owner,
    )


def add_asset(
    pack: Pack,
    path: Path,
    *,
    filename: str,
    role: str,
    velocity_min: float = 0.0,
    velocity_max: float = 1.0,
    gain: float = 1.0,
    position: int | None = None,
    facts: AssetFacts | None = None,
) -> Asset:
    """Store the file at ``path`` in ``pack``; raises AssetRejected.

    ``facts`` come from ``validators.judged_asset_file`` and ``path`` is then the file it yielded (the
    upload, or the sample converted from it); without them the file is judged (and converted) here.
    """
    if not 0.0 <= velocity_min <= velocity_max <= 1.0:
        raise AssetRejected("invalid_velocity", "Velocity layers need 0 <= min <= max <= 1.")
    if facts is None:
        with judged_asset_file(path, name=filename, kind=pack.kind, role=role) as judged:
            return add_asset(
                pack,
                judged.path,
                filename=filename,
                role=role,
                velocity_min=velocity_min,
                velocity_max=velocity_max,
                gain=gain,
                position=position,
                facts=judged.facts,
            )
    name = clean_name(filename)
    stem = Path(name).stem
    if position is None:
        position = pack.assets.count()
    asset = Asset(
        pack=pack,
        name=stem,
        role=role,
        position=position,
        velocity_min=velocity_min,
        velocity_max=velocity_max,
        gain=gain,
        **facts.model_fields(),
    )
    extension = ".mid" if facts.format == "midi" else f".{facts.format}"
    with path.open("rb") as fh:
        asset.file.save(stem + extension, File(fh), save=False)
    try:
        with transaction.atomic():
            asset.save()
    except IntegrityError:
        asset.file.delete(save=False)
        check_duplicate(facts.sha256)  # names the asset that won the race
        raise
    return asset


def refusal_to_remove(asset: Asset) -> str | None:
    """Why ``asset`` may not leave its pack (deleted, moved or given another role), or None when it may.

    The default pack of a kind must stay playable (``assets_bank.playable``): its last kick, its last IR,
    its last guitar note or its last riff stays until another takes its place or another pack is the default.
    """
    pack = asset.pack
    if not pack.is_default:
        return None
    others = pack.assets.exclude(pk=asset.pk).values_list("role", flat=True)
    loss = playable.loss_if_removed(pack.kind, others, asset.role)
    if loss is None:
        return None
    return (
        f"'{pack.name}' is the default {pack.get_kind_display().lower()} and remixes play it: without this "
        f"'{asset.role}' sample {loss}. Add another '{asset.role}' sample first, or make another pack the "
        "default."
    )


def delete_asset(asset: Asset) -> None:
    """Delete an asset and its file; refuses (409) to leave a kind's default pack unplayable."""
    with transaction.atomic():
        # One delete at a time per pack: two callers removing the last two kicks at once must not both win.
        Pack.objects.select_for_update().filter(pk=asset.pack_id).first()
        current = Asset.objects.select_related("pack").filter(pk=asset.pk).first()
        if current is None:
            return  # already gone (another caller deleted it first)
        asset = current
        refusal = refusal_to_remove(asset)
        if refusal is not None:
            raise AssetRejected("required_role", refusal)
        asset.delete()


def set_active(pack: Pack, active: bool) -> None:
    if not active and pack.is_default:
        raise AssetRejected(
            "default_pack",
            f"'{pack.name}' is the default for its kind; make another pack the default first.",
        )
    if pack.active != active:
        pack.active = active
        pack.save(update_fields=["active"])


def make_default(pack: Pack) -> None:
    """Make ``pack`` its kind's default; refuses (409) a pack that cannot be played."""
    problems = playable.problems(pack.kind, pack.roles_present())
    if problems:
        raise AssetRejected("required_role", f"'{pack.name}' cannot be the default: {'; '.join(problems)}.")
    pack.make_default()
