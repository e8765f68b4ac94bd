"""The bank as the pipeline sees it: active packs written into the layout of ``pipeline.asset_layout``.

``materialize(dest_dir)`` writes what can be played of every active pack (``assets_bank.layout`` says how:
unplayable packs and assets are skipped, gaps are filled from other packs and from the shipped ``assets/``
folder) and returns a JSON-able snapshot: every pack's id, name, version and files (sha256), its ``state``
(``played``, ``available`` or ``skipped``) and ``problems``; what was played, filled, taken from the shipped
folder, and ``skipped`` (each with its reason). A job stores that snapshot, so a later edit of the bank never
changes the record of how a finished job was made.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any

from assets_bank.archives import archive_names
from assets_bank.layout import SKIPPED, PackContent, write_layout
from assets_bank.models import Kind, Pack

KIND_ORDER = (Kind.DRUMS, Kind.IMPULSE_RESPONSE, Kind.GUITAR, Kind.MIDI)
READY_MARK = ".complete"


def collect() -> list[PackContent]:
    """Active packs with their assets, the default of each kind first, read once."""
    packs = Pack.objects.active().prefetch_related("assets")
    ordered = sorted(packs, key=lambda p: (KIND_ORDER.index(p.kind), not p.is_default, p.pk))
    return [PackContent(p, list(p.assets.all()), archive_names(p)) for p in ordered]


def snapshot_of(contents: list[PackContent]) -> dict[str, Any]:
    packs = [
        {
            "id": c.pack.pk,
            "name": c.pack.name,
            "slug": c.pack.slug,
            "kind": c.pack.kind,
            "version": c.pack.version,
            "is_default": c.pack.is_default,
            "assets": [{"id": a.pk, "role": a.role, "name": a.name, "sha256": a.sha256} for a in c.assets],
        }
        for c in contents
    ]
    fingerprint = hashlib.sha256(json.dumps(packs, sort_keys=True).encode()).hexdigest()
    return {"fingerprint": fingerprint, "packs": packs}


def materialize(dest_dir: Path, *, fallback_dir: Path | None = None) -> dict[str, Any]:
    """Write the active packs into ``dest_dir`` in the pipeline's layout; returns the JSON-able snapshot."""
    contents = collect()
    snapshot = snapshot_of(contents)
    layout = write_layout(contents, Path(dest_dir), fallback_dir)
    for pack in snapshot["packs"]:
        pack["folder"] = layout.folders.get(pack["id"], "")
        pack["state"] = layout.states.get(pack["id"], SKIPPED)
        pack["problems"] = layout.problems.get(pack["id"], [])
    snapshot.update(
        played=layout.played,
        filled_roles=layout.filled,
        fallback=layout.fallback,
        fallback_dir=str(fallback_dir) if layout.fallback else None,
        skipped=layout.skipped,
        storage_errors=layout.storage_errors,
    )
    return snapshot


def materialize_cached(
    cache_root: Path, *, fallback_dir: Path | None = None, keep: int = 4
) -> tuple[Path, dict]:
    """Like ``materialize``, into ``cache_root/<fingerprint>``, reused while no active pack changes.

    The folder appears complete or not at all (written aside, then renamed); older folders beyond the
    ``keep`` most recent are removed. A layout written while storage failed to hand over a file is not
    reused: the next job tries storage again.
    """
    cache_root = Path(cache_root)
    cache_root.mkdir(parents=True, exist_ok=True)
    contents = collect()
    fingerprint = snapshot_of(contents)["fingerprint"]
    key = hashlib.sha256(f"{fingerprint}|{fallback_dir}".encode()).hexdigest()[:32]
    folder = cache_root / key
    snapshot_file = folder / "snapshot.json"
    if (folder / READY_MARK).is_file() and snapshot_file.is_file():
        os.utime(folder)
        return folder, json.loads(snapshot_file.read_text())
    staging = Path(tempfile.mkdtemp(prefix=".partial-", dir=cache_root))
    try:
        snapshot = materialize(staging, fallback_dir=fallback_dir)
        if snapshot["storage_errors"]:
            # A read that failed may work next time: this folder serves this job only, never a later one.
            folder = cache_root / f"{key}-once-{uuid.uuid4().hex[:8]}"
        (staging / "snapshot.json").write_text(json.dumps(snapshot))
        (staging / READY_MARK).touch()
        try:
            staging.rename(folder)
        except OSError:  # another worker finished the same folder first
            shutil.rmtree(staging, ignore_errors=True)
            if not (folder / READY_MARK).is_file():
                raise
            snapshot = json.loads(snapshot_file.read_text())
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _prune(cache_root, keep=keep, current=folder)
    return folder, snapshot


def _prune(cache_root: Path, *, keep: int, current: Path) -> None:
    folders = sorted(
        (p for p in cache_root.iterdir() if p.is_dir() and not p.name.startswith(".")),
        key=lambda p: p.stat().st_mtime,
        reverse=True,
    )
    for old in folders[keep:]:
        if old != current:
            shutil.rmtree(old, ignore_errors=True)
