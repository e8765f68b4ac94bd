"""What the job task calls: the bank materialised for the pipeline, plus the snapshot to store on the Job."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings

from assets_bank.materialize import materialize_cached


def prepare_job_assets() -> tuple[Path, dict[str, Any]]:
    """(assets_dir for ``pipeline.metalize``, JSON snapshot of the packs it holds) for one job.

    The folder is shared by jobs while no active pack changes (keyed by the packs' versions and files);
    anything the bank lacks comes from ``METALIZER_ASSETS_DIR``, and the snapshot says so.
    """
    return materialize_cached(
        Path(settings.METALIZER_ASSET_CACHE_DIR), fallback_dir=Path(settings.METALIZER_ASSETS_DIR)
    )
